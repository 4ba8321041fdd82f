// The MMU: stage-1 (the guest's tables, TTBR0/TTBR1) and stage-2 (the
// hypervisor's tables, VTTBR) walks over ARMv8 descriptors with a 4 KiB
// granule, and the software TLB that caches the combined VA -> host mapping.
//
// A walk reads descriptors from machine memory the way the hardware would; a
// stage-1 fault becomes an exception to EL1, a stage-2 fault becomes an exit
// to the hypervisor with the syndrome it needs to emulate MMIO.

import {
  cpu, el, pan, curPC, curInsn, setFaulted, setCpu, setPC, sr, setSr, exitField32, exitField64,
  SR_SCTLR, SR_TCR, SR_TTBR0, SR_TTBR1, SR_MAIR, SR_HCR, SR_VTTBR, SR_VTCR, SR_TLB_MISSES, SR_TLB_FLUSHES, SR_TLB_FULL_FLUSHES,
  HCR_VM, OFF_TLB, EX_ESR, EX_FAR, EX_IPA, EX_INSN, EXIT_DABT, EXIT_IABT, setExitReason,
} from "./state";
import { takeSyncException, EC_DABT_LOWER, EC_DABT_SAME, EC_IABT_LOWER, EC_IABT_SAME } from "./exceptions";
import { jitWritable, jitNoteGuestWrite } from "./code_frames";
import { TLB_ENTRIES, TLB_MASK, TLB_SET_BYTES, tlbData, tlbFetch, invalidateFetch } from "./tlb_sets";

// ---------------------------------------------------------------------------
// Machine RAM: machine physical [ramBase, ramBase + ramSize) lives at wasm
// offset ramHost. Anything else is MMIO.
export let ramBase: u64 = 0x40000000;
export let ramSize: u64 = 0;
export let ramHost: usize = 0;

export function setRam(base: u64, size: u64, host: usize): void {
  ramBase = base; ramSize = size; ramHost = host;
}

// ---------------------------------------------------------------------------
// Access kinds
export const ACC_READ: u32 = 0;
export const ACC_WRITE: u32 = 1;
export const ACC_EXEC: u32 = 2;
export const ACC_KIND: u32 = 3;
export const ACC_UNPRIV: u32 = 4; // LDTR/STTR: checked as EL0
export const ACC_ALIGN: u32 = 8; // must be naturally aligned (exclusives, acquire/release)
export const ACC_CM: u32 = 16; // cache maintenance (DC ...): reported with CM=1
export const ACC_AT: u32 = 32; // address translation instruction: no exception, result in walk globals

// Fault status codes (DFSC/IFSC)
const FSC_ADDR_SIZE: u32 = 0x00; // + level
const FSC_TRANSLATION: u32 = 0x04; // + level
const FSC_ACCESS: u32 = 0x08; // + level
const FSC_PERMISSION: u32 = 0x0C; // + level
const FSC_ALIGNMENT: u32 = 0x21;

// The blocks (VA >> shift, with the shift in the low byte) entries were
// made from since the last flush of everything: u32 count (past BLOCKS_MAX:
// too many to list), then u64 keys. A TLBI by VA outside them all (a user
// page, while the kernel's image is mapped in blocks) looks at no other slot.
const BLOCKS_OFF: u32 = OFF_TLB + 3 * TLB_SET_BYTES;
const BLOCKS_MAX: u32 = 16;

// Slots filled since the last flush, so that a flush clears those and not
// all 3 x 4096 (a 384 KiB memset on every TTBR write, i.e. several times per
// context switch, and on every TLBI VMALLE1). Past FILL_MAX the log
// overflows and the flush is the full memset again; either way a flush
// costs no more than the walks that filled the slots.
const FILL_LOG_OFF: u32 = BLOCKS_OFF + 8 + BLOCKS_MAX * 8; // u32 count, then u32 slot offsets from OFF_TLB
const FILL_MAX: u32 = 512;
// The same for the entries made from non-global (nG) stage-1 mappings, the
// ones that belong to an ASID: a TTBR write or TLBI ASIDE1 drops those and
// keeps the global ones (the kernel's), as an ASID-tagged TLB would. The
// whole TLB is not ASID-tagged, so every ASID change drops them all.
const NG_LOG_OFF: u32 = FILL_LOG_OFF + 4 + FILL_MAX * 4;
// Per slot (3 x 1024 bytes): log2 of the size of the block mapping the
// entry was made from (21: 2 MiB, 30: 1 GiB), 0 for a page. A TLBI by VA
// drops the entries made from the block that holds the VA, and only those.
const BLOCK_SHIFT_OFF: u32 = (NG_LOG_OFF + 4 + FILL_MAX * 4 + 7) & ~7;

