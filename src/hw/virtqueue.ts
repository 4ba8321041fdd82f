// A split virtqueue as the device side walks it (virtio 1.1, 2.6): the
// driver's descriptor table and available ring, the device's used ring, all
// in bus memory reached through the device's DMA space. A chain is read
// whole before any of it is used, and every index, length and address in it
// is checked: a driver that writes a loop, an index past the table or a
// buffer its domain cannot reach gets a queue error (the device then asks
// for a reset, as virtio's DEVICE_NEEDS_RESET says), never a host fault.
// One chain at a time, into arrays reused across requests.

import type { DmaSpace } from "./dma.js";
import { DMA_PAGE } from "./dma.js";

export const VIRTQ_DESC_F_NEXT = 1, VIRTQ_DESC_F_WRITE = 2, VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

export class VirtqueueError extends Error {}

const u16 = (p: Uint8Array, o: number): number => p[o] | (p[o + 1] << 8);
const u32 = (p: Uint8Array, o: number): number => (p[o] | (p[o + 1] << 8) | (p[o + 2] << 16) | (p[o + 3] << 24)) >>> 0;
function put16(p: Uint8Array, o: number, v: number): void { p[o] = v & 0xFF; p[o + 1] = (v >> 8) & 0xFF; }
function put32(p: Uint8Array, o: number, v: number): void { put16(p, o, v & 0xFFFF); put16(p, o + 2, (v >>> 16) & 0xFFFF); }

export class Virtqueue {
  // driver-written configuration (QueueNum, QueueDesc/Driver/Device, QueueReady)
  num = 0;
  ready = false;
  desc = 0;
  avail = 0;
  used = 0;
  // device state
  lastAvail = 0;
  usedIdx = 0;
  // the chain last popped: its head and its buffers, readable ones first
  head = 0;
  nSegs = 0;
  nReadable = 0;
  readonly segAddr: number[];
  readonly segLen: number[];
  readLen = 0;
  writeLen = 0;

  constructor(readonly maxSize: number, private readonly dma: () => DmaSpace) {
    this.segAddr = new Array<number>(maxSize).fill(0);
    this.segLen = new Array<number>(maxSize).fill(0);
  }

  reset(): void {
    this.num = 0; this.ready = false; this.desc = 0; this.avail = 0; this.used = 0;
    this.lastAvail = 0; this.usedIdx = 0; this.nSegs = 0;
  }

  // What QueueReady=1 checks: a size the device offers (a power of 2, as
  // split queues need) and areas aligned as the spec requires (so no field
  // of them crosses a page).
  check(): string | null {
    if (this.num === 0 || this.num > this.maxSize || (this.num & (this.num - 1)) !== 0) return `queue size ${this.num} (the device takes a power of 2 up to ${this.maxSize})`;
    if (this.desc % 16 || this.avail % 2 || this.used % 4) return "a ring area is misaligned";
    return null;
  }

  private page(addr: number, write: boolean): Uint8Array {
    const p = this.dma().page(addr - (addr % DMA_PAGE), write);
    if (!p) throw new VirtqueueError(`ring memory at 0x${addr.toString(16)} is not the owner's to reach`);
    return p;
  }
  private read16(addr: number): number { return u16(this.page(addr, false), addr % DMA_PAGE); }

  availFlags(): number { return this.read16(this.avail); }
  // Chains the driver has made available and the device has not taken.
  pending(): number {
    if (!this.ready) return 0;
    const n = (this.read16(this.avail + 2) - this.lastAvail) & 0xFFFF;
    if (n > this.num) throw new VirtqueueError(`the available index is ${n} ahead of the device, more than the queue's ${this.num} entries`);
    return n;
  }

  // Takes the next available chain into head/seg*; false if there is none.
  pop(): boolean {
    if (this.pending() === 0) return false;
    const slot = this.lastAvail % this.num;
    const head = this.read16(this.avail + 4 + 2 * slot);
    this.lastAvail = (this.lastAvail + 1) & 0xFFFF;
    if (head >= this.num) throw new VirtqueueError(`descriptor index ${head} is past the table's ${this.num}`);
    this.head = head;
    this.nSegs = 0; this.nReadable = 0; this.readLen = 0; this.writeLen = 0;
    let i = head;
    for (let count = 0; ; count++) {
      if (count >= this.num) throw new VirtqueueError("the descriptor chain loops");
      const a = this.desc + 16 * i;
      const p = this.page(a, false), o = a % DMA_PAGE;
      const addr = u32(p, o) + u32(p, o + 4) * 0x100000000;
      const len = u32(p, o + 8), flags = u16(p, o + 12), next = u16(p, o + 14);
      if (flags & VIRTQ_DESC_F_INDIRECT) throw new VirtqueueError("an indirect descriptor (not offered)");
      const write = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (!write && this.writeLen > 0) throw new VirtqueueError("a device-readable buffer after a writable one");
      if (addr + len > Number.MAX_SAFE_INTEGER) throw new VirtqueueError("a buffer past the bus address space");
      this.segAddr[this.nSegs] = addr;
      this.segLen[this.nSegs] = len;
      this.nSegs++;
      if (write) this.writeLen += len; else { this.readLen += len; this.nReadable++; }
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= this.num) throw new VirtqueueError(`descriptor index ${next} is past the table's ${this.num}`);
      i = next;
    }
    return true;
  }

  // Calls fn(page, offset, length, at) for bytes [start, start + count) of
  // the popped chain's readable (or writable) part, piece by piece, each
  // piece within one page; `at` counts from `start`. Stops with false at a
  // page the owner cannot reach (or when fn says false).
  walk(writable: boolean, start: number, count: number, fn: (page: Uint8Array, off: number, len: number, at: number) => boolean): boolean {
    const dma = this.dma();
    let pos = 0, at = 0;
    const first = writable ? this.nReadable : 0, last = writable ? this.nSegs : this.nReadable;
    for (let s = first; s < last && at < count; s++) {
      const segLen = this.segLen[s];
      if (pos + segLen <= start) { pos += segLen; continue; }
      let skip = Math.max(0, start - pos);
      pos += segLen;
      while (skip < segLen && at < count) {
        const addr = this.segAddr[s] + skip;
        const off = addr % DMA_PAGE;
        const n = Math.min(segLen - skip, DMA_PAGE - off, count - at);
        const p = dma.page(addr - off, writable);
        if (!p || !fn(p, off, n, at)) return false;
        skip += n; at += n;
      }
    }
    return at === count;
  }

  // Returns chain `head` to the driver with `len` bytes written into it.
  push(head: number, len: number): void {
    const e = this.used + 4 + 8 * (this.usedIdx % this.num);
    // two 4-aligned words: an element may straddle a page, a word never does
    put32(this.page(e, true), e % DMA_PAGE, head);
    put32(this.page(e + 4, true), (e + 4) % DMA_PAGE, len);
    this.usedIdx = (this.usedIdx + 1) & 0xFFFF;
    put16(this.page(this.used + 2, true), (this.used + 2) % DMA_PAGE, this.usedIdx);
  }

  // Whether the driver wants an interrupt for used buffers (no EVENT_IDX).
  wantsInterrupt(): boolean { return (this.availFlags() & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0; }
}
