// Random scalar floating-point cases: operands biased to the values where
// IEEE arithmetic is subtle (zeros, infinities, quiet and signalling NaNs
// with payloads, denormals, the normal range's edges, rounding boundaries),
// random FPCR (rounding mode, FZ, DN, AHP) and FPSR.

import { Rng } from "./rng.js";
import { DiffCase } from "./harness.js";
import { baseCase, Gen } from "./gen_int.js";

const E = { 16: 5, 32: 8, 64: 11 } as const;
type Sz = 16 | 32 | 64;

export function fpValue(rng: Rng, sz: Sz): bigint {
  const eb = BigInt(E[sz]), fb = BigInt(sz) - 1n - BigInt(E[sz]);
  const sign = rng.bool() ? 1n << BigInt(sz - 1) : 0n;
  const emax = (1n << eb) - 1n;
  const frac = (): bigint => rng.next64() & ((1n << fb) - 1n);
  const pack = (e: bigint, f: bigint): bigint => sign | (e << fb) | f;
  switch (rng.int(18)) {
    case 16: { // halfway cases for narrowing to single (f64) or half (f32): the dropped bits are exactly 100...0
      const drop = sz === 64 ? 29n : sz === 32 ? 13n : 0n;
      if (drop === 0n) return pack(1n, frac());
      const keep = (frac() >> drop) << drop;
      return pack(BigInt(rng.int(Number(emax - 1n)) + 1), keep | (1n << (drop - 1n)) | (rng.int(4) === 0 ? 1n : 0n));
    }
    case 17: { // k + 1/2 for rounding to integral and to integer
      const bias = (1n << (eb - 1n)) - 1n;
      const k = BigInt(rng.int(20));
      const e = bias + k;
      const f = (frac() >> (fb - k)) << (fb - k); // integer part bits random
      return pack(e, k < fb ? f | (1n << (fb - k - 1n)) : f);
    }
    case 0: return sign; // ±0
    case 1: return pack(emax, 0n); // ±inf
    case 2: return pack(emax, (1n << (fb - 1n)) | frac()); // quiet NaN
    case 3: { const f = frac() & ((1n << (fb - 1n)) - 1n); return pack(emax, f === 0n ? 1n : f); } // signalling NaN
    case 4: { const f = frac(); return pack(0n, f === 0n ? 1n : f); } // denormal
    case 5: return pack(1n, frac()); // smallest normals
    case 6: return pack(emax - 1n, frac()); // largest normals
    case 7: return pack((1n << (eb - 1n)) - 1n + BigInt(rng.int(8)) - 2n, rng.bool() ? 0n : frac()); // around 1.0
    case 8: return pack(BigInt(rng.int(Number(emax - 1n)) + 1), (frac() >> 8n) << 8n | 0x80n); // near a rounding boundary
    case 9: return pack(BigInt(rng.int(Number(emax - 1n)) + 1), frac() | 1n);
    case 10: return pack(BigInt(rng.int(Number(emax - 1n)) + 1), 0n); // powers of two
    default: return pack(BigInt(rng.int(Number(emax - 1n)) + 1), frac());
  }
}

// Integer values for conversions: around the limits of 32/64-bit types, small numbers, random
export function intValue(rng: Rng): bigint {
  switch (rng.int(6)) {
    case 0: return rng.pick([0n, 1n, 0x7FFFFFFFn, 0x80000000n, 0xFFFFFFFFn, 0x7FFFFFFFFFFFFFFFn, 0x8000000000000000n, 0xFFFFFFFFFFFFFFFFn]);
    case 1: return BigInt(rng.int(1000));
    case 2: return BigInt.asUintN(64, -BigInt(rng.int(1000)));
    case 3: return rng.next64() & 0xFFFFFFFFn;
    default: return rng.next64();
  }
}

// Values that convert to integers near the saturation limits
function nearIntLimit(rng: Rng, sz: Sz): bigint {
  const bias = BigInt((1 << (E[sz] - 1)) - 1);
  const fb = BigInt(sz) - 1n - BigInt(E[sz]);
  const e = bias + BigInt(rng.pick([30, 31, 32, 62, 63, 64, 0, 1, 10]));
  return (rng.bool() ? 1n << BigInt(sz - 1) : 0n) | (e << fb) | (rng.next64() & ((1n << fb) - 1n));
}

