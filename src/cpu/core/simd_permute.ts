// AdvSIMD permute (UZP1/2, TRN1/2, ZIP1/2), EXT and table lookup (TBL/TBX
// with 1-4 table registers).

import { vaddr } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { T, eU, eSet, finishT, putV } from "./simd_util";

export function simdPermute(insn: u32): void {
  const q = (insn >> 30) & 1, size = (insn >> 22) & 3, op = (insn >> 12) & 7;
  const rm = (insn >> 16) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  if ((op & 3) == 0 || (size == 3 && q == 0)) { undefinedInstruction(CLS_SIMD); return; }
  const pn = vaddr(rn), pm = vaddr(rm);
  const n: u32 = (8 << q) >> size, half = n >> 1;
  const hi: u32 = op >> 2; // the "2" variants
  switch (op & 3) {
    case 1: // UZP: even (1) or odd (2) elements of Vm:Vn
      for (let i: u32 = 0; i < half; i++) {
        eSet(T, i, size, eU(pn, 2 * i + hi, size));
        eSet(T, i + half, size, eU(pm, 2 * i + hi, size));
      }
      break;
    case 2: // TRN
      for (let i: u32 = 0; i < half; i++) {
        eSet(T, 2 * i, size, eU(pn, 2 * i + hi, size));
        eSet(T, 2 * i + 1, size, eU(pm, 2 * i + hi, size));
      }
      break;
    default: { // ZIP: interleave the low (1) or high (2) halves
      const base = hi != 0 ? half : 0;
      if (size == 0 && q != 0) {
        const a = v128.load(pn), b = v128.load(pm);
        putV(rd, hi != 0
          ? i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
          : i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), 1);
        return;
      }
      for (let i: u32 = 0; i < half; i++) {
        eSet(T, 2 * i, size, eU(pn, base + i, size));
        eSet(T, 2 * i + 1, size, eU(pm, base + i, size));
      }
    }
  }
  finishT(rd, q);
}

export function simdExt(insn: u32): void {
  const q = (insn >> 30) & 1, imm4 = (insn >> 11) & 15;
  const rm = (insn >> 16) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  if ((insn & 0x00C00000) != 0 || (q == 0 && imm4 >= 8)) { undefinedInstruction(CLS_SIMD); return; }
  const pn = vaddr(rn), pm = vaddr(rm);
  const bytes: u32 = 8 << q;
  for (let i: u32 = 0; i < bytes; i++) {
    const j = i + imm4;
    store<u8>(T + i, j < bytes ? load<u8>(pn + j) : load<u8>(pm + (j - bytes)));
  }
  finishT(rd, q);
}

export function simdTbl(insn: u32): void {
  const q = (insn >> 30) & 1, len = (insn >> 13) & 3, tbx = (insn >> 12) & 1;
  const rm = (insn >> 16) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  if ((insn & 0x00C00000) != 0) { undefinedInstruction(CLS_SIMD); return; }
  const idx = v128.load(vaddr(rm));
  // swizzle gives 0 for indices >= 16, so each table register contributes
  // only where idx - 16k falls inside it
  let r = i8x16.swizzle(v128.load(vaddr(rn)), idx);
  for (let k: u32 = 1; k <= len; k++) {
    const t = v128.load(vaddr((rn + k) & 31));
    r = v128.or(r, i8x16.swizzle(t, i8x16.sub(idx, i8x16.splat(<i8>(16 * k)))));
  }
  if (tbx != 0) {
    const inRange = i8x16.lt_u(idx, i8x16.splat(<i8>(16 * (len + 1))));
    r = v128.bitselect(r, v128.load(vaddr(rd)), inRange);
  }
  putV(rd, r, q);
}
