// The core's side of translation to WebAssembly: entering translated code
// from the run loop, and the interpreter as translated code's slow path.
//
// The translator itself lives in TypeScript (src/cpu/jit): when a frame gets
// hot, the core asks it (the imported jitCompile) for a function, which it
// puts in the function table; code_frames.ts records it. Translated code is
// keyed by machine frame and is position-independent (it takes the page's
// virtual address), so every mapping of a frame shares it.

import { cpu, pc, instret, attention, setCurPC, setCurInsn, setPC, setInstret } from "./state";
import { execute } from "./decode";
import { ramHost, tlbDropWriteTags } from "./mmu";
import { fetchHost, fetchVpn, tlbData, tlbFetch, TLB_MASK, setFetch } from "./tlb_sets";
import { jitTab, jitFrames, jitThreshold, FL_CODE, FL_BLOCKED, FL_PENDING, markRun } from "./code_frames";

// The page translated code is running (or last ran): its virtual address and host address.
export let runPage: u64 = 0;
let runHost: usize = 0;

// Translate frame f, including a translation of the block at `entry`; the
// table index of the new function, 0 (left to the interpreter) or
// JIT_PENDING (translating in the background: the host installs it later).
@external("env", "jitCompile")
declare function jitCompile(frame: u32, entry: u32): u32;

// Translated code runs at two speeds: every page is first compiled quickly
// (V8's baseline compiler); a page whose code has retired jitOptimizeAfter
// instructions is compiled again, optimised, once (the host swaps the
// function in its table slot when that is done). Counting guest
// instructions per translation puts the optimising compiler's cost, tens of
// milliseconds a page, where it returns. 0: never.
@external("env", "jitOptimize")
declare function jitOptimize(frame: u32, slot: u32): void;

// Installs the background translations that have arrived. The host does
// that between runs; a frame waiting for its translation is hot, so every
// POLL_AFTER entries into waiting frames the core asks in the middle of a
// run too (a result used to wait ~2 ms, a third of its latency, for the
// run to end).
@external("env", "jitPoll")
declare function jitPoll(): void;
const POLL_AFTER: u32 = 1024;
let pendingEntries: u32 = 0;
let jitOptimizeAfter: u32 = 0;
// Instructions retired in each table slot's function since it was placed
// (slots past the array are not counted, so never optimised).
const SLOTS: u32 = 8192;
const slotRetired = new StaticArray<u32>(SLOTS);
// Whether each slot's function is optimised code (for the profile).
const slotOptimised = new StaticArray<bool>(SLOTS);
// Instructions retired in optimised code, for the host's profile.
export let jitRetiredOptimised: u64 = 0;
export function jitSetOptimize(after: u32): void { jitOptimizeAfter = after; }
// The host placed a new function in `slot`: its count starts again, or,
// compiled optimised already, is done.
export function jitSlotPlaced(slot: u32, optimised: bool): void {
  if (slot >= SLOTS) return;
  unchecked(slotRetired[slot] = optimised ? 0xFFFFFFFF : 0);
  unchecked(slotOptimised[slot] = optimised);
}
// The host swapped the optimised compile of its function into `slot`.
export function jitSlotOptimised(slot: u32): void { if (slot < SLOTS) unchecked(slotOptimised[slot] = true); }
// The function running now (or last), and instret when it was entered.
let curSlot: u32 = 0;
let slotIc: u64 = 0;
// Credits the function in curSlot with what it retired since slotIc.
@inline function creditSlot(): void {
  const fn = curSlot;
  if (fn >= SLOTS) return;
  const ran = instret - slotIc;
  if (unchecked(slotOptimised[fn])) { jitRetiredOptimised += ran; return; }
  if (jitOptimizeAfter == 0) return;
  const n = unchecked(slotRetired[fn]);
  if (n >= jitOptimizeAfter) return;
  // (counted in 32 bits, saturating: only a heuristic)
  const m = n + <u32>ran;
  const sat = m < n || ran > 0xFFFFFFFF;
  unchecked(slotRetired[fn] = sat ? 0xFFFFFFFF : m);
  if (sat || m >= jitOptimizeAfter) jitOptimize(<u32>((runHost - ramHost) >> 12), fn);
}