function fpcrRandom(rng: Rng): number {
  let v = rng.int(4) << 22;
  if (rng.int(4) === 0) v |= 1 << 24; // FZ
  if (rng.int(4) === 0) v |= 1 << 25; // DN
  if (rng.int(3) === 0) v |= 1 << 26; // AHP
  return v;
}

function setupFp(rng: Rng, c: DiffCase, sz: Sz, regs: number[]): void {
  c.fpcr = fpcrRandom(rng);
  c.fpsr = rng.int(8) === 0 ? rng.int(256) & 0x9F : 0;
  for (const r of regs) c.v[r] = [rng.int(10) === 0 ? nearIntLimit(rng, sz) : fpValue(rng, sz), rng.next64()];
}

const ftypeOf = (sz: Sz): number => (sz === 32 ? 0 : sz === 64 ? 1 : 3);
const reg = (rng: Rng): number => rng.int(32);

export const genFpArith: Gen = (rng, c) => {
  const sz: Sz = rng.bool() ? 32 : 64;
  const rn = reg(rng), rm = reg(rng), ra = reg(rng), rd = reg(rng);
  setupFp(rng, c, sz, [rn, rm, ra]);
  if (rng.int(4) === 0 && rn !== rm) {
    // an addend half an ulp (or a little more or less) of the other operand: ties in rounding
    const fb = BigInt(sz) - 1n - BigInt(E[sz]);
    const a = c.v[rn][0];
    const ea = (a >> fb) & ((1n << BigInt(E[sz])) - 1n);
    const eb = ea - fb - 1n;
    if (eb > 0n) c.v[rm] = [(rng.bool() ? 1n << BigInt(sz - 1) : 0n) | (eb << fb) | (rng.int(3) === 0 ? rng.next64() & ((1n << fb) - 1n) : 0n), 0n];
  }
  const t = ftypeOf(sz);
  if (rng.int(4) === 0) { // 3-source
    c.insns.push(0x1F000000 | (t << 22) | (rng.bit() << 21) | (rm << 16) | (rng.bit() << 15) | (ra << 10) | (rn << 5) | rd);
  } else { // 2-source
    c.insns.push(0x1E200800 | (t << 22) | (rm << 16) | (rng.int(9) << 12) | (rn << 5) | rd);
  }
};

export const genFp1: Gen = (rng, c) => {
  const rn = reg(rng), rd = reg(rng);
  if (rng.int(3) === 0) { // FCVT between precisions
    const pairs: [Sz, Sz][] = [[32, 64], [32, 16], [64, 32], [64, 16], [16, 32], [16, 64]];
    const [from, to] = rng.pick(pairs);
    setupFp(rng, c, from, [rn]);
    c.insns.push(0x1E204000 | (ftypeOf(from) << 22) | ((4 | ftypeOf(to)) << 15) | (rn << 5) | rd);
    return;
  }
  const sz: Sz = rng.bool() ? 32 : 64;
  setupFp(rng, c, sz, [rn]);
  const op = rng.pick([0, 1, 2, 3, 8, 9, 10, 11, 12, 14, 15]);
  c.insns.push(0x1E204000 | (ftypeOf(sz) << 22) | (op << 15) | (rn << 5) | rd);
};

export const genFpCompare: Gen = (rng, c) => {
  const sz: Sz = rng.bool() ? 32 : 64;
  const rn = reg(rng), rm = reg(rng), rd = reg(rng);
  setupFp(rng, c, sz, [rn, rm]);
  const t = ftypeOf(sz);
  switch (rng.int(4)) {
    case 0: case 1: // FCMP / FCMPE, register or zero
      c.insns.push(0x1E202000 | (t << 22) | (rm << 16) | (rn << 5) | (rng.bit() << 4) | (rng.bit() << 3));
      break;
    case 2: // FCCMP / FCCMPE
      c.insns.push(0x1E200400 | (t << 22) | (rm << 16) | (rng.int(16) << 12) | (rn << 5) | (rng.bit() << 4) | rng.int(16));
      break;
    default: // FCSEL
      c.insns.push(0x1E200C00 | (t << 22) | (rm << 16) | (rng.int(16) << 12) | (rn << 5) | rd);
  }
};

