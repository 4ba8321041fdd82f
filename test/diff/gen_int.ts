// Random instruction generators for the integer classes. Each returns the
// instruction words of one case and sets up registers so that every memory
// access stays inside the case's scratch area. Generators never write SP
// (the harness keeps the out-state address there) and avoid encodings the
// architecture leaves CONSTRAINED UNPREDICTABLE.

import { Rng } from "./rng.js";
import { DiffCase, SCRATCH, scratchAddr } from "./harness.js";

export type Gen = (rng: Rng, c: DiffCase, index: number) => void;

const r30 = (rng: Rng): number => rng.int(31); // x0..x30
const rz = (rng: Rng): number => rng.int(32); // 31 = XZR

export function baseCase(rng: Rng): DiffCase {
  const x: bigint[] = [];
  for (let i = 0; i < 31; i++) x.push(rng.value64());
  const v: [bigint, bigint][] = [];
  for (let i = 0; i < 32; i++) v.push([rng.next64(), rng.next64()]);
  const scratch = new Uint8Array(SCRATCH);
  for (let i = 0; i < SCRATCH; i++) scratch[i] = rng.int(256);
  return { insns: [], x, nzcv: rng.int(16), fpcr: 0, fpsr: 0, v, scratch };
}

// TS port of DecodeBitMasks' validity rule for logical immediates
export function validLogicalImm(n: number, immr: number, imms: number, is64: boolean): boolean {
  if (!is64 && n) return false;
  const combined = (n << 6) | (~imms & 0x3F);
  if (combined === 0) return false;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return false;
  const levels = (1 << len) - 1;
  if ((imms & levels) === levels) return false;
  void immr;
  return true;
}

// ---- Data processing (immediate)
export const genDpImm: Gen = (rng, c) => {
  const sf = rng.bit();
  const rd = r30(rng), rn = r30(rng);
  switch (rng.int(6)) {
    case 0: { // ADR/ADRP
      const op = rng.bit();
      const imm = rng.bits(21);
      c.insns.push((op << 31) | ((imm & 3) << 29) | (0x10 << 24) | ((imm >> 2) << 5) | rd);
      break;
    }
    case 1: { // ADD/SUB imm (Rn may be SP; Rd is never SP: use ADDS/SUBS or rd != 31)
      const op = rng.bit(), s = rng.bit(), sh = rng.bit();
      const rnSp = rng.int(8) === 0 ? 31 : rn;
      c.insns.push((sf << 31) | (op << 30) | (s << 29) | (0x22 << 23) | (sh << 22) | (rng.bits(12) << 10) | (rnSp << 5) | (s ? rz(rng) : rd));
      break;
    }
    case 2: { // logical imm
      let n: number, immr: number, imms: number;
      do { n = sf ? rng.bit() : 0; immr = rng.bits(6); imms = rng.bits(6); } while (!validLogicalImm(n, immr, imms, sf === 1) || (!sf && immr > 31));
      const opc = rng.int(4);
      c.insns.push((sf << 31) | (opc << 29) | (0x24 << 23) | (n << 22) | (immr << 16) | (imms << 10) | (rn << 5) | (opc === 3 ? rz(rng) : rd));
      break;
    }
    case 3: { // move wide
      const opc = rng.pick([0, 2, 3]);
      const hw = sf ? rng.int(4) : rng.int(2);
      c.insns.push((sf << 31) | (opc << 29) | (0x25 << 23) | (hw << 21) | (rng.bits(16) << 5) | rd);
      break;
    }
    case 4: { // bitfield
      const opc = rng.int(3);
      const immr = sf ? rng.bits(6) : rng.bits(5), imms = sf ? rng.bits(6) : rng.bits(5);
      c.insns.push((sf << 31) | (opc << 29) | (0x26 << 23) | (sf << 22) | (immr << 16) | (imms << 10) | (rz(rng) << 5) | rd);
      break;
    }
    default: { // EXTR
      const imms = sf ? rng.bits(6) : rng.bits(5);
      c.insns.push((sf << 31) | (0x27 << 23) | (sf << 22) | (rz(rng) << 16) | (imms << 10) | (rz(rng) << 5) | rd);
    }
  }
};

