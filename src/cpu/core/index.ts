// The core's exports: the exit interface (run), the machine memory map, vCPU
// registration and TLB maintenance for the hypervisor, and the state layout
// the TypeScript side uses to read and write vCPU blocks.

export { run, vcpuIrqPending } from "./run";
export { jitStep, jitCall, jitReturns, jitRetired, jitCalls, jitChains, jitFrameInstalled, jitRingEntries, jitRingOut, jitInterpreted, jitSetOptimize, jitSetHeatDecay, jitSlotPlaced, jitSlotOptimised, jitRetiredOptimised } from "./jit";
export { jitSetup, jitNoteWrite, jitInvalidations, jitExecSlots } from "./code_frames";
export { jitMrs } from "./sysreg";
export { jitDcZva } from "./system";
export { jitExclusive } from "./ldst";
// The hot state translated code reads and writes (imported as globals by each translated module).
export { pc, instret, nzcv } from "./state";
export { setRam, registerVcpu, unregisterVcpu, tlbFlushCpu, tlbFlushAllBroadcast, guestWalk } from "./mmu";
export { injectSync } from "./exceptions";
export { setCounterFrequency } from "./timer";
export { setIdReg, getIdReg } from "./sysreg";
export {
  SR_SCTLR, SR_TCR, SR_TTBR0, SR_TTBR1, SR_MAIR, SR_AMAIR, SR_VBAR, SR_CONTEXTIDR, SR_TPIDR_EL0, SR_TPIDR_EL1,
  SR_TPIDRRO_EL0, SR_CPACR, SR_CNTKCTL, SR_CNTV_CTL, SR_CNTV_CVAL, SR_PAR, SR_ESR, SR_FAR, SR_ELR, SR_SPSR,
  SR_SP_EL0, SR_SP_EL1, SR_MDSCR, SR_OSLSR, SR_OSDLR, SR_AFSR0, SR_AFSR1, SR_CSSELR, SR_ACTLR, SR_MDCCINT,
  SR_CNTP_CTL, SR_CNTP_CVAL, SR_DISR, SR_HCR, SR_VTTBR, SR_VTCR, SR_CNTVOFF, SR_VMPIDR, SR_VPIDR, SR_CNTHCTL, SR_CTRL,
  SR_TLB_MISSES, SR_TLB_FLUSHES, SR_TLB_FULL_FLUSHES,
  EXIT_NONE, EXIT_BUDGET, EXIT_HVC, EXIT_SMC, EXIT_SYSREG, EXIT_DABT, EXIT_IABT, EXIT_WFI, EXIT_TIMER,
  EXIT_EXCEPTION, EXIT_MAINTENANCE, EXIT_HALT, EXIT_ERROR,
  VCPU_BLOCK_SIZE, OFF_X, OFF_V, OFF_PC, OFF_PSTATE, OFF_FPCR, OFF_FPSR, OFF_EVENT, OFF_INSTRET, OFF_EXCL,
  OFF_SYS, OFF_EXIT, OFF_GIC, OFF_TLB,
  EX_REASON, EX_ESR, EX_FAR, EX_IPA, EX_INSN, EX_VALUE, EX_VALUE_HI,
} from "./state";
import { undefCounts, UNDEF_CLASSES } from "./exceptions";
export { GIC_LR, GIC_HCR, GIC_VMCR, GIC_AP0R, GIC_AP1R, GIC_NUM_LRS } from "./gic_cpuif";
export { TLB_ENTRIES } from "./tlb_sets";

export function undefCount(cls: i32): u64 {
  return cls >= 0 && cls < UNDEF_CLASSES ? unchecked(undefCounts[cls]) : 0;
}
export function undefReset(): void {
  for (let i = 0; i < UNDEF_CLASSES; i++) unchecked(undefCounts[i] = 0);
}
