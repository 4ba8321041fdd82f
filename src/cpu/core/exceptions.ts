// Taking exceptions to EL1 and returning from them (ERET), as ARM ARM D1.10
// describes for AArch64: SPSR/ELR/ESR/FAR, the vector offsets, PSTATE on
// entry. With CTRL_EXC_TO_HOST (the user-mode runner) a synchronous
// exception for EL1 becomes an exit instead, like a trap to a hypervisor.

import {
  cpu, pc, el, spsel, curPC, curInsn,
  setPC, setEL, setSpsel, setDaif, setPan, setSS, setIL, setNZCV, setFaulted, setAttention, setExitReason,
  setCpu, syncIn, syncOut, sr, setSr, pstateToSpsr, saveSPBank, loadSPBank, exitField64, exitField32,
  SR_SPSR, SR_ELR, SR_ESR, SR_FAR, SR_VBAR, SR_SCTLR, SR_CTRL, CTRL_EXC_TO_HOST,
  EX_ESR, EX_FAR, EX_INSN, EXIT_EXCEPTION, OFF_EXCL,
} from "./state";
import { selectTlb } from "./tlb_sets";
import { refreshFpEnabled } from "./cpacr";

export const EC_UNKNOWN: u32 = 0x00;
export const EC_WFX: u32 = 0x01;
export const EC_FP_ACCESS: u32 = 0x07;
export const EC_ILLEGAL: u32 = 0x0E;
export const EC_SVC: u32 = 0x15;
export const EC_HVC: u32 = 0x16;
export const EC_SMC: u32 = 0x17;
export const EC_SYSREG: u32 = 0x18;
export const EC_IABT_LOWER: u32 = 0x20;
export const EC_IABT_SAME: u32 = 0x21;
export const EC_PC_ALIGN: u32 = 0x22;
export const EC_DABT_LOWER: u32 = 0x24;
export const EC_DABT_SAME: u32 = 0x25;
export const EC_SP_ALIGN: u32 = 0x26;
export const EC_FP_EXC: u32 = 0x2C;
export const EC_SERROR: u32 = 0x2F;
export const EC_BRK: u32 = 0x3C;

export const VEC_SYNC: u32 = 0;
export const VEC_IRQ: u32 = 1;
export const VEC_FIQ: u32 = 2;
export const VEC_SERROR: u32 = 3;

// Counts of UNDEFINED instructions by encoding class (op0 = bits 28:25 and
// a sub-class), so that a workload shows what the core is missing.
export const UNDEF_CLASSES: i32 = 16;
export const CLS_UNALLOCATED: u32 = 0; // op0 0000-0011: reserved, SVE
export const CLS_DP_IMM: u32 = 1;
export const CLS_BRANCH: u32 = 2; // branches and exception generation
export const CLS_SYSTEM: u32 = 3; // hints, barriers, PSTATE, SYS (DC/IC/TLBI/AT)
export const CLS_SYSREG: u32 = 4; // MRS/MSR of an unimplemented or inaccessible register
export const CLS_LDST: u32 = 5; // single-register and pair loads/stores
export const CLS_LDST_EXCL: u32 = 6; // exclusives, acquire/release, LSE atomics
export const CLS_LDST_SIMD: u32 = 7; // AdvSIMD structure loads/stores
export const CLS_DP_REG: u32 = 8;
export const CLS_FP: u32 = 9; // scalar floating point
export const CLS_SIMD: u32 = 10; // AdvSIMD
export const CLS_CRYPTO: u32 = 11;
export const undefCounts = new StaticArray<u64>(UNDEF_CLASSES);

@inline export function clearExclusive(): void { store<u32>(cpu, 0, OFF_EXCL + 28); }

function enterEL1(vecType: u32, returnAddr: u64): void {
  const spsr = pstateToSpsr();
  const fromEl = el;
  saveSPBank();
  setSr(SR_SPSR, spsr);
  setSr(SR_ELR, returnAddr);
  let off: u64 = fromEl == 0 ? 0x400 : (spsel != 0 ? 0x200 : 0);
  setEL(1); setSpsel(1);
  setDaif(0xF);
  if ((sr(SR_SCTLR) & (1 << 23)) == 0) setPan(1); // SPAN=0: PAN set on entry
  setSS(0); setIL(0);
  loadSPBank();
  clearExclusive();
  setPC((sr(SR_VBAR) & ~<u64>0x7FF) + off + (<u64>vecType << 7));
  selectTlb();
  refreshFpEnabled();
  setFaulted(true);
}

// A synchronous exception to EL1. `returnAddr` is the preferred return
// address (the faulting instruction, or the next one for SVC).
export function takeSyncException(ec: u32, iss: u32, far: u64, hasFar: bool, returnAddr: u64): void {
  const esr: u64 = (<u64>ec << 26) | (1 << 25) | <u64>(iss & 0x1FFFFFF);
  if ((sr(SR_CTRL) & CTRL_EXC_TO_HOST) != 0) {
    exitField64(EX_ESR, esr);
    exitField64(EX_FAR, hasFar ? far : 0);
    exitField32(EX_INSN, curInsn);
    setPC(returnAddr);
    setFaulted(true);
    setExitReason(EXIT_EXCEPTION);
    return;
  }
  setSr(SR_ESR, esr);
  if (hasFar) setSr(SR_FAR, far);
  enterEL1(VEC_SYNC, returnAddr);
}

// IRQ, FIQ or SError, taken between instructions: the return address is the
// next instruction to execute.
export function takeAsyncException(vecType: u32): void {
  if (vecType == VEC_SERROR) setSr(SR_ESR, (<u64>EC_SERROR << 26) | (1 << 25));
  enterEL1(vecType, pc);
}

// The hypervisor injects a synchronous exception into a stopped vCPU (an
// abort for an access it cannot emulate, UNDEFINED for a bad HVC): taken at
// the vCPU's current PC, as if that instruction had faulted.
export function injectSync(c: usize, esr: u64, far: u64, hasFar: bool): void {
  const saved = cpu;
  setCpu(c);
  syncIn();
  setSr(SR_ESR, esr);
  if (hasFar) setSr(SR_FAR, far);
  enterEL1(VEC_SYNC, pc);
  syncOut();
  setCpu(saved);
}

export function undefinedInstruction(cls: u32): void {
  unchecked(undefCounts[cls & (UNDEF_CLASSES - 1)] += 1);
  takeSyncException(EC_UNKNOWN, 0, 0, false, curPC);
}

// ERET from EL1 (ARM ARM: AArch64.ExceptionReturn).
export function exceptionReturn(): void {
  const spsr = sr(SR_SPSR);
  const target = sr(SR_ELR);
  const m = <u32>spsr & 0x1F;
  saveSPBank();
  const legal = m == 0 || m == 4 || m == 5;
  if (legal) {
    setEL(m >> 2);
    setSpsel(m & 1);
    setIL(<u32>(spsr >> 20) & 1);
  } else {
    setIL(1); // illegal return: stay at EL1, the next instruction takes an Illegal State exception
  }
  setNZCV(<u32>(spsr >> 28) & 0xF);
  setDaif(<u32>(spsr >> 6) & 0xF);
  setPan(<u32>(spsr >> 22) & 1);
  setSS(<u32>(spsr >> 21) & 1);
  loadSPBank();
  clearExclusive();
  // Bits 63:56 of the return address are kept only where TBI would ignore them; simplest correct choice for EL0/EL1 here is to keep the address as given.
  setPC(target);
  selectTlb();
  refreshFpEnabled();
  setAttention(true);
}
