// Advanced SIMD data processing (vector and scalar forms) and the crypto
// extension groups: the decode tree of ARM ARM C4.1.9 below op0 = x111,
// handing each group to its file.
//
// Vector groups have bits 31:28 = 0xx0, scalar groups 01x1; the crypto
// groups sit at 0100 (AES) and 0101 (SHA) where the vector/scalar groups
// leave room.

import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { threeSame, scalarThreeSame } from "./simd_three_same";
import { threeDiff, scalarThreeDiff } from "./simd_three_diff";
import { twoRegMisc, scalarTwoRegMisc } from "./simd_misc";
import { acrossLanes, scalarPairwise } from "./simd_across";
import { simdCopy, scalarCopy, modifiedImm } from "./simd_copy";
import { shiftImm, scalarShiftImm } from "./simd_shift";
import { indexedElem, scalarIndexedElem } from "./simd_indexed";
import { simdPermute, simdExt, simdTbl } from "./simd_permute";
import { cryptoAes, cryptoSha3, cryptoSha2 } from "./simd_crypto";

export function execAdvSimd(insn: u32): void {
  if ((insn >> 31) != 0) { undefinedInstruction(CLS_SIMD); return; }
  if ((insn & 0x10000000) == 0) vectorGroup(insn);
  else scalarGroup(insn); // bits 31:30 = 01 (scalar FP never reaches here)
}

function vectorGroup(insn: u32): void {
  if ((insn & 0x01000000) != 0) {
    // bit 24: modified immediate / shift by immediate, or by element
    if ((insn & 0x400) == 0) { indexedElem(insn); return; }
    if ((insn & 0x00800000) != 0) { undefinedInstruction(CLS_SIMD); return; }
    if ((insn & 0x00780000) == 0) modifiedImm(insn); // immh = 0000
    else shiftImm(insn);
    return;
  }
  if ((insn & 0x00200000) != 0) {
    if ((insn & 0x400) != 0) { threeSame(insn); return; }
    if ((insn & 0x800) == 0) { threeDiff(insn); return; }
    switch ((insn >> 17) & 0xF) { // bits 20:17, with bits 11:10 = 10
      case 0x0: twoRegMisc(insn); return;
      case 0x8: acrossLanes(insn); return;
      case 0x4:
        if ((insn & 0xFF000000) == 0x4E000000 && ((insn >> 22) & 3) == 0) { cryptoAes(insn); return; }
        break;
    }
    undefinedInstruction(CLS_SIMD);
    return;
  }
  // bit 21 = 0: copy, TBL/TBX, permute, EXT
  if ((insn & 0x8000) != 0) { undefinedInstruction(CLS_SIMD); return; } // three-reg extension (v8.1+)
  if ((insn & 0x20000000) != 0 && (insn & 0x400) == 0) { simdExt(insn); return; }
  if ((insn & 0x400) != 0) {
    if ((insn & 0x00C00000) != 0) { undefinedInstruction(CLS_SIMD); return; }
    simdCopy(insn);
    return;
  }
  if ((insn & 0x20000000) != 0) { undefinedInstruction(CLS_SIMD); return; }
  if ((insn & 0x800) != 0) simdPermute(insn);
  else simdTbl(insn);
}

function scalarGroup(insn: u32): void {
  if ((insn & 0x01000000) != 0) {
    if ((insn & 0x400) == 0) { scalarIndexedElem(insn); return; }
    if ((insn & 0x00800000) != 0 || (insn & 0x00780000) == 0) { undefinedInstruction(CLS_SIMD); return; }
    scalarShiftImm(insn);
    return;
  }
  if ((insn & 0x00200000) != 0) {
    if ((insn & 0x400) != 0) { scalarThreeSame(insn); return; }
    if ((insn & 0x800) == 0) { scalarThreeDiff(insn); return; }
    switch ((insn >> 17) & 0xF) {
      case 0x0: scalarTwoRegMisc(insn); return;
      case 0x8: scalarPairwise(insn); return;
      case 0x4:
        if ((insn & 0xFF000000) == 0x5E000000 && ((insn >> 22) & 3) == 0) { cryptoSha2(insn); return; }
        break;
    }
    undefinedInstruction(CLS_SIMD);
    return;
  }
  if ((insn & 0x8000) != 0) { undefinedInstruction(CLS_SIMD); return; } // three-reg extension (v8.1+)
  if ((insn & 0x400) != 0) {
    if ((insn & 0x20C00000) != 0) { undefinedInstruction(CLS_SIMD); return; }
    scalarCopy(insn);
    return;
  }
  if ((insn & 0xFFC00C00) == 0x5E000000) { cryptoSha3(insn); return; }
  undefinedInstruction(CLS_SIMD);
}
