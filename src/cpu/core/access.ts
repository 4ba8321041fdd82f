// Guest virtual memory accesses made by instructions. The fast path is one
// TLB probe; misses, page-crossing accesses, MMIO and faults take the slow
// path. After any call, `faulted` says whether the instruction must stop
// (an exception was taken or run() must exit); the value is then garbage.

import { cpu, faulted, OFF_TLB } from "./state";
import { translate, mmioHit, mmioExit, ACC_READ, ACC_WRITE, ACC_UNPRIV, ACC_KIND } from "./mmu";
import { tlbData, TLB_MASK } from "./tlb_sets";

@inline function probe(set: usize, tagOff: u32, va: u64, size: u32): usize {
  const vpn = va >> 12;
  const e = set + (<usize>(vpn & TLB_MASK) << 5);
  if (load<u64>(e + tagOff) == vpn && (<u32>va & 0xFFF) <= 4096 - size) return <usize>(va + load<u64>(e, 24));
  return 0;
}

@inline function loadN(h: usize, size: u32): u64 {
  if (size == 8) return load<u64>(h);
  if (size == 4) return <u64>load<u32>(h);
  if (size == 2) return <u64>load<u16>(h);
  return <u64>load<u8>(h);
}
@inline function storeN(h: usize, size: u32, v: u64): void {
  if (size == 8) store<u64>(h, v);
  else if (size == 4) store<u32>(h, <u32>v);
  else if (size == 2) store<u16>(h, <u16>v);
  else store<u8>(h, <u8>v);
}

// Host address for `va` (slow path: walk, fill the TLB), or 0 if the access
// faulted or reached MMIO (after raising the exit).
export function hostAddr(va: u64, size: u32, acc: u32): usize {
  const h = translate(va, acc, size);
  if (h == 0 && !faulted && mmioHit) mmioExit(va, acc);
  return h;
}

// The host address of a naturally aligned access if the data TLB has it
// with the access it needs, else 0 (nothing walked, nothing raised): the
// translated code's helpers (exclusives, DC ZVA) decline on 0.
export function tlbHostAligned(va: u64, size: u32, acc: u32): usize {
  return (va & <u64>(size - 1)) == 0 ? probe(tlbData, (acc & ACC_KIND) == ACC_WRITE ? 8 : 0, va, size) : 0;
}

// The same for an access that is naturally aligned or faults (exclusives,
// acquire/release, DC ZVA): one TLB probe first, the walk only on a miss.
// A TLB entry exists only for Normal memory with SCTLR_EL1.A clear and an
// untagged VA (translate() caches nothing else), so a hit on an aligned
// address is exactly what the walk would have answered.
export function hostAddrAligned(va: u64, size: u32, acc: u32): usize {
  const h = tlbHostAligned(va, size, acc);
  return h != 0 ? h : hostAddr(va, size, acc);
}

export function readSlow(va: u64, size: u32, acc: u32): u64 {
  const off = <u32>va & 0xFFF;
  if (off + size <= 4096) {
    const h = hostAddr(va, size, acc);
    if (h == 0) return 0;
    return loadN(h, size);
  }
  // Crosses a page: translate both pages before reading either.
  const h1 = hostAddr(va, size, acc);
  if (h1 == 0) return 0;
  const va2 = (va | 0xFFF) + 1;
  const h2 = hostAddr(va2, 1, acc);
  if (h2 == 0) return 0;
  const n1: u32 = 4096 - off;
  let v: u64 = 0;
  for (let i: u32 = 0; i < size; i++) {
    const b = i < n1 ? load<u8>(h1 + i) : load<u8>(h2 + (i - n1));
    v |= <u64>b << (i * 8);
  }
  return v;
}

export function writeSlow(va: u64, size: u32, v: u64, acc: u32): void {
  const off = <u32>va & 0xFFF;
  if (off + size <= 4096) {
    const h = hostAddr(va, size, acc);
    if (h == 0) return;
    storeN(h, size, v);
    return;
  }
  const h1 = hostAddr(va, size, acc);
  if (h1 == 0) return;
  const h2 = hostAddr((va | 0xFFF) + 1, 1, acc);
  if (h2 == 0) return;
  const n1: u32 = 4096 - off;
  for (let i: u32 = 0; i < size; i++) {
    const b = <u8>(v >> (i * 8));
    if (i < n1) store<u8>(h1 + i, b); else store<u8>(h2 + (i - n1), b);
  }
}

// size: 1, 2, 4 or 8 bytes
@inline export function readMem(va: u64, size: u32): u64 {
  const h = probe(tlbData, 0, va, size);
  if (h != 0) return loadN(h, size);
  return readSlow(va, size, ACC_READ);
}
@inline export function writeMem(va: u64, size: u32, v: u64): void {
  const h = probe(tlbData, 8, va, size);
  if (h != 0) { storeN(h, size, v); return; }
  writeSlow(va, size, v, ACC_WRITE);
}

// Unprivileged (LDTR/STTR): EL0 permissions, the EL0 TLB set.
export function readMemUnpriv(va: u64, size: u32): u64 {
  const h = probe(cpu + OFF_TLB, 0, va, size);
  if (h != 0) return loadN(h, size);
  return readSlow(va, size, ACC_READ | ACC_UNPRIV);
}
export function writeMemUnpriv(va: u64, size: u32, v: u64): void {
  const h = probe(cpu + OFF_TLB, 8, va, size);
  if (h != 0) { storeN(h, size, v); return; }
  writeSlow(va, size, v, ACC_WRITE | ACC_UNPRIV);
}

// Reads and writes with extra access flags (alignment, acquire/release):
// always through translate(), which checks them.
export function readMemFlags(va: u64, size: u32, acc: u32): u64 {
  return readSlow(va, size, ACC_READ | acc);
}
export function writeMemFlags(va: u64, size: u32, v: u64, acc: u32): void {
  writeSlow(va, size, v, ACC_WRITE | acc);
}

// 16-byte accesses (Q registers, pairs of X): two halves, both translated
// before anything is written.
export function read128(va: u64, dst: usize): void {
  const lo = readMem(va, 8);
  if (faulted) return;
  const hi = readMem(va + 8, 8);
  if (faulted) return;
  store<u64>(dst, lo);
  store<u64>(dst, hi, 8);
}
export function write128(va: u64, src: usize): void {
  const lo = load<u64>(src), hi = load<u64>(src, 8);
  if ((<u32>va & 0xFFF) <= 4096 - 16) {
    const h = probe(tlbData, 8, va, 16);
    if (h != 0) { store<u64>(h, lo); store<u64>(h, hi, 8); return; }
  }
  // Probe the second half first so that a fault there leaves memory untouched.
  if (hostAddr(va + 15, 1, ACC_WRITE) == 0) return;
  writeMem(va, 8, lo);
  if (faulted) return;
  writeMem(va + 8, 8, hi);
}