// Every entry invalid, whatever the log says (a new vCPU, a restored one).
@inline function count(c: usize, sr: u32): void { const a = c + 0x400 + (<usize>sr << 3); store<u64>(a, load<u64>(a) + 1); }

export function tlbFlushFull(c: usize): void {
  count(c, SR_TLB_FULL_FLUSHES);
  memory.fill(c + OFF_TLB, 0xFF, 3 * TLB_SET_BYTES);
  store<u32>(c + BLOCKS_OFF, 0);
  store<u32>(c + FILL_LOG_OFF, 0);
  store<u32>(c + NG_LOG_OFF, 0);
  if (c == cpu) invalidateFetch();
}

@inline function clearSlot(e: usize): void {
  store<u64>(e, <u64>-1); store<u64>(e, <u64>-1, 8); store<u64>(e, <u64>-1, 16);
}

// Invalidate the entries a log names; false if the log overflowed (the
// caller flushes everything).
@inline function clearLogged(c: usize, log: u32): bool {
  const n = load<u32>(c + log);
  if (n > FILL_MAX) return false;
  const base = c + OFF_TLB;
  for (let i: u32 = 0; i < n; i++) clearSlot(base + <usize>load<u32>(c + log + 4 + (i << 2)));
  store<u32>(c + log, 0);
  return true;
}

function flushFilled(c: usize): void {
  if (!clearLogged(c, FILL_LOG_OFF)) { tlbFlushFull(c); return; }
  store<u32>(c + BLOCKS_OFF, 0);
  store<u32>(c + NG_LOG_OFF, 0);
  if (c == cpu) invalidateFetch();
}

export function tlbFlushCpu(c: usize): void {
  count(c, SR_TLB_FLUSHES);
  flushFilled(c);
}

// Entries of non-global mappings only (a new ASID, or a new table base for
// them). The fill log still names the slots cleared here: a later flush of
// everything clears them again, which costs nothing but time.
export function tlbFlushNonGlobal(c: usize): void {
  count(c, SR_TLB_FLUSHES);
  if (!clearLogged(c, NG_LOG_OFF)) { flushFilled(c); return; }
  if (c == cpu) invalidateFetch();
}

// Invalidate one page's entries in every set, and the entries made from a
// block mapping that holds the page (they stand for the whole block).
export function tlbFlushPageCpu(c: usize, va: u64): void {
  const vpn = va >> 12;
  const slot = c + OFF_TLB + (<usize>(vpn & TLB_MASK) << 5);
  for (let s: u32 = 0; s < 3; s++) clearSlot(slot + s * TLB_SET_BYTES);
  let n = load<u32>(c + BLOCKS_OFF);
  let hit = n > BLOCKS_MAX;
  if (!hit) {
    for (let i: u32 = 0; i < n; i++) {
      const k = c + BLOCKS_OFF + 8 + (<usize>i << 3);
      const key = load<u64>(k);
      if ((va >> (key & 0xFF)) != key >> 8) continue;
      hit = true;
      n--;
      store<u64>(k, load<u64>(c + BLOCKS_OFF + 8 + (<usize>n << 3)));
      store<u32>(c + BLOCKS_OFF, n);
      break;
    }
  }
  if (hit) dropBlockEntries(c, va);
  if (c == cpu) invalidateFetch();
}

