// Machine frames, as Xen's page_info keeps them: every 4 KiB frame of
// machine RAM has an owner, a kind fixed from allocation to free, and a
// reference count. The owner's allocation is one reference (Xen's
// PGC_allocated); every stage-2 entry that maps the frame holds one, every
// grant mapping holds one, and the hypervisor holds one for each guest page
// it keeps using across calls (FIFO event arrays, vcpu_info). A frame goes
// back to the allocator only when its last reference goes, and its old
// contents are wiped before anyone gets it again.

import type { Core } from "../cpu/cpu.js";

export const FRAME_SIZE = 4096;
export const OWNER_FREE = -1;
export const OWNER_XEN = -2; // hypervisor frames: stage-2 tables, shared_info, grant-table frames
export const OWNER_NONE = -3; // given up by its owner while still referenced elsewhere

// What a frame is. Only KIND_RAM and KIND_SHARED may ever be the output of a
// stage-2 leaf; a KIND_P2M frame is never guest memory.
export const KIND_FREE = 0;
export const KIND_RAM = 1; // a domain's memory
export const KIND_P2M = 2; // a stage-2 translation table
export const KIND_SHARED = 3; // hypervisor data a guest maps (shared_info, grant-table frames)
export const KIND_IOMMU = 4; // the SMMU's stream table and queues: never guest memory
export const KIND_NAMES = ["free", "ram", "p2m", "shared", "iommu"] as const;

export class OutOfFrames extends Error {}
// A broken reference-count rule: a hypervisor bug, never a guest's doing.
export class FrameError extends Error {}

const MAX_REFS = 0xFFFF_FFF0;

export class FrameAllocator {
  readonly nframes: number;
  private readonly owner: Int32Array;
  private readonly kinds: Uint8Array;
  private readonly refs: Uint32Array;
  private readonly allocated: Uint8Array; // the owner's allocation reference is held
  private readonly dirty: Uint8Array; // free but not yet scrubbed
  private readonly queued: Uint8Array; // in toScrub (once at most, however often it is freed)
  private toScrub: number[] = [];
  private freeList: number[] = [];
  private readonly counts = new Map<number, number>();
  freeCount: number;

  constructor(readonly core: Core) {
    this.nframes = core.ramSize / FRAME_SIZE;
    this.owner = new Int32Array(this.nframes).fill(OWNER_FREE);
    this.kinds = new Uint8Array(this.nframes);
    this.refs = new Uint32Array(this.nframes);
    this.allocated = new Uint8Array(this.nframes);
    this.dirty = new Uint8Array(this.nframes);
    this.queued = new Uint8Array(this.nframes);
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
  kindOf(frame: number): number { return this.kinds[frame]; }
  refsOf(frame: number): number { return this.refs[frame]; }
  isAllocated(frame: number): boolean { return this.allocated[frame] === 1; }
  countOf(owner: number): number { return this.counts.get(owner) ?? 0; }
  owners(): Map<number, number> { return new Map(this.counts); }
  isFreeListed(): Uint8Array {
    const m = new Uint8Array(this.nframes);
    for (const f of this.freeList) m[f]++;
    return m;
  }

  // A freed frame's old contents are wiped before anyone can have it again
  // (here, at the latest), or earlier by scrub() while the machine is idle
  // — as Xen scrubs freed pages — so tearing a domain down is not held up
  // by zeroing all its memory.
  private take(frame: number, owner: number, kind: number): void {
    if (this.dirty[frame]) this.wipe(frame);
    this.owner[frame] = owner;
    this.kinds[frame] = kind;
    this.refs[frame] = 1;
    this.allocated[frame] = 1;
    this.counts.set(owner, this.countOf(owner) + 1);
    this.freeCount--;
  }

  alloc(owner: number, kind: number): number {
    const f = this.freeList.pop();
    if (f === undefined) throw new OutOfFrames("out of machine memory");
    this.take(f, owner, kind);
    return f;
  }

  // n frames at once, all or none (a populate_physmap extent): the same
  // frames, in the same order, as n calls of alloc, with the owner's count
  // updated once.
  allocMany(owner: number, kind: number, n: number): number[] {
    if (n > this.freeList.length) throw new OutOfFrames("out of machine memory");
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const f = this.freeList.pop()!;
      if (this.dirty[f]) this.wipe(f);
      this.owner[f] = owner;
      this.kinds[f] = kind;
      this.refs[f] = 1;
      this.allocated[f] = 1;
      out[i] = f;
    }
    if (n > 0) this.counts.set(owner, this.countOf(owner) + n);
    this.freeCount -= n;
    return out;
  }

