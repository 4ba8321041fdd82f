// IEEE 754 binary16/32/64 arithmetic as the ARM ARM's pseudocode defines it
// (FPUnpack, FPRoundBase, FPProcessNaN(s), FPAdd, FPMul, FPDiv, FPSqrt,
// FPMulAdd, FPMax/Min(Num), FPCompare, FPToFixed, FixedToFP, FPRoundInt,
// FPConvert, the reciprocal estimates and steps). WebAssembly floats round
// to nearest only and raise no flags, so values are handled as integer
// significands and exponents: exact, every rounding mode, every FPSR flag.
// Results are raw bit patterns (u64); sizes are 16, 32 or 64.

import { cpu, OFF_FPCR, OFF_FPSR } from "./state";

// FPSR cumulative flags
export const IOC: u32 = 1, DZC: u32 = 2, OFC: u32 = 4, UFC: u32 = 8, IXC: u32 = 16, IDC: u32 = 128;
// Rounding modes (FPCR.RMode order), plus ties-away for FCVTA*/FRINTA
export const RN: u32 = 0, RP: u32 = 1, RM: u32 = 2, RZ: u32 = 3, RA: u32 = 4, RO: u32 = 5;

// value types
export const T_ZERO: u32 = 0, T_NUM: u32 = 1, T_INF: u32 = 2, T_QNAN: u32 = 3, T_SNAN: u32 = 4;

@inline export function fpcr(): u32 { return load<u32>(cpu, OFF_FPCR); }
@inline export function raise(f: u32): void { store<u32>(cpu, load<u32>(cpu, OFF_FPSR) | f, OFF_FPSR); }
@inline export function fpcrRMode(): u32 { return (fpcr() >> 22) & 3; }
@inline function fz(): bool { return ((fpcr() >> 24) & 1) != 0; }
@inline function dn(): bool { return ((fpcr() >> 25) & 1) != 0; }
@inline export function ahp(): bool { return ((fpcr() >> 26) & 1) != 0; }

@inline export function fracBits(sz: u32): u32 { return sz == 64 ? 52 : (sz == 32 ? 23 : 10); }
@inline export function expBits(sz: u32): u32 { return sz == 64 ? 11 : (sz == 32 ? 8 : 5); }
@inline export function bias(sz: u32): i32 { return sz == 64 ? 1023 : (sz == 32 ? 127 : 15); }
@inline export function signBit(sz: u32): u64 { return <u64>1 << (sz - 1); }
@inline export function sizeMask(sz: u32): u64 { return sz == 64 ? <u64>-1 : (<u64>1 << sz) - 1; }

export function defaultNaN(sz: u32): u64 { return sz == 64 ? 0x7FF8000000000000 : (sz == 32 ? 0x7FC00000 : 0x7E00); }
export function fpInfinity(sz: u32, sign: u32): u64 {
  const e: u64 = ((<u64>1 << expBits(sz)) - 1) << fracBits(sz);
  return sign != 0 ? e | signBit(sz) : e;
}
export function fpZero(sz: u32, sign: u32): u64 { return sign != 0 ? signBit(sz) : 0; }
export function fpMaxNormal(sz: u32, sign: u32): u64 {
  const v = (((<u64>1 << expBits(sz)) - 2) << fracBits(sz)) | ((<u64>1 << fracBits(sz)) - 1);
  return sign != 0 ? v | signBit(sz) : v;
}
export function fpTwo(sz: u32, sign: u32): u64 { return (<u64>bias(sz) + 1) << fracBits(sz) | (sign != 0 ? signBit(sz) : 0); }
export function fpOne(sz: u32, sign: u32): u64 { return (<u64>bias(sz)) << fracBits(sz) | (sign != 0 ? signBit(sz) : 0); }
export function fpThree(sz: u32, sign: u32): u64 { return ((<u64>bias(sz) + 1) << fracBits(sz)) | (<u64>1 << (fracBits(sz) - 1)) | (sign != 0 ? signBit(sz) : 0); }

// ---- FPUnpack: results in globals (no allocation). value = uM * 2^uE.
export let uT: u32 = 0;
export let uS: u32 = 0;
export let uM: u64 = 0;
export let uE: i32 = 0;

// `fzAllowed`: false where the pseudocode unpacks without flushing (FPUnpackCV for half, AHP)
export function unpack(sz: u32, bits: u64, fzAllowed: bool = true): void {
  const F = fracBits(sz), E = expBits(sz);
  const b = bits & sizeMask(sz);
  uS = <u32>(b >> (sz - 1));
  const exp = <i32>((b >> F) & ((<u64>1 << E) - 1));
  const frac = b & ((<u64>1 << F) - 1);
  if (sz == 16 && ahp() && !fzAllowed) {
    // alternative half precision: the top exponent is an ordinary one
    if (exp == 0) {
      if (frac == 0) { uT = T_ZERO; uM = 0; uE = 0; return; }
      uT = T_NUM; uM = frac; uE = 1 - bias(sz) - <i32>F; return;
    }
    uT = T_NUM; uM = frac | (<u64>1 << F); uE = exp - bias(sz) - <i32>F; return;
  }
  if (exp == 0) {
    if (frac == 0) { uT = T_ZERO; uM = 0; uE = 0; return; }
    if (fzAllowed && sz != 16 && fz()) { uT = T_ZERO; uM = 0; uE = 0; raise(IDC); return; }
    uT = T_NUM; uM = frac; uE = 1 - bias(sz) - <i32>F; return;
  }
  if (exp == (1 << E) - 1) {
    if (frac == 0) { uT = T_INF; uM = 0; uE = 0; return; }
    uT = ((frac >> (F - 1)) & 1) != 0 ? T_QNAN : T_SNAN;
    uM = 0; uE = 0; return;
  }
  uT = T_NUM; uM = frac | (<u64>1 << F); uE = exp - bias(sz) - <i32>F;
}