// ---- Data processing (register)
export const genDpReg: Gen = (rng, c) => {
  const sf = rng.bit();
  const rd = r30(rng), rn = rz(rng), rm = rz(rng);
  switch (rng.int(10)) {
    case 0: { // logical shifted
      const imm6 = sf ? rng.bits(6) : rng.bits(5);
      c.insns.push((sf << 31) | (rng.int(4) << 29) | (0x0A << 24) | (rng.int(4) << 22) | (rng.bit() << 21) | (rm << 16) | (imm6 << 10) | (rn << 5) | rd);
      break;
    }
    case 1: { // add/sub shifted
      const imm6 = sf ? rng.bits(6) : rng.bits(5);
      c.insns.push((sf << 31) | (rng.bit() << 30) | (rng.bit() << 29) | (0x0B << 24) | (rng.int(3) << 22) | (rm << 16) | (imm6 << 10) | (rn << 5) | rd);
      break;
    }
    case 2: { // add/sub extended (Rn may be SP, Rd never SP)
      const s = rng.bit();
      const rnSp = rng.int(6) === 0 ? 31 : r30(rng);
      c.insns.push((sf << 31) | (rng.bit() << 30) | (s << 29) | (0x0B << 24) | (1 << 21) | (rm << 16) | (rng.int(8) << 13) | (rng.int(5) << 10) | (rnSp << 5) | (s ? rz(rng) : rd));
      break;
    }
    case 3: // ADC/SBC(S)
      c.insns.push((sf << 31) | (rng.bit() << 30) | (rng.bit() << 29) | (0xD0 << 21) | (rm << 16) | (rn << 5) | rd);
      break;
    case 4: { // CCMN/CCMP register or immediate
      const imm = rng.bit();
      c.insns.push((sf << 31) | (rng.bit() << 30) | (1 << 29) | (0xD2 << 21) | ((imm ? rng.bits(5) : rm) << 16) | (rng.int(16) << 12) | (imm << 11) | (rn << 5) | rng.int(16));
      break;
    }
    case 5: // CSEL/CSINC/CSINV/CSNEG
      c.insns.push((sf << 31) | (rng.bit() << 30) | (0xD4 << 21) | (rm << 16) | (rng.int(16) << 12) | (rng.int(2) << 10) | (rn << 5) | rd);
      break;
    case 6: { // 1-source
      const op = sf ? rng.int(6) : rng.pick([0, 1, 2, 4, 5]);
      c.insns.push((sf << 31) | (1 << 30) | (0xD6 << 21) | (op << 10) | (rn << 5) | rd);
      break;
    }
    case 7: { // 2-source
      let op = rng.pick([2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23]);
      if (op >= 16) op = (op & ~3) | (sf ? 3 : rng.int(3));
      c.insns.push((sf << 31) | (0xD6 << 21) | (rm << 16) | (op << 10) | (rn << 5) | rd);
      break;
    }
    default: { // 3-source
      const kinds = sf ? [0, 1, 2, 3, 4, 10, 11, 12] : [0, 1];
      const k = rng.pick(kinds);
      c.insns.push((sf << 31) | (0x1B << 24) | ((k >> 1) << 21) | (rm << 16) | ((k & 1) << 15) | (rz(rng) << 10) | (rn << 5) | rd);
    }
  }
};

// ---- Loads and stores (general-purpose and SIMD&FP registers)
// Returns the (size log2, opc) of a valid single-register access.
function pickSizeOpc(rng: Rng, v: number, allowPrfm: boolean): [number, number] {
  if (v) {
    const q = rng.int(5) === 0;
    return q ? [0, 2 + rng.bit()] : [rng.int(4), rng.bit()];
  }
  for (;;) {
    const size = rng.int(4), opc = rng.int(4);
    if (size === 3 && opc === 3) continue;
    if (size === 2 && opc === 3) continue;
    if (size === 3 && opc === 2 && !allowPrfm) continue;
    return [size, opc];
  }
}

function distinctReg(rng: Rng, not: number[]): number {
  for (;;) { const r = r30(rng); if (!not.includes(r)) return r; }
}