// Heat says how hot a frame is now, not how much it ran since the start:
// every heatDecayEvery instructions the core's vCPUs retire, the heat of
// each frame without code is halved. A page that runs a little all along
// (a timer or interrupt handler) stays below the threshold, so the
// threshold can be low enough that a page busy now is translated soon.
// The frames that have heat are listed (HEAT_LIST at most; past that, a
// decay looks at every frame). 0: heat never decays.
const HEAT_LIST: u32 = 4096;
const heatList = new StaticArray<u32>(HEAT_LIST);
let heatListed: u32 = 0;
let heatOverflow = false;
let heatDecayEvery: u64 = 0;
let heatClock: u64 = 0;
let heatDecayAt: u64 = 0;
export function jitSetHeatDecay(every: u32): void { heatDecayEvery = every; heatDecayAt = heatClock + every; }
// The run loop's count of what a run retired.
@inline export function heatTick(n: u64): void {
  heatClock += n;
  if (heatDecayEvery != 0 && heatClock >= heatDecayAt) decayHeat();
}
@inline function listHeated(f: u32): void {
  if (heatListed < HEAT_LIST) unchecked(heatList[heatListed++] = f);
  else heatOverflow = true;
}
// (A frame may be listed twice, after its code went and it warmed again
// before a decay: it cools twice as fast once.)
function decayHeat(): void {
  heatDecayAt = heatClock + heatDecayEvery;
  const scan = heatOverflow;
  const n = scan ? jitFrames : heatListed;
  heatListed = 0;
  heatOverflow = false;
  for (let i: u32 = 0; i < n; i++) {
    const f = scan ? i : unchecked(heatList[i]);
    const rec = jitTab + (<usize>f << 3);
    if (load<u32>(rec) != 0) continue; // translated: the field counts misses
    const h = load<u16>(rec, 4) >> 1;
    store<u16>(rec, h, 4);
    if (h != 0) listHeated(f);
  }
}

// Entries that were not block heads of a frame's translation before it is
// translated again with them (the heat field counts them while translated).
// Eight times as many for optimised code: its compile costs the other core
// 15-25 ms, and a boot's optimised pages were compiled again 20 times (47
// compiles for 27 pages), mostly for entries that an interrupt's return
// makes anywhere in a hot loop, each of which soon recurs elsewhere.
const MISSES_BEFORE_RETRANSLATION: u32 = 256;
const MISSES_OPTIMISED: u32 = 2048;
// For the translation that ran last (curSlot).
@inline function missesAllowed(): u32 {
  return curSlot < SLOTS && unchecked(slotOptimised[curSlot]) ? MISSES_OPTIMISED : MISSES_BEFORE_RETRANSLATION;
}
// jitCompile's entry with this bit: not a new entry, but paths of the page
// that ran since its translation (translate again with them).
const GREW: u32 = 0x1000;
const JIT_PENDING: u32 = 0xFFFFFFFF;

// The last entries that were not block heads (frame << 12 | offset), and
// the entries into pages still below the heat threshold that came from
// another page, for the translator: a translation takes every entry of the
// frame that recurs here, not only the one that triggered it, so a page
// with several functions called from elsewhere is translated with them all
// at once rather than again for each.
// (A frame past 4 GiB of RAM aliases a lower one here: that one may get an
// extra block head, which costs code and nothing else.)
const MISS_RING: u32 = 1024;
const missRing = new StaticArray<u32>(MISS_RING);
let missPos: u32 = 0;
// The offsets of frame f in the ring, each with its count, in the order
// each first appears from the ring's start (offset, count pairs at
// jitRingOut()): how many. Scanned here rather than by the host's
// JavaScript (a Map over the 1024 entries, a few hundred times a boot:
// ~8 ms of the vCPU's thread, ~5 ms now with the host's sort).
const ringOut = new StaticArray<u32>(2 * MISS_RING);
export function jitRingOut(): usize { return changetype<usize>(ringOut); }
export function jitRingEntries(f: u32): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < MISS_RING; i++) {
    const v = unchecked(missRing[i]);
    if (v >> 12 != f) continue;
    const off = v & 0xFFF;
    let j: u32 = 0;
    while (j < n && unchecked(ringOut[j << 1]) != off) j++;
    if (j == n) { unchecked(ringOut[n << 1] = off); unchecked(ringOut[(n << 1) + 1] = 0); n++; }
    unchecked(ringOut[(j << 1) + 1] += 1);
  }
  return n;
}

