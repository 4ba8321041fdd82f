// Loads and stores of general-purpose and SIMD&FP registers: literal,
// unsigned offset, unscaled, pre/post-index, unprivileged, register offset,
// pairs (incl. LDPSW and the no-allocate forms), exclusives (with the local
// monitor), load-acquire/store-release. Structure loads go to simd_ldst.ts.

import {
  cpu, el, curPC, faulted, xr, xsp, setX, setXSP, vaddr, OFF_EXCL,
} from "./state";
import { undefinedInstruction, CLS_LDST, CLS_LDST_EXCL } from "./exceptions";
import {
  readMem, writeMem, readMemUnpriv, writeMemUnpriv, read128, write128, hostAddrAligned, tlbHostAligned,
} from "./access";
import { ACC_READ, ACC_WRITE, ACC_ALIGN } from "./mmu";
import { checkFpAccess } from "./fp_access";
import { extendReg } from "./alu";
import { execSimdLdSt } from "./simd_ldst";
import { baseReg } from "./base_reg";

export function execLdSt(insn: u32): void {
  // LDR and STR of a W or X register at an unsigned offset, the commonest
  // loads and stores (~12% of what a Linux boot interprets): access() with
  // its size and direction known, one probe and one load or store on the
  // fast path.
  if ((insn & 0xBF800000) == 0xB9000000) {
    const rn = (insn >> 5) & 31, rt = insn & 31, x = (insn >> 30) & 1, load = (insn >> 22) & 1;
    const base = baseReg(rn);
    if (faulted) return;
    const addr = base + (<u64>((insn >> 10) & 0xFFF) << (2 + x));
    // (constant arguments: the compiler keeps only each one's own path)
    if (x != 0) { if (load != 0) access(0, 3, 1, rt, addr, false); else access(0, 3, 0, rt, addr, false); }
    else if (load != 0) access(0, 2, 1, rt, addr, false); else access(0, 2, 0, rt, addr, false);
    return;
  }
  // LDP and STP of X registers (every addressing form, ~8%): gprPair with
  // its scale known.
  if ((insn & 0xFC000000) == 0xA8000000) {
    gprPair(insn, 3, false, ((insn >> 22) & 1) != 0);
    return;
  }
  if ((insn & 0x3B000000) == 0x39000000) { ldstUnsignedImm(insn); return; }
  if ((insn & 0x3B000000) == 0x38000000) { ldstRegImm9OrReg(insn); return; }
  if ((insn & 0x3A000000) == 0x28000000) { ldstPair(insn); return; }
  if ((insn & 0x3B000000) == 0x18000000) { ldLiteral(insn); return; }
  if ((insn & 0x3F000000) == 0x08000000) { ldstExclusive(insn, false); return; }
  if ((insn & 0xBE000000) == 0x0C000000) { execSimdLdSt(insn); return; } // multiple and single structures
  undefinedInstruction(CLS_LDST);
}

// One register access. size: log2 bytes (4 = 128-bit Q). Returns false if the
// encoding is unallocated (nothing was done).
// opc (bits 23:22): 0 store, 1 load, 2 load signed to 64 / PRFM / Q store, 3 load signed to 32 / Q load
@inline function access(v: u32, size: u32, opc: u32, rt: u32, addr: u64, unpriv: bool): bool {
  if (v != 0) {
    let bytes: u32;
    let isLoad = (opc & 1) != 0;
    if ((opc & 2) != 0) {
      if (size != 0) return false;
      bytes = 16;
    } else bytes = 1 << size;
    if (unpriv) return false;
    if (!checkFpAccess()) return true;
    const p = vaddr(rt);
    if (bytes == 16) {
      if (isLoad) read128(addr, p); else write128(addr, p);
      return true;
    }
    if (isLoad) {
      const val = readMem(addr, bytes);
      if (faulted) return true;
      store<u64>(p, val); store<u64>(p, 0, 8);
    } else {
      writeMem(addr, bytes, load<u64>(p));
    }
    return true;
  }
  const bytes: u32 = 1 << size;
  switch (opc) {
    case 0:
      if (unpriv) writeMemUnpriv(addr, bytes, xr(rt)); else writeMem(addr, bytes, xr(rt));
      return true;
    case 1: {
      const val = unpriv ? readMemUnpriv(addr, bytes) : readMem(addr, bytes);
      if (faulted) return true;
      setX(rt, val);
      return true;
    }
    case 2: {
      if (size == 3) return !unpriv; // PRFM: no access, no fault
      const val = unpriv ? readMemUnpriv(addr, bytes) : readMem(addr, bytes);
      if (faulted) return true;
      const sh: u64 = 64 - (<u64>bytes << 3);
      setX(rt, <u64>((<i64>(val << sh)) >> sh));
      return true;
    }
    default: {
      if (size >= 2) return false;
      const val = unpriv ? readMemUnpriv(addr, bytes) : readMem(addr, bytes);
      if (faulted) return true;
      const sh: u64 = 64 - (<u64>bytes << 3);
      setX(rt, <u64>(<u32>(<i64>(val << sh) >> sh)));
      return true;
    }
  }
}

