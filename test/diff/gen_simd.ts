// Random instruction generators for the integer Advanced SIMD groups, the
// SIMD structure loads/stores and the crypto extension. Each generator
// appends valid ARMv8.0 encodings (the validity rules here are the spec the
// differential test checks against QEMU: a wrong rule shows up as SIGILL)
// and seeds its source registers with values biased towards the edges that
// matter (saturation limits, sign boundaries, small shift counts).

import { Rng } from "./rng.js";
import { DiffCase, SCRATCH, scratchAddr } from "./harness.js";
import "./gen_int.js"; // Rng.bit()

export type Gen = (rng: Rng, c: DiffCase, index: number) => void;

const reg = (rng: Rng): number => rng.int(32);

// One element of 8 << sz bits, biased to the edges.
export function elemVal(rng: Rng, sz: number): bigint {
  const bits = 8n << BigInt(sz);
  const mask = (1n << bits) - 1n;
  const smin = 1n << (bits - 1n);
  switch (rng.int(11)) {
    case 10: { // low half at a narrowing boundary, upper half small or random
      if (sz === 0) return rng.next64() & mask;
      const half = bits / 2n;
      const low = rng.pick([0n, 1n, (1n << (half - 1n)) - 1n, 1n << (half - 1n), (1n << half) - 1n]);
      const up = rng.bool() ? BigInt(rng.int(4)) : rng.next64();
      return ((up << half) | low) & mask;
    }
    case 0: return 0n;
    case 1: return mask; // -1
    case 2: return smin; // signed minimum
    case 3: return smin - 1n; // signed maximum
    case 4: return rng.pick([1n, 2n, smin + 1n, smin - 2n, mask - 1n]);
    case 5: return BigInt(rng.int(16));
    case 6: return (mask - BigInt(rng.int(16))) & mask;
    case 7: return (smin + BigInt(rng.int(16) - 8)) & mask; // around the sign boundary
    default: return rng.next64() & mask;
  }
}

// A 128-bit vector of elements of size sz, each from elemFn.
export function vecOf(rng: Rng, sz: number, elemFn: (rng: Rng, sz: number) => bigint): [bigint, bigint] {
  const bits = 8n << BigInt(sz);
  const n = 16 >> sz;
  let v = 0n;
  for (let i = 0; i < n; i++) v |= elemFn(rng, sz) << (BigInt(i) * bits);
  return [v & 0xFFFFFFFFFFFFFFFFn, v >> 64n];
}
export function edgeVec(rng: Rng, sz: number): [bigint, bigint] {
  if (rng.int(5) === 0) return [rng.next64(), rng.next64()];
  return vecOf(rng, sz, elemVal);
}
// Shift-by-register operands: the low byte of each element is the signed
// shift, mostly near the interesting range.
export function shiftVec(rng: Rng, sz: number): [bigint, bigint] {
  const esize = 8 << sz;
  return vecOf(rng, sz, (r, s) => {
    const hi = r.next64() & ((1n << (8n << BigInt(s))) - 1n) & ~0xFFn;
    let sh: number;
    if (r.int(6) === 0) sh = r.int(256) - 128;
    else sh = r.int(2 * esize + 5) - esize - 2;
    return hi | BigInt(sh & 0xFF);
  });
}

function setV(c: DiffCase, r: number, v: [bigint, bigint]): void { c.v[r] = v; }

// Sometimes start with QC set, so that a handler that clears it shows up.
export function maybeQC(rng: Rng, c: DiffCase): void {
  if (rng.int(8) === 0) c.fpsr = (c.fpsr | (1 << 27)) >>> 0;
}

// ---- Three same (vector and scalar), integer opcodes 0..23
function threeSameOk(op: number, u: number, size: number, q: number, scalar: boolean): boolean {
  if (scalar) {
    switch (op) {
      case 1: case 5: case 9: case 11: return true;
      case 6: case 7: case 8: case 10: case 16: case 17: return size === 3;
      case 22: return size === 1 || size === 2;
      default: return false;
    }
  }
  if (op > 23) return false;
  if (op === 3) return true;
  let ok: boolean;
  switch (op) {
    case 1: case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 16: case 17: ok = true; break;
    case 19: ok = u === 0 ? size !== 3 : size === 0; break;
    case 22: ok = size === 1 || size === 2; break;
    case 23: ok = u === 0; break;
    default: ok = size !== 3;
  }
  return ok && !(size === 3 && q === 0);
}

