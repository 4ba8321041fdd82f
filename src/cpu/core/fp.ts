// Scalar floating point (the "Floating-point" groups of the A64 decode
// tree): data processing with 1, 2 and 3 sources, compare, conditional
// compare and select, immediate moves, and conversions to and from integers
// and fixed point. Arithmetic is softfloat.ts; half-precision arithmetic
// (FEAT_FP16) is not implemented, so those encodings are UNDEFINED, while
// FCVT to and from half precision (ARMv8.0) is.

import { vaddr, xr, setX, setNZCV } from "./state";
import { undefinedInstruction, CLS_FP } from "./exceptions";
import { condHolds } from "./alu";
import {
  fpAdd, fpMul, fpDiv, fpSqrt, fpMulAdd, fpMaxMin, fpCompare, fpToFixed, fixedToFp, fpRoundInt, fpConvert,
  fpcrRMode, RN, RP, RM, RZ, RA, signBit, sizeMask,
} from "./softfloat";

@inline function vget(n: u32): u64 { return load<u64>(vaddr(n)); }
// Scalar result: the low `sz` bits, everything above cleared.
@inline export function vsetScalar(d: u32, sz: u32, v: u64): void {
  const p = vaddr(d);
  store<u64>(p, v & sizeMask(sz));
  store<u64>(p, 0, 8);
}

// ftype field (bits 23:22): 0 single, 1 double, 3 half (FEAT_FP16 arithmetic: not implemented)
@inline function fsize(ftype: u32): u32 { return ftype == 0 ? 32 : (ftype == 1 ? 64 : (ftype == 3 ? 16 : 0)); }

export function execFpScalar(insn: u32): void {
  if (((insn >> 29) & 1) != 0) { undefinedInstruction(CLS_FP); return; } // S = 1
  if (((insn >> 24) & 1) != 0) { dataProc3(insn); return; }
  if (((insn >> 21) & 1) == 0) { convFixed(insn); return; }
  switch ((insn >> 10) & 3) {
    case 1: condCompare(insn); return;
    case 2: dataProc2(insn); return;
    case 3: condSelect(insn); return;
    default: break;
  }
  if (((insn >> 12) & 1) != 0) { immediate(insn); return; }
  if (((insn >> 13) & 1) != 0) { compare(insn); return; }
  if (((insn >> 14) & 1) != 0) { dataProc1(insn); return; }
  if (((insn >> 10) & 0x3F) == 0) { convInt(insn); return; }
  undefinedInstruction(CLS_FP);
}

// Arithmetic sizes: single and double only (half needs FEAT_FP16)
@inline function arithSize(insn: u32): u32 {
  if ((insn >> 31) != 0) return 0; // M = 1
  const t = (insn >> 22) & 3;
  return t == 0 ? 32 : (t == 1 ? 64 : 0);
}

function dataProc2(insn: u32): void {
  const sz = arithSize(insn);
  const op = (insn >> 12) & 0xF;
  if (sz == 0 || op > 8) { undefinedInstruction(CLS_FP); return; }
  const a = vget((insn >> 5) & 31) & sizeMask(sz), b = vget((insn >> 16) & 31) & sizeMask(sz);
  let r: u64;
  switch (op) {
    case 0: r = fpMul(sz, a, b, false); break;
    case 1: r = fpDiv(sz, a, b); break;
    case 2: r = fpAdd(sz, a, b, false); break;
    case 3: r = fpAdd(sz, a, b, true); break;
    case 4: r = fpMaxMin(sz, a, b, true, false); break;
    case 5: r = fpMaxMin(sz, a, b, false, false); break;
    case 6: r = fpMaxMin(sz, a, b, true, true); break;
    case 7: r = fpMaxMin(sz, a, b, false, true); break;
    default: r = fpMul(sz, a, b, false) ^ signBit(sz); // FNMUL negates the result, NaN or not
  }
  vsetScalar(insn & 31, sz, r);
}