@inline function accessLog2(v: u32, size: u32, opc: u32): u32 {
  return v != 0 && (opc & 2) != 0 ? 4 : size;
}

@inline function ldstUnsignedImm(insn: u32): void {
  const size = insn >> 30, v = (insn >> 26) & 1, opc = (insn >> 22) & 3;
  const rn = (insn >> 5) & 31, rt = insn & 31;
  const scale = accessLog2(v, size, opc);
  const base = baseReg(rn);
  if (faulted) return;
  const addr = base + (<u64>((insn >> 10) & 0xFFF) << scale);
  if (!access(v, size, opc, rt, addr, false)) undefinedInstruction(CLS_LDST);
}

@inline function ldstRegImm9OrReg(insn: u32): void {
  const size = insn >> 30, v = (insn >> 26) & 1, opc = (insn >> 22) & 3;
  const rn = (insn >> 5) & 31, rt = insn & 31;
  const op4 = (insn >> 10) & 3;
  if (((insn >> 21) & 1) != 0) {
    // register offset (op4 = 10); atomics and pointer-auth forms are not implemented
    const option = (insn >> 13) & 7;
    if (op4 != 2 || (option & 2) == 0) { undefinedInstruction(CLS_LDST); return; }
    const scale = accessLog2(v, size, opc);
    const s = (insn >> 12) & 1;
    const base = baseReg(rn);
    if (faulted) return;
    const addr = base + extendReg(xr((insn >> 16) & 31), option, s != 0 ? scale : 0);
    if (!access(v, size, opc, rt, addr, false)) undefinedInstruction(CLS_LDST);
    return;
  }
  const imm = <u64>(<i64>(<i32>(insn << 11) >> 23)); // sext(imm9)
  const base = baseReg(rn);
  if (faulted) return;
  switch (op4) {
    case 0: // unscaled (LDUR/STUR/PRFUM)
      if (!access(v, size, opc, rt, base + imm, false)) undefinedInstruction(CLS_LDST);
      return;
    case 2: // unprivileged (LDTR/STTR)
      if (!access(v, size, opc, rt, base + imm, el != 0)) undefinedInstruction(CLS_LDST);
      return;
    default: { // 1: post-index, 3: pre-index
      if (v == 0 && size == 3 && opc == 2) { undefinedInstruction(CLS_LDST); return; } // no PRFM writeback form
      const addr = op4 == 3 ? base + imm : base;
      if (!access(v, size, opc, rt, addr, false)) { undefinedInstruction(CLS_LDST); return; }
      if (!faulted) setXSP(rn, base + imm);
    }
  }
}

@inline function ldstPair(insn: u32): void {
  const opc = insn >> 30, v = (insn >> 26) & 1, idx = (insn >> 23) & 3, l = (insn >> 22) & 1;
  if (v == 0) {
    if (opc == 3 || (opc == 1 && (l == 0 || idx == 0))) { undefinedInstruction(CLS_LDST); return; }
    gprPair(insn, opc == 2 ? 3 : 2, opc == 1, l != 0);
    return;
  }
  // SIMD&FP registers: S, D or Q
  if (opc == 3) { undefinedInstruction(CLS_LDST); return; }
  if (!checkFpAccess()) return;
  const rt2 = (insn >> 10) & 31, rn = (insn >> 5) & 31, rt = insn & 31;
  const scale: u32 = 2 + opc;
  const off = <u64>(<i64>(<i32>(insn << 10) >> 25)) << scale; // sext(imm7) << scale
  const base = baseReg(rn);
  if (faulted) return;
  const addr = idx == 1 ? base : base + off;
  const bytes: u32 = 1 << scale;
  const p1 = vaddr(rt), p2 = vaddr(rt2);
  if (bytes == 16) {
    if (l != 0) {
      // read both into scratch first so a fault on the second leaves Vt intact
      read128(addr, scratch);
      if (faulted) return;
      read128(addr + 16, scratch + 16);
      if (faulted) return;
      store<u64>(p1, load<u64>(scratch)); store<u64>(p1, load<u64>(scratch, 8), 8);
      store<u64>(p2, load<u64>(scratch, 16)); store<u64>(p2, load<u64>(scratch, 24), 8);
    } else {
      write128(addr, p1);
      if (faulted) return;
      write128(addr + 16, p2);
    }
  } else if (l != 0) {
    const a = readMem(addr, bytes);
    if (faulted) return;
    const b = readMem(addr + bytes, bytes);
    if (faulted) return;
    store<u64>(p1, a); store<u64>(p1, 0, 8);
    store<u64>(p2, b); store<u64>(p2, 0, 8);
  } else {
    const a = load<u64>(p1), b = load<u64>(p2);
    writeMem(addr, bytes, a);
    if (faulted) return;
    writeMem(addr + bytes, bytes, b);
  }
  if (faulted) return;
  if (idx == 1 || idx == 3) setXSP(rn, base + off);
}

