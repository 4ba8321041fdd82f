// The floating-point opcodes inside the Advanced SIMD groups. Each hook
// returns true when the encoding is a floating-point one it executed (or
// raised UNDEFINED for), false when the integer AdvSIMD code should decode it.
// `scalar`: the AdvSIMD scalar form of the group (bits 31:30 = 01, bit 28 = 1).
// Only single and double precision lanes exist here: the half-precision
// forms are FEAT_FP16 and UNDEFINED.

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import {
  fpAdd, fpMul, fpDiv, fpSqrt, fpMulAdd, fpMaxMin, fpCompareOp, fpToFixed, fixedToFp, fpRoundInt, fpConvert,
  fpRecipEstimate, fpRSqrtEstimate, fpRecpX, fpRecipStep, fpcrRMode, signBit, sizeMask, RN, RP, RM, RZ, RA, RO,
} from "./softfloat";

// Result buffer: results are built here, then copied, since Vd may also be a source.
const R: usize = memory.data(16, 16);

@inline function el(p: usize, i: u32, sz: u32): u64 { return sz == 64 ? load<u64>(p + (<usize>i << 3)) : <u64>load<u32>(p + (<usize>i << 2)); }
@inline function setEl(p: usize, i: u32, sz: u32, v: u64): void {
  if (sz == 64) store<u64>(p + (<usize>i << 3), v); else store<u32>(p + (<usize>i << 2), <u32>v);
}
// Copies R to Vd: `bytes` of result, the rest of the register cleared.
function writeBack(d: u32, bytes: u32): void {
  const p = vaddr(d);
  store<u64>(p, load<u64>(R));
  store<u64>(p, bytes > 8 ? load<u64>(R, 8) : 0, 8);
  if (bytes < 8) store<u64>(p, load<u64>(p) & ((<u64>1 << (bytes * 8)) - 1));
}
@inline function undef(): bool { undefinedInstruction(CLS_SIMD); return true; }

// ---- three registers of the same type
export function simdFpThreeSame(insn: u32, scalar: bool): bool {
  const op = (insn >> 11) & 31;
  if (op < 0x18) return false;
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, a = (insn >> 23) & 1, szb = (insn >> 22) & 1;
  if (((insn >> 21) & 1) == 0) return false;
  const sz: u32 = szb != 0 ? 64 : 32;
  const key = (u << 4) | (a << 3) | (op - 0x18);
  if (scalar) {
    // FMULX, FCMEQ, FRECPS, FRSQRTS, FCMGE, FACGE, FABD, FCMGT, FACGT
    if (key != 0x03 && key != 0x04 && key != 0x07 && key != 0x0F && key != 0x14 && key != 0x15 && key != 0x1A && key != 0x1C && key != 0x1D) return undef();
  } else {
    if (szb != 0 && q == 0) return undef();
    if (key == 0x05 || key == 0x0B || key == 0x0C || key == 0x0D || key == 0x11 || key == 0x19 || key == 0x1B || key == 0x1F) return undef();
  }
  const n = vaddr((insn >> 5) & 31), m = vaddr((insn >> 16) & 31), dp = vaddr(insn & 31);
  const elems: u32 = scalar ? 1 : (q != 0 ? 128 : 64) / sz;
  const pairwise = key == 0x10 || key == 0x12 || key == 0x16 || key == 0x18 || key == 0x1E;
  for (let e: u32 = 0; e < elems; e++) {
    let x: u64, y: u64;
    if (pairwise) {
      const half = elems >> 1;
      const src = e < half ? n : m;
      const i = (e < half ? e : e - half) * 2;
      x = el(src, i, sz); y = el(src, i + 1, sz);
    } else { x = el(n, e, sz); y = el(m, e, sz); }
    let r: u64;
    switch (key) {
      case 0x00: case 0x10: r = fpMaxMin(sz, x, y, true, true); break; // FMAXNM(P)
      case 0x08: case 0x18: r = fpMaxMin(sz, x, y, false, true); break; // FMINNM(P)
      case 0x01: r = fpMulAdd(sz, el(dp, e, sz), x, y); break; // FMLA
      case 0x09: r = fpMulAdd(sz, el(dp, e, sz), x ^ signBit(sz), y); break; // FMLS
      case 0x02: case 0x12: r = fpAdd(sz, x, y, false); break; // FADD, FADDP
      case 0x0A: r = fpAdd(sz, x, y, true); break; // FSUB
      case 0x1A: r = fpAdd(sz, x, y, true) & ~signBit(sz); break; // FABD
      case 0x03: r = fpMul(sz, x, y, true); break; // FMULX
      case 0x13: r = fpMul(sz, x, y, false); break; // FMUL
      case 0x17: r = fpDiv(sz, x, y); break; // FDIV
      case 0x04: r = fpCompareOp(sz, x, y, 0) ? sizeMask(sz) : 0; break; // FCMEQ
      case 0x14: r = fpCompareOp(sz, x, y, 1) ? sizeMask(sz) : 0; break; // FCMGE
      case 0x1C: r = fpCompareOp(sz, x, y, 2) ? sizeMask(sz) : 0; break; // FCMGT
      case 0x15: r = fpCompareOp(sz, x & ~signBit(sz), y & ~signBit(sz), 1) ? sizeMask(sz) : 0; break; // FACGE
      case 0x1D: r = fpCompareOp(sz, x & ~signBit(sz), y & ~signBit(sz), 2) ? sizeMask(sz) : 0; break; // FACGT
      case 0x06: case 0x16: r = fpMaxMin(sz, x, y, true, false); break; // FMAX(P)
      case 0x0E: case 0x1E: r = fpMaxMin(sz, x, y, false, false); break; // FMIN(P)
      case 0x07: r = fpRecipStep(sz, x, y, false); break; // FRECPS
      default: r = fpRecipStep(sz, x, y, true); // FRSQRTS
    }
    setEl(R, e, sz, r);
  }
  writeBack(insn & 31, scalar ? sz / 8 : (q != 0 ? 16 : 8));
  return true;
}