  // n physically contiguous frames aligned to `align` frames (stage-2 roots).
  // A frame is on the free list exactly when it has no owner. (Marking the
  // whole list and filtering it, 128 Ki frames for a 512 MiB machine, took
  // ~9 ms a root against ~2, in code V8 had not optimised yet.)
  allocContiguous(owner: number, kind: number, n: number, align: number): number {
    for (let start = 0; start + n <= this.nframes; start += align) {
      let ok = true;
      for (let i = 0; i < n && ok; i++) ok = this.owner[start + i] === OWNER_FREE;
      if (!ok) continue;
      // Off the free list: low frames are at its end (handed out first).
      let left = n;
      for (let j = this.freeList.length - 1; j >= 0 && left > 0; j--) {
        const f = this.freeList[j];
        if (f >= start && f < start + n) { this.freeList.splice(j, 1); left--; }
      }
      if (left !== 0) throw new FrameError(`frames ${start}..${start + n - 1} are free but not on the free list`);
      for (let i = 0; i < n; i++) this.take(start + i, owner, kind);
      return start;
    }
    throw new OutOfFrames(`no ${n} contiguous frames`);
  }

  // The owner gives the frame up (decrease_reservation, teardown): its
  // allocation reference goes; the frame is freed now or, if something
  // still maps it, when that reference goes.
  free(frame: number): void {
    if (!this.allocated[frame]) throw new FrameError(`frame ${frame} given up twice (owner ${this.owner[frame]}, kind ${KIND_NAMES[this.kinds[frame]]})`);
    const o = this.owner[frame];
    this.allocated[frame] = 0;
    this.counts.set(o, this.countOf(o) - 1);
    if (this.countOf(o) === 0) this.counts.delete(o);
    if (this.refs[frame] > 1) this.owner[frame] = OWNER_NONE;
    this.put(frame);
  }

  // Another reference to a frame in use; false (nothing taken) for a free
  // frame or at the limit of the count.
  get(frame: number): boolean {
    if (this.owner[frame] === OWNER_FREE || this.refs[frame] >= MAX_REFS) return false;
    this.refs[frame]++;
    return true;
  }
  put(frame: number): void {
    if (this.refs[frame] === 0) throw new FrameError(`reference underflow on frame ${frame}`);
    if (--this.refs[frame] === 0) {
      if (this.allocated[frame]) throw new FrameError(`frame ${frame} lost its allocation reference`);
      this.release(frame);
    }
  }

  private wipe(frame: number): void {
    const h = this.hostOf(frame);
    this.core.bytes.fill(0, h, h + FRAME_SIZE);
    this.core.noteWrite(h, FRAME_SIZE);
    this.dirty[frame] = 0;
  }

  // Wipe up to `n` free frames waiting for it; returns how many still wait.
  scrub(n: number): number {
    while (n > 0 && this.toScrub.length) {
      const f = this.toScrub.pop()!;
      this.queued[f] = 0;
      if (this.dirty[f]) { this.wipe(f); n--; } // else taken and wiped meanwhile
    }
    return this.toScrub.length;
  }

  private release(frame: number): void {
    this.dirty[frame] = 1;
    if (!this.queued[frame]) { this.queued[frame] = 1; this.toScrub.push(frame); }
    this.owner[frame] = OWNER_FREE;
    this.kinds[frame] = KIND_FREE;
    this.freeList.push(frame);
    this.freeCount++;
  }
}