// ---- NaN processing. `nanResult` is set when the result is a NaN.
export let nanHit: bool = false;

export function processNaN(sz: u32, t: u32, bits: u64): u64 {
  let r = bits & sizeMask(sz);
  if (t == T_SNAN) { r |= <u64>1 << (fracBits(sz) - 1); raise(IOC); }
  if (dn()) r = defaultNaN(sz);
  nanHit = true;
  return r;
}

// FPProcessNaNs: first signalling, then first quiet; nanHit tells whether it applied.
export function processNaNs(sz: u32, t1: u32, t2: u32, a: u64, b: u64): u64 {
  nanHit = false;
  if (t1 == T_SNAN) return processNaN(sz, t1, a);
  if (t2 == T_SNAN) return processNaN(sz, t2, b);
  if (t1 == T_QNAN) return processNaN(sz, t1, a);
  if (t2 == T_QNAN) return processNaN(sz, t2, b);
  return 0;
}
export function processNaNs3(sz: u32, t1: u32, t2: u32, t3: u32, a: u64, b: u64, c: u64): u64 {
  nanHit = false;
  if (t1 == T_SNAN) return processNaN(sz, t1, a);
  if (t2 == T_SNAN) return processNaN(sz, t2, b);
  if (t3 == T_SNAN) return processNaN(sz, t3, c);
  if (t1 == T_QNAN) return processNaN(sz, t1, a);
  if (t2 == T_QNAN) return processNaN(sz, t2, b);
  if (t3 == T_QNAN) return processNaN(sz, t3, c);
  return 0;
}

// ---- FPRoundBase: the value (m + sticky·ε) · 2^e, m != 0, to a format.
// `ahpMode`: alternative half precision output (no infinities or NaNs).
export function round(sz: u32, sign: u32, m: u64, e: i32, sticky: bool, mode: u32, flush: bool = true, ahpMode: bool = false): u64 {
  const F = <i32>fracBits(sz), EB = expBits(sz), B = bias(sz);
  const msb = 63 - <i32>clz<u64>(m);
  const E = msb + e; // exponent of the unrounded value
  const minExp = 1 - B;
  if (flush && sz != 16 && fz() && E < minExp) { raise(UFC); return fpZero(sz, sign); }
  let biased = E < minExp ? 0 : E + B;
  const lsbExp = (E < minExp ? minExp : E) - F;
  const shift = lsbExp - e;
  let mant: u64;
  let gt = false, eq = false, nz = sticky; // error > 1/2, == 1/2, != 0
  if (shift <= 0) {
    mant = m << <u64>(-shift);
  } else if (shift >= 64) {
    mant = 0;
    if (shift == 64) { gt = m > (<u64>1 << 63) || (m == (<u64>1 << 63) && sticky); eq = m == (<u64>1 << 63) && !sticky; }
    nz = true;
  } else {
    mant = m >> <u64>shift;
    const rem = m & ((<u64>1 << <u64>shift) - 1);
    const half = <u64>1 << <u64>(shift - 1);
    gt = rem > half || (rem == half && sticky);
    eq = rem == half && !sticky;
    nz = rem != 0 || sticky;
  }
  if (biased == 0 && nz) raise(UFC); // tininess before rounding
  let up = false;
  switch (mode) {
    case RN: up = gt || (eq && (mant & 1) != 0); break;
    case RA: up = gt || eq; break;
    case RP: up = nz && sign == 0; break;
    case RM: up = nz && sign != 0; break;
    default: up = false;
  }
  if (up) {
    mant++;
    if (biased == 0 && mant >= (<u64>1 << <u64>F)) biased = 1;
    if (mant >= (<u64>2 << <u64>F)) { mant >>= 1; biased++; }
  }
  if (mode == RO && nz) mant |= 1; // von Neumann rounding (FCVTXN)
  const maxBiased = ahpMode ? (1 << EB) : (1 << EB) - 1;
  if (biased >= maxBiased) {
    if (ahpMode) { raise(IOC); return (sign != 0 ? signBit(sz) : 0) | ((<u64>1 << (sz - 1)) - 1); }
    raise(OFC | IXC);
    const toInf = mode == RN || mode == RA || (mode == RP && sign == 0) || (mode == RM && sign != 0);
    return toInf ? fpInfinity(sz, sign) : fpMaxNormal(sz, sign);
  }
  if (nz) raise(IXC);
  return (sign != 0 ? signBit(sz) : 0) | (<u64>biased << <u64>F) | (mant & ((<u64>1 << <u64>F) - 1));
}

