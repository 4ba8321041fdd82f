// A bare core for unit tests: RAM at 0x40000000, one vCPU at EL1h with all
// interrupts masked, exceptions delivered to the host (CTRL_EXC_TO_HOST) unless
// asked otherwise, and a program loaded at the start of RAM.

import { Core, VcpuState, SR, CTRL_EXC_TO_HOST } from "../../src/cpu/cpu.js";
import type { JitOptions } from "../../src/cpu/jit/jit.js";
import { assemble } from "./asm.js";

export const RAM_BASE = 0x40000000n;

export interface Bare { core: Core; cpu: VcpuState; }

export function bareCore(source: string, opts: { ramSize?: number; excToHost?: boolean; jit?: JitOptions } = {}): Bare {
  const core = new Core({ ramBase: RAM_BASE, ramSize: opts.ramSize ?? 16 << 20, jit: opts.jit });
  const code = assemble(source);
  core.ram(RAM_BASE, code.length).set(code);
  const cpu = core.createVcpu();
  cpu.pc = RAM_BASE;
  cpu.pstate = 0x3C5n; // EL1h, DAIF masked
  cpu.setSys(SR.CPACR, 3n << 20n);
  if (opts.excToHost ?? true) cpu.setSys(SR.CTRL, CTRL_EXC_TO_HOST);
  return { core, cpu };
}