// ---- two-register miscellaneous
export function simdFpTwoRegMisc(insn: u32, scalar: bool): bool {
  const op = (insn >> 12) & 31;
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, a = (insn >> 23) & 1, szb = (insn >> 22) & 1;
  const key = (u << 6) | (a << 5) | op;
  const rn = (insn >> 5) & 31, rd = insn & 31;
  // narrowing and lengthening conversions
  if (a == 0 && (op == 0x16 || op == 0x17)) {
    if (op == 0x17 && u != 0) return false;
    if (scalar && !(u == 1 && op == 0x16)) return false; // only FCVTXN has a scalar form here
    return convertWidth(insn, u, op, szb, q, scalar);
  }
  let kind: u32; // what to do per element
  let mode: u32 = 0;
  switch (key) {
    case 0x18: kind = 1; mode = RN; break; // FRINTN
    case 0x38: kind = 1; mode = RP; break; // FRINTP
    case 0x19: kind = 1; mode = RM; break; // FRINTM
    case 0x39: kind = 1; mode = RZ; break; // FRINTZ
    case 0x58: kind = 1; mode = RA; break; // FRINTA
    case 0x59: kind = 2; break; // FRINTX
    case 0x79: kind = 3; break; // FRINTI
    case 0x1A: kind = 4; mode = RN; break; // FCVTNS
    case 0x3A: kind = 4; mode = RP; break; // FCVTPS
    case 0x1B: kind = 4; mode = RM; break; // FCVTMS
    case 0x3B: kind = 4; mode = RZ; break; // FCVTZS
    case 0x1C: kind = 4; mode = RA; break; // FCVTAS
    case 0x5A: kind = 5; mode = RN; break; // FCVTNU
    case 0x7A: kind = 5; mode = RP; break; // FCVTPU
    case 0x5B: kind = 5; mode = RM; break; // FCVTMU
    case 0x7B: kind = 5; mode = RZ; break; // FCVTZU
    case 0x5C: kind = 5; mode = RA; break; // FCVTAU
    case 0x1D: kind = 6; break; // SCVTF
    case 0x5D: kind = 7; break; // UCVTF
    case 0x3D: kind = 8; break; // FRECPE
    case 0x7D: kind = 9; break; // FRSQRTE
    case 0x3F: if (!scalar) return undef(); kind = 10; break; // FRECPX (scalar only)
    case 0x2C: kind = 11; break; // FCMGT #0
    case 0x2D: kind = 12; break; // FCMEQ #0
    case 0x2E: kind = 13; break; // FCMLT #0
    case 0x6C: kind = 14; break; // FCMGE #0
    case 0x6D: kind = 15; break; // FCMLE #0
    case 0x2F: if (scalar) return undef(); kind = 16; break; // FABS
    case 0x6F: if (scalar) return undef(); kind = 17; break; // FNEG
    case 0x7F: if (scalar) return undef(); kind = 18; break; // FSQRT
    default: return false;
  }
  if (scalar && kind <= 3) return undef(); // no scalar FRINT*
  if (!scalar && szb != 0 && q == 0) return undef();
  const sz: u32 = szb != 0 ? 64 : 32;
  const n = vaddr(rn);
  const elems: u32 = scalar ? 1 : (q != 0 ? 128 : 64) / sz;
  for (let e: u32 = 0; e < elems; e++) {
    const x = el(n, e, sz);
    let r: u64;
    switch (kind) {
      case 1: r = fpRoundInt(sz, x, mode, false); break;
      case 2: r = fpRoundInt(sz, x, fpcrRMode(), true); break;
      case 3: r = fpRoundInt(sz, x, fpcrRMode(), false); break;
      case 4: r = fpToFixed(sz, x, 0, false, mode, sz); break;
      case 5: r = fpToFixed(sz, x, 0, true, mode, sz); break;
      case 6: r = fixedToFp(sz, x, sz, 0, false, fpcrRMode()); break;
      case 7: r = fixedToFp(sz, x, sz, 0, true, fpcrRMode()); break;
      case 8: r = fpRecipEstimate(sz, x); break;
      case 9: r = fpRSqrtEstimate(sz, x); break;
      case 10: r = fpRecpX(sz, x); break;
      case 11: r = fpCompareOp(sz, x, 0, 2) ? sizeMask(sz) : 0; break;
      case 12: r = fpCompareOp(sz, x, 0, 0) ? sizeMask(sz) : 0; break;
      case 13: r = fpCompareOp(sz, 0, x, 2) ? sizeMask(sz) : 0; break;
      case 14: r = fpCompareOp(sz, x, 0, 1) ? sizeMask(sz) : 0; break;
      case 15: r = fpCompareOp(sz, 0, x, 1) ? sizeMask(sz) : 0; break;
      case 16: r = x & ~signBit(sz); break;
      case 17: r = x ^ signBit(sz); break;
      default: r = fpSqrt(sz, x);
    }
    setEl(R, e, sz, r);
  }
  writeBack(rd, scalar ? sz / 8 : (q != 0 ? 16 : 8));
  return true;
}