export const genFpConvert: Gen = (rng, c) => {
  const sz: Sz = rng.bool() ? 32 : 64;
  const sf = rng.bit();
  const rn = reg(rng), rd = rng.int(31);
  setupFp(rng, c, sz, [rn]);
  const xn = rng.int(31);
  c.x[xn] = intValue(rng);
  const t = ftypeOf(sz);
  switch (rng.int(5)) {
    case 0: { // FCVT{N,P,M,Z}{S,U} and FCVTA{S,U} to integer
      const rmode = rng.int(4), u = rng.bit();
      const opcode = rng.int(4) === 0 ? (4 | u) : u;
      c.insns.push((sf << 31) | 0x1E200000 | (t << 22) | ((opcode >= 4 ? 0 : rmode) << 19) | (opcode << 16) | (rn << 5) | rd);
      break;
    }
    case 1: // SCVTF / UCVTF from integer
      c.insns.push((sf << 31) | 0x1E220000 | (t << 22) | (rng.bit() << 16) | (xn << 5) | rng.int(32));
      break;
    case 2: { // fixed point: SCVTF/UCVTF (rmode 00, op 01x) or FCVTZS/U (rmode 11, op 00x)
      const scale = sf ? rng.int(64) + 0 : 32 + rng.int(32);
      const toFp = rng.bool();
      if (sf && scale === 0) return genFpConvert(rng, c, 0);
      if (toFp) c.insns.push((sf << 31) | 0x1E000000 | (t << 22) | (2 | rng.bit()) << 16 | (scale << 10) | (xn << 5) | rng.int(32));
      else c.insns.push((sf << 31) | 0x1E000000 | (t << 22) | (3 << 19) | (rng.bit() << 16) | (scale << 10) | (rn << 5) | rd);
      break;
    }
    case 3: { // FMOV general
      const f = rng.int(3);
      if (f === 0) c.insns.push(0x1E260000 | (rng.bit() << 16) | ((rng.bool() ? xn : rn) << 5) | rd); // W <-> S
      else if (f === 1) c.insns.push(0x9E660000 | (rng.bit() << 16) | ((rng.bool() ? xn : rn) << 5) | rd); // X <-> D
      else c.insns.push(0x9EAE0000 | (rng.bit() << 16) | ((rng.bool() ? xn : rn) << 5) | rd); // X <-> V.D[1]
      break;
    }
    default: // FMOV immediate
      c.insns.push(0x1E201000 | (t << 22) | (rng.int(256) << 13) | rng.int(32));
  }
};

export function fpCase(rng: Rng): DiffCase { return baseCase(rng); }

// ---- AdvSIMD floating point: fill lanes with special values
function fillLanes(rng: Rng, c: DiffCase, sz: 32 | 64, regs: number[]): void {
  c.fpcr = fpcrRandom(rng);
  c.fpsr = 0;
  for (const r of regs) {
    const lanes = 128 / sz;
    let lo = 0n, hi = 0n;
    for (let i = 0; i < lanes; i++) {
      const v = rng.int(8) === 0 ? nearIntLimit(rng, sz) : fpValue(rng, sz);
      const bit = BigInt(i * sz);
      if (bit < 64n) lo |= v << bit; else hi |= v << (bit - 64n);
    }
    c.v[r] = [BigInt.asUintN(64, lo), BigInt.asUintN(64, hi)];
  }
}