function dataProc3(insn: u32): void {
  const sz = arithSize(insn);
  if (sz == 0) { undefinedInstruction(CLS_FP); return; }
  const o1 = (insn >> 21) & 1, o0 = (insn >> 15) & 1;
  let a = vget((insn >> 10) & 31) & sizeMask(sz); // Ra, the addend
  let n = vget((insn >> 5) & 31) & sizeMask(sz);
  const m = vget((insn >> 16) & 31) & sizeMask(sz);
  // FMADD: a + n*m; FMSUB: a + (-n)*m; FNMADD: (-a) + (-n)*m; FNMSUB: (-a) + n*m
  if (o1 != 0) a ^= signBit(sz);
  if ((o1 ^ o0) != 0) n ^= signBit(sz);
  vsetScalar(insn & 31, sz, fpMulAdd(sz, a, n, m));
}

function dataProc1(insn: u32): void {
  const opcode = (insn >> 15) & 0x3F;
  const ftype = (insn >> 22) & 3;
  const rn = (insn >> 5) & 31, rd = insn & 31;
  if ((insn >> 31) != 0) { undefinedInstruction(CLS_FP); return; }
  if ((opcode & 0x3C) == 0x04) { // FCVT between precisions: opc = bits 16:15
    const from = fsize(ftype), to = fsize(opcode & 3);
    if (from == 0 || to == 0 || from == to) { undefinedInstruction(CLS_FP); return; }
    vsetScalar(rd, to, fpConvert(to, from, vget(rn) & sizeMask(from), fpcrRMode()));
    return;
  }
  const sz = ftype == 0 ? 32 : (ftype == 1 ? 64 : 0);
  if (sz == 0) { undefinedInstruction(CLS_FP); return; }
  const a = vget(rn) & sizeMask(sz);
  let r: u64;
  switch (opcode) {
    case 0: r = a; break; // FMOV (register)
    case 1: r = a & ~signBit(sz); break; // FABS
    case 2: r = a ^ signBit(sz); break; // FNEG
    case 3: r = fpSqrt(sz, a); break;
    case 8: r = fpRoundInt(sz, a, RN, false); break; // FRINTN
    case 9: r = fpRoundInt(sz, a, RP, false); break; // FRINTP
    case 10: r = fpRoundInt(sz, a, RM, false); break; // FRINTM
    case 11: r = fpRoundInt(sz, a, RZ, false); break; // FRINTZ
    case 12: r = fpRoundInt(sz, a, RA, false); break; // FRINTA
    case 14: r = fpRoundInt(sz, a, fpcrRMode(), true); break; // FRINTX
    case 15: r = fpRoundInt(sz, a, fpcrRMode(), false); break; // FRINTI
    default: undefinedInstruction(CLS_FP); return;
  }
  vsetScalar(rd, sz, r);
}

function compare(insn: u32): void {
  const sz = arithSize(insn);
  const op = (insn >> 14) & 3, opc2 = insn & 31;
  if (sz == 0 || op != 0 || (opc2 & 7) != 0) { undefinedInstruction(CLS_FP); return; }
  const a = vget((insn >> 5) & 31) & sizeMask(sz);
  const b: u64 = (opc2 & 8) != 0 ? 0 : vget((insn >> 16) & 31) & sizeMask(sz);
  setNZCV(fpCompare(sz, a, b, (opc2 & 16) != 0));
}

function condCompare(insn: u32): void {
  const sz = arithSize(insn);
  if (sz == 0) { undefinedInstruction(CLS_FP); return; }
  if (!condHolds((insn >> 12) & 0xF)) { setNZCV(insn & 0xF); return; }
  const a = vget((insn >> 5) & 31) & sizeMask(sz), b = vget((insn >> 16) & 31) & sizeMask(sz);
  setNZCV(fpCompare(sz, a, b, ((insn >> 4) & 1) != 0));
}

function condSelect(insn: u32): void {
  const sz = arithSize(insn);
  if (sz == 0) { undefinedInstruction(CLS_FP); return; }
  const src = condHolds((insn >> 12) & 0xF) ? (insn >> 5) & 31 : (insn >> 16) & 31;
  vsetScalar(insn & 31, sz, vget(src) & sizeMask(sz));
}

// VFPExpandImm
export function expandFpImm(imm8: u32, sz: u32): u64 {
  const E: u32 = sz == 64 ? 11 : (sz == 32 ? 8 : 5), F: u32 = sz - E - 1;
  const sign = <u64>(imm8 >> 7);
  const b6 = (imm8 >> 6) & 1;
  let exp: u64 = <u64>(b6 ^ 1) << (E - 1);
  if (b6 != 0) exp |= ((<u64>1 << (E - 3)) - 1) << 2;
  exp |= <u64>((imm8 >> 4) & 3);
  const frac = <u64>(imm8 & 0xF) << (F - 4);
  return (sign << (sz - 1)) | (exp << F) | frac;
}

