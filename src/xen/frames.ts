// Machine frame allocator: every 4 KiB frame of machine RAM has an owner (a
// domain, the hypervisor, or nobody) and a reference count for mappings by
// other domains (foreign and grant maps). A frame freed while mapped
// elsewhere is released when its last reference goes.

import type { Core } from "../cpu/cpu.js";

export const FRAME_SIZE = 4096;
export const OWNER_FREE = -1;
export const OWNER_XEN = -2;

export class OutOfFrames extends Error {}

export class FrameAllocator {
  readonly nframes: number;
  private readonly owner: Int32Array;
  private readonly refs: Uint16Array;
  private readonly zombie: Uint8Array; // freed by its owner, still referenced
  private readonly dirty: Uint8Array; // free but not yet scrubbed
  private toScrub: number[] = [];
  private freeList: number[] = [];
  private readonly counts = new Map<number, number>();
  freeCount: number;

  constructor(readonly core: Core) {
    this.nframes = core.ramSize / FRAME_SIZE;
    this.owner = new Int32Array(this.nframes).fill(OWNER_FREE);
    this.refs = new Uint16Array(this.nframes);
    this.zombie = new Uint8Array(this.nframes);
    this.dirty = new Uint8Array(this.nframes);
    // hand out high frames last so early allocations are compact
    for (let f = this.nframes - 1; f >= 0; f--) this.freeList.push(f);
    this.freeCount = this.nframes;
  }

  mfnOf(frame: number): bigint { return (this.core.ramBase >> 12n) + BigInt(frame); }
  frameOf(mfn: bigint): number {
    const f = Number(mfn - (this.core.ramBase >> 12n));
    if (f < 0 || f >= this.nframes) throw new RangeError(`mfn 0x${mfn.toString(16)} is not RAM`);
    return f;
  }
  isFrame(mfn: bigint): boolean {
    const f = mfn - (this.core.ramBase >> 12n);
    return f >= 0n && f < BigInt(this.nframes);
  }
  paOf(frame: number): bigint { return this.core.ramBase + BigInt(frame) * 4096n; }
  hostOf(frame: number): number { return this.core.ramHost + frame * FRAME_SIZE; }
  ownerOf(frame: number): number { return this.owner[frame]; }
  countOf(owner: number): number { return this.counts.get(owner) ?? 0; }

  // A freed frame's old contents are wiped before anyone can have it again
  // (here, at the latest), or earlier by scrub() while the machine is idle
  // — as Xen scrubs freed pages — so tearing a domain down is not held up
  // by zeroing all its memory.
  private take(frame: number, owner: number): void {
    if (this.dirty[frame]) this.wipe(frame);
    this.owner[frame] = owner;
    this.counts.set(owner, this.countOf(owner) + 1);
    this.freeCount--;
  }

  alloc(owner: number): number {
    const f = this.freeList.pop();
    if (f === undefined) throw new OutOfFrames("out of machine memory");
    this.take(f, owner);
    return f;
  }

  // n physically contiguous frames aligned to `align` frames (stage-2 roots).
  allocContiguous(owner: number, n: number, align: number): number {
    const free = new Set(this.freeList);
    for (let start = 0; start + n <= this.nframes; start += align) {
      let ok = true;
      for (let i = 0; i < n && ok; i++) ok = free.has(start + i);
      if (!ok) continue;
      const taken = new Set<number>();
      for (let i = 0; i < n; i++) { this.take(start + i, owner); taken.add(start + i); }
      this.freeList = this.freeList.filter((f) => !taken.has(f));
      return start;
    }
    throw new OutOfFrames(`no ${n} contiguous frames`);
  }

  // The owner gives a frame back: scrubbed and reusable, unless still mapped.
  free(frame: number): void {
    const o = this.owner[frame];
    if (o === OWNER_FREE) throw new Error(`double free of frame ${frame}`);
    this.counts.set(o, this.countOf(o) - 1);
    if (this.refs[frame] > 0) { this.zombie[frame] = 1; this.owner[frame] = OWNER_XEN; return; }
    this.release(frame);
  }

  private wipe(frame: number): void {
    const h = this.hostOf(frame);
    this.core.bytes.fill(0, h, h + FRAME_SIZE);
    this.dirty[frame] = 0;
  }

  // Wipe up to `n` free frames waiting for it; returns how many still wait.
  scrub(n: number): number {
    while (n > 0 && this.toScrub.length) {
      const f = this.toScrub.pop()!;
      if (this.dirty[f]) { this.wipe(f); n--; } // else taken and wiped meanwhile
    }
    return this.toScrub.length;
  }

  private release(frame: number): void {
    this.dirty[frame] = 1;
    this.toScrub.push(frame);
    this.owner[frame] = OWNER_FREE;
    this.zombie[frame] = 0;
    this.freeList.push(frame);
    this.freeCount++;
  }

  get(frame: number): void {
    if (this.refs[frame] === 0xFFFF) throw new Error("frame reference count overflow");
    this.refs[frame]++;
  }
  put(frame: number): void {
    if (this.refs[frame] === 0) throw new Error(`reference underflow on frame ${frame}`);
    this.refs[frame]--;
    if (this.refs[frame] === 0 && this.zombie[frame]) this.release(frame);
  }
  refsOf(frame: number): number { return this.refs[frame]; }
}