// ---- 128-bit helpers (hi:lo in globals)
export let h128: u64 = 0;
export let l128: u64 = 0;
export function mul64(a: u64, b: u64): void {
  const aL = a & 0xFFFFFFFF, aH = a >> 32, bL = b & 0xFFFFFFFF, bH = b >> 32;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >> 32) + (lh & 0xFFFFFFFF) + (hl & 0xFFFFFFFF);
  l128 = (ll & 0xFFFFFFFF) | (mid << 32);
  h128 = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
// Shift a 128-bit value right into 64 bits, keeping a sticky flag; returns the new exponent shift.
export let sticky128: bool = false;
function narrow128(hi: u64, lo: u64): u64 {
  // returns m (u64) with value ≈ (hi:lo) >> s, s set in narrowShift
  if (hi == 0) { narrowShift = 0; sticky128 = false; return lo; }
  const s = 64 - <i32>clz<u64>(hi); // bits to drop so the value fits
  narrowShift = s;
  sticky128 = (lo & ((<u64>1 << <u64>s) - 1)) != 0;
  return (lo >> <u64>s) | (hi << <u64>(64 - s));
}
export let narrowShift: i32 = 0;

// ---- add / sub
export function fpAdd(sz: u32, a: u64, b: u64, negateB: bool): u64 {
  const rmode = fpcrRMode();
  unpack(sz, a); const t1 = uT, s1 = uS, m1 = uM, e1 = uE;
  unpack(sz, b); const t2 = uT; let s2 = uS; const m2 = uM, e2 = uE;
  const n = processNaNs(sz, t1, t2, a, b);
  if (nanHit) return n;
  if (negateB) s2 ^= 1;
  if (t1 == T_INF && t2 == T_INF && s1 != s2) { raise(IOC); return defaultNaN(sz); }
  if (t1 == T_INF) return fpInfinity(sz, s1);
  if (t2 == T_INF) return fpInfinity(sz, s2);
  if (t1 == T_ZERO && t2 == T_ZERO) return fpZero(sz, s1 == s2 ? s1 : (rmode == RM ? 1 : 0));
  if (t1 == T_ZERO) return packExact(sz, s2, m2, e2, rmode);
  if (t2 == T_ZERO) return packExact(sz, s1, m1, e1, rmode);
  return addMag(sz, s1, m1, e1, s2, m2, e2, rmode);
}

// Re-encode a finite value (it may need rounding when flush-to-zero applies to a denormal).
function packExact(sz: u32, s: u32, m: u64, e: i32, rmode: u32): u64 { return round(sz, s, m, e, false, rmode); }

// s1·m1·2^e1 + s2·m2·2^e2 (both nonzero, significands ≤ 53 bits), rounded.
function addMag(sz: u32, s1: u32, m1: u64, e1: i32, s2: u32, m2: u64, e2: i32, rmode: u32): u64 {
  // Put both at a common exponent with 10 spare low bits; the smaller one may lose bits into sticky.
  let ma = m1 << 10, mb = m2 << 10;
  let ea = e1 - 10, eb = e2 - 10;
  let sa = s1, sb = s2;
  // make (ma, ea) the one with the larger exponent
  if (eb > ea) { const tm = ma; ma = mb; mb = tm; const te = ea; ea = eb; eb = te; const ts = sa; sa = sb; sb = ts; }
  let sticky = false;
  // lower ma's exponent as far as it goes without overflow (ma < 2^63), then shift mb up/down
  let d = ea - eb;
  const room = <i32>clz<u64>(ma) - 1; // keep bit 63 free
  const lower = d < room ? d : room;
  ma <<= <u64>lower; ea -= lower; d -= lower;
  if (d > 0) {
    if (d >= 64) { sticky = mb != 0; mb = 0; }
    else { sticky = (mb & ((<u64>1 << <u64>d) - 1)) != 0; mb >>= <u64>d; }
  }
  let sign = sa;
  let m: u64;
  if (sa == sb) {
    m = ma + mb;
  } else {
    if (ma > mb || (ma == mb && sticky)) { m = ma - mb; if (sticky) m -= 1; }
    else if (mb > ma) { m = mb - ma; sign = sb; }
    else { m = 0; }
    // when bits were lost from mb (sticky), the exact difference is (ma - mb - ε): m-1 plus a fraction
  }
  if (m == 0 && !sticky) return fpZero(sz, rmode == RM ? 1 : 0);
  if (m == 0) { m = 1; } // cannot happen with 10 guard bits but keep the value nonzero
  return round(sz, sign, m, ea, sticky, rmode);
}

