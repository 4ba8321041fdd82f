// Data processing (immediate): ADR/ADRP, ADD/SUB (immediate), logical
// (immediate), move wide, bitfield (SBFM/BFM/UBFM) and EXTR.

import { curPC, xr, xsp, setX, setXSP, setNZCV } from "./state";
import { addFlags64, addFlags32, logicFlags64, logicFlags32 } from "./alu";
import { decodeBitMasks, bmWmask, bmTmask } from "./bitmasks";
import { undefinedInstruction, CLS_DP_IMM } from "./exceptions";

export function execDpImm(insn: u32): void {
  switch ((insn >> 23) & 7) {
    case 0: case 1: pcRel(insn); return;
    case 2: addSubImm(insn); return;
    case 4: logicalImm(insn); return;
    case 5: moveWide(insn); return;
    case 6: bitfield(insn); return;
    case 7: extract(insn); return;
    default: undefinedInstruction(CLS_DP_IMM); // add/sub with tags (MTE)
  }
}

function pcRel(insn: u32): void {
  const rd = insn & 31;
  const imm = <i64>(<i32>(((insn >> 5) & 0x7FFFF) << 13) >> 11) | <i64>((insn >> 29) & 3); // sext(immhi:immlo)
  if ((insn >> 31) == 0) setX(rd, curPC + <u64>imm);
  else setX(rd, (curPC & ~<u64>0xFFF) + (<u64>imm << 12));
}

function addSubImm(insn: u32): void {
  const sf = insn >> 31, op = (insn >> 30) & 1, s = (insn >> 29) & 1;
  const sh = (insn >> 22) & 1;
  const imm = <u64>((insn >> 10) & 0xFFF) << (sh * 12);
  const rn = (insn >> 5) & 31, rd = insn & 31;
  const a = xsp(rn);
  if (sf != 0) {
    const b = op != 0 ? ~imm : imm;
    const res = a + b + <u64>op;
    if (s != 0) { setNZCV(addFlags64(a, b, op, res)); setX(rd, res); }
    else setXSP(rd, res);
  } else {
    const a32 = <u32>a;
    const b32 = op != 0 ? ~<u32>imm : <u32>imm;
    const res = a32 + b32 + op;
    if (s != 0) { setNZCV(addFlags32(a32, b32, op, res)); setX(rd, <u64>res); }
    else setXSP(rd, <u64>res);
  }
}

// The last logical immediates decoded, direct-mapped by their encoding
// (sf:N:immr:imms, 14 bits; a tag of key + 1): DecodeBitMasks is ~85 host
// instructions, and a kernel uses few distinct masks.
const MASK_CACHE: u32 = 256;
const maskTags = new StaticArray<u32>(MASK_CACHE);
const masks = new StaticArray<u64>(MASK_CACHE);

@inline function logicalImm(insn: u32): void {
  const sf = insn >> 31, opc = (insn >> 29) & 3, n = (insn >> 22) & 1;
  const key = (insn >> 18 & 0x2000) | (insn >> 10 & 0x1FFF);
  const slot = (key ^ (key >> 8)) & (MASK_CACHE - 1);
  let imm: u64;
  if (unchecked(maskTags[slot]) == key + 1) imm = unchecked(masks[slot]);
  else {
    if (sf == 0 && n != 0) { undefinedInstruction(CLS_DP_IMM); return; }
    if (!decodeBitMasks(n, (insn >> 10) & 0x3F, (insn >> 16) & 0x3F, true, sf != 0 ? 64 : 32)) {
      undefinedInstruction(CLS_DP_IMM); return;
    }
    imm = bmWmask;
    unchecked(maskTags[slot] = key + 1);
    unchecked(masks[slot] = imm);
  }
  const rn = (insn >> 5) & 31, rd = insn & 31;
  const a = xr(rn);
  let res: u64;
  switch (opc) {
    case 0: res = a & imm; break;
    case 1: res = a | imm; break;
    case 2: res = a ^ imm; break;
    default: res = a & imm;
  }
  if (sf == 0) res &= 0xFFFFFFFF;
  if (opc == 3) {
    setNZCV(sf != 0 ? logicFlags64(res) : logicFlags32(<u32>res));
    setX(rd, res);
  } else setXSP(rd, res);
}

