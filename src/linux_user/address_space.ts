// A user process's address space: machine frames from a frame allocator,
// mapped by real ARMv8 stage-1 tables (4 KiB granule, 48-bit VA, TTBR0) that
// the core walks. Mappings are areas (like Linux VMAs) whose pages get a
// frame on first touch, so an 8 MiB stack or a large anonymous mmap costs only
// what is used. TypeScript keeps a page map beside the tables for fast copies
// in and out of user memory during system calls.

import type { Core } from "../cpu/cpu.js";

export const PAGE_SIZE = 4096;
export const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;

export class OutOfMemory extends Error {}

// Machine frames of the user-mode runner's RAM, reference counted so that
// forked processes can share pages nobody may write (program text).
export class FrameAllocator {
  private free: number[] = [];
  private next: number;
  private readonly end: number;
  private readonly refs: Uint16Array;
  used = 0;
  constructor(readonly core: Core) {
    this.next = 0;
    this.end = core.ramSize / PAGE_SIZE;
    this.refs = new Uint16Array(this.end);
  }
  // Returns a zeroed frame's index (machine PA = ramBase + index * 4096).
  alloc(): number {
    let f = this.free.pop();
    if (f === undefined) {
      if (this.next >= this.end) throw new OutOfMemory("out of machine memory");
      f = this.next++;
    } else {
      const off = this.core.ramHost + f * PAGE_SIZE;
      this.core.bytes.fill(0, off, off + PAGE_SIZE);
      this.core.noteWrite(off, PAGE_SIZE);
    }
    this.refs[f] = 1;
    this.used++;
    return f;
  }
  share(f: number): number { this.refs[f]++; return f; }
  shared(f: number): boolean { return this.refs[f] > 1; }
  release(f: number): void {
    if (--this.refs[f] > 0) return;
    this.free.push(f);
    this.used--;
  }
  pa(f: number): bigint { return this.core.ramBase + BigInt(f) * 4096n; }
  host(f: number): number { return this.core.ramHost + f * PAGE_SIZE; }
}

interface Page { frame: number; prot: number; }
// A mapped area [start, end) in virtual page numbers.
interface Area { start: number; end: number; prot: number; }

const DESC_TABLE = 3n;
const PTE_PAGE = 3n;
const PTE_AF = 1n << 10n;
const PTE_SH_INNER = 3n << 8n;
const PTE_AP_EL0 = 1n << 6n; // AP[1]: EL0 access
const PTE_AP_RO = 1n << 7n; // AP[2]: read-only
const PTE_PXN = 1n << 53n;
const PTE_UXN = 1n << 54n;
const PTE_NG = 1n << 11n;

export const USER_VA_END = 1n << 48n;

const vpnOf = (va: bigint): number => Number(va >> 12n);
const pagesIn = (len: number): number => Math.ceil(len / PAGE_SIZE);

export class AddressSpace {
  readonly root: number; // frame index of the level-0 table
  private readonly tables: number[] = []; // every table frame, for release
  readonly pages = new Map<number, Page>(); // virtual page number -> present page
  private areas: Area[] = []; // sorted by start, non-overlapping
  private flushHooks: (() => void)[] = [];

  constructor(readonly frames: FrameAllocator) {
    this.root = frames.alloc();
    this.tables.push(this.root);
  }

  get core(): Core { return this.frames.core; }
  onChange(hook: () => void): void { this.flushHooks.push(hook); }
  // The core's TLB holds only successful translations, so only removing or
  // narrowing a mapping needs a flush.
  private changed(): void { for (const h of this.flushHooks) h(); }

  private pte(vpn: number, create: boolean): number {
    // returns the wasm offset of the level-3 descriptor, or -1
    let table = this.root;
    const view = this.core.view;
    for (let level = 0; level < 3; level++) {
      const idx = Math.floor(vpn / 2 ** (27 - 9 * level)) % 512;
      const off = this.frames.host(table) + idx * 8;
      const d = view.getBigUint64(off, true);
      if ((d & 3n) !== 3n) {
        if (!create) return -1;
        const t = this.frames.alloc();
        this.tables.push(t);
        view.setBigUint64(off, this.frames.pa(t) | DESC_TABLE, true);
        table = t;
      } else {
        table = Number(((d & 0x0000FFFFFFFFF000n) - this.core.ramBase) / 4096n);
      }
    }
    return this.frames.host(table) + (vpn % 512) * 8;
  }