export const genLdSt: Gen = (rng, c, i) => {
  const scratch = scratchAddr(i);
  const v = rng.int(3) === 0 ? 1 : 0;
  const rt = v ? rng.int(32) : rz(rng);
  const rn = distinctReg(rng, [rt]);
  const form = rng.int(7);
  if (form === 0) { // unsigned offset
    const [size, opc] = pickSizeOpc(rng, v, true);
    const scale = v && opc >= 2 ? 4 : size;
    const imm = rng.int(Math.floor((SCRATCH - 96) / (1 << scale)));
    c.x[rn] = scratch + BigInt(rng.int(64));
    c.insns.push((size << 30) | (0x39 << 24) | (v << 26) | (opc << 22) | (imm << 10) | (rn << 5) | rt);
    return;
  }
  if (form <= 3) { // unscaled, post-index, pre-index, unprivileged
    const op4 = [0, 1, 3, 2][form - 1 + rng.int(2) * (form === 1 ? 3 : 0)] ?? 0;
    const [size, opc] = pickSizeOpc(rng, v, op4 === 0);
    if (v && op4 === 2) { c.insns.push(0xD503201F); return; } // no SIMD LDTR: use a NOP
    const imm9 = rng.int(497) - 256; // [-256, 240]
    c.x[rn] = scratch + 256n;
    if (!v && op4 !== 0 && op4 !== 2 && rt === rn) return;
    c.insns.push((size << 30) | (0x38 << 24) | (v << 26) | (opc << 22) | ((imm9 & 0x1FF) << 12) | (op4 << 10) | (rn << 5) | rt);
    return;
  }
  if (form === 4) { // register offset
    const [size, opc] = pickSizeOpc(rng, v, true);
    const scale = v && opc >= 2 ? 4 : size;
    const rm = distinctReg(rng, [rt, rn]);
    const option = rng.pick([2, 3, 6, 7]);
    const s = rng.bit();
    const span = Math.floor(200 / (s ? (1 << scale) : 1));
    let idx = rng.int(2 * span + 1) - span;
    if (option === 2 && idx < 0) idx = -idx;
    const idx64 = BigInt.asUintN(64, BigInt(idx));
    c.x[rm] = option === 2 || option === 6 ? (rng.next64() & 0xFFFFFFFF00000000n) | (idx64 & 0xFFFFFFFFn) : idx64;
    c.x[rn] = scratch + 256n;
    c.insns.push((size << 30) | (0x38 << 24) | (v << 26) | (opc << 22) | (1 << 21) | (rm << 16) | (option << 13) | (s << 12) | (2 << 10) | (rn << 5) | rt);
    return;
  }
  if (form === 5) { // pair
    const idx = rng.int(4); // 0 no-allocate, 1 post, 2 offset, 3 pre
    const l = rng.bit();
    let opc: number;
    if (v) opc = rng.int(3);
    else opc = l && idx !== 0 && rng.int(3) === 0 ? 1 : rng.pick([0, 2]);
    const scale = v ? 2 + opc : (opc === 2 ? 3 : 2);
    const rt2 = v ? rng.int(32) : distinctReg(rng, [rn]);
    if (l && rt2 === rt) return;
    if (!v && (idx === 1 || idx === 3) && (rt === rn || rt2 === rn)) return;
    const imm7 = rng.int(Math.floor(224 / (1 << scale)) * 2 + 1) - Math.floor(224 / (1 << scale));
    c.x[rn] = scratch + 256n;
    c.insns.push((opc << 30) | (0x28 << 24) | (v << 26) | (idx << 23) | (l << 22) | ((imm7 & 0x7F) << 15) | (rt2 << 10) | (rn << 5) | rt);
    return;
  }
  // literal: loads from the program text around the instruction
  const opc = v ? rng.int(3) : rng.int(4);
  const imm19 = rng.int(33) - 16;
  c.insns.push((opc << 30) | (0x18 << 24) | (v << 26) | ((imm19 & 0x7FFFF) << 5) | rt);
};

// ---- Exclusives and acquire/release
export const genExcl: Gen = (rng, c, i) => {
  const scratch = scratchAddr(i);
  const size = rng.int(4);
  const pair = size >= 2 && rng.int(3) === 0;
  const bytes = (1 << size) * (pair ? 2 : 1);
  const rn = r30(rng);
  c.x[rn] = scratch + BigInt(bytes * rng.int(Math.floor(256 / bytes)));
  const rt = distinctReg(rng, [rn]);
  const rt2 = distinctReg(rng, [rn, rt]);
  const rs = distinctReg(rng, [rn, rt, rt2]);
  const kind = rng.int(5);
  if (kind === 4) { // LDAR / STLR
    const l = rng.bit();
    c.insns.push((size << 30) | (0x08 << 24) | (1 << 23) | (l << 22) | (0x1F << 16) | (1 << 15) | (0x1F << 10) | (rn << 5) | rt);
    return;
  }
  const o1 = pair ? 1 : 0;
  const acq = rng.bit(), rel = rng.bit();
  const ld = (size << 30) | (0x08 << 24) | (1 << 22) | (o1 << 21) | (0x1F << 16) | (acq << 15) | ((pair ? rt2 : 0x1F) << 10) | (rn << 5) | rt;
  const rsv = distinctReg(rng, [rn, rs]);
  const rsv2 = pair ? distinctReg(rng, [rn, rs]) : 0x1F;
  const st = (size << 30) | (0x08 << 24) | (o1 << 21) | (rs << 16) | (rel << 15) | (rsv2 << 10) | (rn << 5) | rsv;
  if (kind === 0) c.insns.push(ld, st); // succeeds
  else if (kind === 1) c.insns.push(st); // no monitor: fails, no store
  else if (kind === 2) c.insns.push(ld, 0xD503305F, st); // CLREX in between: fails
  else c.insns.push(ld, st, st); // second store fails
};

