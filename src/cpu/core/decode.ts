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
    case 0xA: case 0xB: execBranchSys(insn); return;
    case 0x4: case 0x6: case 0xC: case 0xE: execLdSt(insn); return;
    case 0x5: case 0xD: execDpReg(insn); return;
    case 0x7: case 0xF: execSimdFp(insn); return;
    default: undefinedInstruction(CLS_UNALLOCATED);
  }
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