export const genThreeSame: Gen = (rng, c) => {
  const scalar = rng.int(4) === 0;
  let op: number, u: number, size: number, q: number;
  do {
    op = rng.int(24); u = rng.bit(); size = rng.int(4); q = rng.bit();
  } while (!threeSameOk(op, u, size, q, scalar));
  const rd = reg(rng), rn = reg(rng), rm = reg(rng);
  setV(c, rn, edgeVec(rng, size));
  setV(c, rm, op >= 8 && op <= 11 ? shiftVec(rng, size) : edgeVec(rng, size));
  maybeQC(rng, c);
  const base = scalar ? 0x5E200400 : 0x0E200400 | (q << 30);
  c.insns.push((base | (u << 29) | (size << 22) | (rm << 16) | (op << 11) | (rn << 5) | rd) >>> 0);
};

void SCRATCH; void scratchAddr;

// ---- Three different (vector and scalar)
export const genThreeDiff: Gen = (rng, c) => {
  const scalar = rng.int(5) === 0;
  let op: number, u: number, size: number;
  for (;;) {
    op = rng.int(15); u = rng.bit(); size = rng.int(4);
    if (scalar) {
      if ((op === 9 || op === 11 || op === 13) && u === 0 && (size === 1 || size === 2)) break;
      continue;
    }
    if (op === 9 || op === 11 || op === 13) { if (u === 0 && (size === 1 || size === 2)) break; continue; }
    if (op === 14) { if (u === 0 && (size === 0 || size === 3)) break; continue; }
    if (size !== 3) break;
  }
  const q = rng.bit();
  const rd = reg(rng), rn = reg(rng), rm = reg(rng);
  const wideN = op === 1 || op === 3 || op === 4 || op === 6;
  setV(c, rn, edgeVec(rng, wideN ? Math.min(size + 1, 3) : size));
  setV(c, rm, edgeVec(rng, op === 4 || op === 6 ? Math.min(size + 1, 3) : size));
  if (rng.bit()) setV(c, rd, edgeVec(rng, Math.min(size + 1, 3)));
  maybeQC(rng, c);
  const base = scalar ? 0x5E200000 : 0x0E200000 | (q << 30);
  c.insns.push((base | (u << 29) | (size << 22) | (rm << 16) | (op << 12) | (rn << 5) | rd) >>> 0);
};

// ---- Vector x indexed element (vector and scalar), integer opcodes
export const genIndexed: Gen = (rng, c) => {
  const scalar = rng.int(4) === 0;
  let op: number, u: number;
  for (;;) {
    op = rng.int(14); u = rng.bit();
    if (scalar) { if (u === 0 && [3, 7, 11, 12, 13].includes(op)) break; continue; }
    if ((op === 0 || op === 4) && u === 1) break;
    if (op === 8 && u === 0) break;
    if (op === 2 || op === 6 || op === 10) break;
    if ([3, 7, 11, 12, 13].includes(op) && u === 0) break;
  }
  const size = 1 + rng.bit(), q = rng.bit();
  const rd = reg(rng), rn = reg(rng);
  const rm = size === 1 ? rng.int(16) : reg(rng);
  const hlm = rng.bits(3);
  const long = [2, 3, 6, 7, 10, 11].includes(op);
  setV(c, rn, edgeVec(rng, size));
  setV(c, rm, edgeVec(rng, size));
  if (rng.bit()) setV(c, rd, edgeVec(rng, long ? size + 1 : size));
  maybeQC(rng, c);
  const base = scalar ? 0x5F000000 : 0x0F000000 | (q << 30);
  const h = hlm >> 2, l = (hlm >> 1) & 1, m = size === 1 ? hlm & 1 : rm >> 4;
  c.insns.push((base | (u << 29) | (size << 22) | (l << 21) | (m << 20) | ((rm & 15) << 16) | (op << 12) | (h << 11) | (rn << 5) | rd) >>> 0);
};

// ---- Two-register miscellaneous (vector and scalar), integer opcodes
function miscOk(op: number, u: number, size: number, q: number, scalar: boolean): boolean {
  if (scalar) {
    switch (op) {
      case 3: case 7: return true;
      case 8: case 9: case 11: return size === 3;
      case 10: return u === 0 && size === 3;
      case 18: return u === 1 && size !== 3;
      case 20: return size !== 3;
      default: return false;
    }
  }
  switch (op) {
    case 0: return u === 0 ? size !== 3 : size <= 1;
    case 1: return u === 0 && size === 0;
    case 2: case 4: case 6: case 18: case 20: return size !== 3;
    case 5: return u === 0 ? size === 0 : size <= 1;
    case 3: case 7: case 8: case 9: case 11: return size !== 3 || q === 1;
    case 10: return u === 0 && (size !== 3 || q === 1);
    case 19: return u === 1 && size !== 3;
    case 28: return size === 2;
    default: return false;
  }
}