// The entries made from the block mapping that holds va, found by the
// shift each slot records (eight slots at a time: most hold pages, 0).
function dropBlockEntries(c: usize, va: u64): void {
  const shifts = c + BLOCK_SHIFT_OFF;
  for (let i: u32 = 0; i < 3 * TLB_ENTRIES; i += 8) {
    if (load<u64>(shifts + i) == 0) continue;
    for (let j: u32 = i; j < i + 8; j++) {
      const shift = <u64>load<u8>(shifts + j);
      if (shift == 0) continue;
      const e = c + OFF_TLB + (<usize>j << 5);
      // The entry's page, from whichever tag it has (all-ones: cleared).
      let tag = load<u64>(e);
      if (tag == <u64>-1) tag = load<u64>(e, 8);
      if (tag == <u64>-1) tag = load<u64>(e, 16);
      if (tag != <u64>-1 && (tag >> (shift - 12)) == (va >> shift)) clearSlot(e);
    }
  }
}

// A fill from a block mapping: its block joins the list (or the list
// overflows, and every TLBI by VA looks at the slots).
function noteBlock(va: u64, shift: u32): void {
  const n = load<u32>(cpu + BLOCKS_OFF);
  if (n > BLOCKS_MAX) return;
  const key = ((va >> shift) << 8) | <u64>shift;
  for (let i: u32 = 0; i < n; i++) if (load<u64>(cpu + BLOCKS_OFF + 8 + (<usize>i << 3)) == key) return;
  if (n < BLOCKS_MAX) store<u64>(cpu + BLOCKS_OFF + 8 + (<usize>n << 3), key);
  store<u32>(cpu + BLOCKS_OFF, n + 1); // BLOCKS_MAX + 1: overflowed
}

// Registry of vCPU blocks, so that broadcast TLB maintenance (the "IS"
// forms) reaches every vCPU of the same VM.
const MAX_VCPUS: i32 = 512;
const vcpuList = new StaticArray<usize>(MAX_VCPUS);
let vcpuCount: i32 = 0;
export function registerVcpu(c: usize): void {
  for (let i = 0; i < vcpuCount; i++) if (unchecked(vcpuList[i]) == c) return;
  if (vcpuCount < MAX_VCPUS) { unchecked(vcpuList[vcpuCount] = c); vcpuCount++; }
  tlbFlushFull(c);
}
export function unregisterVcpu(c: usize): void {
  for (let i = 0; i < vcpuCount; i++) {
    if (unchecked(vcpuList[i]) == c) {
      vcpuCount--;
      unchecked(vcpuList[i] = vcpuList[vcpuCount]);
      return;
    }
  }
}
@inline function vmidOf(c: usize): u64 { return load<u64>(c + 0x400 + (<usize>SR_VTTBR << 3)) >> 48; }

// Broadcast maintenance: every registered vCPU with the running vCPU's VMID.
export function tlbFlushAllBroadcast(): void {
  const vmid = vmidOf(cpu);
  for (let i = 0; i < vcpuCount; i++) {
    const c = unchecked(vcpuList[i]);
    if (vmidOf(c) == vmid) tlbFlushCpu(c);
  }
}
export function tlbFlushNonGlobalBroadcast(): void {
  const vmid = vmidOf(cpu);
  for (let i = 0; i < vcpuCount; i++) {
    const c = unchecked(vcpuList[i]);
    if (vmidOf(c) == vmid) tlbFlushNonGlobal(c);
  }
}
export function tlbFlushPageBroadcast(va: u64): void {
  const vmid = vmidOf(cpu);
  for (let i = 0; i < vcpuCount; i++) {
    const c = unchecked(vcpuList[i]);
    if (vmidOf(c) == vmid) tlbFlushPageCpu(c, va);
  }
}

// A frame that became translated code: no TLB entry may let a store reach it
// without the slow path. Entries filled since the last flush are in the
// fill log; past its end, everything goes.
export function tlbDropWriteTags(hostPage: usize): void {
  for (let i = 0; i < vcpuCount; i++) {
    const c = unchecked(vcpuList[i]);
    const n = load<u32>(c + FILL_LOG_OFF);
    const base = c + OFF_TLB;
    // Past the log's end, every entry is looked at (global entries outlive
    // ASID changes, so the log fills up between full flushes).
    const all = n > FILL_MAX;
    const m: u32 = all ? 3 * TLB_ENTRIES : n;
    for (let j: u32 = 0; j < m; j++) {
      const e = base + (all ? <usize>j << 5 : <usize>load<u32>(c + FILL_LOG_OFF + 4 + (j << 2)));
      const vpn = load<u64>(e, 8);
      if (vpn != <u64>-1 && <usize>((vpn << 12) + load<u64>(e, 24)) == hostPage) store<u64>(e, <u64>-1, 8);
    }
  }
}