// FCVTN(2), FCVTXN(2) narrow; FCVTL(2) lengthen. szb selects the wider size (0: single, 1: double).
function convertWidth(insn: u32, u: u32, op: u32, szb: u32, q: u32, scalar: bool): bool {
  const rn = (insn >> 5) & 31, rd = insn & 31;
  const wide: u32 = szb != 0 ? 64 : 32, narrow: u32 = szb != 0 ? 32 : 16;
  const n = vaddr(rn);
  if (op == 0x17) { // FCVTL: the low (or, Q=1, high) half of Vn widened
    const base: u32 = q != 0 ? 64 / narrow : 0;
    const cnt: u32 = 64 / narrow;
    for (let e: u32 = 0; e < cnt; e++) {
      const x = narrow == 32 ? <u64>load<u32>(n + (<usize>(base + e) << 2)) : <u64>load<u16>(n + (<usize>(base + e) << 1));
      setEl(R, e, wide, fpConvert(wide, narrow, x, fpcrRMode()));
    }
    writeBack(rd, 16);
    return true;
  }
  if (u != 0 && szb == 0) return undef(); // FCVTXN is double to single only
  const mode = u != 0 ? RO : fpcrRMode();
  const cnt: u32 = scalar ? 1 : 128 / wide;
  // narrowed results, in the low or high half of Vd (Q=1 keeps the low half)
  const dp = vaddr(rd);
  store<u64>(R, q != 0 && !scalar ? load<u64>(dp) : 0);
  store<u64>(R, 0, 8);
  const base: u32 = q != 0 && !scalar ? 64 / narrow : 0;
  for (let e: u32 = 0; e < cnt; e++) {
    const r = fpConvert(narrow, wide, el(n, e, wide), mode);
    if (narrow == 32) store<u32>(R + (<usize>(base + e) << 2), <u32>r);
    else store<u16>(R + (<usize>(base + e) << 1), <u16>r);
  }
  writeBack(rd, scalar ? narrow / 8 : (q != 0 ? 16 : 8));
  return true;
}

