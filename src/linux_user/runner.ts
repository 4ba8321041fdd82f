// Runs a static AArch64 Linux program on the core in user mode: the loop
// that resumes the process's vCPU and answers its exits.

import { Core, Exit, EXIT_NAMES } from "../cpu/cpu.js";
import { AddressSpace, FrameAllocator } from "./address_space.js";
import { Process, ExitStatus } from "./process.js";
import { syscalls, SyscallContext, ENOSYS } from "./syscalls.js";

export interface UserRunOptions {
  argv: string[];
  env?: string[];
  ramSize?: number; // machine RAM for the runner (default 512 MiB)
  maxInstructions?: bigint; // stop with an error beyond this
  stdout?: (b: Uint8Array) => void;
  stderr?: (b: Uint8Array) => void;
  traceSyscalls?: boolean;
}

export interface UserRunResult {
  status: ExitStatus;
  instructions: bigint;
  undefined: Record<string, number>;
}

const SIGILL = 4, SIGTRAP = 5, SIGBUS = 7, SIGSEGV = 11;

export function runUserProgram(elf: Uint8Array, opts: UserRunOptions): UserRunResult {
  const core = new Core({ ramBase: 0x40000000n, ramSize: opts.ramSize ?? 512 << 20 });
  const frames = new FrameAllocator(core);
  const proc = new Process(core, new AddressSpace(frames), 1);
  proc.load(elf, opts.argv, opts.env ?? [], opts.argv[0] ?? "a.out");
  const out = opts.stdout ?? ((b: Uint8Array) => process.stdout.write(b));
  const err = opts.stderr ?? ((b: Uint8Array) => process.stderr.write(b));
  const ctx: SyscallContext = {
    write(fd, data) {
      if (fd === 1) { out(data); return data.length; }
      if (fd === 2) { err(data); return data.length; }
      return -9;
    },
    exitProcess(p, code) { p.exit = { code }; },
    now() { return BigInt(Date.now()) * 1000000n; },
  };
  const max = opts.maxInstructions ?? 1n << 62n;
  const t0 = performance.now();
  while (!proc.exit) {
    const clock = BigInt(Math.round((performance.now() - t0) * 62500));
    const r = proc.cpu.run(1000000n, clock);
    if (proc.cpu.instret > max) throw new Error(`instruction limit ${max} reached at pc 0x${proc.cpu.pc.toString(16)}`);
    if (r === Exit.BUDGET || r === Exit.WFI) continue;
    if (r !== Exit.EXCEPTION) throw new Error(`unexpected exit ${EXIT_NAMES[r] ?? r} at pc 0x${proc.cpu.pc.toString(16)}`);
    const esr = proc.cpu.exitEsr;
    const ec = Number(esr >> 26n);
    if (ec === 0x15) {
      const nr = Number(proc.cpu.x(8));
      const args = [0, 1, 2, 3, 4, 5].map((i) => proc.cpu.x(i));
      const h = syscalls[nr];
      const ret = h ? h(proc, args, ctx) : BigInt(-ENOSYS);
      if (opts.traceSyscalls) process.stderr.write(`[syscall ${nr}(${args.slice(0, 3).map((x) => "0x" + x.toString(16)).join(", ")}) = ${ret}]\n`);
      if (!proc.exit) proc.cpu.setX(0, ret);
      continue;
    }
    const alignment = (ec === 0x24 || ec === 0x25) && (esr & 0x3Fn) === 0x21n;
    const sig = ec === 0x00 ? SIGILL : ec === 0x3C ? SIGTRAP : (ec === 0x22 || ec === 0x26 || alignment) ? SIGBUS : SIGSEGV;
    if (opts.traceSyscalls || sig !== SIGSEGV) {
      process.stderr.write(`[signal ${sig}: ESR 0x${esr.toString(16)} FAR 0x${proc.cpu.exitFar.toString(16)} pc 0x${proc.cpu.pc.toString(16)} insn 0x${proc.cpu.exitInsn.toString(16)}]\n`);
    }
    proc.exit = { signal: sig };
  }
  return { status: proc.exit, instructions: proc.cpu.instret, undefined: core.undefinedCounts() };
}
