// AdvSIMD "copy" (DUP element/general, INS element/general, SMOV, UMOV),
// "scalar copy" (DUP Vd, Vn.T[i]) and "modified immediate" (MOVI, MVNI,
// ORR, BIC, FMOV vector immediate).

import { vaddr, xr, setX } from "./state";
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
import { eU, eS, eSet, putV, putScalar } from "./simd_util";

// v128 with every element of size sz equal to v.
@inline function splat(v: u64, sz: u32): v128 {
  if (sz == 0) return i8x16.splat(<i8>v);
  if (sz == 1) return i16x8.splat(<i16>v);
  if (sz == 2) return i32x4.splat(<i32>v);
  return i64x2.splat(<i64>v);
}

export function simdCopy(insn: u32): void {
  const q = (insn >> 30) & 1, op = (insn >> 29) & 1;
  const imm5 = (insn >> 16) & 31, imm4 = (insn >> 11) & 15, rn = (insn >> 5) & 31, rd = insn & 31;
  const size: u32 = ctz(imm5); // 5 when imm5 = 0
  if (size > 3) { undefinedInstruction(CLS_SIMD); return; }
  const index = imm5 >> (size + 1);
  if (op != 0) {
    // INS (element): Vd.T[index] = Vn.T[imm4 >> size]
    if (q == 0) { undefinedInstruction(CLS_SIMD); return; }
    eSet(vaddr(rd), index, size, eU(vaddr(rn), imm4 >> size, size));
    return;
  }
  switch (imm4) {
    case 0: // DUP (element)
      if (size == 3 && q == 0) break;
      putV(rd, splat(eU(vaddr(rn), index, size), size), q);
      return;
    case 1: // DUP (general)
      if (size == 3 && q == 0) break;
      putV(rd, splat(xr(rn), size), q);
      return;
    case 3: // INS (general)
      if (q == 0) break;
      eSet(vaddr(rd), index, size, xr(rn));
      return;
    case 5: { // SMOV
      if (size == 3 || (size == 2 && q == 0)) break;
      const v = eS(vaddr(rn), index, size);
      setX(rd, q != 0 ? <u64>v : <u64>(<u32>v));
      return;
    }
    case 7: // UMOV
      if (q != 0 ? size != 3 : size == 3) break;
      setX(rd, eU(vaddr(rn), index, size));
      return;
  }
  undefinedInstruction(CLS_SIMD);
}

export function scalarCopy(insn: u32): void {
  const imm5 = (insn >> 16) & 31, imm4 = (insn >> 11) & 15;
  const size: u32 = ctz(imm5);
  if (size > 3 || imm4 != 0) { undefinedInstruction(CLS_SIMD); return; }
  putScalar(insn & 31, size, eU(vaddr((insn >> 5) & 31), imm5 >> (size + 1), size));
}

// AdvSIMDExpandImm (ARM ARM shared pseudocode).
function expandImm(op: u32, cmode: u32, imm8: u64): u64 {
  switch (cmode >> 1) {
    case 0: return imm8 * 0x0000000100000001;
    case 1: return (imm8 << 8) * 0x0000000100000001;
    case 2: return (imm8 << 16) * 0x0000000100000001;
    case 3: return (imm8 << 24) * 0x0000000100000001;
    case 4: return imm8 * 0x0001000100010001;
    case 5: return (imm8 << 8) * 0x0001000100010001;
    case 6:
      if ((cmode & 1) == 0) return ((imm8 << 8) | 0xFF) * 0x0000000100000001;
      return ((imm8 << 16) | 0xFFFF) * 0x0000000100000001;
  }
  if ((cmode & 1) == 0) {
    if (op == 0) return imm8 * 0x0101010101010101;
    let r: u64 = 0; // each bit of imm8 becomes a byte of ones or zeros
    for (let i: u64 = 0; i < 8; i++) if (((imm8 >> i) & 1) != 0) r |= <u64>0xFF << (i * 8);
    return r;
  }
  const a = (imm8 >> 7) & 1, b = (imm8 >> 6) & 1, cdefgh = imm8 & 0x3F;
  if (op == 0) { // FMOV single: a:NOT(b):Replicate(b,5):cdefgh:Zeros(19)
    const f: u64 = (a << 31) | ((b ^ 1) << 30) | ((b != 0 ? <u64>0x1F : 0) << 25) | (cdefgh << 19);
    return f * 0x0000000100000001;
  }
  // FMOV double: a:NOT(b):Replicate(b,8):cdefgh:Zeros(48)
  return (a << 63) | ((b ^ 1) << 62) | ((b != 0 ? <u64>0xFF : 0) << 54) | (cdefgh << 48);
}

export function modifiedImm(insn: u32): void {
  const q = (insn >> 30) & 1, op = (insn >> 29) & 1, cmode = (insn >> 12) & 15, rd = insn & 31;
  if ((insn & 0x800) != 0 || (cmode == 15 && op != 0 && q == 0)) { undefinedInstruction(CLS_SIMD); return; }
  const imm8 = <u64>(((insn >> 11) & 0xE0) | ((insn >> 5) & 0x1F)); // a:b:c (bits 18:16), defgh (9:5)
  const imm = expandImm(op, cmode, imm8);
  const v = i64x2.splat(<i64>imm);
  // ORR / BIC: cmode 0xx1 and 10x1
  if ((cmode & 1) != 0 && cmode < 12) {
    const c = v128.load(vaddr(rd));
    putV(rd, op != 0 ? v128.andnot(c, v) : v128.or(c, v), q);
    return;
  }
  // MVNI: op = 1 except for cmode 1110 (MOVI 64-bit) and 1111 (FMOV double)
  putV(rd, op != 0 && cmode < 14 ? v128.not(v) : v, q);
}
