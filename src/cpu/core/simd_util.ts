// Shared pieces of the AdvSIMD handlers: element access by size, result
// buffers, write-back with the upper-bits zeroing rules, saturation with
// FPSR.QC, and the bit-level helpers several groups need.

import { cpu, vaddr, OFF_FPSR } from "./state";

// Result buffers: handlers build the destination here when a result element
// depends on other lanes of a source that may be the destination itself.
export const T: usize = memory.data(16, 16);
// Up to four registers of structure load/store data (64 bytes).
export const TAB: usize = memory.data(64, 16);

const FPSR_QC: u32 = 1 << 27;

// Saturation happened: FPSR.QC is sticky.
@inline export function setQC(): void {
  const p = cpu + OFF_FPSR;
  store<u32>(p, load<u32>(p) | FPSR_QC);
}

// Element i of size 8 << sz bits at p, zero-extended.
@inline export function eU(p: usize, i: u32, sz: u32): u64 {
  if (sz == 0) return <u64>load<u8>(p + i);
  if (sz == 1) return <u64>load<u16>(p + (<usize>i << 1));
  if (sz == 2) return <u64>load<u32>(p + (<usize>i << 2));
  return load<u64>(p + (<usize>i << 3));
}
// Element i, sign-extended.
@inline export function eS(p: usize, i: u32, sz: u32): i64 {
  if (sz == 0) return <i64>load<i8>(p + i);
  if (sz == 1) return <i64>load<i16>(p + (<usize>i << 1));
  if (sz == 2) return <i64>load<i32>(p + (<usize>i << 2));
  return load<i64>(p + (<usize>i << 3));
}
// Stores the low 8 << sz bits of v as element i.
@inline export function eSet(p: usize, i: u32, sz: u32, v: u64): void {
  if (sz == 0) store<u8>(p + i, <u8>v);
  else if (sz == 1) store<u16>(p + (<usize>i << 1), <u16>v);
  else if (sz == 2) store<u32>(p + (<usize>i << 2), <u32>v);
  else store<u64>(p + (<usize>i << 3), v);
}

// Sign-extends the low 8 << sz bits.
@inline export function sx(v: u64, sz: u32): i64 {
  const sh: u64 = 64 - (<u64>8 << sz);
  return (<i64>(v << sh)) >> sh;
}
@inline export function emask(sz: u32): u64 {
  return sz == 3 ? <u64>-1 : (<u64>1 << (<u64>8 << sz)) - 1;
}

// Writes a full vector result; Q=0 forms clear bits 127:64.
@inline export function putV(d: u32, r: v128, q: u32): void {
  const p = vaddr(d);
  v128.store(p, r);
  if (q == 0) store<u64>(p, 0, 8);
}
// Copies the result buffer to Vd.
@inline export function finishT(d: u32, q: u32): void {
  putV(d, v128.load(T), q);
}
// Scalar result: the element, all higher bits cleared.
@inline export function putScalar(d: u32, sz: u32, v: u64): void {
  const p = vaddr(d);
  store<u64>(p, v & emask(sz));
  store<u64>(p, 0, 8);
}

// Saturates an exact value to the signed / unsigned range of 8 << sz bits
// (sz < 3), setting QC when it had to.
@inline export function satS(v: i64, sz: u32): u64 {
  const max: i64 = (<i64>1 << ((<i64>8 << sz) - 1)) - 1;
  if (v > max) { setQC(); return <u64>max; }
  if (v < -max - 1) { setQC(); return <u64>(-max - 1); }
  return <u64>v;
}
@inline export function satU(v: i64, sz: u32): u64 {
  const max: i64 = (<i64>1 << (<i64>8 << sz)) - 1;
  if (v > max) { setQC(); return <u64>max; }
  if (v < 0) { setQC(); return 0; }
  return <u64>v;
}

const SMAX: i64 = 0x7FFFFFFFFFFFFFFF;
const SMIN: i64 = -0x7FFFFFFFFFFFFFFF - 1;