// ---- multiply
export function fpMul(sz: u32, a: u64, b: u64, mulx: bool): u64 {
  const rmode = fpcrRMode();
  unpack(sz, a); const t1 = uT, s1 = uS, m1 = uM, e1 = uE;
  unpack(sz, b); const t2 = uT, s2 = uS, m2 = uM, e2 = uE;
  const n = processNaNs(sz, t1, t2, a, b);
  if (nanHit) return n;
  const s = s1 ^ s2;
  if ((t1 == T_INF && t2 == T_ZERO) || (t1 == T_ZERO && t2 == T_INF)) {
    if (mulx) return fpTwo(sz, s);
    raise(IOC); return defaultNaN(sz);
  }
  if (t1 == T_INF || t2 == T_INF) return fpInfinity(sz, s);
  if (t1 == T_ZERO || t2 == T_ZERO) return fpZero(sz, s);
  mul64(m1, m2);
  const m = narrow128(h128, l128);
  return round(sz, s, m, e1 + e2 + narrowShift, sticky128, rmode);
}

// ---- divide: quotient bits by long division
export function fpDiv(sz: u32, a: u64, b: u64): u64 {
  const rmode = fpcrRMode();
  unpack(sz, a); const t1 = uT, s1 = uS, m1 = uM, e1 = uE;
  unpack(sz, b); const t2 = uT, s2 = uS, m2 = uM, e2 = uE;
  const n = processNaNs(sz, t1, t2, a, b);
  if (nanHit) return n;
  const s = s1 ^ s2;
  if ((t1 == T_INF && t2 == T_INF) || (t1 == T_ZERO && t2 == T_ZERO)) { raise(IOC); return defaultNaN(sz); }
  if (t1 == T_INF || t2 == T_ZERO) { if (t2 == T_ZERO && t1 != T_INF) raise(DZC); return fpInfinity(sz, s); }
  if (t1 == T_ZERO || t2 == T_INF) return fpZero(sz, s);
  // normalise both to bit 62
  const n1 = <i32>clz<u64>(m1) - 1, n2 = <i32>clz<u64>(m2) - 1;
  let rem = m1 << <u64>n1;
  const d = m2 << <u64>n2;
  let q: u64 = 0;
  for (let i = 0; i < 62; i++) {
    q <<= 1;
    if (rem >= d) { rem -= d; q |= 1; }
    rem <<= 1;
  }
  // value = (m1/m2) * 2^(e1-e2) ; m1<<n1 / m2<<n2 = q * 2^-61 (+rem)
  return round(sz, s, q, e1 - n1 - (e2 - n2) - 61, rem != 0, rmode);
}

// ---- square root: the hardware's correctly rounded f64 sqrt, then an exact check
export function fpSqrt(sz: u32, a: u64): u64 {
  const rmode = fpcrRMode();
  unpack(sz, a); const t = uT, s = uS;
  let m = uM, e = uE;
  if (t == T_SNAN || t == T_QNAN) { nanHit = false; return processNaN(sz, t, a); }
  if (t == T_ZERO) return fpZero(sz, s);
  if (s != 0) { raise(IOC); return defaultNaN(sz); }
  if (t == T_INF) return fpInfinity(sz, 0);
  // radicand R = m·2^s (≈114 bits, e - s even); digit-by-digit square root, two bits a step
  const msb = 63 - <i32>clz<u64>(m);
  let sh = 113 - msb;
  if (((e - sh) & 1) != 0) sh++;
  const hi: u64 = sh >= 64 ? m << <u64>(sh - 64) : m >> <u64>(64 - sh);
  const lo: u64 = sh >= 64 ? 0 : m << <u64>sh;
  let res: u64 = 0, rem: u64 = 0;
  for (let i = 63; i >= 0; i--) {
    const bitPos = i * 2;
    const pair = bitPos >= 64 ? (hi >> <u64>(bitPos - 64)) & 3 : (lo >> <u64>bitPos) & 3;
    rem = (rem << 2) | pair;
    const trial = (res << 2) | 1;
    if (rem >= trial) { rem -= trial; res = (res << 1) | 1; } else res <<= 1;
  }
  return round(sz, 0, res, (e - sh) >> 1, rem != 0, rmode);
}

