// AdvSIMD "three different" (vector and scalar): long (…L, …L2), wide
// (…W, …W2) and narrowing high-half (…HN, …HN2) forms, the saturating
// doubling multiplies, and PMULL (8-bit, and the 64-bit crypto form).

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import {
  T, eU, eSet, sx, finishT, putScalar, qadd, qsub, pmul8, sqdmull,
} from "./simd_util";

// Opcodes (bits 15:12)
const ADDL: u32 = 0, ADDW: u32 = 1, SUBL: u32 = 2, SUBW: u32 = 3, ADDHN: u32 = 4, ABAL: u32 = 5;
const SUBHN: u32 = 6, ABDL: u32 = 7, MLAL: u32 = 8, QDMLAL: u32 = 9, MLSL: u32 = 10, QDMLSL: u32 = 11;
const MULL: u32 = 12, QDMULL: u32 = 13, PMULL: u32 = 14;

// The wide result of a long op on elements a, b (size sz, zero-extended as
// stored) with accumulator d (size sz + 1). Shared with the by-element group.
export function longElem(op: u32, u: bool, sz: u32, a: u64, b: u64, d: u64): u64 {
  const x: i64 = u ? <i64>a : sx(a, sz), y: i64 = u ? <i64>b : sx(b, sz);
  switch (op) {
    case ADDL: return <u64>(x + y);
    case SUBL: return <u64>(x - y);
    case ABAL: return d + <u64>(x > y ? x - y : y - x);
    case ABDL: return <u64>(x > y ? x - y : y - x);
    case MLAL: return d + <u64>x * <u64>y;
    case MLSL: return d - <u64>x * <u64>y;
    case MULL: return <u64>x * <u64>y;
    case QDMLAL: return qadd(d, sqdmull(a, b, sz), sz + 1, false);
    case QDMLSL: return qsub(d, sqdmull(a, b, sz), sz + 1, false);
    case QDMULL: return sqdmull(a, b, sz);
  }
  return 0;
}

// 64 x 64 -> 128-bit carry-less multiply into dst.
export function clmul64(a: u64, b: u64, dst: usize): void {
  let lo: u64 = 0, hi: u64 = 0;
  for (let i: u64 = 0; i < 64; i++) {
    if (((b >> i) & 1) != 0) {
      lo ^= a << i;
      if (i != 0) hi ^= a >> (64 - i);
    }
  }
  store<u64>(dst, lo);
  store<u64>(dst, hi, 8);
}

export function threeDiff(insn: u32): void {
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const rm = (insn >> 16) & 31, op = (insn >> 12) & 15, rn = (insn >> 5) & 31, rd = insn & 31;
  let ok: bool;
  switch (op) {
    case QDMLAL: case QDMLSL: case QDMULL: ok = u == 0 && (size == 1 || size == 2); break;
    case PMULL: ok = u == 0 && (size == 0 || size == 3); break;
    case 15: ok = false; break;
    default: ok = size != 3;
  }
  if (!ok) { undefinedInstruction(CLS_SIMD); return; }
  const pn = vaddr(rn), pm = vaddr(rm), pd = vaddr(rd);
  const n: u32 = 8 >> size; // elements in a 64-bit half
  const off: u32 = q != 0 ? n : 0; // the "2" forms take the upper halves
  if (op == PMULL) {
    if (size == 3) {
      clmul64(load<u64>(pn + (<usize>q << 3)), load<u64>(pm + (<usize>q << 3)), T);
    } else {
      for (let i: u32 = 0; i < 8; i++) {
        store<u16>(T + (<usize>i << 1), <u16>pmul8(load<u8>(pn + off + i), load<u8>(pm + off + i)));
      }
    }
    finishT(rd, 1);
    return;
  }
  if (op == ADDHN || op == SUBHN) {
    // wide operands, high halves of the sums/differences, optionally rounded
    const esize: u64 = <u64>8 << size;
    const rnd: u64 = u != 0 ? <u64>1 << (esize - 1) : 0;
    store<u64>(T, q != 0 ? load<u64>(pd) : 0);
    store<u64>(T, 0, 8);
    for (let i: u32 = 0; i < n; i++) {
      const a = eU(pn, i, size + 1), b = eU(pm, i, size + 1);
      const r = (op == ADDHN ? a + b : a - b) + rnd;
      eSet(T, i + off, size, r >> esize);
    }
    finishT(rd, 1);
    return;
  }
  if (op == MULL) {
    // SMULL/UMULL (and the "2" forms): wasm's extending multiplies
    const a = v128.load(pn), b = v128.load(pm);
    let r: v128;
    if (size == 0) {
      if (u != 0) r = q != 0 ? i16x8.extmul_high_i8x16_u(a, b) : i16x8.extmul_low_i8x16_u(a, b);
      else r = q != 0 ? i16x8.extmul_high_i8x16_s(a, b) : i16x8.extmul_low_i8x16_s(a, b);
    } else if (size == 1) {
      if (u != 0) r = q != 0 ? i32x4.extmul_high_i16x8_u(a, b) : i32x4.extmul_low_i16x8_u(a, b);
      else r = q != 0 ? i32x4.extmul_high_i16x8_s(a, b) : i32x4.extmul_low_i16x8_s(a, b);
    } else {
      if (u != 0) r = q != 0 ? i64x2.extmul_high_i32x4_u(a, b) : i64x2.extmul_low_i32x4_u(a, b);
      else r = q != 0 ? i64x2.extmul_high_i32x4_s(a, b) : i64x2.extmul_low_i32x4_s(a, b);
    }
    v128.store(vaddr(rd), r);
    return;
  }
  const us = u != 0;
  for (let i: u32 = 0; i < n; i++) {
    const b = eU(pm, i + off, size);
    let r: u64;
    if (op == ADDW || op == SUBW) {
      const a = eU(pn, i, size + 1);
      const y: u64 = us ? b : <u64>sx(b, size);
      r = op == ADDW ? a + y : a - y;
    } else {
      r = longElem(op, us, size, eU(pn, i + off, size), b, eU(pd, i, size + 1));
    }
    eSet(T, i, size + 1, r);
  }
  finishT(rd, 1);
}

export function scalarThreeDiff(insn: u32): void {
  const u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const rm = (insn >> 16) & 31, op = (insn >> 12) & 15, rn = (insn >> 5) & 31, rd = insn & 31;
  if (u != 0 || (size != 1 && size != 2) || (op != QDMLAL && op != QDMLSL && op != QDMULL)) {
    undefinedInstruction(CLS_SIMD);
    return;
  }
  const r = longElem(op, false, size, eU(vaddr(rn), 0, size), eU(vaddr(rm), 0, size), eU(vaddr(rd), 0, size + 1));
  putScalar(rd, size + 1, r);
}
