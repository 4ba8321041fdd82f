// A virtual CPU: its state block in the core, PSCI power state, blocking
// (WFI, SCHEDOP_block, SCHEDOP_poll), the registered vcpu_info and runstate
// area, scheduler accounting, and its redistributor in the vGIC.

import type { VcpuState } from "../cpu/cpu.js";
import type { VgicCpu } from "./vgic.js";
import { RUNSTATE } from "./public/xen.js";

export type BlockReason = "none" | "wfi" | "block" | "poll";

export class Vcpu {
  online = false; // PSCI: powered on
  block: BlockReason = "none";
  pollPorts: number[] = [];
  pollDeadline = 0n; // counter value, 0 = none
  vcpuInfo: { gfn: bigint; offset: number; frame: number } | null = null; // the frame is pinned while registered
  runstateVa: bigint | null = null;
  runstate: number = RUNSTATE.offline;
  runstateEntry = 0n; // ns
  readonly runstateTime = [0n, 0n, 0n, 0n];
  credit = 0;
  lastRun = 0; // scheduling tick of the last slice
  cpuTimeNs = 0n;
  softAffinity = 1; // CPU map (one CPU): where the scheduler would rather run it
  instructions = 0n;
  gic!: VgicCpu;

  constructor(readonly domainId: number, readonly id: number, readonly state: VcpuState) {}

  // Xen on Arm: Aff0 = id & 0xF, Aff1 = (id >> 4) & 0xFF (xen/arch/arm/include/asm/domain.h)
  mpidr(): bigint { return BigInt(this.id & 0xF) | (BigInt((this.id >> 4) & 0xFF) << 8n); }
  affinity(): number { return (this.id & 0xF) | (((this.id >> 4) & 0xFF) << 8); }

  blocked(): boolean { return this.block !== "none"; }
}
