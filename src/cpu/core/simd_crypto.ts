// The ARMv8.0 cryptographic extension: AESE, AESD, AESMC, AESIMC,
// SHA1C/P/M/H/SU0/SU1 and SHA256H/H2/SU0/SU1. (64-bit PMULL lives with the
// other three-different ops.) The AES S-boxes are computed at module init
// from the field inverse and the affine map, as FIPS-197 defines them.

import { vaddr } from "./state";
import { undefinedInstruction, CLS_CRYPTO } from "./exceptions";
import { T } from "./simd_util";

const SBOX = new StaticArray<u8>(256);
const INV_SBOX = new StaticArray<u8>(256);
// Products by the InvMixColumns coefficients 9, 11, 13, 14.
const MUL9 = new StaticArray<u8>(256);
const MUL11 = new StaticArray<u8>(256);
const MUL13 = new StaticArray<u8>(256);
const MUL14 = new StaticArray<u8>(256);

@inline function xtime(b: u32): u32 { return ((b << 1) ^ ((b & 0x80) != 0 ? 0x1B : 0)) & 0xFF; }

// GF(2^8) product (for the inverse mix columns coefficients).
function gmul(a: u32, b: u32): u32 {
  let r: u32 = 0;
  while (b != 0) {
    if ((b & 1) != 0) r ^= a;
    a = xtime(a);
    b >>= 1;
  }
  return r;
}

function initSbox(): void {
  // the field inverse from log/antilog tables of the generator 3
  const exp = new StaticArray<u8>(256), log = new StaticArray<u8>(256);
  let g: u32 = 1;
  for (let i = 0; i < 255; i++) {
    unchecked(exp[i] = <u8>g);
    unchecked(log[g] = <u8>i);
    g ^= xtime(g); // g *= 3
  }
  for (let x = 0; x < 256; x++) {
    const inv: u8 = x == 0 ? 0 : unchecked(exp[(255 - <i32>unchecked(log[x])) % 255]);
    // affine map: b ^ rotl(b,1) ^ rotl(b,2) ^ rotl(b,3) ^ rotl(b,4) ^ 0x63
    const b = <u8>(inv ^ rotl<u8>(inv, 1) ^ rotl<u8>(inv, 2) ^ rotl<u8>(inv, 3) ^ rotl<u8>(inv, 4) ^ 0x63);
    unchecked(SBOX[x] = b);
    unchecked(INV_SBOX[b] = <u8>x);
  }
}
initSbox();

function initMulTables(): void {
  for (let i: u32 = 0; i < 256; i++) {
    unchecked(MUL9[i] = <u8>gmul(i, 9));
    unchecked(MUL11[i] = <u8>gmul(i, 11));
    unchecked(MUL13[i] = <u8>gmul(i, 13));
    unchecked(MUL14[i] = <u8>gmul(i, 14));
  }
}
initMulTables();

// ShiftRows / InvShiftRows as byte shuffles of the column-major state.
@inline function shiftRows(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
}
@inline function invShiftRows(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3);
}

function mixColumns(src: usize, dst: usize, inverse: bool): void {
  for (let c: u32 = 0; c < 16; c += 4) {
    const a0: u32 = load<u8>(src + c), a1: u32 = load<u8>(src + c + 1);
    const a2: u32 = load<u8>(src + c + 2), a3: u32 = load<u8>(src + c + 3);
    if (!inverse) {
      const t = a0 ^ a1 ^ a2 ^ a3;
      store<u8>(dst + c, <u8>(a0 ^ t ^ xtime(a0 ^ a1)));
      store<u8>(dst + c + 1, <u8>(a1 ^ t ^ xtime(a1 ^ a2)));
      store<u8>(dst + c + 2, <u8>(a2 ^ t ^ xtime(a2 ^ a3)));
      store<u8>(dst + c + 3, <u8>(a3 ^ t ^ xtime(a3 ^ a0)));
    } else {
      store<u8>(dst + c, unchecked(MUL14[a0]) ^ unchecked(MUL11[a1]) ^ unchecked(MUL13[a2]) ^ unchecked(MUL9[a3]));
      store<u8>(dst + c + 1, unchecked(MUL9[a0]) ^ unchecked(MUL14[a1]) ^ unchecked(MUL11[a2]) ^ unchecked(MUL13[a3]));
      store<u8>(dst + c + 2, unchecked(MUL13[a0]) ^ unchecked(MUL9[a1]) ^ unchecked(MUL14[a2]) ^ unchecked(MUL11[a3]));
      store<u8>(dst + c + 3, unchecked(MUL11[a0]) ^ unchecked(MUL13[a1]) ^ unchecked(MUL9[a2]) ^ unchecked(MUL14[a3]));
    }
  }
}