// Why jitEnter last left a block head to the interpreter (the run loop
// counts the instructions interpreted for each reason, for the profile).
export const MISS_OTHER: u32 = 1; // not RAM, misaligned
export const MISS_COLD: u32 = 2; // below the heat threshold
export const MISS_PENDING: u32 = 3; // being translated in the background
export const MISS_BLOCKED: u32 = 4; // left to the interpreter for good
export const MISS_NOT_HEAD: u32 = 5; // translated, but not from this entry
export const MISS_NO_FIT: u32 = 6; // its first block does not fit under the limit
export const MISS_SLOW_PATH: u32 = 7; // translated code stopped before a load or store that missed its fast path
export const MISS_UNTRANSLATED: u32 = 8; // translated code reached a path of its page it left out (none had run when it was translated)
export let jitMiss: u32 = 0;
const interpreted = new StaticArray<u64>(16);
@inline export function countInterpreted(why: u32, n: u64): void { unchecked(interpreted[why] += n); }
export function jitInterpreted(why: u32): u64 { return why < 16 ? interpreted[why] : 0; }

// Instructions retired in translated code, for the host's profile.
export let jitRetired: u64 = 0;
// Calls into translated code (instructions per call: how long code stays there).
export let jitCalls: u64 = 0;
// Entries into translated code from translated code (jitChain).
export let jitChains: u64 = 0;

@inline function noteEntry(f: u32, p: u64): void {
  unchecked(missRing[missPos & (MISS_RING - 1)] = (f << 12) | (<u32>p & 0xFFF));
  missPos++;
}

// A frame whose translation keeps missing (the record at rec; its misses
// start again): whether the translation asked for last time has arrived
// meanwhile (installed now). A run can be long, and until then it missed
// on: cpu_bench interpreted ~1 M instructions a phase waiting for one.
function retranslated(rec: usize): bool {
  store<u16>(rec, 0, 4);
  const before = load<u32>(rec);
  jitPoll();
  return load<u32>(rec) != before;
}

// What jitEnter tells the run loop.
export const ENTER_NONE: u32 = 0; // nothing ran: the interpreter runs the instruction at the entry
export const ENTER_RAN: u32 = 1; // translated code ran: pc is a block head to try again
export const ENTER_NOT_HEAD: u32 = 2; // translated code ran and left at an entry that is not a head of its page's translation: the interpreter goes on from pc
export const ENTER_SLOW_PATH: u32 = 3; // translated code stopped before an instruction its slow path leaves to the interpreter: the interpreter goes on from pc

// What the interpreter runs, for the translator (code_frames.ts's map):
// from markFrom, in the frame at markHost, to the instruction before the
// next head. Kept here rather than in the run loop, whose every
// instruction it slowed down.
const NO_RUN: u64 = <u64>-1;
let markFrom: u64 = NO_RUN;
let markHost: usize = 0;
// At a block head, or the end of a run: the interpreter's last
// instruction was lastP (before markFrom: it ran none after translated
// code stopped, as when an interrupt came first).
@inline function endRun(lastP: u64): void {
  if (markFrom != NO_RUN && lastP >= markFrom) markRun(markHost, markFrom, lastP);
  markFrom = NO_RUN;
}
export function jitEndRun(lastP: u64): void { endRun(lastP); }