@inline function logFill(log: u32, slot: u32): void {
  const n = load<u32>(cpu + log);
  if (n <= FILL_MAX) {
    if (n < FILL_MAX) store<u32>(cpu + log + 4 + (n << 2), slot);
    store<u32>(cpu + log, n + 1); // FILL_MAX + 1: overflowed
  }
}

function tlbFill(set: usize, va: u64, host: usize, r: bool, w: bool, x: bool, global: bool, blockShift: u32): void {
  const vpn = va >> 12;
  const e = set + (<usize>(vpn & TLB_MASK) << 5);
  store<u64>(e, r ? vpn : <u64>-1);
  store<u64>(e, w && jitWritable(host) ? vpn : <u64>-1, 8);
  store<u64>(e, x ? vpn : <u64>-1, 16);
  store<u64>(e, <u64>(host & ~0xFFF) - (va & ~<u64>0xFFF), 24);
  const slot = <u32>(e - (cpu + OFF_TLB));
  store<u8>(cpu + BLOCK_SHIFT_OFF + (slot >> 5), <u8>blockShift);
  logFill(FILL_LOG_OFF, slot);
  if (!global) logFill(NG_LOG_OFF, slot);
}

// ---------------------------------------------------------------------------
// Walk results (globals, so that the walk allocates nothing)
export let wPA: u64 = 0; // output address (IPA after stage 1, PA after stage 2)
export let wDevice: bool = false; // Device memory type
export let wAttr: u32 = 0; // stage-1 MAIR attribute byte
export let wSh: u32 = 0;
export let wBlock: bool = false;
export let wBlockShift: u32 = 0; // log2 of the block's size (when wBlock)
export let wGlobal: bool = true; // the stage-1 mapping is global (nG clear, or the MMU off)
// stage-1 permissions for the regime that walked
export let w1R: bool = false;
export let w1W: bool = false;
export let w1X: bool = false;
// stage-2 permissions of the final IPA
export let w2R: bool = true;
export let w2W: bool = true;
export let w2X: bool = true;
// fault description
export let wFsc: u32 = 0;
export let wStage2: bool = false; // the fault was at stage 2
export let wS1ptw: bool = false; // ... while walking the stage-1 tables
export let wIPA: u64 = 0; // IPA of a stage-2 fault

@inline function physRead64(pa: u64): u64 {
  return load<u64>(ramHost + <usize>(pa - ramBase));
}
@inline export function inRam(pa: u64, size: u64): bool {
  return pa - ramBase < ramSize && pa - ramBase + size <= ramSize;
}