export function cryptoAes(insn: u32): void {
  const op = (insn >> 12) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const pd = vaddr(rd), pn = vaddr(rn);
  switch (op) {
    case 4: case 5: { // AESE, AESD: AddRoundKey, (Inv)ShiftRows, (Inv)SubBytes
      const s = v128.xor(v128.load(pd), v128.load(pn));
      if (op == 4) {
        v128.store(T, shiftRows(s));
        for (let i = 0; i < 16; i++) store<u8>(pd + i, unchecked(SBOX[load<u8>(T + i)]));
      } else {
        v128.store(T, invShiftRows(s));
        for (let i = 0; i < 16; i++) store<u8>(pd + i, unchecked(INV_SBOX[load<u8>(T + i)]));
      }
      return;
    }
    case 6: case 7: // AESMC, AESIMC
      mixColumns(pn, T, op == 7);
      v128.store(pd, v128.load(T));
      return;
  }
  undefinedInstruction(CLS_CRYPTO);
}

@inline function w(p: usize, i: u32): u32 { return load<u32>(p + (<usize>i << 2)); }
@inline function choose(x: u32, y: u32, z: u32): u32 { return ((y ^ z) & x) ^ z; }
@inline function majority(x: u32, y: u32, z: u32): u32 { return (x & y) | ((x | y) & z); }

// SHA1C/P/M: four rounds on the state X (Qd) and E (Sn) with the words in Vm.
function sha1Rounds(op: u32, pd: usize, pn: usize, pm: usize): void {
  let x0 = w(pd, 0), x1 = w(pd, 1), x2 = w(pd, 2), x3 = w(pd, 3);
  let y = w(pn, 0);
  for (let e: u32 = 0; e < 4; e++) {
    let t: u32;
    if (op == 0) t = choose(x1, x2, x3);
    else if (op == 1) t = x1 ^ x2 ^ x3;
    else t = majority(x1, x2, x3);
    y = y + rotl<u32>(x0, 5) + t + w(pm, e);
    x1 = rotl<u32>(x1, 30);
    // rotate the 160-bit Y:X left by 32
    const top = x3;
    x3 = x2; x2 = x1; x1 = x0; x0 = y; y = top;
  }
  store<u32>(pd, x0); store<u32>(pd, x1, 4); store<u32>(pd, x2, 8); store<u32>(pd, x3, 12);
}

@inline function sigma0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
@inline function sigma1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }

// SHA256H (part1) / SHA256H2: four rounds on the split state X:Y.
function sha256Hash(px: usize, py: usize, pw: usize, part1: bool, pd: usize): void {
  let x0 = w(px, 0), x1 = w(px, 1), x2 = w(px, 2), x3 = w(px, 3);
  let y0 = w(py, 0), y1 = w(py, 1), y2 = w(py, 2), y3 = w(py, 3);
  for (let e: u32 = 0; e < 4; e++) {
    const chs = choose(y0, y1, y2);
    const maj = majority(x0, x1, x2);
    const t1 = y3 + sigma1(y0) + chs + w(pw, e);
    x3 = t1 + x3;
    y3 = t1 + sigma0(x0) + maj;
    // rotate the 256-bit Y:X left by 32
    const xt = x3, yt = y3;
    x3 = x2; x2 = x1; x1 = x0; x0 = yt;
    y3 = y2; y2 = y1; y1 = y0; y0 = xt;
  }
  if (part1) { store<u32>(pd, x0); store<u32>(pd, x1, 4); store<u32>(pd, x2, 8); store<u32>(pd, x3, 12); }
  else { store<u32>(pd, y0); store<u32>(pd, y1, 4); store<u32>(pd, y2, 8); store<u32>(pd, y3, 12); }
}