// A pair of general-purpose registers: both halves are read before either
// register is written (a fault on the second leaves both as they were), and
// the base is written back last. signed: LDPSW.
@inline function gprPair(insn: u32, scale: u32, signed: bool, isLoad: bool): void {
  const idx = (insn >> 23) & 3, rt2 = (insn >> 10) & 31, rn = (insn >> 5) & 31, rt = insn & 31;
  const off = <u64>(<i64>(<i32>(insn << 10) >> 25)) << scale; // sext(imm7) << scale
  const base = baseReg(rn);
  if (faulted) return;
  const addr = idx == 1 ? base : base + off;
  const bytes: u32 = 1 << scale;
  if (isLoad) {
    let a = readMem(addr, bytes);
    if (faulted) return;
    let b = readMem(addr + bytes, bytes);
    if (faulted) return;
    if (signed) { a = <u64><i64><i32>a; b = <u64><i64><i32>b; }
    setX(rt, a);
    setX(rt2, b);
  } else {
    const a = xr(rt), b = xr(rt2);
    writeMem(addr, bytes, a);
    if (faulted) return;
    writeMem(addr + bytes, bytes, b);
    if (faulted) return;
  }
  if (idx == 1 || idx == 3) setXSP(rn, base + off);
}
const scratch: usize = memory.data(32, 16);

function ldLiteral(insn: u32): void {
  const opc = insn >> 30, v = (insn >> 26) & 1, rt = insn & 31;
  const addr = curPC + <u64>(<i64>(<i32>(insn << 8) >> 11) & ~<i64>3);
  if (v != 0) {
    if (opc == 3) { undefinedInstruction(CLS_LDST); return; }
    if (!checkFpAccess()) return;
    const p = vaddr(rt);
    if (opc == 2) { read128(addr, p); return; }
    const val = readMem(addr, opc == 0 ? 4 : 8);
    if (faulted) return;
    store<u64>(p, val); store<u64>(p, 0, 8);
    return;
  }
  switch (opc) {
    case 0: { const val = readMem(addr, 4); if (!faulted) setX(rt, val); return; }
    case 1: { const val = readMem(addr, 8); if (!faulted) setX(rt, val); return; }
    case 2: { const val = readMem(addr, 4); if (!faulted) setX(rt, <u64><i64><i32>val); return; }
    default: return; // PRFM (literal)
  }
}

// Local exclusive monitor in the vCPU block: the VA and the value LDXR saw.
// STXR succeeds when the VA matches and memory still holds that value; this
// also catches stores by other vCPUs to the monitored location.
const EX_VA: u32 = OFF_EXCL + 0;
const EX_LO: u32 = OFF_EXCL + 8;
const EX_HI: u32 = OFF_EXCL + 16;
const EX_SIZE: u32 = OFF_EXCL + 24;
const EX_VALID: u32 = OFF_EXCL + 28;

// For translated code: an exclusive or acquire/release access as the
// interpreter does it, where the data TLB holds the address with the access
// it needs (~1.1 M a boot: every spinlock and atomic is LL/SC); false with
// nothing done otherwise (a TLB miss, a misaligned address or SP, an
// unallocated form), and translated code runs the instruction through
// jitStep, which walks, faults or raises UNDEFINED.
export function jitExclusive(insn: u32): bool { return ldstExclusive(insn, true); }

// The host address of an exclusive's access: through the TLB alone
// (translated code's helper), or walking on a miss (hostAddrAligned).
@inline function exclusiveHost(addr: u64, bytes: u32, acc: u32, tlbOnly: bool): usize {
  return tlbOnly ? tlbHostAligned(addr, bytes, acc) : hostAddrAligned(addr, bytes, acc);
}

