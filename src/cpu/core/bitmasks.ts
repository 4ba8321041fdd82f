// DecodeBitMasks (ARM ARM shared pseudocode), for the interpreter's logical
// immediates and bitfield moves and for the translator's (src/cpu/translator):
// it imports nothing, so that both modules can build it.

// Results in bmWmask/bmTmask; returns false for a reserved encoding.
export let bmWmask: u64 = 0;
export let bmTmask: u64 = 0;

@inline function ones(n: u32): u64 { return n >= 64 ? <u64>-1 : (<u64>1 << n) - 1; }

@inline function replicate(elem: u64, esize: u32): u64 {
  let r = elem;
  for (let s = esize; s < 64; s <<= 1) r |= r << s;
  return r;
}

export function decodeBitMasks(immN: u32, imms: u32, immr: u32, immediate: bool, datasize: u32): bool {
  const combined = (immN << 6) | (~imms & 0x3F);
  if (combined == 0) return false;
  const len: u32 = 31 - clz<u32>(combined);
  if (len < 1) return false;
  const levels: u32 = (1 << len) - 1;
  if (immediate && (imms & levels) == levels) return false;
  const s = imms & levels;
  const r = immr & levels;
  const d = (s - r) & levels;
  const esize: u32 = 1 << len;
  if (esize > datasize) return false;
  const welem = ones(s + 1);
  const telem = ones(d + 1);
  const emask = ones(esize);
  // ROR(welem, r) within esize bits
  let rot: u64 = welem;
  if (r != 0) rot = ((welem >> r) | (welem << (esize - r))) & emask;
  let w = replicate(rot, esize);
  let t = replicate(telem, esize);
  if (datasize == 32) { w &= 0xFFFFFFFF; t &= 0xFFFFFFFF; }
  bmWmask = w; bmTmask = t;
  return true;
}