// ---- Branches: each skips (or not) a marker instruction
export const genBranch: Gen = (rng, c) => {
  const marker = 0xD2800000 | (rng.bits(16) << 5) | r30(rng); // movz xN, #imm
  const rt = rz(rng);
  switch (rng.int(6)) {
    case 0: c.insns.push(0x54000040 | rng.int(16), marker); break; // B.cond .+8
    case 1: c.insns.push((rng.bit() << 31) | (0x1A << 25) | (rng.bit() << 24) | (2 << 5) | rt, marker); break; // CBZ/CBNZ
    case 2: { // TBZ/TBNZ
      const b = rng.int(64);
      c.insns.push(((b >> 5) << 31) | (0x1B << 25) | (rng.bit() << 24) | ((b & 31) << 19) | (2 << 5) | rt, marker);
      break;
    }
    case 3: c.insns.push(0x14000002, marker); break; // B .+8
    case 4: c.insns.push(0x94000002, marker); break; // BL .+8
    default: { // ADR xN, .+12 ; BR/BLR xN ; marker
      const rn = r30(rng);
      const op = rng.int(3); // BR, BLR, RET
      c.insns.push(0x10000000 | (3 << 5) | rn, 0xD61F0000 | (op << 21) | (rn << 5), marker);
    }
  }
};

declare module "./rng.js" {
  interface Rng { bit(): number; }
}
Rng.prototype.bit = function (this: Rng): number { return this.int(2); };

// ---- A flag-setting ADDS, SUBS (CMN, CMP) or ANDS (TST) followed at once by
// B.cond: translated code tests the operands there rather than the packed
// flags, so the operands are often equal, adjacent, or at the sign and
// width boundaries, and every condition is tried.
const EDGES = [0n, 1n, 0x7FFFFFFFn, 0x80000000n, 0xFFFFFFFFn, 0x100000000n, 0x7FFFFFFFFFFFFFFFn, 0x8000000000000000n, 0xFFFFFFFFFFFFFFFFn];
export const genCompareBranch: Gen = (rng, c) => {
  const sf = rng.bit(), op = rng.bit();
  const rn = r30(rng), rm = rng.int(6) === 0 ? rn : r30(rng);
  const rd = rng.bit() ? 31 : r30(rng); // CMP/CMN/TST, or a result that may overwrite an operand
  const near = (v: bigint): bigint => BigInt.asUintN(64, v + BigInt(rng.int(3) - 1));
  if (rng.bit()) c.x[rn] = EDGES[rng.int(EDGES.length)];
  if (rm !== rn && rng.bit()) c.x[rm] = near(c.x[rn]);
  let setter: number;
  switch (rng.int(5)) {
    case 0: { // ADDS/SUBS (immediate)
      const sh = rng.bit(), imm = rng.bits(12);
      if (rng.bit()) c.x[rn] = near(BigInt(imm) << BigInt(sh * 12));
      setter = (sf << 31) | (op << 30) | (1 << 29) | (0x22 << 23) | (sh << 22) | (imm << 10) | (rn << 5) | rd;
      break;
    }
    case 1: { // ADDS/SUBS (shifted register)
      const shift = rng.int(3), amount = rng.int(4) === 0 ? rng.int(sf ? 64 : 32) : 0;
      setter = (sf << 31) | (op << 30) | (1 << 29) | (0x0B << 24) | (shift << 22) | (rm << 16) | (amount << 10) | (rn << 5) | rd;
      break;
    }
    case 2: { // ADDS/SUBS (extended register)
      const option = rng.int(8), amount = rng.int(5);
      setter = (sf << 31) | (op << 30) | (1 << 29) | (0x0B << 24) | (1 << 21) | (rm << 16) | (option << 13) | (amount << 10) | (rn << 5) | rd;
      break;
    }
    case 3: { // ANDS (immediate)
      let n: number, immr: number, imms: number;
      do { n = sf ? rng.bit() : 0; immr = rng.bits(6); imms = rng.bits(6); } while (!validLogicalImm(n, immr, imms, sf === 1) || (!sf && immr > 31));
      setter = (sf << 31) | (3 << 29) | (0x24 << 23) | (n << 22) | (immr << 16) | (imms << 10) | (rn << 5) | rd;
      break;
    }
    default: { // ANDS, BICS (shifted register)
      const shift = rng.int(4), amount = rng.int(4) === 0 ? rng.int(sf ? 64 : 32) : 0;
      setter = (sf << 31) | (3 << 29) | (0x0A << 24) | (shift << 22) | (rng.bit() << 21) | (rm << 16) | (amount << 10) | (rn << 5) | rd;
    }
  }
  const marker = 0xD2800000 | (rng.bits(16) << 5) | r30(rng); // movz xN, #imm
  c.insns.push(setter >>> 0, 0x54000040 | rng.int(16), marker); // B.cond .+8
};