export const genFpVec: Gen = (rng, c) => {
  const szb = rng.bit();
  const sz = szb ? 64 : 32;
  const q = szb ? 1 : rng.bit();
  const rn = reg(rng), rm = reg(rng), rd = reg(rng);
  fillLanes(rng, c, sz, [rn, rm, rd]);
  const scalar = rng.int(4) === 0;
  switch (rng.int(6)) {
    case 0: { // three same
      const vec = [[0, 0, 0x18], [0, 0, 0x19], [0, 0, 0x1A], [0, 0, 0x1B], [0, 0, 0x1C], [0, 0, 0x1E], [0, 0, 0x1F], [0, 1, 0x18], [0, 1, 0x19], [0, 1, 0x1A], [0, 1, 0x1E], [0, 1, 0x1F],
        [1, 0, 0x18], [1, 0, 0x1A], [1, 0, 0x1B], [1, 0, 0x1C], [1, 0, 0x1D], [1, 0, 0x1E], [1, 0, 0x1F], [1, 1, 0x18], [1, 1, 0x1A], [1, 1, 0x1C], [1, 1, 0x1D], [1, 1, 0x1E]];
      const sca = [[0, 0, 0x1B], [0, 0, 0x1C], [0, 0, 0x1F], [0, 1, 0x1F], [1, 0, 0x1C], [1, 0, 0x1D], [1, 1, 0x1A], [1, 1, 0x1C], [1, 1, 0x1D]];
      const [u, a, op] = rng.pick(scalar ? sca : vec);
      const base = scalar ? 0x5E200400 : (0x0E200400 | (q << 30));
      c.insns.push(base | (u << 29) | (a << 23) | (szb << 22) | (rm << 16) | (op << 11) | (rn << 5) | rd);
      break;
    }
    case 1: { // two-reg misc
      const vec = [[0, 0, 0x18], [0, 1, 0x18], [0, 0, 0x19], [0, 1, 0x19], [1, 0, 0x18], [1, 0, 0x19], [1, 1, 0x19], [0, 0, 0x1A], [0, 1, 0x1A], [0, 0, 0x1B], [0, 1, 0x1B], [0, 0, 0x1C],
        [1, 0, 0x1A], [1, 1, 0x1A], [1, 0, 0x1B], [1, 1, 0x1B], [1, 0, 0x1C], [0, 0, 0x1D], [1, 0, 0x1D], [0, 1, 0x1D], [1, 1, 0x1D], [0, 1, 0x0C], [0, 1, 0x0D], [0, 1, 0x0E], [1, 1, 0x0C], [1, 1, 0x0D],
        [0, 1, 0x0F], [1, 1, 0x0F], [1, 1, 0x1F]];
      const sca = [[0, 0, 0x1A], [0, 1, 0x1A], [0, 0, 0x1B], [0, 1, 0x1B], [0, 0, 0x1C], [1, 0, 0x1A], [1, 1, 0x1A], [1, 0, 0x1B], [1, 1, 0x1B], [1, 0, 0x1C], [0, 0, 0x1D], [1, 0, 0x1D],
        [0, 1, 0x1D], [1, 1, 0x1D], [0, 1, 0x1F], [0, 1, 0x0C], [0, 1, 0x0D], [0, 1, 0x0E], [1, 1, 0x0C], [1, 1, 0x0D]];
      if (rng.int(5) === 0) { // FCVTN/FCVTL/FCVTXN
        const which = rng.int(3);
        const u = which === 2 ? 1 : 0, op = which === 1 ? 0x17 : 0x16, s = which === 2 ? 1 : rng.bit();
        if (scalar && which === 2) c.insns.push(0x7E216800 | (1 << 22) | (rn << 5) | rd);
        else c.insns.push(0x0E216800 | (rng.bit() << 30) | (u << 29) | (s << 22) | (op << 12) | (rn << 5) | rd);
        break;
      }
      const [u, a, op] = rng.pick(scalar ? sca : vec);
      const base = scalar ? 0x5E200800 : (0x0E200800 | (q << 30));
      c.insns.push(base | (u << 29) | (a << 23) | (szb << 22) | (op << 12) | (rn << 5) | rd);
      break;
    }
    case 2: { // by element
      const opcode = rng.pick([1, 5, 9]);
      const u = opcode === 9 ? rng.bit() : 0;
      const h = rng.bit(), l = szb ? 0 : rng.bit();
      const base = scalar ? 0x5F000000 : (0x0F000000 | (q << 30));
      c.insns.push(base | (u << 29) | ((2 | szb) << 22) | (l << 21) | (rm << 16) | (opcode << 12) | (h << 11) | (rn << 5) | rd);
      break;
    }
    case 3: // across lanes (4S)
      c.insns.push(0x6E300800 | (rng.bit() << 23) | (rng.pick([0x0C, 0x0F]) << 12) | (rn << 5) | rd);
      break;
    case 4: { // scalar pairwise
      const op = rng.pick([0x0C, 0x0D, 0x0F]);
      const a = op === 0x0D ? 0 : rng.bit();
      c.insns.push(0x7E300800 | (a << 23) | (szb << 22) | (op << 12) | (rn << 5) | rd);
      break;
    }
    default: { // fixed-point conversions by immediate
      const immhb = szb ? 64 + rng.int(64) : 32 + rng.int(32);
      const base = scalar ? 0x5F000400 : (0x0F000400 | (q << 30));
      c.insns.push(base | (rng.bit() << 29) | (immhb << 16) | (rng.pick([0x1C, 0x1F]) << 11) | (rn << 5) | rd);
    }
  }
};