// ---- fused multiply-add: addend + op1*op2 with a single rounding
// (callers negate operand bits first, as FPNeg does in the pseudocode)
export function fpMulAdd(sz: u32, addend: u64, op1: u64, op2: u64, scale: i32 = 0): u64 {
  const rmode = fpcrRMode();
  unpack(sz, addend); const ta = uT, sa = uS, ma = uM, ea = uE;
  unpack(sz, op1); const t1 = uT, s1 = uS, m1 = uM, e1 = uE;
  unpack(sz, op2); const t2 = uT, s2 = uS, m2 = uM, e2 = uE;
  const n = processNaNs3(sz, ta, t1, t2, addend, op1, op2);
  const infTimesZero = (t1 == T_INF && t2 == T_ZERO) || (t1 == T_ZERO && t2 == T_INF);
  if (ta == T_QNAN && infTimesZero) { raise(IOC); return defaultNaN(sz); }
  if (nanHit) return n;
  const sp = s1 ^ s2;
  const infP = t1 == T_INF || t2 == T_INF;
  const zeroP = t1 == T_ZERO || t2 == T_ZERO;
  if (infTimesZero || (ta == T_INF && infP && sa != sp)) { raise(IOC); return defaultNaN(sz); }
  if ((ta == T_INF && sa == 0) || (infP && sp == 0)) return fpInfinity(sz, 0);
  if ((ta == T_INF && sa == 1) || (infP && sp == 1)) return fpInfinity(sz, 1);
  if (ta == T_ZERO && zeroP && sa == sp) return fpZero(sz, sa);
  if (zeroP) {
    if (ta == T_ZERO) return fpZero(sz, rmode == RM ? 1 : 0);
    return round(sz, sa, ma, ea + scale, false, rmode);
  }
  mul64(m1, m2);
  let ph = h128, pl = l128; // product significand, 128 bits, exponent ep
  let ep = e1 + e2;
  if (ta == T_ZERO) { const m = narrow128(ph, pl); return round(sz, sp, m, ep + narrowShift + scale, sticky128, rmode); }
  // addend as 128 bits
  let ah: u64 = 0, al = ma;
  let eA = ea;
  // scale both to 120-bit-ish fixed point: shift the one with the larger exponent left first
  const up = (hi: u64, lo: u64, k: i32): void => { h128 = k >= 64 ? lo << <u64>(k - 64) : (k == 0 ? hi : (hi << <u64>k) | (lo >> <u64>(64 - k))); l128 = k >= 64 ? 0 : lo << <u64>k; };
  // normalise both to have their top bit at 125 (leaving room for a carry)
  const top = (hi: u64, lo: u64): i32 => hi != 0 ? 127 - <i32>clz<u64>(hi) : 63 - <i32>clz<u64>(lo);
  let k = 125 - top(ph, pl); up(ph, pl, k); ph = h128; pl = l128; ep -= k;
  k = 125 - top(ah, al); up(ah, al, k); ah = h128; al = l128; eA -= k;
  // align the smaller exponent down to the larger one, keeping sticky
  let sticky = false;
  let exp = ep;
  if (eA > ep) {
    const d = eA - ep; exp = eA;
    sticky = shiftRightSticky(ph, pl, d); ph = h128; pl = l128;
  } else if (ep > eA) {
    const d = ep - eA;
    sticky = shiftRightSticky(ah, al, d); ah = h128; al = l128;
  }
  let rs = sp;
  let rh: u64, rl: u64;
  if (sa == sp) {
    rl = pl + al; rh = ph + ah + (rl < pl ? 1 : 0);
  } else {
    // magnitude comparison
    const pBigger = ph > ah || (ph == ah && pl > al) || (ph == ah && pl == al && sticky && ep >= eA);
    let xh = ph, xl = pl, yh = ah, yl = al;
    if (!pBigger) { xh = ah; xl = al; yh = ph; yl = pl; rs = sa; }
    rl = xl - yl; rh = xh - yh - (xl < yl ? 1 : 0);
    if (sticky) { // the smaller operand lost bits: the exact difference is slightly less
      const borrow: u64 = rl == 0 ? 1 : 0; rl -= 1; rh -= borrow;
    }
    if (rh == 0 && rl == 0 && !sticky) return fpZero(sz, rmode == RM ? 1 : 0);
  }
  const m = narrow128(rh, rl);
  return round(sz, rs, m, exp + narrowShift + scale, sticky || sticky128, rmode);
}

function shiftRightSticky(hi: u64, lo: u64, d: i32): bool {
  if (d <= 0) { h128 = hi; l128 = lo; return false; }
  if (d >= 128) { h128 = 0; l128 = 0; return hi != 0 || lo != 0; }
  if (d >= 64) {
    const s = d - 64;
    const lost = lo != 0 || (s > 0 && (hi & ((<u64>1 << <u64>s) - 1)) != 0);
    l128 = s == 0 ? hi : hi >> <u64>s; h128 = 0;
    return lost;
  }
  const lost = (lo & ((<u64>1 << <u64>d) - 1)) != 0;
  l128 = (lo >> <u64>d) | (hi << <u64>(64 - d)); h128 = hi >> <u64>d;
  return lost;
}

// ---- comparisons of unpacked values
// -1, 0, 1 comparing two non-NaN values given as (type, sign, m, e)
function compareVals(t1: u32, s1: u32, m1: u64, e1: i32, t2: u32, s2: u32, m2: u64, e2: i32): i32 {
  const z1 = t1 == T_ZERO, z2 = t2 == T_ZERO;
  if (z1 && z2) return 0;
  if (z1) return s2 != 0 ? 1 : -1;
  if (z2) return s1 != 0 ? -1 : 1;
  if (s1 != s2) return s1 != 0 ? -1 : 1;
  let mag: i32;
  if (t1 == T_INF && t2 == T_INF) mag = 0;
  else if (t1 == T_INF) mag = 1;
  else if (t2 == T_INF) mag = -1;
  else {
    const top1 = 63 - <i32>clz<u64>(m1) + e1, top2 = 63 - <i32>clz<u64>(m2) + e2;
    if (top1 != top2) mag = top1 > top2 ? 1 : -1;
    else {
      const a1 = m1 << <u64>clz<u64>(m1), a2 = m2 << <u64>clz<u64>(m2);
      mag = a1 == a2 ? 0 : (a1 > a2 ? 1 : -1);
    }
  }
  return s1 != 0 ? -mag : mag;
}