function immediate(insn: u32): void {
  const sz = arithSize(insn);
  if (sz == 0 || ((insn >> 5) & 31) != 0) { undefinedInstruction(CLS_FP); return; }
  vsetScalar(insn & 31, sz, expandFpImm((insn >> 13) & 0xFF, sz));
}

// Conversion between floating point and fixed point
function convFixed(insn: u32): void {
  const sf = insn >> 31, sz = fsize((insn >> 22) & 3);
  const rmode = (insn >> 19) & 3, opcode = (insn >> 16) & 7, scale = (insn >> 10) & 0x3F;
  const rn = (insn >> 5) & 31, rd = insn & 31;
  if (sz == 0 || sz == 16 || (sf == 0 && scale < 32)) { undefinedInstruction(CLS_FP); return; }
  const fbits = 64 - scale;
  const isize: u32 = sf != 0 ? 64 : 32;
  const key = (rmode << 3) | opcode;
  switch (key) {
    case 0x02: case 0x03: // SCVTF, UCVTF (fixed)
      vsetScalar(rd, sz, fixedToFp(sz, xr(rn), isize, fbits, key == 0x03, fpcrRMode()));
      return;
    case 0x18: case 0x19: { // FCVTZS, FCVTZU (fixed)
      const v = fpToFixed(sz, vget(rn) & sizeMask(sz), fbits, key == 0x19, RZ, isize);
      setX(rd, sf != 0 ? v : v & 0xFFFFFFFF);
      return;
    }
    default: undefinedInstruction(CLS_FP);
  }
}

// Conversion between floating point and integer, and FMOV (general)
function convInt(insn: u32): void {
  const sf = insn >> 31, ftype = (insn >> 22) & 3, rmode = (insn >> 19) & 3, opcode = (insn >> 16) & 7;
  const rn = (insn >> 5) & 31, rd = insn & 31;
  if (opcode >= 6) { // FMOV between general and FP registers
    const toGeneral = opcode == 6;
    if (sf == 0 && ftype == 0 && rmode == 0) { // W <-> S
      if (toGeneral) setX(rd, vget(rn) & 0xFFFFFFFF); else vsetScalar(rd, 32, xr(rn) & 0xFFFFFFFF);
      return;
    }
    if (sf != 0 && ftype == 1 && rmode == 0) { // X <-> D
      if (toGeneral) setX(rd, vget(rn)); else vsetScalar(rd, 64, xr(rn));
      return;
    }
    if (sf != 0 && ftype == 2 && rmode == 1) { // X <-> V.D[1]: the low half is kept
      const p = vaddr(toGeneral ? rn : rd);
      if (toGeneral) setX(rd, load<u64>(p, 8)); else store<u64>(p, xr(rn), 8);
      return;
    }
    undefinedInstruction(CLS_FP); // half-precision moves (FEAT_FP16), FJCVTZS (FEAT_JSCVT)
    return;
  }
  const sz = ftype == 0 ? 32 : (ftype == 1 ? 64 : 0);
  if (sz == 0) { undefinedInstruction(CLS_FP); return; }
  const isize: u32 = sf != 0 ? 64 : 32;
  if (opcode == 2 || opcode == 3) { // SCVTF, UCVTF
    if (rmode != 0) { undefinedInstruction(CLS_FP); return; }
    vsetScalar(rd, sz, fixedToFp(sz, xr(rn), isize, 0, opcode == 3, fpcrRMode()));
    return;
  }
  let mode: u32;
  if (opcode <= 1) mode = rmode == 0 ? RN : (rmode == 1 ? RP : (rmode == 2 ? RM : RZ)); // FCVT{N,P,M,Z}{S,U}
  else { if (rmode != 0) { undefinedInstruction(CLS_FP); return; } mode = RA; } // FCVTA{S,U}
  const v = fpToFixed(sz, vget(rn) & sizeMask(sz), 0, (opcode & 1) != 0, mode, isize);
  setX(rd, sf != 0 ? v : v & 0xFFFFFFFF);
}