// Stage 2: IPA -> PA with the hypervisor's tables. Returns false on a fault
// (wFsc, wIPA set). Sets w2R/w2W/w2X and wDevice for the final mapping.
function stage2(ipa: u64, s1ptw: bool): bool {
  w2R = true; w2W = true; w2X = true;
  const hcr = sr(SR_HCR);
  if ((hcr & HCR_VM) == 0) { wPA = ipa; return true; }
  const vtcr = sr(SR_VTCR);
  const t0sz = <u32>(vtcr & 0x3F);
  const sl0 = <u32>(vtcr >> 6) & 3;
  const inputSize: u32 = 64 - t0sz;
  let level: i32 = sl0 == 0 ? 2 : (sl0 == 1 ? 1 : 0);
  if (inputSize < 25 || inputSize > 48 || (ipa >> inputSize) != 0) {
    wFsc = FSC_TRANSLATION + <u32>level; wStage2 = true; wS1ptw = s1ptw; wIPA = ipa; return false;
  }
  let table = sr(SR_VTTBR) & 0x0000FFFFFFFFF000;
  let shift: u32 = 12 + 9 * <u32>(3 - level);
  // The start level's index takes every remaining input bit (concatenated tables).
  let index = (ipa >> shift) & ((<u64>1 << (inputSize - shift)) - 1);
  while (true) {
    const da = table + (index << 3);
    if (!inRam(da, 8)) { wFsc = FSC_TRANSLATION + <u32>level; wStage2 = true; wS1ptw = s1ptw; wIPA = ipa; return false; }
    const d = physRead64(da);
    const t = <u32>d & 3;
    if ((t & 1) == 0 || (level == 3 && t != 3) || (level == 0 && t == 1)) {
      wFsc = FSC_TRANSLATION + <u32>level; wStage2 = true; wS1ptw = s1ptw; wIPA = ipa; return false;
    }
    if (t == 3 && level < 3) {
      table = d & 0x0000FFFFFFFFF000;
      level++; shift -= 9;
      index = (ipa >> shift) & 511;
      continue;
    }
    // leaf (block or page)
    if ((d & (1 << 10)) == 0) { wFsc = FSC_ACCESS + <u32>level; wStage2 = true; wS1ptw = s1ptw; wIPA = ipa; return false; }
    const mask: u64 = (<u64>1 << shift) - 1;
    wPA = (d & 0x0000FFFFFFFFF000 & ~mask) | (ipa & mask);
    w2R = (d & (1 << 6)) != 0;
    w2W = (d & (1 << 7)) != 0;
    w2X = (d & (<u64>1 << 54)) == 0;
    const memattr = <u32>(d >> 2) & 0xF;
    if ((memattr >> 2) == 0) wDevice = true;
    return true;
  }
}

// The stage-1 descriptor fetch goes through stage 2 (as S1PTW).
function s1TableRead(ipa: u64, level: i32): u64 {
  const savedDev = wDevice;
  if (!stage2(ipa, true)) return 0;
  wDevice = savedDev;
  if (!w2R) { wFsc = FSC_PERMISSION + <u32>level; wStage2 = true; wS1ptw = true; wIPA = ipa; return 0; }
  if (!inRam(wPA, 8)) { wFsc = FSC_TRANSLATION + <u32>level; wStage2 = true; wS1ptw = true; wIPA = ipa; return 0; }
  wFsc = 0xFF;
  return physRead64(wPA);
}