// ---- FPMax / FPMin (and the Num forms: a single quiet NaN loses to a number)
export function fpMaxMin(sz: u32, a: u64, b: u64, isMax: bool, num: bool): u64 {
  let op1 = a, op2 = b;
  if (num) {
    const q1 = isQuietNaN(sz, a), q2 = isQuietNaN(sz, b);
    if (q1 && !q2) op1 = fpInfinity(sz, isMax ? 1 : 0);
    else if (!q1 && q2) op2 = fpInfinity(sz, isMax ? 1 : 0);
  }
  unpack(sz, op1); const t1 = uT, s1 = uS, m1 = uM, e1 = uE;
  unpack(sz, op2); const t2 = uT, s2 = uS, m2 = uM, e2 = uE;
  const n = processNaNs(sz, t1, t2, op1, op2);
  if (nanHit) return n;
  const c = compareVals(t1, s1, m1, e1, t2, s2, m2, e2);
  const first = isMax ? c > 0 : c < 0;
  const t = first ? t1 : t2, s = first ? s1 : s2;
  if (t == T_INF) return fpInfinity(sz, s);
  if (t == T_ZERO) return fpZero(sz, isMax ? s1 & s2 : s1 | s2);
  return first ? round(sz, s1, m1, e1, false, fpcrRMode()) : round(sz, s2, m2, e2, false, fpcrRMode());
}

function isQuietNaN(sz: u32, v: u64): bool {
  const F = fracBits(sz), E = expBits(sz);
  const exp = (v >> F) & ((<u64>1 << E) - 1);
  return exp == (<u64>1 << E) - 1 && ((v >> (F - 1)) & 1) != 0;
}

// FPCompare: NZCV (0b0110 equal, 0b1000 less, 0b0010 greater, 0b0011 unordered)
export function fpCompare(sz: u32, a: u64, b: u64, signalAll: bool): u32 {
  unpack(sz, a); const t1 = uT, s1 = uS, m1 = uM, e1 = uE;
  unpack(sz, b); const t2 = uT, s2 = uS, m2 = uM, e2 = uE;
  if (t1 >= T_QNAN || t2 >= T_QNAN) {
    if (signalAll || t1 == T_SNAN || t2 == T_SNAN) raise(IOC);
    return 3;
  }
  const c = compareVals(t1, s1, m1, e1, t2, s2, m2, e2);
  return c == 0 ? 6 : (c < 0 ? 8 : 2);
}

// FPCompareEQ (quiet), GE and GT (signalling): op 0, 1, 2
export function fpCompareOp(sz: u32, a: u64, b: u64, op: u32): bool {
  unpack(sz, a); const t1 = uT, s1 = uS, m1 = uM, e1 = uE;
  unpack(sz, b); const t2 = uT, s2 = uS, m2 = uM, e2 = uE;
  if (t1 >= T_QNAN || t2 >= T_QNAN) {
    if (op != 0 || t1 == T_SNAN || t2 == T_SNAN) raise(IOC);
    return false;
  }
  const c = compareVals(t1, s1, m1, e1, t2, s2, m2, e2);
  return op == 0 ? c == 0 : (op == 1 ? c >= 0 : c > 0);
}

// Rounding an unsigned magnitude ip + fraction (gt: > 1/2, eq: == 1/2, nz: != 0) per mode and sign
@inline function roundUp(mode: u32, sign: u32, ip: u64, gt: bool, eq: bool, nz: bool): bool {
  switch (mode) {
    case RN: return gt || (eq && (ip & 1) != 0);
    case RA: return gt || eq;
    case RP: return nz && sign == 0;
    case RM: return nz && sign != 0;
    default: return false;
  }
}

// Integer part of m·2^e (e < 0) and its fraction class, in globals.
let ipOut: u64 = 0, gtOut = false, eqOut = false, nzOut = false;
function splitInt(m: u64, e: i32): void {
  const sh = -e;
  if (sh >= 64) {
    ipOut = 0;
    nzOut = true;
    gtOut = sh == 64 && m > (<u64>1 << 63);
    eqOut = sh == 64 && m == (<u64>1 << 63);
    return;
  }
  ipOut = m >> <u64>sh;
  const rem = m & ((<u64>1 << <u64>sh) - 1);
  const half = <u64>1 << <u64>(sh - 1);
  gtOut = rem > half; eqOut = rem == half; nzOut = rem != 0;
}