// At a block head (the target of a branch, an exception vector, the start
// of a run) with the fetch page cached: run translated code if the frame
// has it, else count heat and translate when hot. When translated code
// ran, it left pc, instret and the exit state as the interpreter would.
// lastP: the instruction that ran last (after translated code, its page).
export function jitEnter(p: u64, limit: u64, lastP: u64): u32 {
  endRun(lastP);
  const cross = (p >> 12) != (lastP >> 12);
  const r = coldEntry(p, cross) ? ENTER_NONE : enter(p, limit, cross);
  // The interpreter goes on from p, or from where translated code stopped
  // (in the page it ran).
  if (r == ENTER_NONE) { markFrom = p; markHost = fetchHost; }
  else if (r != ENTER_RAN) { markFrom = pc; markHost = runHost; }
  return r;
}

// The commonest head the interpreter meets, in a frame below the heat
// threshold, is only counted; true if p is one. Apart from enter() so that
// its path has no call: V8 keeps no register across a call, so enter()
// spills its arguments on entry, whatever path it then takes.
function coldEntry(p: u64, cross: bool): bool {
  if ((p & 3) != 0 || fetchHost < ramHost) return false;
  const f = <u32>((fetchHost - ramHost) >> 12);
  if (f >= jitFrames) return false;
  const rec = jitTab + (<usize>f << 3);
  if (load<u32>(rec) != 0 || (load<u8>(rec, 6) & (FL_BLOCKED | FL_PENDING)) != 0) return false;
  const heat = <u32>load<u16>(rec, 4) + 1;
  if (heat >= jitThreshold) return false;
  store<u16>(rec, <u16>heat, 4);
  if (heat == 1) listHeated(f);
  if (cross) noteEntry(f, p);
  jitMiss = MISS_COLD;
  return true;
}

// What translated code entered now may retire before `limit`: a page's
// function counts in 32 bits from its entry (page.ts), so at most 2^31 - 1.
const ROOM_MAX: u64 = 0x7FFFFFFF;
@inline function roomTo(limit: u64): u32 {
  return instret >= limit ? 0 : <u32>(limit - instret < ROOM_MAX ? limit - instret : ROOM_MAX);
}