// Stage 1 for the EL1&0 regime. `unpriv`: permissions as EL0. Returns false
// on a fault. On success wPA is the IPA and w1R/w1W/w1X the permissions.
function stage1(va: u64, isEl0: bool, usePan: bool, isFetch: bool): bool {
  const sctlr = sr(SR_SCTLR);
  wBlock = false;
  wGlobal = true;
  if ((sctlr & 1) == 0) {
    // MMU off: flat, data accesses are Device-nGnRnE, fetches are Normal.
    if ((va >> 48) != 0) { wFsc = FSC_ADDR_SIZE; wStage2 = false; return false; }
    wPA = va; wDevice = !isFetch; wAttr = 0; wSh = 0;
    w1R = true; w1W = true; w1X = true;
    return true;
  }
  const tcr = sr(SR_TCR);
  const upper = ((va >> 55) & 1) != 0;
  const tsz = upper ? <u32>(tcr >> 16) & 0x3F : <u32>tcr & 0x3F;
  const tbi = upper ? ((tcr >> 38) & 1) != 0 : ((tcr >> 37) & 1) != 0;
  const epd = upper ? ((tcr >> 23) & 1) != 0 : ((tcr >> 7) & 1) != 0;
  let inputSize: u32 = 64 - (tsz < 16 ? 16 : (tsz > 39 ? 39 : tsz));
  // Range check: the bits above inputSize must all equal bit 55 (below the tag when TBI applies).
  const topBits: u32 = tbi ? 56 : 64;
  const hi = (va << (64 - topBits)) >> (64 - topBits) >> inputSize; // bits [topBits-1 : inputSize]
  const expect: u64 = upper ? ((<u64>1 << (topBits - inputSize)) - 1) : 0;
  if (hi != expect || epd) { wFsc = FSC_TRANSLATION; wStage2 = false; return false; }
  const ttbr = sr(upper ? SR_TTBR1 : SR_TTBR0);
  let table = ttbr & 0x0000FFFFFFFFFFFE;
  let level: i32 = 4 - <i32>((inputSize - 12 + 8) / 9);
  let shift: u32 = 12 + 9 * <u32>(3 - level);
  let index = (va >> shift) & ((<u64>1 << (inputSize - shift)) - 1);
  let apTable: u32 = 0, uxnTable = false, pxnTable = false;
  const hpd = upper ? ((tcr >> 42) & 1) != 0 : ((tcr >> 41) & 1) != 0;
  while (true) {
    const d = s1TableRead((table & 0x0000FFFFFFFFF000) + (index << 3), level);
    if (wFsc != 0xFF) return false;
    const t = <u32>d & 3;
    if ((t & 1) == 0 || (level == 3 && t != 3) || (level == 0 && t == 1)) {
      wFsc = FSC_TRANSLATION + <u32>level; wStage2 = false; return false;
    }
    if (t == 3 && level < 3) {
      if (!hpd) {
        apTable |= <u32>(d >> 61) & 3;
        uxnTable = uxnTable || ((d >> 60) & 1) != 0;
        pxnTable = pxnTable || ((d >> 59) & 1) != 0;
      }
      table = d & 0x0000FFFFFFFFF000;
      level++; shift -= 9;
      index = (va >> shift) & 511;
      continue;
    }
    if ((d & (1 << 10)) == 0) { wFsc = FSC_ACCESS + <u32>level; wStage2 = false; return false; }
    const mask: u64 = (<u64>1 << shift) - 1;
    wBlock = level < 3;
    wBlockShift = shift;
    wGlobal = ((d >> 11) & 1) == 0;
    wPA = (d & 0x0000FFFFFFFFF000 & ~mask) | (va & mask);
    const ap = <u32>(d >> 6) & 3; // AP[2:1]
    // AP[1]: EL0 access; AP[2]: read-only. APTable[0] removes EL0 access, APTable[1] removes writes.
    let el0Access = (ap & 1) != 0 && (apTable & 1) == 0;
    const readOnly = (ap & 2) != 0 || (apTable & 2) != 0;
    const uxn = ((d >> 54) & 1) != 0 || uxnTable;
    const pxn = ((d >> 53) & 1) != 0 || pxnTable;
    const wxn = ((sctlr >> 19) & 1) != 0;
    if (isEl0) {
      w1R = el0Access;
      w1W = el0Access && !readOnly;
      w1X = el0Access && !uxn && !(wxn && w1W);
    } else {
      const el0Writable = el0Access && !readOnly;
      w1R = true;
      w1W = !readOnly;
      w1X = !pxn && !el0Writable && !(wxn && w1W);
      if (usePan && el0Access) { w1R = false; w1W = false; }
    }
    const attrIdx = <u32>(d >> 2) & 7;
    wAttr = <u32>(sr(SR_MAIR) >> (attrIdx * 8)) & 0xFF;
    wDevice = (wAttr & 0xF0) == 0;
    wSh = <u32>(d >> 8) & 3;
    return true;
  }
}

// ---------------------------------------------------------------------------
// Raising faults

// ISS bits for a data abort that a hypervisor can emulate (ESR_EL2 ISV=1):
// single general-purpose register loads and stores without writeback.
export function dataAbortSyndrome(insn: u32): u32 {
  // LDR/STR (immediate unsigned offset, unscaled, register offset): size:111:V=0:0x:opc
  const op = insn & 0x3B000000;
  let ok = false;
  let size = insn >> 30;
  let opc = (insn >> 22) & 3;
  if (op == 0x39000000) ok = true; // unsigned offset
  else if (op == 0x38000000) {
    const bit21 = (insn >> 21) & 1, op4 = (insn >> 10) & 3;
    ok = (bit21 == 0 && (op4 == 0 || op4 == 2)) || (bit21 == 1 && op4 == 2);
  } else if ((insn & 0x3F000000) == 0x08000000 && ((insn >> 23) & 1) == 1 && ((insn >> 21) & 1) == 0) {
    // LDAR/STLR (o2=1, o1=0)
    const isLoad = (insn >> 22) & 1;
    const rt = insn & 31;
    return (1 << 24) | (size << 22) | (rt << 16) | ((size == 3 ? 1 : 0) << 15) | (1 << 14) | ((isLoad ^ 1) << 6);
  }
  if (!ok || ((insn >> 26) & 1) != 0) return 0; // not a GPR access: ISV=0
  if (opc == 3 && size == 3) return 0; // PRFM
  const rt = insn & 31;
  let sse: u32 = 0, sf: u32 = 0;
  if (opc == 0) sf = size == 3 ? 1 : 0; // store
  else if (opc == 1) sf = size == 3 ? 1 : 0; // zero-extending load
  else if (opc == 2) { sse = 1; sf = 1; } // sign-extend to 64
  else { sse = 1; sf = 0; } // sign-extend to 32
  return (1 << 24) | (size << 22) | (sse << 21) | (rt << 16) | (sf << 15);
}

