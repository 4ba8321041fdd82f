// The control domain's view of guest-physical memory: copies across page
// boundaries, typed accessors, and allocators for the kernel's own pages
// (hypercall bounce buffers) and for the mapping window.

import type { GuestPhysMemory } from "./privcmd.js";

export class PhysMem {
  constructor(readonly mem: GuestPhysMemory) {}

  private page(ipa: bigint): Uint8Array {
    const p = this.mem.page(ipa & ~0xFFFn);
    if (!p) throw new Error(`guest-physical 0x${ipa.toString(16)} is not mapped`);
    return p;
  }
  // Up to len bytes at ipa, over pages contiguous in the host (reads ask
  // for no write access: reading a page must not count as writing it).
  private span(ipa: bigint, len: number, write: boolean): Uint8Array {
    const s = this.mem.span(ipa, len, write);
    if (!s) throw new Error(`guest-physical 0x${ipa.toString(16)} is not mapped${write ? " writable" : ""}`);
    return s;
  }
  read(ipa: bigint, len: number): Uint8Array {
    return this.readInto(ipa, new Uint8Array(len));
  }
  // Into a caller's buffer (hot paths reuse theirs).
  readInto(ipa: bigint, out: Uint8Array): Uint8Array {
    for (let done = 0; done < out.length;) {
      const s = this.span(ipa + BigInt(done), out.length - done, false);
      out.set(s, done);
      done += s.length;
    }
    return out;
  }
  write(ipa: bigint, data: Uint8Array): void {
    for (let done = 0; done < data.length;) {
      const s = this.span(ipa + BigInt(done), data.length - done, true);
      s.set(data.subarray(done, done + s.length));
      done += s.length;
    }
  }
  // len bytes at ipa, page span by page span, written by produce (a file
  // read straight into guest memory).
  writeWith(ipa: bigint, len: number, produce: (dst: Uint8Array) => void): void {
    for (let done = 0; done < len;) {
      const s = this.span(ipa + BigInt(done), len - done, true);
      produce(s);
      done += s.length;
    }
  }
  fill(ipa: bigint, len: number, v: number): void {
    for (let done = 0; done < len;) {
      const s = this.span(ipa + BigInt(done), len - done, true);
      s.fill(v);
      done += s.length;
    }
  }
  view(ipa: bigint): DataView {
    const p = this.page(ipa);
    return new DataView(p.buffer, p.byteOffset, p.byteLength);
  }
}

// First-fit allocator over a range of page-aligned addresses.
export class RangeAllocator {
  private free: { start: bigint; len: bigint }[];
  constructor(base: bigint, private readonly total: bigint) { this.free = [{ start: base, len: total }]; }
  // Bytes handed out and not yet released (accounting: a leak shows here).
  inUse(): bigint { return this.free.reduce((n, r) => n - r.len, this.total); }
  alloc(len: bigint, align = 4096n): bigint {
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i];
      const start = (r.start + align - 1n) & ~(align - 1n);
      const pad = start - r.start;
      if (r.len < pad + len) continue;
      const rest = r.len - pad - len;
      const pieces: { start: bigint; len: bigint }[] = [];
      if (pad > 0n) pieces.push({ start: r.start, len: pad });
      if (rest > 0n) pieces.push({ start: start + len, len: rest });
      this.free.splice(i, 1, ...pieces);
      return start;
    }
    throw new Error(`out of address space for ${len} bytes`);
  }
  release(start: bigint, len: bigint): void {
    this.free.push({ start, len });
    this.free.sort((a, b) => (a.start < b.start ? -1 : 1));
    const merged: { start: bigint; len: bigint }[] = [];
    for (const r of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.start + last.len === r.start) last.len += r.len;
      else merged.push({ ...r });
    }
    this.free = merged;
  }
}
