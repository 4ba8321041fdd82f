// Which machine frames hold translated code (see jit.ts), kept apart from
// the translator's entry so that the MMU can ask without importing it.
//
// Frame records (8 bytes per frame of machine RAM, at jitTab):
//   u32 table index of the frame's function (0: none)
//   u16 heat (block heads the interpreter ran in it since the last compile)
//   u8  flags (FL_CODE: translated, TLB entries carry no write tag;
//              FL_BLOCKED: written too often while translated, left to the interpreter;
//              FL_PENDING: being translated in the background, interpreted meanwhile)
//   u8  times its code was invalidated

import { setAttention } from "./state";

export const FL_CODE: u8 = 1;
export const FL_BLOCKED: u8 = 2;
export const FL_PENDING: u8 = 4;
const MAX_INVALIDATIONS: u8 = 8;

export let jitOn: bool = false;
export let jitTab: usize = 0;
export let jitFrames: u32 = 0;
export let jitThreshold: u32 = 0;
let jitRam: usize = 0; // wasm offset of machine RAM (the MMU's ramHost)
export let jitInvalidations: u64 = 0;

export function jitSetup(tab: usize, frames: u32, ram: usize, threshold: u32, on: bool, exec: usize): void {
  jitTab = tab; jitFrames = frames; jitRam = ram; jitThreshold = threshold; jitOn = on && frames != 0; execMap = exec;
}

// The instructions the interpreter ran, a bit each, for EXEC_SLOTS frames
// (direct-mapped by frame number; a frame that takes a slot over starts
// with none): the translator follows the paths that ran rather than all
// its entries reach. At execMap: a u32 tag per slot (frame + 1; 0: free),
// then 128 bytes of bits per slot.
export const EXEC_SLOTS: u32 = 8192;
let execMap: usize = 0;
export function jitExecSlots(): u32 { return EXEC_SLOTS; }
@inline function execBits(f: u32): usize { return execMap + (<usize>EXEC_SLOTS << 2) + (<usize>(f & (EXEC_SLOTS - 1)) << 7); }
// The interpreter ran the instructions from `from` to `to` (addresses; to
// in a later page: to the end of from's page, where a straight line that
// ran on into the next page is marked) of the frame at host address `host`.
export function markRun(host: usize, from: u64, to: u64): void {
  if (execMap == 0 || host < jitRam) return;
  const f = <u32>((host - jitRam) >> 12);
  if (f >= jitFrames) return;
  const tag = execMap + (<usize>(f & (EXEC_SLOTS - 1)) << 2);
  const bits = execBits(f);
  // (Stores, not memory.fill: V8 makes that a call into C, and a call
  // costs this function spills of its arguments on every path.)
  if (load<u32>(tag) != f + 1) { store<u32>(tag, f + 1); for (let i: usize = 0; i < 128; i += 8) store<u64>(bits + i, 0); }
  // (A word at a time: a bit at a time cost the interpreter ~2.7 ns an
  // instruction.) Bit i of the map is bit i & 63 of little-endian word i >> 6.
  const a = (<u32>from & 0xFFF) >> 2, b = ((to >> 12) == (from >> 12) ? <u32>to & 0xFFF : <u32>0xFFC) >> 2;
  const wa = a >> 6, wb = b >> 6;
  const lo = ~(<u64>0) << <u64>(a & 63), hi = ~(<u64>0) >> <u64>(63 - (b & 63));
  if (wa == wb) { const p = bits + (<usize>wa << 3); store<u64>(p, load<u64>(p) | (lo & hi)); return; }
  let p = bits + (<usize>wa << 3);
  store<u64>(p, load<u64>(p) | lo);
  for (let w = wa + 1; w < wb; w++) store<u64>(bits + (<usize>w << 3), ~(<u64>0));
  p = bits + (<usize>wb << 3);
  store<u64>(p, load<u64>(p) | hi);
}
// Frame f's code changed: what ran there says nothing of what is there now.
@inline function forgetRuns(f: u32): void {
  if (execMap == 0) return;
  const tag = execMap + (<usize>(f & (EXEC_SLOTS - 1)) << 2);
  if (load<u32>(tag) == f + 1) store<u32>(tag, 0);
}

@inline function isCode(f: u32): bool {
  return f < jitFrames && (load<u8>(jitTab + (<usize>f << 3), 6) & FL_CODE) != 0;
}

// A TLB fill for `host` may carry a write tag only if its frame holds no
// translated code: a guest store to a code frame must take the slow path,
// which invalidates the code (see jitNoteGuestWrite).
@inline export function jitWritable(host: usize): bool {
  return !jitOn || host < jitRam || !isCode(<u32>((host - jitRam) >> 12));
}

// Invalidate translated code in frame f. The instruction that caused it must
// leave translated code (its own frame may be the one): attention does that.
export function jitInvalidateFrame(f: u32): void {
  forgetRuns(f);
  if (!isCode(f)) return;
  const rec = jitTab + (<usize>f << 3);
  store<u32>(rec, 0);
  const n = load<u8>(rec, 7);
  store<u8>(rec, n < 255 ? n + 1 : n, 7);
  store<u8>(rec, n + 1 >= MAX_INVALIDATIONS ? FL_BLOCKED : 0, 6);
  jitInvalidations++;
  setAttention(true);
}

// Host writes (hypervisor, backends, loaders) to [off, off+len) of machine
// RAM, off counted from the start of RAM.
export function jitNoteWrite(off: usize, len: usize): void {
  if (!jitOn || len == 0) return;
  const first = <u32>(off >> 12), last = <u32>((off + len - 1) >> 12);
  for (let f = first; f <= last && f < jitFrames; f++) jitInvalidateFrame(f);
}

// A guest store (or cache maintenance by VA) reached a host address.
@inline export function jitNoteGuestWrite(host: usize): void {
  if (jitOn && host >= jitRam) jitInvalidateFrame(<u32>((host - jitRam) >> 12));
}

// IC IALLU / IC IALLUIS: all translated code goes.
export function jitInvalidateAll(): void {
  if (!jitOn) return;
  for (let f: u32 = 0; f < jitFrames; f++) jitInvalidateFrame(f);
}