// ---- FPToFixed: to an `isize`-bit integer with `fbits` fraction bits, saturating
export function fpToFixed(sz: u32, a: u64, fbits: u32, unsigned: bool, mode: u32, isize: u32): u64 {
  unpack(sz, a);
  const t = uT, s = uS, m = uM;
  const e = uE + <i32>fbits;
  const maxU: u64 = isize == 64 ? <u64>-1 : (<u64>1 << isize) - 1;
  const maxS: u64 = (<u64>1 << (isize - 1)) - 1;
  const minS: u64 = (<u64>1 << (isize - 1)) & maxU; // the most negative, as bits
  if (t >= T_QNAN) { raise(IOC); return 0; }
  if (t == T_ZERO) return 0;
  let ip: u64 = 0, nz = false, overflow = t == T_INF;
  if (!overflow) {
    if (e >= 0) {
      if (e >= 64 || <i32>clz<u64>(m) < e) overflow = true;
      else ip = m << <u64>e;
    } else {
      splitInt(m, e);
      ip = ipOut; nz = nzOut;
      if (roundUp(mode, s, ip, gtOut, eqOut, nzOut)) { ip++; if (ip == 0) overflow = true; }
    }
  }
  if (unsigned) {
    if (s != 0) {
      if (overflow || ip != 0) { raise(IOC); return 0; }
      if (nz) raise(IXC);
      return 0;
    }
    if (overflow || ip > maxU) { raise(IOC); return maxU; }
    if (nz) raise(IXC);
    return ip;
  }
  if (s != 0) {
    if (overflow || ip > maxS + 1) { raise(IOC); return minS; }
    if (nz) raise(IXC);
    return (0 - ip) & maxU;
  }
  if (overflow || ip > maxS) { raise(IOC); return maxS; }
  if (nz) raise(IXC);
  return ip;
}

// ---- FixedToFP: a signed or unsigned `isize`-bit integer with fbits fraction bits
export function fixedToFp(sz: u32, v: u64, isize: u32, fbits: u32, unsigned: bool, mode: u32): u64 {
  const mask: u64 = isize == 64 ? <u64>-1 : (<u64>1 << isize) - 1;
  let x = v & mask;
  let s: u32 = 0;
  if (!unsigned && ((x >> (isize - 1)) & 1) != 0) { s = 1; x = (0 - x) & mask; if (x == 0) x = <u64>1 << (isize - 1); }
  if (x == 0) return fpZero(sz, 0);
  return round(sz, s, x, -<i32>fbits, false, mode);
}

// ---- FPRoundInt: to an integral value in the same format (exact: FRINTX raises IXC)
export function fpRoundInt(sz: u32, a: u64, mode: u32, exact: bool): u64 {
  unpack(sz, a);
  const t = uT, s = uS, m = uM, e = uE;
  if (t >= T_QNAN) { nanHit = false; return processNaN(sz, t, a); }
  if (t == T_INF) return fpInfinity(sz, s);
  if (t == T_ZERO) return fpZero(sz, s);
  if (e >= 0) return round(sz, s, m, e, false, RZ); // already integral
  splitInt(m, e);
  let ip = ipOut;
  if (roundUp(mode, s, ip, gtOut, eqOut, nzOut)) ip++;
  if (exact && nzOut) raise(IXC);
  if (ip == 0) return fpZero(sz, s);
  return round(sz, s, ip, 0, false, RZ);
}

// ---- FPConvert between sizes (FCVT, FCVTL, FCVTN, FCVTXN with RO)
export function fpConvert(toSz: u32, fromSz: u32, a: u64, mode: u32): u64 {
  const alt = ahp();
  unpack(fromSz, a, fromSz != 16);
  const t = uT, s = uS, m = uM, e = uE;
  const halfOut = toSz == 16;
  if (t >= T_QNAN) {
    if (halfOut && alt) { raise(IOC); return fpZero(16, s); }
    if (t == T_SNAN) raise(IOC);
    if (dn()) return defaultNaN(toSz);
    const Ff = fracBits(fromSz), Ft = fracBits(toSz);
    const frac = a & ((<u64>1 << Ff) - 1) & ~(<u64>1 << (Ff - 1));
    const nf = Ft >= Ff ? frac << (Ft - Ff) : frac >> (Ff - Ft);
    return (s != 0 ? signBit(toSz) : 0) | (((<u64>1 << expBits(toSz)) - 1) << Ft) | nf | (<u64>1 << (Ft - 1));
  }
  if (t == T_INF) {
    if (halfOut && alt) { raise(IOC); return (s != 0 ? <u64>0x8000 : 0) | 0x7FFF; }
    return fpInfinity(toSz, s);
  }
  if (t == T_ZERO) return fpZero(toSz, s);
  return round(toSz, s, m, e, false, mode, !halfOut, halfOut && alt);
}

// ---- reciprocal estimates (FPRecipEstimate, FPRSqrtEstimate, RecipEstimate, RecipSqrtEstimate)
export function recipEstimate(a0: u32): u32 {
  const a = a0 * 2 + 1; // units of 1/1024, rounded
  const b = (1 << 19) / a;
  return (b + 1) >> 1;
}
export function recipSqrtEstimate(a0: u32): u32 {
  let a = a0;
  if (a < 256) a = a * 2 + 1;
  else { a = (a >> 1) << 1; a = (a + 1) * 2; }
  let b: u32 = 512;
  while (<u64>a * <u64>(b + 1) * <u64>(b + 1) < (<u64>1 << 28)) b++;
  return (b + 1) >> 1;
}