function moveWide(insn: u32): void {
  const sf = insn >> 31, opc = (insn >> 29) & 3, hw = (insn >> 21) & 3;
  if (opc == 1 || (sf == 0 && hw > 1)) { undefinedInstruction(CLS_DP_IMM); return; }
  const rd = insn & 31;
  const pos = hw * 16;
  const imm = <u64>((insn >> 5) & 0xFFFF) << pos;
  let res: u64;
  if (opc == 0) res = ~imm;
  else if (opc == 2) res = imm;
  else res = (xr(rd) & ~(<u64>0xFFFF << pos)) | imm;
  if (sf == 0) res &= 0xFFFFFFFF;
  setX(rd, res);
}

@inline function bitfield(insn: u32): void {
  const sf = insn >> 31, opc = (insn >> 29) & 3, n = (insn >> 22) & 1;
  const immr = (insn >> 16) & 0x3F, imms = (insn >> 10) & 0x3F;
  const rn = (insn >> 5) & 31, rd = insn & 31;
  if (opc == 3 || n != sf || (sf == 0 && (immr > 31 || imms > 31))) { undefinedInstruction(CLS_DP_IMM); return; }
  // DecodeBitMasks(N, imms, immr, FALSE) where N == sf, so the element is
  // the whole register (esize == datasize, nothing to replicate) and no
  // encoding is reserved: the masks directly (LSL, LSR, ASR, UBFX, SXTW...
  // are all bitfield moves, among the commonest instructions).
  const levels: u32 = sf != 0 ? 63 : 31;
  const d = (imms - immr) & levels;
  const welem: u64 = (<u64>1 << imms) - 1 + (<u64>1 << imms); // Ones(imms + 1), 63 included
  let wmask: u64 = immr == 0 ? welem : (welem >> immr) | (welem << ((levels + 1) - immr));
  let tmask: u64 = (<u64>1 << d) - 1 + (<u64>1 << d);
  if (sf == 0) { wmask &= 0xFFFFFFFF; tmask &= 0xFFFFFFFF; }
  const src = xr(rn);
  let rot: u64;
  if (sf != 0) rot = rotr<u64>(src, immr);
  else rot = <u64>rotr<u32>(<u32>src, immr);
  let res: u64;
  if (opc == 1) { // BFM
    const dst = xr(rd);
    const bot = (dst & ~wmask) | (rot & wmask);
    res = (dst & ~tmask) | (bot & tmask);
  } else if (opc == 0) { // SBFM
    const bot = rot & wmask;
    const signBit = (src >> imms) & 1;
    const top: u64 = signBit != 0 ? <u64>-1 : 0;
    res = (top & ~tmask) | (bot & tmask);
  } else { // UBFM
    res = rot & wmask & tmask;
  }
  if (sf == 0) res &= 0xFFFFFFFF;
  setX(rd, res);
}

function extract(insn: u32): void {
  const sf = insn >> 31, op21 = (insn >> 29) & 3, n = (insn >> 22) & 1, o0 = (insn >> 21) & 1;
  const rm = (insn >> 16) & 31, imms = (insn >> 10) & 0x3F, rn = (insn >> 5) & 31, rd = insn & 31;
  if (op21 != 0 || o0 != 0 || n != sf || (sf == 0 && imms > 31)) { undefinedInstruction(CLS_DP_IMM); return; }
  const hi = xr(rn), lo = xr(rm);
  if (sf != 0) {
    setX(rd, imms == 0 ? lo : (lo >> imms) | (hi << (64 - imms)));
  } else {
    const v = ((hi & 0xFFFFFFFF) << 32) | (lo & 0xFFFFFFFF);
    setX(rd, (v >> imms) & 0xFFFFFFFF);
  }
}
