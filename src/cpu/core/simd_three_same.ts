// AdvSIMD "three same" (vector and scalar): element-wise integer arithmetic,
// comparisons, shifts by register, saturating forms, pairwise ops and the
// bitwise group. The common ops take a v128 path; the rest go element by
// element through sameElem.

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { simdFpThreeSame } from "./fpvec";
import {
  T, eU, eSet, sx, putV, finishT, putScalar, qadd, qsub, shiftReg, pmul8, sqdmulh, setQC,
} from "./simd_util";

// Opcodes (bits 15:11)
const HADD: u32 = 0, QADD: u32 = 1, RHADD: u32 = 2, LOGIC: u32 = 3, HSUB: u32 = 4, QSUB: u32 = 5;
const CMGT: u32 = 6, CMGE: u32 = 7, SHL: u32 = 8, QSHL: u32 = 9, RSHL: u32 = 10, QRSHL: u32 = 11;
const MAX: u32 = 12, MIN: u32 = 13, ABD: u32 = 14, ABA: u32 = 15, ADDSUB: u32 = 16, TST: u32 = 17;
const MLA: u32 = 18, MUL: u32 = 19, MAXP: u32 = 20, MINP: u32 = 21, QDMULH: u32 = 22, ADDP: u32 = 23;

// One element of a three-same op. a = Vn, b = Vm, d = Vd element (zero-extended).
function sameElem(op: u32, u: bool, sz: u32, a: u64, b: u64, d: u64): u64 {
  switch (op) {
    case HADD: return u ? (a + b) >> 1 : <u64>((sx(a, sz) + sx(b, sz)) >> 1);
    case QADD: return qadd(a, b, sz, u);
    case RHADD: return u ? (a + b + 1) >> 1 : <u64>((sx(a, sz) + sx(b, sz) + 1) >> 1);
    case HSUB: return u ? <u64>((<i64>a - <i64>b) >> 1) : <u64>((sx(a, sz) - sx(b, sz)) >> 1);
    case QSUB: return qsub(a, b, sz, u);
    case CMGT: return (u ? a > b : sx(a, sz) > sx(b, sz)) ? <u64>-1 : 0;
    case CMGE: return (u ? a >= b : sx(a, sz) >= sx(b, sz)) ? <u64>-1 : 0;
    case SHL: return shiftReg(a, <i32><i8>b, sz, u, false, false);
    case QSHL: return shiftReg(a, <i32><i8>b, sz, u, false, true);
    case RSHL: return shiftReg(a, <i32><i8>b, sz, u, true, false);
    case QRSHL: return shiftReg(a, <i32><i8>b, sz, u, true, true);
    case MAX: case MAXP:
      if (u) return a > b ? a : b;
      return sx(a, sz) > sx(b, sz) ? a : b;
    case MIN: case MINP:
      if (u) return a < b ? a : b;
      return sx(a, sz) < sx(b, sz) ? a : b;
    case ABD: case ABA: {
      const x: i64 = u ? <i64>a : sx(a, sz), y: i64 = u ? <i64>b : sx(b, sz);
      const r = <u64>(x > y ? x - y : y - x);
      return op == ABA ? d + r : r;
    }
    case ADDSUB: case ADDP: return u && op == ADDSUB ? a - b : a + b;
    case TST: return (u ? a == b : (a & b) != 0) ? <u64>-1 : 0;
    case MLA: return u ? d - a * b : d + a * b;
    case MUL: return u ? <u64>pmul8(<u32>a, <u32>b) : a * b;
    case QDMULH: return sqdmulh(a, b, sz, u);
  }
  return 0;
}

// Element sizes each opcode allows: bit s set = size s allowed (vector form;
// size 3 additionally needs Q=1).
@inline function sizeOk(op: u32, u: u32, size: u32): bool {
  switch (op) {
    case QADD: case QSUB: case CMGT: case CMGE: case SHL: case QSHL: case RSHL: case QRSHL:
    case ADDSUB: case TST: case LOGIC:
      return true;
    case MUL: return u == 0 ? size != 3 : size == 0;
    case QDMULH: return size == 1 || size == 2;
    case ADDP: return u == 0;
    default: return size != 3; // halving, min/max, abd/aba, mla/mls, pairwise min/max
  }
}