  private writePte(vpn: number, page: Page | undefined): void {
    const off = this.pte(vpn, page !== undefined);
    if (off < 0) return;
    let d = 0n;
    if (page && (page.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) {
      d = this.frames.pa(page.frame) | PTE_PAGE | PTE_AF | PTE_SH_INNER | PTE_AP_EL0 | PTE_PXN | PTE_NG;
      // a shared frame is mapped read-only even where the area allows writes
      if ((page.prot & PROT_WRITE) === 0 || this.frames.shared(page.frame)) d |= PTE_AP_RO;
      if ((page.prot & PROT_EXEC) === 0) d |= PTE_UXN;
    }
    this.core.view.setBigUint64(off, d, true);
  }

  private areaAt(vpn: number): Area | undefined {
    // areas are few (tens); a linear scan is fine
    for (const a of this.areas) {
      if (vpn < a.start) return undefined;
      if (vpn < a.end) return a;
    }
    return undefined;
  }

  // Remove [start, end) from the area list, splitting areas that straddle it.
  private cut(start: number, end: number): void {
    const out: Area[] = [];
    for (const a of this.areas) {
      if (a.end <= start || a.start >= end) { out.push(a); continue; }
      if (a.start < start) out.push({ start: a.start, end: start, prot: a.prot });
      if (a.end > end) out.push({ start: end, end: a.end, prot: a.prot });
    }
    this.areas = out;
  }

  private insert(area: Area): void {
    const i = this.areas.findIndex((a) => a.start > area.start);
    if (i < 0) this.areas.push(area); else this.areas.splice(i, 0, area);
  }

  private dropPages(start: number, end: number): boolean {
    let any = false;
    if (end - start > this.pages.size) {
      for (const [vpn, p] of this.pages) {
        if (vpn < start || vpn >= end) continue;
        this.frames.release(p.frame);
        this.pages.delete(vpn);
        this.writePte(vpn, undefined);
        any = true;
      }
      return any;
    }
    for (let v = start; v < end; v++) {
      const p = this.pages.get(v);
      if (!p) continue;
      this.frames.release(p.frame);
      this.pages.delete(v);
      this.writePte(v, undefined);
      any = true;
    }
    return any;
  }

  // Map zero-filled pages over [va, va+len) (page-aligned), replacing any.
  mapAnon(va: bigint, len: number, prot: number): void {
    const start = vpnOf(va), end = start + pagesIn(len);
    const dropped = this.dropPages(start, end);
    this.cut(start, end);
    this.insert({ start, end, prot });
    if (dropped) this.changed();
  }

  unmap(va: bigint, len: number): void {
    const start = vpnOf(va), end = start + pagesIn(len);
    this.dropPages(start, end);
    this.cut(start, end);
    this.changed();
  }

  protect(va: bigint, len: number, prot: number): boolean {
    const start = vpnOf(va), end = start + pagesIn(len);
    if (!this.isMapped(va, len)) return false;
    this.cut(start, end);
    this.insert({ start, end, prot });
    this.coalesce();
    const visit = (v: number, p: Page): void => {
      p.prot = prot;
      this.writePte(v, p);
    };
    if (end - start > this.pages.size) {
      for (const [v, p] of this.pages) if (v >= start && v < end) visit(v, p);
    } else {
      for (let v = start; v < end; v++) { const p = this.pages.get(v); if (p) visit(v, p); }
    }
    this.changed();
    return true;
  }

  private coalesce(): void {
    const out: Area[] = [];
    for (const a of this.areas) {
      const last = out[out.length - 1];
      if (last && last.end === a.start && last.prot === a.prot) last.end = a.end;
      else out.push({ ...a });
    }
    this.areas = out;
  }

  // True if any page of [va, va+len) is mapped.
  isMappedAny(va: bigint, len: number): boolean {
    const start = vpnOf(va), end = start + pagesIn(len);
    return this.areas.some((a) => a.start < end && a.end > start);
  }

  // Move the present pages of [from, from+len) to `to` (mremap); the caller
  // has mapped the destination and unmaps the source.
  move(from: bigint, to: bigint, len: number): void {
    const s = vpnOf(from), d = vpnOf(to), n = pagesIn(len);
    for (let i = 0; i < n; i++) {
      const p = this.pages.get(s + i);
      if (!p) continue;
      this.pages.delete(s + i);
      this.writePte(s + i, undefined);
      const old = this.pages.get(d + i);
      if (old) this.frames.release(old.frame);
      this.pages.set(d + i, p);
      this.writePte(d + i, p);
    }
    this.changed();
  }

  // The protection of the area holding `va` (0 if unmapped).
  protAt(va: bigint): number { return this.areaAt(vpnOf(va))?.prot ?? 0; }

  isMapped(va: bigint, len: number): boolean {
    let v = vpnOf(va);
    const last = vpnOf(va + BigInt(Math.max(len, 1)) - 1n);
    while (v <= last) {
      const a = this.areaAt(v);
      if (!a) return false;
      v = a.end;
    }
    return true;
  }

  // The highest free page-aligned range of `len` bytes within [bottom, top), or null.
  findFree(len: number, top: bigint, bottom: bigint): bigint | null {
    const n = pagesIn(len);
    let hi = vpnOf(top);
    const lo = vpnOf(bottom);
    for (let i = this.areas.length - 1; i >= -1; i--) {
      const a = i >= 0 ? this.areas[i] : undefined;
      if (a && a.start >= hi) continue;
      const gapLo = Math.max(a ? a.end : lo, lo);
      if (hi - gapLo >= n) return BigInt(hi - n) << 12n;
      if (a) hi = Math.min(hi, a.start);
      if (hi <= lo) break;
    }
    return null;
  }

  // Give a page its frame: on first touch, or a private copy of a shared frame
  // before a write. Returns the page, or null if no area allows `need`.
  private present(vpn: number, need: number, force: boolean): Page | null {
    let p = this.pages.get(vpn);
    if (!p) {
      const a = this.areaAt(vpn);
      if (!a || (!force && (a.prot & need) !== need)) return null;
      p = { frame: this.frames.alloc(), prot: a.prot };
      this.pages.set(vpn, p);
      this.writePte(vpn, p);
      return p;
    }
    if (!force && (p.prot & need) !== need) return null;
    if ((need & PROT_WRITE) !== 0 && this.frames.shared(p.frame)) {
      const f = this.frames.alloc();
      const src = this.frames.host(p.frame);
      this.core.bytes.copyWithin(this.frames.host(f), src, src + PAGE_SIZE);
      this.core.noteWrite(this.frames.host(f), PAGE_SIZE);
      this.frames.release(p.frame);
      p.frame = f;
      this.writePte(vpn, p);
      this.changed();
    }
    return p;
  }

  // A translation or permission fault at `va` that the address space can
  // resolve (first touch, or a write to a shared copy): true if resolved.
  fault(va: bigint, need: number): boolean {
    if (va >= USER_VA_END) return false;
    const vpn = vpnOf(va);
    const p = this.present(vpn, need, false);
    if (!p) return false;
    // present and allowed: the descriptor was stale (read-only while the
    // frame was shared), so rewrite it and retry the access
    this.writePte(vpn, p);
    this.changed();
    return true;
  }

  // Copy out of user memory; null if any byte is not readable.
  read(va: bigint, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = va + BigInt(done);
      if (a >= USER_VA_END) return null;
      const p = this.present(vpnOf(a), PROT_READ, false);
      if (!p) return null;
      const off = Number(a & 4095n);
      const n = Math.min(len - done, PAGE_SIZE - off);
      const h = this.frames.host(p.frame) + off;
      out.set(this.core.bytes.subarray(h, h + n), done);
      done += n;
    }
    return out;
  }
  // Writes ignore page protection only when `force` (the loader); otherwise need PROT_WRITE.
  write(va: bigint, data: Uint8Array, force = false): boolean {
    let done = 0;
    while (done < data.length) {
      const a = va + BigInt(done);
      if (a >= USER_VA_END) return false;
      const p = this.present(vpnOf(a), PROT_WRITE, force);
      if (!p) return false;
      const off = Number(a & 4095n);
      const n = Math.min(data.length - done, PAGE_SIZE - off);
      this.core.bytes.set(data.subarray(done, done + n), this.frames.host(p.frame) + off);
      this.core.noteWrite(this.frames.host(p.frame) + off, n);
      done += n;
    }
    return true;
  }
  // True if every byte of [va, va+len) could be written by the program.
  writable(va: bigint, len: number): boolean {
    let v = vpnOf(va);
    const last = vpnOf(va + BigInt(Math.max(len, 1)) - 1n);
    while (v <= last) {
      const a = this.areaAt(v);
      if (!a || (a.prot & PROT_WRITE) === 0) return false;
      v = a.end;
    }
    return true;
  }
  readCString(va: bigint, max = 4096): string | null {
    const bytes: number[] = [];
    let a = va;
    while (bytes.length < max) {
      const chunk = this.read(a, Math.min(PAGE_SIZE - Number(a & 4095n), max - bytes.length));
      if (!chunk) return null;
      const z = chunk.indexOf(0);
      if (z >= 0) {
        for (let i = 0; i < z; i++) bytes.push(chunk[i]);
        return Buffer.from(bytes).toString("utf8");
      }
      for (const b of chunk) bytes.push(b);
      a += BigInt(chunk.length);
    }
    return null;
  }