// the operand's fraction left-aligned to 52 bits and its raw biased exponent
@inline function frac52(sz: u32, a: u64): u64 { return (a & ((<u64>1 << fracBits(sz)) - 1)) << (52 - fracBits(sz)); }
@inline function rawExp(sz: u32, a: u64): i32 { return <i32>((a >> fracBits(sz)) & ((<u64>1 << expBits(sz)) - 1)); }

export function fpRecipEstimate(sz: u32, a: u64): u64 {
  unpack(sz, a);
  const t = uT, s = uS, m = uM, e = uE;
  if (t >= T_QNAN) { nanHit = false; return processNaN(sz, t, a); }
  if (t == T_INF) return fpZero(sz, s);
  if (t == T_ZERO) { raise(DZC); return fpInfinity(sz, s); }
  const x = 63 - <i32>clz<u64>(m) + e; // floor(log2 |value|)
  const tinyLimit: i32 = sz == 16 ? -16 : (sz == 32 ? -128 : -1024);
  if (x < tinyLimit) {
    const rm = fpcrRMode();
    const toInf = rm == RN || (rm == RP && s == 0) || (rm == RM && s != 0);
    raise(OFC | IXC);
    return toInf ? fpInfinity(sz, s) : fpMaxNormal(sz, s);
  }
  const flushLimit: i32 = sz == 32 ? 126 : 1022;
  if (sz != 16 && fz() && x >= flushLimit) { raise(UFC); return fpZero(sz, s); }
  let fraction = frac52(sz, a);
  let exp = rawExp(sz, a);
  if (exp == 0) {
    if (((fraction >> 51) & 1) == 0) { exp = -1; fraction = (fraction << 2) & ((<u64>1 << 52) - 1); }
    else fraction = (fraction << 1) & ((<u64>1 << 52) - 1);
  }
  const scaled = <u32>(256 | <u32>((fraction >> 44) & 0xFF));
  const B = bias(sz);
  let rexp = 2 * B - 1 - exp;
  const est = recipEstimate(scaled);
  let f: u64 = <u64>(est & 0xFF) << 44;
  if (rexp == 0) f = (<u64>1 << 51) | (f >> 1);
  else if (rexp == -1) { f = (<u64>1 << 50) | (f >> 2); rexp = 0; }
  return (s != 0 ? signBit(sz) : 0) | (<u64>rexp << fracBits(sz)) | (f >> (52 - fracBits(sz)));
}

export function fpRSqrtEstimate(sz: u32, a: u64): u64 {
  unpack(sz, a);
  const t = uT, s = uS;
  if (t >= T_QNAN) { nanHit = false; return processNaN(sz, t, a); }
  if (t == T_ZERO) { raise(DZC); return fpInfinity(sz, s); }
  if (s != 0) { raise(IOC); return defaultNaN(sz); }
  if (t == T_INF) return fpZero(sz, 0);
  let fraction = frac52(sz, a);
  let exp = rawExp(sz, a);
  if (exp == 0) {
    while (((fraction >> 51) & 1) == 0) { fraction = fraction << 1; exp--; }
    fraction = (fraction << 1) & ((<u64>1 << 52) - 1);
  }
  const scaled = (exp & 1) == 0 ? (256 | <u32>((fraction >> 44) & 0xFF)) : (128 | <u32>((fraction >> 45) & 0x7F));
  const B = bias(sz);
  const rexp = (3 * B - 1 - exp) >> 1;
  const est = recipSqrtEstimate(scaled);
  return (<u64>rexp << fracBits(sz)) | ((<u64>(est & 0xFF) << 44) >> (52 - fracBits(sz)));
}

// FRECPX: the exponent's complement, fraction zero
export function fpRecpX(sz: u32, a: u64): u64 {
  unpack(sz, a);
  const t = uT, s = uS;
  if (t >= T_QNAN) { nanHit = false; return processNaN(sz, t, a); }
  const F = fracBits(sz), E = expBits(sz);
  const exp = (a >> F) & ((<u64>1 << E) - 1);
  const sign = s != 0 ? signBit(sz) : 0;
  if (exp == 0) return sign | ((((<u64>1 << E) - 1) - 1) << F);
  return sign | ((~exp & ((<u64>1 << E) - 1)) << F);
}

// FRECPS: 2 + (-a)*b, FRSQRTS: (3 + (-a)*b)/2, each fused
export function fpRecipStep(sz: u32, a: u64, b: u64, sqrtStep: bool): u64 {
  const na = a ^ signBit(sz);
  unpack(sz, na); const t1 = uT, s1 = uS;
  unpack(sz, b); const t2 = uT, s2 = uS;
  const n = processNaNs(sz, t1, t2, na, b);
  if (nanHit) return n;
  if ((t1 == T_INF && t2 == T_ZERO) || (t1 == T_ZERO && t2 == T_INF)) {
    return sqrtStep ? (fpOne(sz, 0) | (<u64>1 << (fracBits(sz) - 1))) : fpTwo(sz, 0);
  }
  if (t1 == T_INF || t2 == T_INF) return fpInfinity(sz, s1 ^ s2);
  return sqrtStep ? fpMulAdd(sz, fpThree(sz, 0), na, b, -1) : fpMulAdd(sz, fpTwo(sz, 0), na, b);
}