export const genMisc: Gen = (rng, c) => {
  const scalar = rng.int(4) === 0;
  let op: number, u: number, size: number, q: number;
  do {
    op = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 18, 19, 20, 28]); u = rng.bit(); size = rng.int(4); q = rng.bit();
  } while (!miscOk(op, u, size, q, scalar));
  const rd = reg(rng), rn = reg(rng);
  const narrow = op === 18 || op === 20;
  setV(c, rn, edgeVec(rng, narrow ? size + 1 : size));
  if (rng.bit()) setV(c, rd, edgeVec(rng, op === 2 || op === 6 ? Math.min(size + 1, 3) : size));
  maybeQC(rng, c);
  const base = scalar ? 0x5E200800 : 0x0E200800 | (q << 30);
  c.insns.push((base | (u << 29) | (size << 22) | (op << 12) | (rn << 5) | rd) >>> 0);
};

// ---- Across lanes and scalar pairwise ADDP
export const genAcross: Gen = (rng, c) => {
  const rd = reg(rng), rn = reg(rng);
  if (rng.int(6) === 0) { // ADDP Dd, Vn.2D
    setV(c, rn, edgeVec(rng, 3));
    c.insns.push((0x5EF1B800 | (rn << 5) | rd) >>> 0);
    return;
  }
  let op: number, u: number, size: number, q: number;
  do {
    op = rng.pick([3, 10, 26, 27]); u = rng.bit(); size = rng.int(3); q = rng.bit();
  } while ((op === 27 && u === 1) || (size === 2 && q === 0));
  setV(c, rn, edgeVec(rng, size));
  c.insns.push((0x0E300800 | (q << 30) | (u << 29) | (size << 22) | (op << 12) | (rn << 5) | rd) >>> 0);
};

// ---- Copy (DUP, INS, SMOV, UMOV), scalar DUP, modified immediate
export const genCopy: Gen = (rng, c) => {
  const rd = reg(rng), rn = reg(rng);
  const size = rng.int(4);
  const imm5 = ((rng.bits(4 - size) << 1) | 1) << size;
  const kind = rng.int(8);
  if (kind === 0) { // scalar DUP
    c.insns.push((0x5E000400 | (imm5 << 16) | (rn << 5) | rd) >>> 0);
    return;
  }
  if (kind === 1) { // INS (element)
    const imm4 = rng.bits(4 - size) << size | rng.bits(size);
    c.insns.push((0x6E000400 | (imm5 << 16) | ((imm4 & 15) << 11) | (rn << 5) | rd) >>> 0);
    return;
  }
  let imm4: number, q: number;
  for (;;) {
    imm4 = rng.pick([0, 1, 3, 5, 7]); q = rng.bit();
    if ((imm4 === 0 || imm4 === 1) && size === 3 && q === 0) continue;
    if (imm4 === 3 && q === 0) continue;
    if (imm4 === 5 && (size === 3 || (size === 2 && q === 0))) continue;
    if (imm4 === 7 && (q === 1 ? size !== 3 : size === 3)) continue;
    break;
  }
  // general-register forms: rn is an X register (31 = XZR); never write SP
  c.insns.push((0x0E000400 | (q << 30) | (imm5 << 16) | (imm4 << 11) | (rn << 5) | (imm4 >= 5 ? rng.int(31) : rd)) >>> 0);
};

export const genModImm: Gen = (rng, c) => {
  const rd = reg(rng);
  let op: number, cmode: number, q: number;
  do { op = rng.bit(); cmode = rng.int(16); q = rng.bit(); } while (cmode === 15 && op === 1 && q === 0);
  const imm8 = rng.bits(8);
  c.insns.push((0x0F000400 | (q << 30) | (op << 29) | ((imm8 >> 5) << 16) | (cmode << 12) | ((imm8 & 31) << 5) | rd) >>> 0);
};

// ---- Permute, EXT, TBL/TBX
export const genPermute: Gen = (rng, c) => {
  const rd = reg(rng), rn = reg(rng), rm = reg(rng);
  const q = rng.bit();
  switch (rng.int(3)) {
    case 0: {
      let size: number;
      do { size = rng.int(4); } while (size === 3 && q === 0);
      const op = rng.pick([1, 2, 3, 5, 6, 7]);
      c.insns.push((0x0E000800 | (q << 30) | (size << 22) | (rm << 16) | (op << 12) | (rn << 5) | rd) >>> 0);
      return;
    }
    case 1: {
      const imm4 = q ? rng.int(16) : rng.int(8);
      c.insns.push((0x2E000000 | (q << 30) | (rm << 16) | (imm4 << 11) | (rn << 5) | rd) >>> 0);
      return;
    }
    default: {
      const len = rng.int(4), op = rng.bit();
      // indices: mostly in range of the table, some just past it, some random
      c.v[rm] = vecOf(rng, 0, (r) => BigInt(r.int(3) === 0 ? r.int(256) : r.int(16 * (len + 1) + 8)));
      c.insns.push((0x0E000000 | (q << 30) | (rm << 16) | (len << 13) | (op << 12) | (rn << 5) | rd) >>> 0);
    }
  }
};

