// AdvSIMD "two-register miscellaneous" (vector and scalar), integer opcodes:
// REV16/32/64, pairwise long adds, SUQADD/USQADD, CLS/CLZ/CNT/NOT/RBIT,
// saturating ABS/NEG, compares against zero, ABS/NEG, the narrowing moves
// (XTN, SQXTN, UQXTN, SQXTUN), SHLL, and the integer estimates URECPE /
// URSQRTE (unless the FP hook claims those).

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { simdFpTwoRegMisc } from "./fpvec";
import {
  T, eU, eSet, sx, emask, putV, finishT, putScalar, satS, satU, setQC, suqadd64, usqadd64,
} from "./simd_util";

// Opcodes (bits 16:12)
const REV: u32 = 0, REV16: u32 = 1, ADDLP: u32 = 2, SQADDX: u32 = 3, CLZ: u32 = 4, CNT: u32 = 5;
const ADALP: u32 = 6, QABS: u32 = 7, CMGT0: u32 = 8, CMEQ0: u32 = 9, CMLT0: u32 = 10, ABS: u32 = 11;
const XTN: u32 = 18, SHLL: u32 = 19, QXTN: u32 = 20, RECPE: u32 = 28;

// Leading zeros within 8 << sz bits.
@inline function clzE(v: u64, sz: u32): u64 {
  return <u64>(clz<u64>(v) - (64 - (<u64>8 << sz)));
}

// Same-size element ops (also used by the scalar forms); a is zero-extended.
function miscElem(op: u32, u: bool, sz: u32, a: u64, d: u64): u64 {
  switch (op) {
    case SQADDX: {
      // SUQADD: signed accumulator + unsigned a; USQADD: unsigned acc + signed a
      if (sz == 3) return u ? usqadd64(d, <i64>a) : suqadd64(<i64>d, a);
      return u ? satU(<i64>d + sx(a, sz), sz) : satS(sx(d, sz) + <i64>a, sz);
    }
    case CLZ:
      if (u) return clzE(a, sz);
      { const s = sx(a, sz); return clzE(<u64>(s ^ (s >> 63)), sz) - 1; }
    case QABS: {
      const s = sx(a, sz);
      const r = u ? -s : (s < 0 ? -s : s);
      if (sz == 3) {
        if (s == (-0x7FFFFFFFFFFFFFFF - 1) && (u || s < 0)) { setQC(); return 0x7FFFFFFFFFFFFFFF; }
        return <u64>r;
      }
      return satS(r, sz);
    }
    case CMGT0: return (u ? sx(a, sz) >= 0 : sx(a, sz) > 0) ? <u64>-1 : 0;
    case CMEQ0: return (u ? sx(a, sz) <= 0 : a == 0) ? <u64>-1 : 0;
    case CMLT0: return sx(a, sz) < 0 ? <u64>-1 : 0;
    case ABS: { const s = sx(a, sz); return u ? <u64>(-s) : <u64>(s < 0 ? -s : s); }
  }
  return 0;
}

// Narrowing of a wide element (size sz + 1) to size sz.
function narrowElem(op: u32, u: bool, sz: u32, a: u64): u64 {
  if (op == XTN) {
    if (!u) return a; // XTN: truncate
    // SQXTUN: signed source, unsigned saturation
    if (sz == 2) {
      const s = <i64>a;
      if (s < 0) { setQC(); return 0; }
      if (s > 0xFFFFFFFF) { setQC(); return 0xFFFFFFFF; }
      return a;
    }
    return satU(sx(a, sz + 1), sz);
  }
  // QXTN: SQXTN (u = 0) or UQXTN
  if (u) {
    const max = emask(sz);
    if (a > max) { setQC(); return max; }
    return a;
  }
  return satS(sx(a, sz + 1), sz);
}

// The 9-bit estimates of the ARM pseudocode (RecipEstimate and
// RecipSqrtEstimate, integer form).
function recipEstimate(a: u32): u32 {
  const x = a * 2 + 1;
  const b = (<u32>1 << 19) / x;
  return (b + 1) >> 1;
}
function rsqrtEstimate(a: u32): u32 {
  let x: u64;
  if (a < 256) x = a * 2 + 1;
  else x = ((<u64>(a >> 1) << 1) + 1) * 2;
  let b: u64 = 512;
  while (x * (b + 1) * (b + 1) < (<u64>1 << 28)) b++;
  return <u32>((b + 1) >> 1);
}
function estimate32(v: u32, rsqrt: bool): u32 {
  if (rsqrt) {
    if ((v >> 30) == 0) return 0xFFFFFFFF;
    return (rsqrtEstimate(v >> 23) & 0x1FF) << 23;
  }
  if ((v >> 31) == 0) return 0xFFFFFFFF;
  return (recipEstimate(v >> 23) & 0x1FF) << 23;
}