function raiseFault(va: u64, acc: u32): void {
  const kind = acc & ACC_KIND;
  const isWrite = kind == ACC_WRITE;
  setFaulted(true);
  if (wStage2) {
    // Exit to the hypervisor with an ESR_EL2-format syndrome; the access is
    // retried (or emulated and skipped) from the faulting instruction.
    setPC(curPC);
    let esr: u64;
    if (kind == ACC_EXEC) {
      esr = (<u64>0x20 << 26) | (1 << 25) | (wS1ptw ? 1 << 7 : 0) | wFsc;
      setExitReason(EXIT_IABT);
    } else {
      let iss: u32 = wS1ptw ? 0 : dataAbortSyndrome(curInsn);
      if ((acc & ACC_CM) != 0) iss = 1 << 8;
      if (wS1ptw) iss |= 1 << 7;
      if (isWrite && !wS1ptw) iss |= 1 << 6;
      esr = (<u64>0x24 << 26) | (1 << 25) | iss | wFsc;
      setExitReason(EXIT_DABT);
    }
    exitField64(EX_ESR, esr);
    exitField64(EX_FAR, va);
    exitField64(EX_IPA, wIPA);
    exitField32(EX_INSN, curInsn);
    return;
  }
  // Stage-1 (or alignment) fault: a synchronous exception to EL1.
  if (kind == ACC_EXEC) {
    takeSyncException(el == 0 ? EC_IABT_LOWER : EC_IABT_SAME, wFsc, va, true, curPC);
  } else {
    let iss: u32 = wFsc | (isWrite ? 1 << 6 : 0);
    if ((acc & ACC_CM) != 0) iss |= (1 << 8) | (1 << 6);
    takeSyncException(el == 0 ? EC_DABT_LOWER : EC_DABT_SAME, iss, va, true, curPC);
  }
}

export function raiseAlignmentFault(va: u64, acc: u32): void {
  wFsc = FSC_ALIGNMENT; wStage2 = false;
  raiseFault(va, acc);
}

// ---------------------------------------------------------------------------
// Slow-path translation. Returns the host address of `va`, or 0 with
// `faulted` set after raising the fault. When the target is not RAM (MMIO)
// it returns 0 and sets mmioPA without raising anything: the caller decides.
export let mmioPA: u64 = 0;
export let mmioHit: bool = false;