// cross: control came from another page.
function enter(p: u64, limit: u64, cross: bool): u32 {
  jitMiss = MISS_OTHER;
  if ((p & 3) != 0 || fetchHost < ramHost) return ENTER_NONE; // a misaligned pc faults in the interpreter
  const f = <u32>((fetchHost - ramHost) >> 12);
  if (f >= jitFrames) return ENTER_NONE;
  const rec = jitTab + (<usize>f << 3);
  let fn = load<u32>(rec);
  if (fn == 0 && (load<u8>(rec, 6) & FL_PENDING) != 0 && ++pendingEntries >= POLL_AFTER) {
    pendingEntries = 0;
    jitPoll();
    fn = load<u32>(rec);
  }
  if (fn == 0) {
    const flags = load<u8>(rec, 6);
    if ((flags & (FL_BLOCKED | FL_PENDING)) != 0) { jitMiss = (flags & FL_PENDING) != 0 ? MISS_PENDING : MISS_BLOCKED; return ENTER_NONE; }
    const heat = <u32>load<u16>(rec, 4) + 1;
    if (heat < jitThreshold) {
      store<u16>(rec, <u16>heat, 4);
      if (heat == 1) listHeated(f);
      if (cross) noteEntry(f, p);
      jitMiss = MISS_COLD;
      return ENTER_NONE;
    }
    store<u16>(rec, 0, 4);
    fn = jitCompile(f, <u32>p & 0xFFF);
    if (fn == JIT_PENDING) { store<u8>(rec, FL_PENDING, 6); jitMiss = MISS_PENDING; return ENTER_NONE; }
    if (fn == 0) { store<u8>(rec, FL_BLOCKED, 6); jitMiss = MISS_BLOCKED; return ENTER_NONE; }
    store<u32>(rec, fn);
    store<u8>(rec, FL_CODE, 6);
    // Write tags cached for this frame before it became code must go.
    tlbDropWriteTags(fetchHost);
  }
  const before = instret;
  jitCalls++;
  callDepth = 0;
  runPage = p & ~<u64>0xFFF;
  runHost = fetchHost;
  curSlot = fn;
  slotIc = before;
  // Translated code that leaves its page by a branch (3) goes on in the
  // target page's code if it has some (jitChain): r is the last function's
  // answer, which ran from runHost.
  let r = call_indirect<u32>(fn, cpu, tlbData, p & ~<u64>0xFFF, <u32>p & 0xFFF, roomTo(limit));
  while (r == 3) {
    const next = jitChain();
    if (next == 0) { r = 1; break; }
    const q = pc;
    r = call_indirect<u32>(next, cpu, tlbData, q & ~<u64>0xFFF, <u32>q & 0xFFF, roomTo(limit));
  }
  jitRetired += instret - before;
  creditSlot();
  if (r == 4) {
    // A load or store whose fast path missed (a TLB miss, MMIO, a fault, a
    // store to code): the interpreter runs it, and what follows up to the
    // next block head.
    jitMiss = MISS_SLOW_PATH;
    return ENTER_SLOW_PATH;
  }
  if (r == 5) {
    // A path of the page its translation left out, none of it having run
    // then: the interpreter runs it (and marks it run); when that recurs,
    // the page is translated again with what has run since.
    jitMiss = MISS_UNTRANSLATED;
    const g = <u32>((runHost - ramHost) >> 12);
    const grec = jitTab + (<usize>g << 3);
    const misses = <u32>load<u16>(grec, 4) + 1;
    if (misses < missesAllowed()) store<u16>(grec, <u16>misses, 4);
    else if (!retranslated(grec)) {
      const again = jitCompile(g, (<u32>pc & 0xFFF) | GREW);
      if (again != 0 && again != JIT_PENDING) store<u32>(grec, again);
    }
    return ENTER_SLOW_PATH;
  }
  if (r == 2) {
    // Not a block head of this translation (code reached only indirectly:
    // a return, an exception return): translate again with it when it recurs.
    const g = <u32>((runHost - ramHost) >> 12);
    const grec = jitTab + (<usize>g << 3);
    jitMiss = MISS_NOT_HEAD;
    noteEntry(g, pc);
    const misses = <u32>load<u16>(grec, 4) + 1;
    if (misses < missesAllowed()) store<u16>(grec, <u16>misses, 4);
    else if (!retranslated(grec)) {
      const again = jitCompile(g, <u32>pc & 0xFFF);
      if (again != 0 && again != JIT_PENDING) store<u32>(grec, again);
    }
    return instret != before ? ENTER_NOT_HEAD : ENTER_NONE;
  }
  jitMiss = MISS_NO_FIT;
  return r != 0 || instret != before ? ENTER_RAN : ENTER_NONE;
}

// Translated code left its page with pc set and instret counted (a branch
// out of the page): the table index of the function to go on in (called
// with the same limit), or 0 to return to the run loop. Only a page
// already translated and in the fetch TLB is chained to; the rest (heat, translation, TLB fills, faults) is the run
// loop's. The state is what jitEnter would have set: the fetch page, the
// running page and the per-translation count.
function jitChain(): u32 {
  const p = pc;
  if ((p & 3) != 0) return 0;
  const vpn = p >> 12;
  const e = tlbFetch + (<usize>(vpn & TLB_MASK) << 5);
  if (load<u64>(e, 16) != vpn) return 0;
  const h = <usize>((p & ~<u64>0xFFF) + load<u64>(e, 24));
  if (h < ramHost) return 0;
  const f = <u32>((h - ramHost) >> 12);
  if (f >= jitFrames) return 0;
  const fn = load<u32>(jitTab + (<usize>f << 3));
  if (fn == 0) return 0;
  creditSlot();
  curSlot = fn;
  slotIc = instret;
  runPage = p & ~<u64>0xFFF;
  runHost = h;
  setFetch(vpn, h);
  jitChains++;
  return fn;
}

