// Branches (B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR, BLR, RET, ERET) and the
// exception-generating instructions (SVC, HVC, SMC, BRK, HLT).

import {
  curPC, el, xr, setX, setPC, sr, setFaulted, setExitReason, exitField64, exitField32,
  SR_HCR, HCR_TSC, EX_ESR, EX_INSN, EXIT_HVC, EXIT_SMC,
} from "./state";
import { condHolds } from "./alu";
import { invalidateFetch } from "./tlb_sets";
import {
  undefinedInstruction, takeSyncException, exceptionReturn, CLS_BRANCH, EC_SVC, EC_BRK, EC_HVC, EC_SMC,
} from "./exceptions";

export function branchImm(insn: u32): void {
  const off = <i64>(<i32>(insn << 6) >> 4); // sext(imm26) * 4
  if ((insn >> 31) != 0) setX(30, curPC + 4); // BL
  setPC(curPC + <u64>off);
}

export function branchCond(insn: u32): void {
  if ((insn & 0x10) != 0 || ((insn >> 24) & 1) != 0) { undefinedInstruction(CLS_BRANCH); return; }
  if (condHolds(insn & 0xF)) setPC(curPC + <u64>(<i64>(<i32>(insn << 8) >> 11) & ~<i64>3));
}

export function compareBranch(insn: u32): void {
  const sf = insn >> 31, op = (insn >> 24) & 1, rt = insn & 31;
  let v = xr(rt);
  if (sf == 0) v &= 0xFFFFFFFF;
  if ((v == 0) != (op != 0)) setPC(curPC + <u64>(<i64>(<i32>(insn << 8) >> 11) & ~<i64>3));
}

export function testBranch(insn: u32): void {
  const bit = ((insn >> 31) << 5) | ((insn >> 19) & 31);
  const op = (insn >> 24) & 1, rt = insn & 31;
  const set = ((xr(rt) >> bit) & 1) != 0;
  if (set == (op != 0)) setPC(curPC + <u64>(<i64>(<i32>(insn << 13) >> 16) & ~<i64>3));
}

export function branchReg(insn: u32): void {
  const opc = (insn >> 21) & 0xF, op2 = (insn >> 16) & 31, op3 = (insn >> 10) & 0x3F, rn = (insn >> 5) & 31, op4 = insn & 31;
  if (op2 != 31 || op3 != 0) { undefinedInstruction(CLS_BRANCH); return; }
  switch (opc) {
    case 0: case 1: case 2: { // BR, BLR, RET
      if (op4 != 0) break;
      const target = xr(rn);
      if (opc == 1) setX(30, curPC + 4);
      setPC(target);
      if ((target & 3) != 0) invalidateFetch(); // the fetch path checks alignment
      return;
    }
    case 4: // ERET
      if (rn != 31 || op4 != 0 || el == 0) break;
      exceptionReturn();
      return;
    default: break; // DRPS and the pointer-authentication forms
  }
  undefinedInstruction(CLS_BRANCH);
}

export function exceptionGen(insn: u32): void {
  const opc = (insn >> 21) & 7, imm16 = (insn >> 5) & 0xFFFF, op2 = (insn >> 2) & 7, ll = insn & 3;
  if (op2 != 0) { undefinedInstruction(CLS_BRANCH); return; }
  if (opc == 0) {
    if (ll == 1) { takeSyncException(EC_SVC, imm16, 0, false, curPC + 4); return; }
    if (ll == 2 && el == 1) {
      // HVC: the preferred return address is the next instruction.
      exitField64(EX_ESR, (<u64>EC_HVC << 26) | (1 << 25) | imm16);
      exitField32(EX_INSN, insn);
      setFaulted(true);
      setExitReason(EXIT_HVC);
      return;
    }
    if (ll == 3 && el == 1 && (sr(SR_HCR) & HCR_TSC) != 0) {
      // SMC trapped to EL2: the return address is the SMC itself.
      exitField64(EX_ESR, (<u64>EC_SMC << 26) | (1 << 25) | imm16);
      exitField32(EX_INSN, insn);
      setPC(curPC);
      setFaulted(true);
      setExitReason(EXIT_SMC);
      return;
    }
  } else if (opc == 1 && ll == 0) {
    takeSyncException(EC_BRK, imm16, 0, false, curPC);
    return;
  }
  // HLT without halting debug, DCPS*, HVC at EL0, SMC without EL3
  undefinedInstruction(CLS_BRANCH);
}
