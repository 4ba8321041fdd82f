// The core's side of translation to WebAssembly: entering translated code
// from the run loop, and the interpreter as translated code's slow path.
//
// The translator itself lives in TypeScript (src/cpu/jit): when a frame gets
// hot, the core asks it (the imported jitCompile) for a function, which it
// puts in the function table; code_frames.ts records it. Translated code is
// keyed by machine frame and is position-independent (it takes the page's
// virtual address), so every mapping of a frame shares it.

import { cpu, pc, instret, attention, faulted, setCurPC, setCurInsn, setPC, setInstret } from "./state";
import { readSlow, writeSlow } from "./access";
import { baseReg } from "./base_reg";
import { execute } from "./decode";
import { ramHost, tlbDropWriteTags, ACC_READ, ACC_WRITE } from "./mmu";
import { fetchHost, fetchVpn, tlbData } from "./tlb_sets";
import { jitTab, jitFrames, jitThreshold, FL_CODE, FL_BLOCKED, FL_PENDING } from "./code_frames";

// Translate frame f, including a translation of the block at `entry`; the
// table index of the new function, 0 (left to the interpreter) or
// JIT_PENDING (translating in the background: the host installs it later).
@external("env", "jitCompile")
declare function jitCompile(frame: u32, entry: u32): u32;

// Entries that were not block heads of a frame's translation before it is
// translated again with them (the heat field counts them while translated).
const MISSES_BEFORE_RETRANSLATION: u32 = 1024;
const JIT_PENDING: u32 = 0xFFFFFFFF;

// Instructions retired in translated code, for the host's profile.
export let jitRetired: u64 = 0;
// Calls into translated code (instructions per call: how long code stays there).
export let jitCalls: u64 = 0;

// At a block head (the target of a branch, an exception vector, the start
// of a run) with the fetch page cached: run translated code if the frame
// has it, else count heat and translate when hot. True if translated code
// ran (it left pc, instret and the exit state as the interpreter would).
export function jitEnter(p: u64, limit: u64): bool {
  if ((p & 3) != 0 || fetchHost < ramHost) return false; // a misaligned pc faults in the interpreter
  const f = <u32>((fetchHost - ramHost) >> 12);
  if (f >= jitFrames) return false;
  const rec = jitTab + (<usize>f << 3);
  let fn = load<u32>(rec);
  if (fn == 0) {
    if ((load<u8>(rec, 6) & (FL_BLOCKED | FL_PENDING)) != 0) return false;
    const heat = <u32>load<u16>(rec, 4) + 1;
    if (heat < jitThreshold) { store<u16>(rec, <u16>heat, 4); return false; }
    store<u16>(rec, 0, 4);
    fn = jitCompile(f, <u32>p & 0xFFF);
    if (fn == JIT_PENDING) { store<u8>(rec, FL_PENDING, 6); return false; }
    if (fn == 0) { store<u8>(rec, FL_BLOCKED, 6); return false; }
    store<u32>(rec, fn);
    store<u8>(rec, FL_CODE, 6);
    // Write tags cached for this frame before it became code must go.
    tlbDropWriteTags(fetchHost);
  }
  const before = instret;
  jitCalls++;
  const r = call_indirect<u32>(fn, cpu, tlbData, p & ~<u64>0xFFF, <u32>p & 0xFFF, limit);
  jitRetired += instret - before;
  if (r == 2) {
    // Not a block head of this translation (code reached only indirectly:
    // a return, an exception return): translate again with it when it recurs.
    const misses = <u32>load<u16>(rec, 4) + 1;
    if (misses < MISSES_BEFORE_RETRANSLATION) { store<u16>(rec, <u16>misses, 4); return false; }
    store<u16>(rec, 0, 4);
    const again = jitCompile(f, <u32>p & 0xFFF);
    if (again != 0 && again != JIT_PENDING) store<u32>(rec, again);
    return false;
  }
  return r != 0;
}

// The host installed a background translation of frame f (its record says
// so already): write tags cached for the frame before it became code must
// go, so that the next guest store to it takes the slow path and
// invalidates the code.
export function jitFrameInstalled(f: u32): void {
  if (f < jitFrames) tlbDropWriteTags(ramHost + (<usize>f << 12));
}

// For translated code: one instruction through the interpreter (everything
// the translation does not do inline, and every slow path), with the state
// the run loop would have given it. True if translated code must leave:
// an exception, an exit, an interrupt to check, a branch, or a TLB flush
// or PAN change (fetchVpn no longer holds the page being run, whose
// mapping may have changed).
export function jitExec(insn: u32, at: u64, count: u64): bool {
  setCurPC(at);
  setCurInsn(insn);
  setPC(at + 4);
  setInstret(count);
  execute(insn);
  return attention || pc != at + 4 || fetchVpn != at >> 12;
}

// For translated code: the slow path of an integer load or store (TLB miss,
// page crossing, MMIO, fault), with the state the run loop would have given
// the instruction. `size` | JIT_SP_BASE: the base register is SP (its
// alignment check comes first). Registers other than SP are not read, so
// translated code keeps them in its locals; after a fault (faulted) the
// instruction must not complete.
const JIT_SP_BASE: u32 = 0x100;
@inline function slowState(at: u64, count: u64, insn: u32): void {
  setCurPC(at);
  setCurInsn(insn);
  setPC(at + 4);
  setInstret(count);
}
export function jitRead(va: u64, size: u32, at: u64, count: u64, insn: u32): u64 {
  slowState(at, count, insn);
  if ((size & JIT_SP_BASE) != 0) { baseReg(31); if (faulted) return 0; }
  return readSlow(va, size & 0xF, ACC_READ);
}
export function jitWrite(va: u64, v: u64, size: u32, at: u64, count: u64, insn: u32): void {
  slowState(at, count, insn);
  if ((size & JIT_SP_BASE) != 0) { baseReg(31); if (faulted) return; }
  writeSlow(va, size & 0xF, v, ACC_WRITE);
}
