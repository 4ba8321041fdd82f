// A vCPU's architectural registers by name, for the "vcpus" section of a
// domain context: what a guest can observe of its CPU, independent of how
// the core lays its state block out. Left out on purpose: the host's EL2
// registers (stage 2, traps, virtual MPIDR; the destination sets its own),
// the counter offset (saved as the guest's counter value), the TLB and its
// counters, the list registers (empty between runs: their interrupts are in
// the vGIC's section), ICH_HCR (recomputed on entry), and the exclusive
// monitor, which is clear after a restore as after any exception (a
// store-exclusive in flight fails and is retried).

import { SR, Layout, type VcpuState } from "../cpu/cpu.js";
import { GUEST_SYSREGS, type GuestSysreg, type SavedVcpuRegisters } from "./public/domain_context.js";

const SYSREG_INDEX: Record<GuestSysreg, number> = {
  SCTLR_EL1: SR.SCTLR, TCR_EL1: SR.TCR, TTBR0_EL1: SR.TTBR0, TTBR1_EL1: SR.TTBR1, MAIR_EL1: SR.MAIR, AMAIR_EL1: SR.AMAIR,
  VBAR_EL1: SR.VBAR, CONTEXTIDR_EL1: SR.CONTEXTIDR, TPIDR_EL0: SR.TPIDR_EL0, TPIDR_EL1: SR.TPIDR_EL1, TPIDRRO_EL0: SR.TPIDRRO_EL0,
  CPACR_EL1: SR.CPACR, CNTKCTL_EL1: SR.CNTKCTL, CNTV_CTL_EL0: SR.CNTV_CTL, CNTV_CVAL_EL0: SR.CNTV_CVAL, PAR_EL1: SR.PAR,
  ESR_EL1: SR.ESR, FAR_EL1: SR.FAR, ELR_EL1: SR.ELR, SPSR_EL1: SR.SPSR, SP_EL0: SR.SP_EL0, SP_EL1: SR.SP_EL1, MDSCR_EL1: SR.MDSCR,
  OSLSR_EL1: SR.OSLSR, OSDLR_EL1: SR.OSDLR, AFSR0_EL1: SR.AFSR0, AFSR1_EL1: SR.AFSR1, CSSELR_EL1: SR.CSSELR, ACTLR_EL1: SR.ACTLR,
  MDCCINT_EL1: SR.MDCCINT, DISR_EL1: SR.DISR,
};

const hex = (x: bigint): string => `0x${x.toString(16)}`;
const M64 = (1n << 64n) - 1n;

export function saveRegisters(st: VcpuState): SavedVcpuRegisters {
  const sys = {} as Record<GuestSysreg, string>;
  for (const n of GUEST_SYSREGS) sys[n] = hex(st.sys(SYSREG_INDEX[n]));
  return {
    x: Array.from({ length: 31 }, (_, i) => hex(st.x(i))),
    v: Array.from({ length: 32 }, (_, i) => { const [lo, hi] = st.v(i); return hex((hi << 64n) | lo); }),
    pc: hex(st.pc), pstate: hex(st.pstate), fpcr: st.fpcr, fpsr: st.fpsr, eventRegister: st.eventRegister, instret: hex(st.instret),
    sys,
    gic: { vmcr: hex(st.gic(Layout.GIC_VMCR)), ap0r: hex(st.gic(Layout.GIC_AP0R)), ap1r: hex(st.gic(Layout.GIC_AP1R)) },
  };
}

// Whether a saved PSTATE is one a guest can be in: AArch64 at EL0t, EL1t or
// EL1h. Anything else (EL2, AArch32) would run the guest where it must not be.
export function guestPstateError(pstate: bigint): string | null {
  const m = Number(pstate & 0x1Fn);
  return m === 0 || m === 4 || m === 5 ? null : `PSTATE mode 0x${m.toString(16)} is not EL0t, EL1t or EL1h`;
}

// Into a vCPU whose host-owned registers are already set (createVcpus).
export function loadRegisters(st: VcpuState, r: SavedVcpuRegisters): void {
  r.x.forEach((x, i) => st.setX(i, BigInt(x)));
  r.v.forEach((q, i) => { const b = BigInt(q); st.setV(i, b & M64, b >> 64n); });
  st.pc = BigInt(r.pc);
  st.pstate = BigInt(r.pstate);
  st.fpcr = r.fpcr;
  st.fpsr = r.fpsr;
  st.eventRegister = r.eventRegister;
  st.instret = BigInt(r.instret);
  for (const n of GUEST_SYSREGS) st.setSys(SYSREG_INDEX[n], BigInt(r.sys[n]));
  st.setGic(Layout.GIC_VMCR, BigInt(r.gic.vmcr));
  st.setGic(Layout.GIC_AP0R, BigInt(r.gic.ap0r));
  st.setGic(Layout.GIC_AP1R, BigInt(r.gic.ap1r));
}