// A call (BL, BLR) from translated code to another page, made as a wasm
// call: the callee's translation is called from here, and when it comes
// back to the call's return point (`ret`, an offset in the caller's page)
// the caller's code goes on in place (6) rather than returning to the run
// loop and being entered again there. Of a boot's ~13 M chains between
// pages ~6 M were such returns, each a lookup, an indirect call and, in
// baseline code, Liftoff's prologue zero-filling the locals. Anything else
// is answered as a branch out of the page would be: 3 (pc set: no code
// there, too deep, or back somewhere else) or what the callee's code
// answered (an exit, a miss), with the state it left.
const CALL_DEPTH_MAX: u32 = 32;
let callDepth: u32 = 0;
export let jitReturns: u64 = 0;
// room: what the caller may still retire (the callee's code counts it).
export function jitCall(ret: u32, room: u32): u32 {
  if (callDepth >= CALL_DEPTH_MAX) return 3;
  const limit = instret + <u64>room;
  const callerPage = runPage, callerHost = runHost, callerSlot = curSlot, tlb = tlbData;
  const back = callerPage | <u64>ret;
  let fn = jitChain();
  if (fn == 0) return 3;
  callDepth++;
  let r: u32 = 3;
  while (true) {
    const q = pc;
    r = call_indirect<u32>(fn, cpu, tlbData, q & ~<u64>0xFFF, <u32>q & 0xFFF, roomTo(limit));
    if (r != 3 || pc == back) break;
    fn = jitChain(); // the callee went on in another page
    if (fn == 0) break;
  }
  callDepth--;
  if (r != 3 || pc != back || tlbData != tlb) return r;
  // The caller's code goes on only if its page is still mapped where it
  // was and its record still names that translation (the callee may have
  // flushed the TLB or written to the page; a translation is only placed
  // from enter(), at no depth, so the slot cannot hold another one).
  const vpn = back >> 12;
  const e = tlbFetch + (<usize>(vpn & TLB_MASK) << 5);
  if (load<u64>(e, 16) != vpn || <usize>(callerPage + load<u64>(e, 24)) != callerHost) return 3;
  if (load<u32>(jitTab + (((callerHost - ramHost) >> 12) << 3)) != callerSlot) return 3;
  creditSlot();
  curSlot = callerSlot;
  slotIc = instret;
  runPage = callerPage;
  runHost = callerHost;
  setFetch(vpn, callerHost);
  jitReturns++;
  return 6;
}

// The host installed a background translation of frame f (its record says
// so already): write tags cached for the frame before it became code must
// go, so that the next guest store to it takes the slow path and
// invalidates the code.
export function jitFrameInstalled(f: u32): void {
  if (f < jitFrames) tlbDropWriteTags(ramHost + (<usize>f << 12));
}

// For translated code: one instruction through the interpreter (everything
// the translation does not do inline; a load or store whose fast path
// misses leaves translated code instead), with the state the run loop
// would have given it. at = k << 12 | offset: the instruction
// at `offset` of the page being run (runPage, set by jitEnter), the k-th of
// a block entered with instret = ic. The registers are in memory
// (translated code stores those it wrote before calling); translated code
// reloads those the instruction may write.
// Returns true if translated code must leave: an exception, an exit, an
// interrupt to check, a branch, or a TLB flush or PAN change (fetchVpn no
// longer holds the page, whose mapping may have changed). instret counts
// the instruction, as the run loop would.
export function jitStep(at: u32, ic: u64): bool {
  const off = at & 0xFFF;
  const p = runPage | <u64>off;
  const insn = load<u32>(runHost + <usize>off);
  setCurPC(p);
  setCurInsn(insn);
  setPC(p + 4);
  setInstret(ic + <u64>(at >> 12));
  execute(insn);
  setInstret(instret + 1);
  return attention || pc != p + 4 || fetchVpn != p >> 12;
}