const SIGN64: v128 = i64x2.splat(0x8000000000000000);

// QC for a v128 saturating op: did the saturated result differ from the
// exact one in the lanes the instruction uses?
@inline function qcIfDiffer(x: v128, y: v128, q: u32): void {
  const d = v128.xor(x, y);
  if (q != 0 ? v128.any_true(d) : i64x2.extract_lane(d, 0) != 0) setQC();
}
// QC for SQDMULH/SQRDMULH .H: only MIN * MIN saturates.
@inline function qcIfMinMin(a: v128, b: v128, q: u32): void {
  const min = i16x8.splat(-0x8000);
  qcIfDiffer(v128.and(i16x8.eq(a, min), i16x8.eq(b, min)), i64x2.splat(0), q);
}

// The v128 forms of the common ops; returns false when the op/size pair has
// no vector path here.
function fastSame(op: u32, u: u32, size: u32, q: u32, d: u32, a: v128, b: v128): bool {
  let r: v128;
  switch (op) {
    case LOGIC: {
      if (u == 0) {
        if (size == 0) r = v128.and(a, b);
        else if (size == 1) r = v128.andnot(a, b);
        else if (size == 2) r = v128.or(a, b);
        else r = v128.or(a, v128.not(b));
      } else {
        if (size == 0) r = v128.xor(a, b);
        else {
          const c = v128.load(vaddr(d));
          if (size == 1) r = v128.bitselect(a, b, c); // BSL
          else if (size == 2) r = v128.bitselect(a, c, b); // BIT
          else r = v128.bitselect(c, a, b); // BIF
        }
      }
      break;
    }
    case ADDSUB:
      if (u == 0) {
        if (size == 0) r = i8x16.add(a, b);
        else if (size == 1) r = i16x8.add(a, b);
        else if (size == 2) r = i32x4.add(a, b);
        else r = i64x2.add(a, b);
      } else {
        if (size == 0) r = i8x16.sub(a, b);
        else if (size == 1) r = i16x8.sub(a, b);
        else if (size == 2) r = i32x4.sub(a, b);
        else r = i64x2.sub(a, b);
      }
      break;
    case TST:
      if (u != 0) {
        if (size == 0) r = i8x16.eq(a, b);
        else if (size == 1) r = i16x8.eq(a, b);
        else if (size == 2) r = i32x4.eq(a, b);
        else r = i64x2.eq(a, b);
      } else {
        const z = v128.and(a, b), zero = i64x2.splat(0);
        if (size == 0) r = i8x16.ne(z, zero);
        else if (size == 1) r = i16x8.ne(z, zero);
        else if (size == 2) r = i32x4.ne(z, zero);
        else r = i64x2.ne(z, zero);
      }
      break;
    case CMGT:
      if (size == 3) {
        if (u != 0) { a = v128.xor(a, SIGN64); b = v128.xor(b, SIGN64); }
        r = i64x2.gt_s(a, b);
      } else if (u != 0) {
        if (size == 0) r = i8x16.gt_u(a, b);
        else if (size == 1) r = i16x8.gt_u(a, b);
        else r = i32x4.gt_u(a, b);
      } else {
        if (size == 0) r = i8x16.gt_s(a, b);
        else if (size == 1) r = i16x8.gt_s(a, b);
        else r = i32x4.gt_s(a, b);
      }
      break;
    case CMGE:
      if (size == 3) {
        if (u != 0) { a = v128.xor(a, SIGN64); b = v128.xor(b, SIGN64); }
        r = i64x2.ge_s(a, b);
      } else if (u != 0) {
        if (size == 0) r = i8x16.ge_u(a, b);
        else if (size == 1) r = i16x8.ge_u(a, b);
        else r = i32x4.ge_u(a, b);
      } else {
        if (size == 0) r = i8x16.ge_s(a, b);
        else if (size == 1) r = i16x8.ge_s(a, b);
        else r = i32x4.ge_s(a, b);
      }
      break;
    case MAX: case MIN: case ABD: case ABA: {
      let mx: v128, mn: v128;
      if (u != 0) {
        if (size == 0) { mx = i8x16.max_u(a, b); mn = i8x16.min_u(a, b); }
        else if (size == 1) { mx = i16x8.max_u(a, b); mn = i16x8.min_u(a, b); }
        else { mx = i32x4.max_u(a, b); mn = i32x4.min_u(a, b); }
      } else {
        if (size == 0) { mx = i8x16.max_s(a, b); mn = i8x16.min_s(a, b); }
        else if (size == 1) { mx = i16x8.max_s(a, b); mn = i16x8.min_s(a, b); }
        else { mx = i32x4.max_s(a, b); mn = i32x4.min_s(a, b); }
      }
      if (op == MAX) r = mx;
      else if (op == MIN) r = mn;
      else {
        if (size == 0) r = i8x16.sub(mx, mn);
        else if (size == 1) r = i16x8.sub(mx, mn);
        else r = i32x4.sub(mx, mn);
        if (op == ABA) {
          const c = v128.load(vaddr(d));
          if (size == 0) r = i8x16.add(c, r);
          else if (size == 1) r = i16x8.add(c, r);
          else r = i32x4.add(c, r);
        }
      }
      break;
    }
    case MAXP: case MINP: case ADDP: {
      if (q == 0) { a = i64x2.shuffle(a, b, 0, 2); b = a; }
      let e: v128, o: v128;
      if (size == 0) {
        e = i8x16.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        o = i8x16.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
      } else if (size == 1) {
        e = i16x8.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
        o = i16x8.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
      } else if (size == 2) {
        e = i32x4.shuffle(a, b, 0, 2, 4, 6);
        o = i32x4.shuffle(a, b, 1, 3, 5, 7);
      } else {
        e = i64x2.shuffle(a, b, 0, 2);
        o = i64x2.shuffle(a, b, 1, 3);
      }
      if (op == ADDP) {
        if (size == 0) r = i8x16.add(e, o);
        else if (size == 1) r = i16x8.add(e, o);
        else if (size == 2) r = i32x4.add(e, o);
        else r = i64x2.add(e, o);
      } else if (op == MAXP) {
        if (u != 0) {
          if (size == 0) r = i8x16.max_u(e, o);
          else if (size == 1) r = i16x8.max_u(e, o);
          else r = i32x4.max_u(e, o);
        } else {
          if (size == 0) r = i8x16.max_s(e, o);
          else if (size == 1) r = i16x8.max_s(e, o);
          else r = i32x4.max_s(e, o);
        }
      } else {
        if (u != 0) {
          if (size == 0) r = i8x16.min_u(e, o);
          else if (size == 1) r = i16x8.min_u(e, o);
          else r = i32x4.min_u(e, o);
        } else {
          if (size == 0) r = i8x16.min_s(e, o);
          else if (size == 1) r = i16x8.min_s(e, o);
          else r = i32x4.min_s(e, o);
        }
      }
      break;
    }
    case MUL:
      if (u != 0) return false;
      if (size == 0) {
        // bytes: multiply the even and the odd bytes in 16-bit lanes
        const lo = v128.and(i16x8.mul(a, b), i16x8.splat(0x00FF));
        const hi = v128.and(i16x8.mul(i16x8.shr_u(a, 8), v128.and(b, i16x8.splat(<i16>0xFF00))), i16x8.splat(<i16>0xFF00));
        r = v128.or(lo, hi);
      } else r = size == 1 ? i16x8.mul(a, b) : i32x4.mul(a, b);
      break;
    case QADD: case QSUB: {
      if (size > 1) return false;
      let wrap: v128;
      if (op == QADD) {
        if (size == 0) { wrap = i8x16.add(a, b); r = u != 0 ? i8x16.add_sat_u(a, b) : i8x16.add_sat_s(a, b); }
        else { wrap = i16x8.add(a, b); r = u != 0 ? i16x8.add_sat_u(a, b) : i16x8.add_sat_s(a, b); }
      } else {
        if (size == 0) { wrap = i8x16.sub(a, b); r = u != 0 ? i8x16.sub_sat_u(a, b) : i8x16.sub_sat_s(a, b); }
        else { wrap = i16x8.sub(a, b); r = u != 0 ? i16x8.sub_sat_u(a, b) : i16x8.sub_sat_s(a, b); }
      }
      qcIfDiffer(r, wrap, q);
      break;
    }
    case QDMULH:
      if (size != 1) return false;
      if (u != 0) r = i16x8.q15mulr_sat_s(a, b); // SQRDMULH: (a*b + 2^14) >> 15, saturated
      else {
        // SQDMULH: (2*a*b) >> 16 = (a*b) >> 15 in 32-bit lanes, narrowed with saturation
        r = i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.extmul_low_i16x8_s(a, b), 15), i32x4.shr_s(i32x4.extmul_high_i16x8_s(a, b), 15));
      }
      qcIfMinMin(a, b, q);
      break;
    case MLA: {
      if (size == 0) return false;
      const c = v128.load(vaddr(d));
      const p = size == 1 ? i16x8.mul(a, b) : i32x4.mul(a, b);
      if (size == 1) r = u != 0 ? i16x8.sub(c, p) : i16x8.add(c, p);
      else r = u != 0 ? i32x4.sub(c, p) : i32x4.add(c, p);
      break;
    }
    default:
      return false;
  }
  putV(d, r, q);
  return true;
}