// ---- vector/scalar by element: FMLA, FMLS, FMUL, FMULX
export function simdFpIndexed(insn: u32, scalar: bool): bool {
  const opcode = (insn >> 12) & 0xF;
  const u = (insn >> 29) & 1;
  if (opcode != 1 && opcode != 5 && opcode != 9) return false;
  if (u != 0 && opcode != 9) return false; // FCMLA and the like are not FP-by-element here
  const size = (insn >> 22) & 3;
  if (size < 2) return undef(); // half precision: FEAT_FP16
  const q = (insn >> 30) & 1, l = (insn >> 21) & 1, h = (insn >> 11) & 1;
  const sz: u32 = size == 3 ? 64 : 32;
  if (sz == 64 && (l != 0 || (!scalar && q == 0))) return undef();
  const index: u32 = sz == 64 ? h : (h << 1) | l;
  const rm = (insn >> 16) & 31;
  const y = el(vaddr(rm), index, sz);
  const n = vaddr((insn >> 5) & 31), dp = vaddr(insn & 31);
  const elems: u32 = scalar ? 1 : (q != 0 ? 128 : 64) / sz;
  for (let e: u32 = 0; e < elems; e++) {
    const x = el(n, e, sz);
    let r: u64;
    if (opcode == 1) r = fpMulAdd(sz, el(dp, e, sz), x, y);
    else if (opcode == 5) r = fpMulAdd(sz, el(dp, e, sz), x ^ signBit(sz), y);
    else r = fpMul(sz, x, y, u != 0);
    setEl(R, e, sz, r);
  }
  writeBack(insn & 31, scalar ? sz / 8 : (q != 0 ? 16 : 8));
  return true;
}

// ---- across lanes: FMAXNMV, FMINNMV, FMAXV, FMINV (4S only in ARMv8.0)
export function simdFpAcrossLanes(insn: u32): bool {
  const u = (insn >> 29) & 1, op = (insn >> 12) & 31;
  if (op != 0x0C && op != 0x0F) return false;
  if (u == 0) return undef(); // the half-precision forms (FEAT_FP16)
  const q = (insn >> 30) & 1, a = (insn >> 23) & 1, szb = (insn >> 22) & 1;
  if (q == 0 || szb != 0) return undef();
  const n = vaddr((insn >> 5) & 31);
  const isMax = a == 0, num = op == 0x0C;
  // the architecture reduces pairwise: (e0 op e1) op (e2 op e3)
  const r0 = fpMaxMin(32, el(n, 0, 32), el(n, 1, 32), isMax, num);
  const r1 = fpMaxMin(32, el(n, 2, 32), el(n, 3, 32), isMax, num);
  setEl(R, 0, 32, fpMaxMin(32, r0, r1, isMax, num));
  writeBack(insn & 31, 4);
  return true;
}

// ---- scalar pairwise: FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP
export function simdFpScalarPairwise(insn: u32): bool {
  const u = (insn >> 29) & 1, op = (insn >> 12) & 31;
  if (op != 0x0C && op != 0x0D && op != 0x0F) return false;
  if (u == 0) return undef(); // half precision (FEAT_FP16)
  const a = (insn >> 23) & 1, szb = (insn >> 22) & 1;
  if (op == 0x0D && a != 0) return undef();
  const sz: u32 = szb != 0 ? 64 : 32;
  const n = vaddr((insn >> 5) & 31);
  const x = el(n, 0, sz), y = el(n, 1, sz);
  let r: u64;
  if (op == 0x0D) r = fpAdd(sz, x, y, false);
  else r = fpMaxMin(sz, x, y, a == 0, op == 0x0C);
  setEl(R, 0, sz, r);
  writeBack(insn & 31, sz / 8);
  return true;
}

// ---- shift by immediate: SCVTF, UCVTF, FCVTZS, FCVTZU with fraction bits
export function simdFpShiftImm(insn: u32, scalar: bool): bool {
  const opcode = (insn >> 11) & 31;
  if (opcode != 0x1C && opcode != 0x1F) return false;
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, immh = (insn >> 19) & 0xF, immb = (insn >> 16) & 7;
  let sz: u32;
  if ((immh & 8) != 0) sz = 64;
  else if ((immh & 4) != 0) sz = 32;
  else return undef(); // half precision (FEAT_FP16) or reserved
  if (!scalar && sz == 64 && q == 0) return undef();
  const fbits: u32 = sz * 2 - ((immh << 3) | immb);
  const n = vaddr((insn >> 5) & 31);
  const elems: u32 = scalar ? 1 : (q != 0 ? 128 : 64) / sz;
  for (let e: u32 = 0; e < elems; e++) {
    const x = el(n, e, sz);
    const r = opcode == 0x1C ? fixedToFp(sz, x, sz, fbits, u != 0, fpcrRMode()) : fpToFixed(sz, x, fbits, u != 0, RZ, sz);
    setEl(R, e, sz, r);
  }
  writeBack(insn & 31, scalar ? sz / 8 : (q != 0 ? 16 : 8));
  return true;
}
