// Integer ALU pieces shared by the instruction classes: flags, conditions,
// shifts, bit masks, wide multiplies, CRC32.

import { nzcv } from "./state";

// ConditionHolds for every (cond, NZCV): bit (cond*16 + nzcv) of this table.
const condTable = new StaticArray<u8>(256);
function initCondTable(): void {
  for (let c: u32 = 0; c < 16; c++) {
    for (let f: u32 = 0; f < 16; f++) {
      const n = (f >> 3) & 1, z = (f >> 2) & 1, cc = (f >> 1) & 1, v = f & 1;
      let r: u32;
      switch (c >> 1) {
        case 0: r = z; break; // EQ
        case 1: r = cc; break; // CS
        case 2: r = n; break; // MI
        case 3: r = v; break; // VS
        case 4: r = cc & (z ^ 1); break; // HI
        case 5: r = n == v ? 1 : 0; break; // GE
        case 6: r = (n == v && z == 0) ? 1 : 0; break; // GT
        default: r = 1; // AL
      }
      if ((c & 1) != 0 && c != 15) r ^= 1;
      unchecked(condTable[c * 16 + f] = <u8>r);
    }
  }
}
initCondTable();

@inline export function condHolds(cond: u32): bool {
  return unchecked(condTable[(cond << 4) | nzcv]) != 0;
}

// Flag results of AddWithCarry, as NZCV (N=8 Z=4 C=2 V=1).
@inline export function addFlags64(a: u64, b: u64, carry: u64, res: u64): u32 {
  const n = <u32>(res >> 63);
  const z: u32 = res == 0 ? 1 : 0;
  // carry out: the unsigned sum overflowed
  const c: u32 = carry != 0 ? (res <= a ? 1 : 0) : (res < a ? 1 : 0);
  const v = <u32>(((a ^ res) & (b ^ res)) >> 63);
  return (n << 3) | (z << 2) | (c << 1) | v;
}
@inline export function addFlags32(a: u32, b: u32, carry: u32, res: u32): u32 {
  const n = res >> 31;
  const z: u32 = res == 0 ? 1 : 0;
  const c: u32 = carry != 0 ? (res <= a ? 1 : 0) : (res < a ? 1 : 0);
  const v = ((a ^ res) & (b ^ res)) >> 31;
  return (n << 3) | (z << 2) | (c << 1) | v;
}
@inline export function logicFlags64(res: u64): u32 {
  return (<u32>(res >> 63) << 3) | ((res == 0 ? 1 : 0) << 2);
}
@inline export function logicFlags32(res: u32): u32 {
  return ((res >> 31) << 3) | ((res == 0 ? 1 : 0) << 2);
}

// Shift of a register operand (LSL, LSR, ASR, ROR)
@inline export function shift64(v: u64, type: u32, amount: u32): u64 {
  switch (type) {
    case 0: return v << amount;
    case 1: return v >> amount;
    case 2: return <u64>(<i64>v >> amount);
    default: return rotr<u64>(v, amount);
  }
}
@inline export function shift32(v: u32, type: u32, amount: u32): u32 {
  switch (type) {
    case 0: return v << amount;
    case 1: return v >> amount;
    case 2: return <u32>(<i32>v >> amount);
    default: return rotr<u32>(v, amount);
  }
}

// ExtendReg: UXTB, UXTH, UXTW, UXTX, SXTB, SXTH, SXTW, SXTX, then LSL #shift
@inline export function extendReg(v: u64, option: u32, sh: u32): u64 {
  let r: u64;
  switch (option) {
    case 0: r = v & 0xFF; break;
    case 1: r = v & 0xFFFF; break;
    case 2: r = v & 0xFFFFFFFF; break;
    case 4: r = <u64><i64><i8>v; break;
    case 5: r = <u64><i64><i16>v; break;
    case 6: r = <u64><i64><i32>v; break;
    default: r = v;
  }
  return r << sh;
}

// High 64 bits of 64x64-bit products
export function umulh(a: u64, b: u64): u64 {
  const aLo = a & 0xFFFFFFFF, aHi = a >> 32;
  const bLo = b & 0xFFFFFFFF, bHi = b >> 32;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  const mid = (ll >> 32) + (lh & 0xFFFFFFFF) + (hl & 0xFFFFFFFF);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
export function smulh(a: u64, b: u64): u64 {
  let h = umulh(a, b);
  if (<i64>a < 0) h -= b;
  if (<i64>b < 0) h -= a;
  return h;
}

// CRC32 (polynomial 0x04C11DB7) and CRC32C (0x1EDC6F41), bit-reflected, as the CRC32* instructions compute them.
const crcTable = new StaticArray<u32>(256);
const crcCTable = new StaticArray<u32>(256);
function initCrc(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let a = i, b = i;
    for (let k = 0; k < 8; k++) {
      a = (a & 1) != 0 ? (a >> 1) ^ 0xEDB88320 : a >> 1;
      b = (b & 1) != 0 ? (b >> 1) ^ 0x82F63B78 : b >> 1;
    }
    unchecked(crcTable[i] = a);
    unchecked(crcCTable[i] = b);
  }
}
initCrc();

export function crc32(acc: u32, val: u64, bytes: u32, castagnoli: bool): u32 {
  let c = acc;
  for (let i: u32 = 0; i < bytes; i++) {
    const idx = (c ^ <u32>(val >> (i * 8))) & 0xFF;
    c = (castagnoli ? unchecked(crcCTable[idx]) : unchecked(crcTable[idx])) ^ (c >> 8);
  }
  return c;
}