// ---- Shift by immediate (vector and scalar), integer opcodes
export const genShiftImm: Gen = (rng, c) => {
  const scalar = rng.int(4) === 0;
  let op: number, u: number, sz: number, q: number;
  for (;;) {
    op = rng.pick([0, 2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 19, 20]); u = rng.bit(); sz = rng.int(4); q = rng.bit();
    const narrow = op >= 16 && op <= 20;
    if ((op === 8 || op === 12) && u === 0) continue;
    if (scalar) {
      if (op <= 10 && sz !== 3) continue;
      if ((op === 16 || op === 17) && u === 0) continue;
      if (op === 20) continue;
      if (narrow && sz === 3) continue;
      break;
    }
    if (narrow && sz === 3) continue;
    if (!narrow && sz === 3 && q === 0) continue;
    break;
  }
  const esize = 8 << sz;
  const immhb = esize + rng.int(esize); // immh:immb with the top set bit at esize
  const rd = reg(rng), rn = reg(rng);
  const narrow = op >= 16 && op <= 19;
  setV(c, rn, edgeVec(rng, narrow ? sz + 1 : sz));
  if (rng.bit()) setV(c, rd, edgeVec(rng, op === 20 ? sz + 1 : sz));
  maybeQC(rng, c);
  const base = scalar ? 0x5F000400 : 0x0F000400 | (q << 30);
  c.insns.push((base | (u << 29) | (immhb << 16) | (op << 11) | (rn << 5) | rd) >>> 0);
};

// ---- Structure loads and stores (multiple, single lane, replicate)
export const genLdStSimd: Gen = (rng, c, i) => {
  const rn = rng.int(31); // never SP
  const rt = reg(rng);
  const q = rng.bit(), l = rng.bit();
  const postKind = rng.int(3); // 0 none, 1 immediate, 2 register
  let rm = 0;
  if (postKind === 1) rm = 31;
  if (postKind === 2) {
    do { rm = rng.int(31); } while (rm === rn);
    c.x[rm] = BigInt.asUintN(64, BigInt(rng.int(129) - 64));
  }
  c.x[rn] = scratchAddr(i) + BigInt(rng.int(SCRATCH - 64));
  const post = postKind === 0 ? 0 : 1;
  if (rng.int(2) === 0) { // multiple structures
    let opcode: number, size: number;
    do { opcode = rng.pick([0, 2, 4, 6, 7, 8, 10]); size = rng.int(4); } while (size === 3 && q === 0 && [0, 4, 8].includes(opcode));
    c.insns.push((0x0C000000 | (q << 30) | (post << 23) | (l << 22) | (rm << 16) | (opcode << 12) | (size << 10) | (rn << 5) | rt) >>> 0);
    return;
  }
  // single structure: opcode<2:1> = scale (3: replicate), opcode<0>:R = selem - 1
  const r = rng.bit();
  const opc0 = rng.bit();
  let scale: number, s: number, size: number;
  for (;;) {
    scale = rng.int(4); s = rng.bit(); size = rng.int(4);
    if (scale === 3) { if (l === 1 && s === 0) break; continue; }
    if (scale === 1 && (size & 1)) continue;
    if (scale === 2 && ((size & 2) || (size === 1 && s === 1))) continue;
    break;
  }
  const opcode = (scale << 1) | opc0;
  c.insns.push((0x0D000000 | (q << 30) | (post << 23) | (l << 22) | (r << 21) | (rm << 16) | (opcode << 13) | (s << 12) | (size << 10) | (rn << 5) | rt) >>> 0);
};

// ---- Crypto: AES, SHA1, SHA256, 64-bit PMULL
export const genCrypto: Gen = (rng, c) => {
  const rd = reg(rng), rn = reg(rng), rm = reg(rng);
  switch (rng.int(4)) {
    case 0: // AESE, AESD, AESMC, AESIMC
      c.insns.push((0x4E284800 | (rng.pick([4, 5, 6, 7]) << 12) | (rn << 5) | rd) >>> 0);
      return;
    case 1: // SHA1C/P/M/SU0, SHA256H/H2/SU1
      c.insns.push((0x5E000000 | (rm << 16) | (rng.int(7) << 12) | (rn << 5) | rd) >>> 0);
      return;
    case 2: // SHA1H, SHA1SU1, SHA256SU0
      c.insns.push((0x5E280800 | (rng.int(3) << 12) | (rn << 5) | rd) >>> 0);
      return;
    default: // PMULL/PMULL2 .1Q
      c.insns.push((0x0EE0E000 | (rng.bit() << 30) | (rm << 16) | (rn << 5) | rd) >>> 0);
  }
};