// tlbOnly: see jitExclusive; false only when it declines.
@inline function ldstExclusive(insn: u32, tlbOnly: bool): bool {
  const size = insn >> 30, o2 = (insn >> 23) & 1, l = (insn >> 22) & 1, o1 = (insn >> 21) & 1;
  const rs = (insn >> 16) & 31, o0 = (insn >> 15) & 1, rt2 = (insn >> 10) & 31, rn = (insn >> 5) & 31, rt = insn & 31;
  const pair = o1 != 0;
  // CAS, LDLAR/STLLR, CASP
  if ((o2 != 0 && (o1 != 0 || o0 == 0)) || (o2 == 0 && pair && size < 2)) {
    if (tlbOnly) return false;
    undefinedInstruction(CLS_LDST_EXCL);
    return true;
  }
  if (tlbOnly && rn == 31 && (xsp(31) & 15) != 0) return false; // baseReg may raise an SP alignment fault
  const addr = baseReg(rn);
  if (faulted) return true;
  if (o2 != 0) {
    // LDAR / STLR
    const bytes: u32 = 1 << size;
    if (l != 0) {
      const h = exclusiveHost(addr, bytes, ACC_READ | ACC_ALIGN, tlbOnly);
      if (h == 0) return !tlbOnly;
      setX(rt, loadSized(h, bytes));
    } else {
      const h = exclusiveHost(addr, bytes, ACC_WRITE | ACC_ALIGN, tlbOnly);
      if (h == 0) return !tlbOnly;
      storeSized(h, bytes, xr(rt));
    }
    return true;
  }
  const elBytes: u32 = 1 << size;
  const bytes: u32 = pair ? elBytes * 2 : elBytes;
  if (l != 0) {
    const h = exclusiveHost(addr, bytes, ACC_READ | ACC_ALIGN, tlbOnly);
    if (h == 0) return !tlbOnly;
    let lo: u64, hi: u64 = 0;
    if (bytes == 16) { lo = load<u64>(h); hi = load<u64>(h, 8); }
    else lo = loadSized(h, bytes);
    store<u64>(cpu, addr, EX_VA);
    store<u64>(cpu, lo, EX_LO);
    store<u64>(cpu, hi, EX_HI);
    store<u32>(cpu, bytes, EX_SIZE);
    store<u32>(cpu, 1, EX_VALID);
    if (pair) {
      if (size == 2) { setX(rt, lo & 0xFFFFFFFF); setX(rt2, lo >> 32); }
      else { setX(rt, lo); setX(rt2, hi); }
    } else setX(rt, lo);
    return true;
  }
  // Store exclusive: no access at all unless the monitor holds this address.
  let status: u64 = 1;
  const valid = load<u32>(cpu, EX_VALID) != 0 && load<u64>(cpu, EX_VA) == addr && load<u32>(cpu, EX_SIZE) == bytes;
  if (valid) {
    const h = exclusiveHost(addr, bytes, ACC_WRITE | ACC_ALIGN, tlbOnly);
    if (h == 0) return !tlbOnly; // a fault: the monitor stays as it was, as the instruction did not complete
    let nlo: u64, nhi: u64 = 0;
    if (pair) {
      if (size == 2) nlo = (xr(rt) & 0xFFFFFFFF) | (xr(rt2) << 32);
      else { nlo = xr(rt); nhi = xr(rt2); }
    } else nlo = xr(rt);
    let same: bool;
    if (bytes == 16) same = load<u64>(h) == load<u64>(cpu, EX_LO) && load<u64>(h, 8) == load<u64>(cpu, EX_HI);
    else same = loadSized(h, bytes) == load<u64>(cpu, EX_LO);
    if (same) {
      if (bytes == 16) { store<u64>(h, nlo); store<u64>(h, nhi, 8); }
      else storeSized(h, bytes, nlo);
      status = 0;
    }
  }
  store<u32>(cpu, 0, EX_VALID);
  setX(rs, status);
  return true;
}

@inline function loadSized(h: usize, bytes: u32): u64 {
  if (bytes == 8) return load<u64>(h);
  if (bytes == 4) return <u64>load<u32>(h);
  if (bytes == 2) return <u64>load<u16>(h);
  return <u64>load<u8>(h);
}
@inline function storeSized(h: usize, bytes: u32, v: u64): void {
  if (bytes == 8) store<u64>(h, v);
  else if (bytes == 4) store<u32>(h, <u32>v);
  else if (bytes == 2) store<u16>(h, <u16>v);
  else store<u8>(h, <u8>v);
}