export function threeSame(insn: u32): void {
  if (simdFpThreeSame(insn, false)) return;
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const rm = (insn >> 16) & 31, op = (insn >> 11) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  if (op > ADDP || !sizeOk(op, u, size) || (size == 3 && q == 0 && op != LOGIC)) {
    undefinedInstruction(CLS_SIMD);
    return;
  }
  const pn = vaddr(rn), pm = vaddr(rm), pd = vaddr(rd);
  if (fastSame(op, u, size, q, rd, v128.load(pn), v128.load(pm))) return;
  const n: u32 = (8 << q) >> size;
  if (op == MAXP || op == MINP || op == ADDP) {
    // pairs of the concatenation Vm:Vn
    const half = n >> 1;
    for (let i: u32 = 0; i < n; i++) {
      const src = i < half ? pn : pm;
      const j = (i < half ? i : i - half) << 1;
      eSet(T, i, size, sameElem(op, u != 0, size, eU(src, j, size), eU(src, j + 1, size), 0));
    }
  } else {
    for (let i: u32 = 0; i < n; i++) {
      eSet(T, i, size, sameElem(op, u != 0, size, eU(pn, i, size), eU(pm, i, size), eU(pd, i, size)));
    }
  }
  finishT(rd, q);
}

export function scalarThreeSame(insn: u32): void {
  if (simdFpThreeSame(insn, true)) return;
  const u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const rm = (insn >> 16) & 31, op = (insn >> 11) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  let ok: bool;
  switch (op) {
    case QADD: case QSUB: case QSHL: case QRSHL: ok = true; break;
    case CMGT: case CMGE: case SHL: case RSHL: case ADDSUB: case TST: ok = size == 3; break;
    case QDMULH: ok = size == 1 || size == 2; break;
    default: ok = false;
  }
  if (!ok) { undefinedInstruction(CLS_SIMD); return; }
  const r = sameElem(op, u != 0, size, eU(vaddr(rn), 0, size), eU(vaddr(rm), 0, size), 0);
  putScalar(rd, size, r);
}
