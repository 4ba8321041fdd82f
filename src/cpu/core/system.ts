// System instructions: hints (NOP, YIELD, WFE, WFI, SEV, SEVL), barriers and
// CLREX, MSR (immediate) to PSTATE fields, and SYS: cache maintenance (DC,
// IC), TLB maintenance (TLBI) and address translation (AT).

import {
  cpu, el, curPC, curInsn, pan, xr, sr, setSr, setDaif, daif, setSpsel, setPan, setAttention, setFaulted, setExitReason,
  exitField64, saveSPBank, loadSPBank,
  SR_SCTLR, SR_PAR, OFF_EVENT, EX_ESR, EXIT_WFI,
} from "./state";
import {
  undefinedInstruction, takeSyncException, clearExclusive, CLS_SYSTEM, EC_WFX,
} from "./exceptions";
import { execSysReg, trapToEl1 } from "./sysreg";
import {
  translate, addressTranslate, tlbFlushCpu, tlbFlushPageCpu, tlbFlushAllBroadcast,
  tlbFlushNonGlobal, tlbFlushNonGlobalBroadcast,
  tlbFlushPageBroadcast, ACC_READ, ACC_WRITE, ACC_CM,
} from "./mmu";
import { selectTlb } from "./tlb_sets";
import { hostAddrAligned, tlbHostAligned } from "./access";
import { jitNoteGuestWrite, jitInvalidateAll } from "./code_frames";
import { virtualIrqPending, virtualFiqPending } from "./gic_cpuif";

export function execSystem(insn: u32): void {
  const l = (insn >> 21) & 1, op0 = (insn >> 19) & 3;
  if (op0 >= 2) { execSysReg(insn); return; }
  const op1 = (insn >> 16) & 7, crn = (insn >> 12) & 15, crm = (insn >> 8) & 15, op2 = (insn >> 5) & 7, rt = insn & 31;
  if (op0 == 1) {
    if (l == 0 && sysOp(insn, op1, crn, crm, op2, rt)) return;
    undefinedInstruction(CLS_SYSTEM);
    return;
  }
  if (l == 0 && rt == 31) {
    if (crn == 2) { hint((crm << 3) | op2); return; }
    if (crn == 3 && op1 == 3) {
      switch (op2) {
        case 2: clearExclusive(); return; // CLREX
        case 4: case 5: case 6: return; // DSB, DMB, ISB: the interpreter is sequentially consistent
        default: break;
      }
    }
    if (crn == 4 && msrImm(op1, op2, crm)) return;
  }
  undefinedInstruction(CLS_SYSTEM);
}

function hint(op: u32): void {
  switch (op) {
    case 2: { // WFE
      if (el == 0 && (sr(SR_SCTLR) & (1 << 18)) == 0) { takeSyncException(EC_WFX, 1, 0, false, curPC); return; }
      if (load<u32>(cpu, OFF_EVENT) != 0) { store<u32>(cpu, 0, OFF_EVENT); return; }
      exitField64(EX_ESR, (<u64>EC_WFX << 26) | (1 << 25) | 1);
      setFaulted(true);
      setExitReason(EXIT_WFI);
      return;
    }
    case 3: { // WFI
      if (el == 0 && (sr(SR_SCTLR) & (1 << 16)) == 0) { takeSyncException(EC_WFX, 0, 0, false, curPC); return; }
      // WFI completes at once when an interrupt is pending, masked or not.
      if (virtualIrqPending() || virtualFiqPending()) return;
      exitField64(EX_ESR, (<u64>EC_WFX << 26) | (1 << 25));
      setFaulted(true);
      setExitReason(EXIT_WFI);
      return;
    }
    case 4: case 5: store<u32>(cpu, 1, OFF_EVENT); return; // SEV, SEVL (other vCPUs: WFE exits anyway)
    default: return; // NOP, YIELD and every unallocated hint
  }
}

function msrImm(op1: u32, op2: u32, imm: u32): bool {
  const field = (op1 << 3) | op2;
  switch (field) {
    case 0x05: // SPSel
      if (el == 0) return false;
      saveSPBank(); setSpsel(imm & 1); loadSPBank();
      return true;
    case 0x04: // PAN
      if (el == 0) return false;
      setPan(imm & 1); selectTlb();
      return true;
    case 0x1E: case 0x1F: // DAIFSet, DAIFClr
      if (el == 0 && (sr(SR_SCTLR) & (1 << 9)) == 0) {
        trapToEl1(curInsn, false);
        return true;
      }
      if (field == 0x1E) setDaif(daif | (imm & 0xF));
      else { setDaif(daif & ~(imm & 0xF)); setAttention(true); }
      return true;
    default: return false; // UAO, SSBS, DIT, TCO: not implemented
  }
}

// VA from a TLBI operand: Xt[43:0] = VA[55:12], sign-extended from bit 55.
@inline function tlbiVa(x: u64): u64 {
  return <u64>(<i64>(x << 20) >> 8);
}

