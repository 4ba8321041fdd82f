// AdvSIMD "shift by immediate" (vector and scalar): SSHR/USHR, SSRA/USRA,
// the rounding forms, SRI/SLI, SHL, SQSHL/UQSHL/SQSHLU, the narrowing shifts
// (SHRN, RSHRN, SQ(R)SHRN, UQ(R)SHRN, SQ(R)SHRUN) and SSHLL/USHLL.

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { simdFpShiftImm } from "./fpvec";
import {
  T, eU, eSet, sx, emask, putV, finishT, putScalar, satS, satU, setQC, shiftReg,
} from "./simd_util";

// Opcodes (bits 15:11)
const SHR: u32 = 0, SRA: u32 = 2, RSHR: u32 = 4, RSRA: u32 = 6, SRI: u32 = 8, SHL: u32 = 10;
const QSHLU: u32 = 12, QSHL: u32 = 14, SHRN: u32 = 16, RSHRN: u32 = 17, QSHRN: u32 = 18, QRSHRN: u32 = 19;
const SHLL: u32 = 20;

// Same-size element op; sh is the right-shift count (1..esize) for the
// right shifts and the left-shift count (0..esize-1) otherwise.
function shiftElem(op: u32, u: bool, sz: u32, a: u64, d: u64, sh: i32): u64 {
  switch (op) {
    case SHR: return shiftReg(a, -sh, sz, u, false, false);
    case SRA: return d + shiftReg(a, -sh, sz, u, false, false);
    case RSHR: return shiftReg(a, -sh, sz, u, true, false);
    case RSRA: return d + shiftReg(a, -sh, sz, u, true, false);
    case SRI: {
      if (sh >= (8 << sz)) return d;
      const m = emask(sz) >> <u64>sh;
      return (d & ~m) | ((a & emask(sz)) >> <u64>sh);
    }
    case SHL:
      if (!u) return a << <u64>sh;
      { const m = emask(sz) << <u64>sh; return (d & ~m) | (a << <u64>sh); } // SLI
    case QSHLU: {
      if (sx(a, sz) < 0) { setQC(); return 0; }
      return shiftReg(a, sh, sz, true, false, true);
    }
    case QSHL: return shiftReg(a, sh, sz, u, false, true);
  }
  return 0;
}

// Narrowing shift of a wide element (size sz + 1) to size sz. `u`: the U bit.
function narrowElem(op: u32, u: bool, sz: u32, a: u64, sh: i32): u64 {
  const round = (op & 1) != 0;
  if (op <= RSHRN) {
    if (!u) return shiftReg(a, -sh, sz + 1, true, round, false); // (R)SHRN
    // SQ(R)SHRUN: signed source, unsigned result
    const r = <i64>shiftReg(a, -sh, sz + 1, false, round, false);
    return satU(r, sz);
  }
  if (u) { // UQ(R)SHRN
    const r = shiftReg(a, -sh, sz + 1, true, round, false);
    const max = emask(sz);
    if (r > max) { setQC(); return max; }
    return r;
  }
  return satS(<i64>shiftReg(a, -sh, sz + 1, false, round, false), sz);
}