export function translate(va: u64, acc: u32, size: u32): usize {
  store<u64>(cpu + OFF_SYS_MISSES, load<u64>(cpu + OFF_SYS_MISSES) + 1);
  const kind = acc & ACC_KIND;
  const unpriv = (acc & ACC_UNPRIV) != 0;
  const isEl0 = el == 0 || unpriv;
  const usePan = !isEl0 && pan != 0 && kind != ACC_EXEC;
  mmioHit = false;
  wDevice = false;
  wFsc = 0; wStage2 = false; wS1ptw = false;
  if (!stage1(va, isEl0, usePan, kind == ACC_EXEC)) { raiseFault(va, acc); return 0; }
  const ok1 = kind == ACC_READ ? w1R : (kind == ACC_WRITE ? w1W : w1X);
  if (!ok1) {
    wFsc = FSC_PERMISSION + 3; wStage2 = false;
    raiseFault(va, acc); return 0;
  }
  const ipa = wPA;
  const dev1 = wDevice;
  const block = wBlock;
  const blockShift = wBlockShift;
  const global = wGlobal;
  if (!stage2(ipa, false)) { raiseFault(va, acc); return 0; }
  wDevice = wDevice || dev1;
  const ok2 = kind == ACC_READ ? w2R : (kind == ACC_WRITE ? w2W : w2X);
  if (!ok2) {
    wFsc = FSC_PERMISSION + 3; wStage2 = true; wS1ptw = false; wIPA = ipa;
    raiseFault(va, acc); return 0;
  }
  // Alignment: Device memory, SCTLR_EL1.A, or instructions that require it.
  const misaligned = (va & <u64>(size - 1)) != 0;
  const sctlrA = (sr(SR_SCTLR) & 2) != 0;
  if (misaligned && kind != ACC_EXEC && ((acc & ACC_ALIGN) != 0 || wDevice || sctlrA)) {
    raiseAlignmentFault(va, acc); return 0;
  }
  const pa = wPA;
  if (!inRam(pa, 1)) {
    // Not RAM. With stage 2 on this is the hypervisor's business (an MMIO
    // exit with ISS); without it the machine's devices answer.
    mmioHit = true; mmioPA = pa; wIPA = ipa;
    if (kind == ACC_EXEC) {
      wFsc = FSC_TRANSLATION + 3; wStage2 = true; wS1ptw = false; wIPA = ipa;
      raiseFault(va, acc); return 0;
    }
    return 0;
  }
  const host = ramHost + <usize>(pa - ramBase);
  if (kind == ACC_WRITE) jitNoteGuestWrite(host);
  // Cache it unless the page needs the slow path every time.
  const tagged = (va >> 56) != 0 && (va >> 56) != 0xFF;
  if (!wDevice && !sctlrA && !tagged) {
    let set: usize;
    if (unpriv || el == 0) set = cpu + OFF_TLB;
    else set = tlbData;
    if (kind == ACC_EXEC) set = tlbFetch;
    // A single walk gives all three permissions of this regime.
    tlbFill(set, va, host, w1R && w2R, w1W && w2W, w1X && w2X, global, block ? blockShift : 0);
    if (block) noteBlock(va, blockShift);
  }
  return host;
}

const OFF_SYS_MISSES: u32 = 0x400 + SR_TLB_MISSES * 8;

// MMIO exit for an access that reached no RAM: the same syndrome as a
// stage-2 translation fault, so one path in the hypervisor emulates both.
export function mmioExit(va: u64, acc: u32): void {
  wFsc = FSC_TRANSLATION + 3; wStage2 = true; wS1ptw = false;
  raiseFault(va, acc);
}

// For the hypervisor between runs: the IPA a vCPU's EL1 translation gives a
// VA (hypercall arguments are guest virtual addresses), or u64.MAX on a fault
// or when a write is not permitted.
export function guestWalk(c: usize, va: u64, write: bool): u64 {
  const saved = cpu;
  setCpu(c);
  wFsc = 0; wStage2 = false; wS1ptw = false; wDevice = false;
  let r: u64 = u64.MAX_VALUE;
  if (stage1(va, false, false, false) && (!write || w1W)) r = wPA;
  setCpu(saved);
  return r;
}

// AT S1E*: walk stage 1 only and produce PAR_EL1 without taking a fault.
export function addressTranslate(va: u64, isEl0: bool, isWrite: bool, usePan: bool): u64 {
  wFsc = 0; wStage2 = false; wS1ptw = false; wDevice = false;
  if (!stage1(va, isEl0, usePan, false)) {
    if (wStage2) { raiseFault(va, ACC_READ | ACC_CM); return <u64>-1; } // the hypervisor takes the S1PTW fault
    return 1 | (<u64>wFsc << 1);
  }
  const ok = isWrite ? w1W : w1R;
  if (!ok) return 1 | (<u64>(FSC_PERMISSION + 3) << 1);
  return (wPA & 0x0000FFFFFFFFF000) | (<u64>wAttr << 56) | (<u64>wSh << 7) | (1 << 11);
}