// The low halves of the wide lanes of w, packed into bits 63:0 (sz: the
// narrow size, 0..2).
@inline function packLow(w: v128, sz: u32): v128 {
  if (sz == 0) return i8x16.shuffle(w, w, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
  if (sz == 1) return i8x16.shuffle(w, w, 0, 1, 4, 5, 8, 9, 12, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  return i32x4.shuffle(w, w, 0, 2, 0, 0);
}

// Writes a narrowed 64-bit result: to the lower half with the upper half
// cleared, or (the "2" forms) to the upper half keeping the lower one.
@inline function putNarrow(d: u32, r: v128, q: u32): void {
  const p = vaddr(d);
  const v = i64x2.extract_lane(r, 0);
  if (q != 0) store<u64>(p, v, 8);
  else { store<u64>(p, v); store<u64>(p, 0, 8); }
}

// v128 narrowing moves for 16- and 8-bit results; false otherwise.
function fastNarrow(op: u32, u: u32, sz: u32, q: u32, d: u32, a: v128): bool {
  if (sz == 2) return false;
  let r: v128;
  if (op == XTN && u == 0) { putNarrow(d, packLow(a, sz), q); return true; }
  // saturation happened iff widening the result back does not give the source
  let back: v128;
  if (op == XTN) { // SQXTUN: signed source, unsigned saturation
    r = sz == 0 ? i8x16.narrow_i16x8_u(a, a) : i16x8.narrow_i32x4_u(a, a);
    back = sz == 0 ? i16x8.extend_low_i8x16_u(r) : i32x4.extend_low_i16x8_u(r);
  } else if (u == 0) { // SQXTN
    r = sz == 0 ? i8x16.narrow_i16x8_s(a, a) : i16x8.narrow_i32x4_s(a, a);
    back = sz == 0 ? i16x8.extend_low_i8x16_s(r) : i32x4.extend_low_i16x8_s(r);
  } else { // UQXTN: clamp the unsigned source first
    const c = sz == 0 ? i16x8.min_u(a, i16x8.splat(0xFF)) : i32x4.min_u(a, i32x4.splat(0xFFFF));
    r = packLow(c, sz);
    back = c;
  }
  if (v128.any_true(v128.xor(back, a))) setQC();
  putNarrow(d, r, q);
  return true;
}

// Fast v128 forms; false when there is none for this op/size.
function fastMisc(op: u32, u: u32, size: u32, q: u32, d: u32, a: v128): bool {
  let r: v128;
  const zero = i64x2.splat(0);
  switch (op) {
    case REV:
      if (u == 0) { // REV64
        if (size == 0) r = i8x16.shuffle(a, a, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
        else if (size == 1) r = i8x16.shuffle(a, a, 6, 7, 4, 5, 2, 3, 0, 1, 14, 15, 12, 13, 10, 11, 8, 9);
        else r = i8x16.shuffle(a, a, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
      } else { // REV32
        if (size == 0) r = i8x16.shuffle(a, a, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
        else r = i8x16.shuffle(a, a, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
      }
      break;
    case REV16:
      r = i8x16.shuffle(a, a, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
      break;
    case XTN: case QXTN:
      return fastNarrow(op, u, size, q, d, a);
    case CNT:
      if (u != 0 && size != 0) return false; // RBIT
      r = u == 0 ? i8x16.popcnt(a) : v128.not(a);
      break;
    case CMEQ0:
      if (u != 0) return false;
      if (size == 0) r = i8x16.eq(a, zero);
      else if (size == 1) r = i16x8.eq(a, zero);
      else if (size == 2) r = i32x4.eq(a, zero);
      else r = i64x2.eq(a, zero);
      break;
    case ABS:
      if (u != 0) {
        if (size == 0) r = i8x16.neg(a);
        else if (size == 1) r = i16x8.neg(a);
        else if (size == 2) r = i32x4.neg(a);
        else r = i64x2.neg(a);
      } else {
        if (size == 0) r = i8x16.abs(a);
        else if (size == 1) r = i16x8.abs(a);
        else if (size == 2) r = i32x4.abs(a);
        else r = i64x2.abs(a);
      }
      break;
    default:
      return false;
  }
  putV(d, r, q);
  return true;
}

export function twoRegMisc(insn: u32): void {
  if (simdFpTwoRegMisc(insn, false)) return;
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const op = (insn >> 12) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  let ok: bool;
  switch (op) {
    case REV: ok = u == 0 ? size != 3 : size <= 1; break;
    case REV16: ok = u == 0 && size == 0; break;
    case ADDLP: case CLZ: case ADALP: case XTN: case QXTN: ok = size != 3; break;
    case CNT: ok = u == 0 ? size == 0 : size <= 1; break;
    case SQADDX: case QABS: case CMGT0: case CMEQ0: case ABS: ok = size != 3 || q != 0; break;
    case CMLT0: ok = u == 0 && (size != 3 || q != 0); break;
    case SHLL: ok = u != 0 && size != 3; break;
    case RECPE: ok = size == 2; break;
    default: ok = false;
  }
  if (!ok) { undefinedInstruction(CLS_SIMD); return; }
  const pn = vaddr(rn), pd = vaddr(rd);
  if (fastMisc(op, u, size, q, rd, v128.load(pn))) return;
  const us = u != 0;
  const n: u32 = (8 << q) >> size;
  switch (op) {
    case REV: case REV16: {
      // reverse the elements within each container of 64 (REV64), 32 or 16 bits
      const cont: u32 = op == REV16 ? 1 : (u != 0 ? 2 : 3); // log2 container bytes
      const per: u32 = (1 << cont) >> size; // elements per container
      for (let i: u32 = 0; i < n; i++) eSet(T, i ^ (per - 1), size, eU(pn, i, size));
      break;
    }
    case CNT: // RBIT (NOT and CNT took the fast path); size 1 encodes RBIT, elements are bytes
      for (let i: u32 = 0; i < (<u32>8 << q); i++) {
        let b = load<u8>(pn + i);
        b = ((b & 0xF0) >> 4) | ((b & 0x0F) << 4);
        b = ((b & 0xCC) >> 2) | ((b & 0x33) << 2);
        b = ((b & 0xAA) >> 1) | ((b & 0x55) << 1);
        store<u8>(T + i, b);
      }
      break;
    case ADDLP: case ADALP:
      for (let i: u32 = 0; i < (n >> 1); i++) {
        const a = eU(pn, 2 * i, size), b = eU(pn, 2 * i + 1, size);
        let r: u64 = us ? a + b : <u64>(sx(a, size) + sx(b, size));
        if (op == ADALP) r += eU(pd, i, size + 1);
        eSet(T, i, size + 1, r);
      }
      break;
    case XTN: case QXTN: {
      const m: u32 = 8 >> size, off: u32 = q != 0 ? m : 0;
      store<u64>(T, q != 0 ? load<u64>(pd) : 0);
      store<u64>(T, 0, 8);
      for (let i: u32 = 0; i < m; i++) eSet(T, i + off, size, narrowElem(op, us, size, eU(pn, i, size + 1)));
      finishT(rd, 1);
      return;
    }
    case SHLL: {
      const m: u32 = 8 >> size, off: u32 = q != 0 ? m : 0;
      for (let i: u32 = 0; i < m; i++) eSet(T, i, size + 1, eU(pn, i + off, size) << (<u64>8 << size));
      finishT(rd, 1);
      return;
    }
    case RECPE:
      for (let i: u32 = 0; i < n; i++) eSet(T, i, 2, estimate32(<u32>eU(pn, i, 2), us));
      break;
    default:
      for (let i: u32 = 0; i < n; i++) eSet(T, i, size, miscElem(op, us, size, eU(pn, i, size), eU(pd, i, size)));
  }
  finishT(rd, q);
}

export function scalarTwoRegMisc(insn: u32): void {
  if (simdFpTwoRegMisc(insn, true)) return;
  const u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const op = (insn >> 12) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const us = u != 0;
  switch (op) {
    case SQADDX: case QABS:
      putScalar(rd, size, miscElem(op, us, size, eU(vaddr(rn), 0, size), eU(vaddr(rd), 0, size)));
      return;
    case CMGT0: case CMEQ0: case ABS:
      if (size != 3) break;
      putScalar(rd, 3, miscElem(op, us, 3, load<u64>(vaddr(rn)), 0));
      return;
    case CMLT0:
      if (size != 3 || us) break;
      putScalar(rd, 3, miscElem(op, false, 3, load<u64>(vaddr(rn)), 0));
      return;
    case XTN:
      if (!us || size == 3) break; // scalar SQXTUN only
      putScalar(rd, size, narrowElem(op, true, size, eU(vaddr(rn), 0, size + 1)));
      return;
    case QXTN:
      if (size == 3) break;
      putScalar(rd, size, narrowElem(op, us, size, eU(vaddr(rn), 0, size + 1)));
      return;
  }
  undefinedInstruction(CLS_SIMD);
}