  // A copy of this address space (fork): writable pages duplicated, the
  // others shared until someone makes them writable.
  clone(): AddressSpace {
    const as = new AddressSpace(this.frames);
    as.areas = this.areas.map((a) => ({ ...a }));
    try {
      this.copyPagesInto(as);
    } catch (e) {
      as.release();
      throw e;
    }
    return as;
  }

  private copyPagesInto(as: AddressSpace): void {
    for (const [vpn, p] of this.pages) {
      let f: number;
      if ((p.prot & PROT_WRITE) !== 0) {
        f = this.frames.alloc();
        const src = this.frames.host(p.frame);
        this.core.bytes.copyWithin(this.frames.host(f), src, src + PAGE_SIZE);
      this.core.noteWrite(this.frames.host(f), PAGE_SIZE);
      } else f = this.frames.share(p.frame);
      const page = { frame: f, prot: p.prot };
      as.pages.set(vpn, page);
      as.writePte(vpn, page);
    }
  }

  release(): void {
    for (const p of this.pages.values()) this.frames.release(p.frame);
    this.pages.clear();
    this.areas = [];
    for (const t of this.tables) this.frames.release(t);
    this.tables.length = 0;
  }

  ttbr0(asid: number): bigint { return this.frames.pa(this.root) | (BigInt(asid & 0xFFFF) << 48n); }
}
