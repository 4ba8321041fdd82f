// The top level of the A64 decode tree (ARM ARM C4.1): op0 = bits 28:25
// picks the instruction class.

import { execDpImm } from "./dp_imm";
import { execDpReg } from "./dp_reg";
import { execLdSt } from "./ldst";
import { execSimdFp } from "./simd_fp";
import { execSystem } from "./system";
import { branchImm, branchCond, compareBranch, testBranch, branchReg, exceptionGen } from "./branch";
import { undefinedInstruction, CLS_UNALLOCATED, CLS_BRANCH } from "./exceptions";

@inline export function execute(insn: u32): void {
  switch ((insn >> 25) & 0xF) {
    case 0x8: case 0x9: execDpImm(insn); return;
    case 0xA: case 0xB: if (!isNop(insn)) execBranchSys(insn); return;
    case 0x4: case 0x6: case 0xC: case 0xE: execLdSt(insn); return;
    case 0x5: case 0xD: execDpReg(insn); return;
    case 0x7: case 0xF: execSimdFp(insn); return;
    default: undefinedInstruction(CLS_UNALLOCATED);
  }
}

// NOP-like hints (NOP, YIELD, PACIASP/AUTIASP and the other pointer
// authentication and BTI hints, which this CPU does not implement, and
// every unallocated hint; not WFE, WFI, SEV, SEVL) and the barriers (DSB,
// DMB, ISB: the interpreter is sequentially consistent) change nothing:
// a Linux kernel starts and ends nearly every function with one.
@inline function isNop(insn: u32): bool {
  if ((insn & 0xFFFFF01F) == 0xD503201F) return ((insn >> 5) & 0x7F) - 2 >= 4; // HINT #op, op not 2-5
  return (insn & 0xFFFFF01F) == 0xD503301F && ((insn >> 5) & 7) - 4 < 3; // DSB, DMB, ISB
}

function execBranchSys(insn: u32): void {
  if ((insn & 0x7C000000) == 0x14000000) { branchImm(insn); return; }
  if ((insn & 0x7E000000) == 0x34000000) { compareBranch(insn); return; }
  if ((insn & 0x7E000000) == 0x36000000) { testBranch(insn); return; }
  if ((insn & 0xFE000000) == 0x54000000) { branchCond(insn); return; }
  if ((insn & 0xFF000000) == 0xD4000000) { exceptionGen(insn); return; }
  if ((insn & 0xFFC00000) == 0xD5000000) { execSystem(insn); return; }
  if ((insn & 0xFE000000) == 0xD6000000) { branchReg(insn); return; }
  undefinedInstruction(CLS_BRANCH);
}