export function cryptoSha3(insn: u32): void {
  const op = (insn >> 12) & 7, rm = (insn >> 16) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const pd = vaddr(rd), pn = vaddr(rn), pm = vaddr(rm);
  switch (op) {
    case 0: case 1: case 2: sha1Rounds(op, pd, pn, pm); return;
    case 3: { // SHA1SU0: (Vn<63:0>:Vd<127:64>) ^ Vd ^ Vm
      const lo = load<u64>(pd, 8) ^ load<u64>(pd) ^ load<u64>(pm);
      const hi = load<u64>(pn) ^ load<u64>(pd, 8) ^ load<u64>(pm, 8);
      store<u64>(pd, lo); store<u64>(pd, hi, 8);
      return;
    }
    case 4: // SHA256H
      v128.store(T, v128.load(pd));
      sha256Hash(T, pn, pm, true, pd);
      return;
    case 5: // SHA256H2
      v128.store(T, v128.load(pd));
      sha256Hash(pn, T, pm, false, pd);
      return;
    case 6: { // SHA256SU1
      // T0 = Vm<31:0>:Vn<127:32>; T1 = Vm<127:64>
      const t00 = w(pn, 1), t01 = w(pn, 2), t02 = w(pn, 3), t03 = w(pm, 0);
      const d0 = w(pd, 0), d1 = w(pd, 1), d2 = w(pd, 2), d3 = w(pd, 3);
      const r0 = s1(w(pm, 2)) + d0 + t00;
      const r1 = s1(w(pm, 3)) + d1 + t01;
      const r2 = s1(r0) + d2 + t02;
      const r3 = s1(r1) + d3 + t03;
      store<u32>(pd, r0); store<u32>(pd, r1, 4); store<u32>(pd, r2, 8); store<u32>(pd, r3, 12);
      return;
    }
  }
  undefinedInstruction(CLS_CRYPTO);
}

@inline function s0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >> 3); }
@inline function s1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >> 10); }

export function cryptoSha2(insn: u32): void {
  const op = (insn >> 12) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const pd = vaddr(rd), pn = vaddr(rn);
  switch (op) {
    case 0: { // SHA1H: ROL(Sn, 30)
      const v = rotl<u32>(w(pn, 0), 30);
      store<u64>(pd, <u64>v); store<u64>(pd, 0, 8);
      return;
    }
    case 1: { // SHA1SU1
      const t0 = w(pd, 0) ^ w(pn, 1), t1 = w(pd, 1) ^ w(pn, 2), t2 = w(pd, 2) ^ w(pn, 3), t3 = w(pd, 3);
      const r0 = rotl<u32>(t0, 1);
      store<u32>(pd, r0); store<u32>(pd, rotl<u32>(t1, 1), 4); store<u32>(pd, rotl<u32>(t2, 1), 8);
      store<u32>(pd, rotl<u32>(t3, 1) ^ rotl<u32>(t0, 2), 12);
      return;
    }
    case 2: { // SHA256SU0: T = Vn<31:0>:Vd<127:32>; Vd[e] += s0(T[e])
      const t0 = w(pd, 1), t1 = w(pd, 2), t2 = w(pd, 3), t3 = w(pn, 0);
      const d0 = w(pd, 0), d1 = w(pd, 1), d2 = w(pd, 2), d3 = w(pd, 3);
      store<u32>(pd, s0(t0) + d0); store<u32>(pd, s0(t1) + d1, 4);
      store<u32>(pd, s0(t2) + d2, 8); store<u32>(pd, s0(t3) + d3, 12);
      return;
    }
  }
  undefinedInstruction(CLS_CRYPTO);
}