// DC ZVA's 64 bytes. (Stores, not memory.fill: V8 makes that a call into C.)
@inline function zeroBlock(h: usize): void {
  for (let i: usize = 0; i < 64; i += 8) store<u64>(h + i, 0);
}

// For translated code: DC ZVA (~1 M a boot: clear_page) as sysOp does it,
// when the TLB has the block with write access; false with nothing done
// otherwise (EL0 without SCTLR_EL1.DZE, a TLB miss), and translated code
// runs the instruction through jitStep, which walks, faults or traps.
export function jitDcZva(x: u64): bool {
  if (el == 0 && (sr(SR_SCTLR) & (1 << 14)) == 0) return false;
  const h = tlbHostAligned(x & ~<u64>63, 64, ACC_WRITE);
  if (h == 0) return false;
  zeroBlock(h);
  return true;
}

function sysOp(insn: u32, op1: u32, crn: u32, crm: u32, op2: u32, rt: u32): bool {
  const key = (op1 << 11) | (crn << 7) | (crm << 3) | op2;
  const x = xr(rt);
  const sctlr = sr(SR_SCTLR);
  if (crn == 8 && op1 == 0) { // TLBI
    if (el == 0) return false;
    const broadcast = crm == 3;
    if (crm != 3 && crm != 7) return false;
    switch (op2) {
      case 0: // VMALLE1
        if (broadcast) tlbFlushAllBroadcast(); else tlbFlushCpu(cpu);
        return true;
      case 2: // ASIDE1: the non-global entries (of every ASID: over-invalidation is allowed)
        if (broadcast) tlbFlushNonGlobalBroadcast(); else tlbFlushNonGlobal(cpu);
        return true;
      case 1: case 3: case 5: case 7: // VAE1, VAAE1, VALE1, VAALE1
        if (broadcast) tlbFlushPageBroadcast(tlbiVa(x)); else tlbFlushPageCpu(cpu, tlbiVa(x));
        return true;
      default: return false;
    }
  }
  if (crn != 7) return false;
  switch (key) {
    case (3 << 11) | (7 << 7) | (4 << 3) | 1: { // DC ZVA
      if (el == 0 && (sctlr & (1 << 14)) == 0) { trapToEl1(insn, false); return true; }
      const va = x & ~<u64>63;
      const h = hostAddrAligned(va, 64, ACC_WRITE);
      if (h == 0) return true; // fault or MMIO exit raised
      zeroBlock(h);
      return true;
    }
    case (3 << 11) | (7 << 7) | (10 << 3) | 1: // DC CVAC
    case (3 << 11) | (7 << 7) | (11 << 3) | 1: // DC CVAU
    case (3 << 11) | (7 << 7) | (14 << 3) | 1: // DC CIVAC
      if (el == 0 && (sctlr & (1 << 26)) == 0) { trapToEl1(insn, false); return true; }
      cacheMaintenance(x, ACC_READ);
      return true;
    case (3 << 11) | (7 << 7) | (5 << 3) | 1: { // IC IVAU: translated code of the frame goes
      if (el == 0 && (sctlr & (1 << 26)) == 0) { trapToEl1(insn, false); return true; }
      const h = translate(x, ACC_READ | ACC_CM, 1);
      if (h != 0) jitNoteGuestWrite(h);
      return true;
    }
    case (0 << 11) | (7 << 7) | (6 << 3) | 1: // DC IVAC
      if (el == 0) return false;
      cacheMaintenance(x, ACC_WRITE);
      return true;
    case (0 << 11) | (7 << 7) | (6 << 3) | 2: // DC ISW
    case (0 << 11) | (7 << 7) | (10 << 3) | 2: // DC CSW
    case (0 << 11) | (7 << 7) | (14 << 3) | 2: // DC CISW
      return el != 0;
    case (0 << 11) | (7 << 7) | (1 << 3) | 0: // IC IALLUIS
    case (0 << 11) | (7 << 7) | (5 << 3) | 0: // IC IALLU
      if (el == 0) return false;
      jitInvalidateAll();
      return true;
    case (0 << 11) | (7 << 7) | (8 << 3) | 0: // AT S1E1R
    case (0 << 11) | (7 << 7) | (8 << 3) | 1: // AT S1E1W
    case (0 << 11) | (7 << 7) | (8 << 3) | 2: // AT S1E0R
    case (0 << 11) | (7 << 7) | (8 << 3) | 3: { // AT S1E0W
      if (el == 0) return false;
      const par = addressTranslate(x, op2 >= 2, (op2 & 1) != 0, op2 < 2 && pan != 0);
      if (par == <u64>-1) return true; // stage-2 fault on the walk: exit raised
      setSr(SR_PAR, par);
      return true;
    }
    default: return false;
  }
}

// Cache maintenance by VA: no caches to maintain, but the translation must
// succeed (or fault) as on hardware. MMIO targets need nothing.
function cacheMaintenance(va: u64, kind: u32): void {
  translate(va, kind | ACC_CM, 1);
}
