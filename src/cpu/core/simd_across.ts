// AdvSIMD "across lanes" (SADDLV/UADDLV, SMAXV/UMAXV, SMINV/UMINV, ADDV)
// and "scalar pairwise" (ADDP Dd, Vn.2D).

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { simdFpAcrossLanes, simdFpScalarPairwise } from "./fpvec";
import { eU, sx, putScalar } from "./simd_util";

const ADDLV: u32 = 3, MAXV: u32 = 10, MINV: u32 = 26, ADDV: u32 = 27;

// Byte-wide unsigned max/min over 16 lanes: fold halves with v128 ops.
@inline function foldU8(v: v128, max: bool): u64 {
  let h = i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 0, 0, 0, 0, 0, 0, 0);
  v = max ? i8x16.max_u(v, h) : i8x16.min_u(v, h);
  h = i8x16.shuffle(v, v, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  v = max ? i8x16.max_u(v, h) : i8x16.min_u(v, h);
  h = i8x16.shuffle(v, v, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  v = max ? i8x16.max_u(v, h) : i8x16.min_u(v, h);
  h = i8x16.shuffle(v, v, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  v = max ? i8x16.max_u(v, h) : i8x16.min_u(v, h);
  return <u64>i8x16.extract_lane_u(v, 0);
}

export function acrossLanes(insn: u32): void {
  if (simdFpAcrossLanes(insn)) return;
  const q = (insn >> 30) & 1, u = (insn >> 29) & 1, size = (insn >> 22) & 3;
  const op = (insn >> 12) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const known = op == ADDLV || op == MAXV || op == MINV || (op == ADDV && u == 0);
  if (!known || size == 3 || (size == 2 && q == 0)) { undefinedInstruction(CLS_SIMD); return; }
  const pn = vaddr(rn);
  const n: u32 = (8 << q) >> size;
  if (size == 0 && q != 0 && u != 0 && op != ADDLV) {
    // UMAXV / UMINV .16B: the string functions' reduction
    putScalar(rd, 0, foldU8(v128.load(pn), op == MAXV));
    return;
  }
  const us = u != 0;
  if (op == ADDLV || op == ADDV) {
    let s: u64 = 0;
    for (let i: u32 = 0; i < n; i++) s += us ? eU(pn, i, size) : <u64>sx(eU(pn, i, size), size);
    putScalar(rd, op == ADDLV ? size + 1 : size, s);
    return;
  }
  let best = eU(pn, 0, size);
  for (let i: u32 = 1; i < n; i++) {
    const e = eU(pn, i, size);
    let take: bool;
    if (us) take = op == MAXV ? e > best : e < best;
    else take = op == MAXV ? sx(e, size) > sx(best, size) : sx(e, size) < sx(best, size);
    if (take) best = e;
  }
  putScalar(rd, size, best);
}

export function scalarPairwise(insn: u32): void {
  if (simdFpScalarPairwise(insn)) return;
  const u = (insn >> 29) & 1, size = (insn >> 22) & 3, op = (insn >> 12) & 31;
  if (u != 0 || size != 3 || op != ADDV) { undefinedInstruction(CLS_SIMD); return; }
  const p = vaddr((insn >> 5) & 31);
  putScalar(insn & 31, 3, load<u64>(p) + load<u64>(p, 8));
}