// v128 forms of the common shifts; false when there is none.
function fastShift(op: u32, u: u32, sz: u32, q: u32, d: u32, a: v128, sh: i32): bool {
  const esize: i32 = 8 << sz;
  let r: v128;
  switch (op) {
    case SHR:
      if (sh == esize) {
        if (u != 0) { putV(d, i64x2.splat(0), q); return true; }
        sh = esize - 1; // arithmetic shift by esize = by esize - 1
      }
      if (u != 0) {
        if (sz == 0) r = i8x16.shr_u(a, sh);
        else if (sz == 1) r = i16x8.shr_u(a, sh);
        else if (sz == 2) r = i32x4.shr_u(a, sh);
        else r = i64x2.shr_u(a, sh);
      } else {
        if (sz == 0) r = i8x16.shr_s(a, sh);
        else if (sz == 1) r = i16x8.shr_s(a, sh);
        else if (sz == 2) r = i32x4.shr_s(a, sh);
        else r = i64x2.shr_s(a, sh);
      }
      break;
    case SHL:
      if (u != 0) return false;
      if (sz == 0) r = i8x16.shl(a, sh);
      else if (sz == 1) r = i16x8.shl(a, sh);
      else if (sz == 2) r = i32x4.shl(a, sh);
      else r = i64x2.shl(a, sh);
      break;
    case SHRN: {
      // sz is the narrow size; sh in 1..esize
      if (u != 0 || sz == 3) return false;
      let w: v128;
      if (sz == 0) {
        w = i16x8.shr_u(a, sh);
        w = i8x16.shuffle(w, w, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
      } else if (sz == 1) {
        w = i32x4.shr_u(a, sh);
        w = i8x16.shuffle(w, w, 0, 1, 4, 5, 8, 9, 12, 13, 0, 0, 0, 0, 0, 0, 0, 0);
      } else {
        w = i64x2.shr_u(a, sh);
        w = i32x4.shuffle(w, w, 0, 2, 0, 0);
      }
      const p = vaddr(d);
      if (q != 0) store<u64>(p, i64x2.extract_lane(w, 0), 8);
      else { store<u64>(p, i64x2.extract_lane(w, 0)); store<u64>(p, 0, 8); }
      return true;
    }
    case SHLL: {
      if (sz == 3) return false;
      if (sz == 0) {
        r = u != 0 ? (q != 0 ? i16x8.extend_high_i8x16_u(a) : i16x8.extend_low_i8x16_u(a))
                   : (q != 0 ? i16x8.extend_high_i8x16_s(a) : i16x8.extend_low_i8x16_s(a));
        r = i16x8.shl(r, sh);
      } else if (sz == 1) {
        r = u != 0 ? (q != 0 ? i32x4.extend_high_i16x8_u(a) : i32x4.extend_low_i16x8_u(a))
                   : (q != 0 ? i32x4.extend_high_i16x8_s(a) : i32x4.extend_low_i16x8_s(a));
        r = i32x4.shl(r, sh);
      } else {
        r = u != 0 ? (q != 0 ? i64x2.extend_high_i32x4_u(a) : i64x2.extend_low_i32x4_u(a))
                   : (q != 0 ? i64x2.extend_high_i32x4_s(a) : i64x2.extend_low_i32x4_s(a));
        r = i64x2.shl(r, sh);
      }
      putV(d, r, 1);
      return true;
    }
    default:
      return false;
  }
  putV(d, r, q);
  return true;
}

export function shiftImm(insn: u32): void {
  if (simdFpShiftImm(insn, false)) return;
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, immh = (insn >> 19) & 15, immhb = (insn >> 16) & 127;
  const op = (insn >> 11) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const sz: u32 = 31 - clz(immh); // immh != 0 here
  const esize: i32 = 8 << sz;
  let ok: bool;
  switch (op) {
    case SHR: case SRA: case RSHR: case RSRA: case QSHL: ok = true; break;
    case SRI: case QSHLU: ok = u != 0; break;
    case SHL: ok = true; break;
    case SHRN: case RSHRN: case QSHRN: case QRSHRN: case SHLL: ok = sz != 3; break;
    default: ok = false;
  }
  if (!ok || (sz == 3 && q == 0 && op < SHRN)) { undefinedInstruction(CLS_SIMD); return; }
  const right = op < SHL || (op >= SHRN && op <= QRSHRN);
  const sh: i32 = right ? 2 * esize - <i32>immhb : <i32>immhb - esize;
  const pn = vaddr(rn), pd = vaddr(rd);
  if (fastShift(op, u, sz, q, rd, v128.load(pn), sh)) return;
  const us = u != 0;
  if (op >= SHRN && op <= QRSHRN) {
    const n: u32 = 8 >> sz, off: u32 = q != 0 ? n : 0;
    store<u64>(T, q != 0 ? load<u64>(pd) : 0);
    store<u64>(T, 0, 8);
    for (let i: u32 = 0; i < n; i++) eSet(T, i + off, sz, narrowElem(op, us, sz, eU(pn, i, sz + 1), sh));
    finishT(rd, 1);
    return;
  }
  const n: u32 = (8 << q) >> sz;
  for (let i: u32 = 0; i < n; i++) eSet(T, i, sz, shiftElem(op, us, sz, eU(pn, i, sz), eU(pd, i, sz), sh));
  finishT(rd, q);
}

export function scalarShiftImm(insn: u32): void {
  if (simdFpShiftImm(insn, true)) return;
  const u = (insn >> 29) & 1, immh = (insn >> 19) & 15, immhb = (insn >> 16) & 127;
  const op = (insn >> 11) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const sz: u32 = 31 - clz(immh);
  const esize: i32 = 8 << sz;
  let ok: bool;
  switch (op) {
    case SHR: case SRA: case RSHR: case RSRA: case SHL: ok = sz == 3; break;
    case SRI: ok = sz == 3 && u != 0; break;
    case QSHLU: ok = u != 0; break;
    case QSHL: ok = true; break;
    case SHRN: case RSHRN: ok = u != 0 && sz != 3; break; // SQSHRUN, SQRSHRUN
    case QSHRN: case QRSHRN: ok = sz != 3; break;
    default: ok = false;
  }
  if (!ok) { undefinedInstruction(CLS_SIMD); return; }
  const right = op < SHL || (op >= SHRN && op <= QRSHRN);
  const sh: i32 = right ? 2 * esize - <i32>immhb : <i32>immhb - esize;
  const us = u != 0;
  const pn = vaddr(rn);
  if (op >= SHRN) {
    putScalar(rd, sz, narrowElem(op, us, sz, eU(pn, 0, sz + 1), sh));
    return;
  }
  putScalar(rd, sz, shiftElem(op, us, sz, eU(pn, 0, sz), eU(vaddr(rd), 0, sz), sh));
}