// 64-bit saturating arithmetic.
export function sqadd64(a: i64, b: i64): u64 {
  const r = a + b;
  if (((a ^ r) & (b ^ r)) < 0) { setQC(); return <u64>(a < 0 ? SMIN : SMAX); }
  return <u64>r;
}
export function sqsub64(a: i64, b: i64): u64 {
  const r = a - b;
  if (((a ^ b) & (a ^ r)) < 0) { setQC(); return <u64>(a < 0 ? SMIN : SMAX); }
  return <u64>r;
}
export function uqadd64(a: u64, b: u64): u64 {
  const r = a + b;
  if (r < a) { setQC(); return <u64>-1; }
  return r;
}
export function uqsub64(a: u64, b: u64): u64 {
  if (a < b) { setQC(); return 0; }
  return a - b;
}
// signed accumulator + unsigned addend (SUQADD)
export function suqadd64(d: i64, n: u64): u64 {
  if (n > <u64>(SMAX - d)) { setQC(); return <u64>SMAX; }
  return <u64>d + n;
}
// unsigned accumulator + signed addend (USQADD)
export function usqadd64(d: u64, n: i64): u64 {
  if (n >= 0) return uqadd64(d, <u64>n);
  const m = <u64>0 - <u64>n;
  if (d < m) { setQC(); return 0; }
  return d - m;
}

// Saturating add / subtract of elements of any size (a, b as stored,
// zero-extended); `u`: unsigned.
export function qadd(a: u64, b: u64, sz: u32, u: bool): u64 {
  if (sz == 3) return u ? uqadd64(a, b) : sqadd64(<i64>a, <i64>b);
  return u ? satU(<i64>(a + b), sz) : satS(sx(a, sz) + sx(b, sz), sz);
}
export function qsub(a: u64, b: u64, sz: u32, u: bool): u64 {
  if (sz == 3) return u ? uqsub64(a, b) : sqsub64(<i64>a, <i64>b);
  return u ? satU(<i64>a - <i64>b, sz) : satS(sx(a, sz) - sx(b, sz), sz);
}

// Shift by a signed register amount (SSHL, USHL, SRSHL, URSHL, SQSHL,
// UQSHL, SQRSHL, UQRSHL): the value shifted in infinite precision, then
// rounded (right shifts) and truncated or saturated.
export function shiftReg(a: u64, sh: i32, sz: u32, u: bool, round: bool, sat: bool): u64 {
  const esize: i32 = 8 << sz;
  if (sh >= 0) {
    if (!sat) return sh >= esize ? 0 : a << <u64>sh;
    if (u) {
      if (a == 0) return 0;
      const max = emask(sz);
      if (sh >= esize) { setQC(); return max; }
      const r = a << <u64>sh;
      if ((r >> <u64>sh) != a || r > max) { setQC(); return max; }
      return r;
    }
    const s = sx(a, sz);
    if (s == 0) return 0;
    const smax: i64 = sz == 3 ? SMAX : (<i64>1 << (esize - 1)) - 1;
    if (sh >= esize) { setQC(); return <u64>(s < 0 ? -smax - 1 : smax); }
    const r = s << <i64>sh;
    if ((r >> <i64>sh) != s || r > smax || r < -smax - 1) { setQC(); return <u64>(s < 0 ? -smax - 1 : smax); }
    return <u64>r;
  }
  const n = -sh; // 1..128
  if (u) {
    let r: u64 = n >= 64 ? 0 : a >> <u64>n;
    if (round && n <= 64) r += (a >> <u64>(n - 1)) & 1;
    return r;
  }
  const s = sx(a, sz);
  if (round) {
    if (n > 64) return 0;
    return <u64>((n == 64 ? s >> 63 : s >> <i64>n) + ((s >> <i64>(n - 1)) & 1));
  }
  return <u64>(n >= 64 ? s >> 63 : s >> <i64>n);
}

// Carry-less multiply of two 8-bit polynomials (16-bit product).
@inline export function pmul8(a: u32, b: u32): u32 {
  let r: u32 = 0;
  for (let i: u32 = 0; i < 8; i++) if (((b >> i) & 1) != 0) r ^= a << i;
  return r;
}

// Signed saturating doubling multiply, high half (SQDMULH, SQRDMULH), for
// 16- and 32-bit elements.
export function sqdmulh(a: u64, b: u64, sz: u32, round: bool): u64 {
  const esize: i64 = <i64>8 << sz;
  const p = sx(a, sz) * sx(b, sz);
  const r = (round ? p + (<i64>1 << (esize - 2)) : p) >> (esize - 1);
  return satS(r, sz);
}
// Signed saturating doubling multiply long: 2*a*b in twice the element size
// (sz = 1 or 2); only MIN*MIN overflows.
export function sqdmull(a: u64, b: u64, sz: u32): u64 {
  const p = sx(a, sz) * sx(b, sz);
  if (sz == 2) {
    if (p == 0x4000000000000000) { setQC(); return <u64>SMAX; }
    return <u64>(p << 1);
  }
  return satS(p << 1, sz + 1);
}
