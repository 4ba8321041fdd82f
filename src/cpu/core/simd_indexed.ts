// AdvSIMD "vector x indexed element" (vector and scalar), integer opcodes:
// MUL, MLA, MLS, the long multiplies (…MULL, …MLAL, …MLSL), the saturating
// doubling multiplies (SQDMULL/SQDMLAL/SQDMLSL, SQDMULH, SQRDMULH).

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { simdFpIndexed } from "./fpvec";
import { T, eU, eSet, finishT, putScalar, sqdmulh } from "./simd_util";
import { longElem } from "./simd_three_diff";

// Opcodes (bits 15:12)
const MLA: u32 = 0, MLAL: u32 = 2, QDMLAL: u32 = 3, MLS: u32 = 4, MLSL: u32 = 6, QDMLSL: u32 = 7;
const MUL: u32 = 8, MULL: u32 = 10, QDMULL: u32 = 11, QDMULH: u32 = 12, QRDMULH: u32 = 13;

// The three-different opcode that computes the same long op.
@inline function longOp(op: u32): u32 {
  switch (op) {
    case MLAL: return 8;
    case QDMLAL: return 9;
    case MLSL: return 10;
    case QDMLSL: return 11;
    case MULL: return 12;
    default: return 13; // QDMULL
  }
}

// Validity: 0 = unallocated, 1 = same-size op, 2 = long op.
@inline function kind(op: u32, u: u32, scalar: bool): u32 {
  switch (op) {
    case MLA: case MLS: return u != 0 && !scalar ? 1 : 0;
    case MUL: return u == 0 && !scalar ? 1 : 0;
    case MLAL: case MLSL: case MULL: return scalar ? 0 : 2;
    case QDMLAL: case QDMLSL: case QDMULL: return u == 0 ? 2 : 0;
    case QDMULH: case QRDMULH: return u == 0 ? 1 : 0;
  }
  return 0;
}

function indexed(insn: u32, scalar: bool): void {
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const op = (insn >> 12) & 15, rn = (insn >> 5) & 31, rd = insn & 31;
  const k = kind(op, u, scalar);
  if (k == 0 || (size != 1 && size != 2)) { undefinedInstruction(CLS_SIMD); return; }
  const h = (insn >> 11) & 1, l = (insn >> 21) & 1, m = (insn >> 20) & 1;
  let rm = (insn >> 16) & 15, index: u32;
  if (size == 1) index = (h << 2) | (l << 1) | m;
  else { index = (h << 1) | l; rm |= m << 4; }
  const b = eU(vaddr(rm), index, size);
  const pn = vaddr(rn), pd = vaddr(rd);
  if (scalar) {
    const a = eU(pn, 0, size);
    if (k == 2) putScalar(rd, size + 1, longElem(longOp(op), false, size, a, b, eU(pd, 0, size + 1)));
    else putScalar(rd, size, sqdmulh(a, b, size, op == QRDMULH));
    return;
  }
  if (k == 2) {
    const n: u32 = 8 >> size, off: u32 = q != 0 ? n : 0;
    const lop = longOp(op), us = u != 0;
    for (let i: u32 = 0; i < n; i++) {
      eSet(T, i, size + 1, longElem(lop, us, size, eU(pn, i + off, size), b, eU(pd, i, size + 1)));
    }
    finishT(rd, 1);
    return;
  }
  const n: u32 = (8 << q) >> size;
  for (let i: u32 = 0; i < n; i++) {
    const a = eU(pn, i, size);
    let r: u64;
    switch (op) {
      case MLA: r = eU(pd, i, size) + a * b; break;
      case MLS: r = eU(pd, i, size) - a * b; break;
      case MUL: r = a * b; break;
      default: r = sqdmulh(a, b, size, op == QRDMULH);
    }
    eSet(T, i, size, r);
  }
  finishT(rd, q);
}

export function indexedElem(insn: u32): void {
  if (simdFpIndexed(insn, false)) return;
  indexed(insn, false);
}

export function scalarIndexedElem(insn: u32): void {
  if (simdFpIndexed(insn, true)) return;
  indexed(insn, true);
}
