// A user process's address space: machine frames from a frame allocator,
// mapped by real ARMv8 stage-1 tables (4 KiB granule, 48-bit VA, TTBR0) that
// the core walks. TypeScript keeps a page map beside the tables for fast
// copies in and out of user memory during system calls.

import type { Core } from "../cpu/cpu.js";

export const PAGE_SIZE = 4096;
export const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;

export class OutOfMemory extends Error {}

// Machine frames of the user-mode runner's RAM.
export class FrameAllocator {
  private free: number[] = [];
  private next: number;
  private readonly end: number;
  used = 0;
  constructor(readonly core: Core) {
    this.next = 0;
    this.end = core.ramSize / PAGE_SIZE;
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
    }
    this.used++;
    return f;
  }
  release(f: number): void { this.free.push(f); this.used--; }
  pa(f: number): bigint { return this.core.ramBase + BigInt(f) * 4096n; }
  host(f: number): number { return this.core.ramHost + f * PAGE_SIZE; }
}

interface Page { frame: number; prot: number; }

const DESC_TABLE = 3n;
const PTE_PAGE = 3n;
const PTE_AF = 1n << 10n;
const PTE_SH_INNER = 3n << 8n;
const PTE_AP_EL0 = 1n << 6n; // AP[1]: EL0 access
const PTE_AP_RO = 1n << 7n; // AP[2]: read-only
const PTE_PXN = 1n << 53n;
const PTE_UXN = 1n << 54n;
const PTE_NG = 1n << 11n;

export class AddressSpace {
  readonly root: number; // frame index of the level-0 table
  private readonly tables: number[] = []; // every table frame, for release
  readonly pages = new Map<number, Page>(); // virtual page number -> page
  private flushHooks: (() => void)[] = [];

  constructor(readonly frames: FrameAllocator) {
    this.root = frames.alloc();
    this.tables.push(this.root);
  }

  get core(): Core { return this.frames.core; }
  onChange(hook: () => void): void { this.flushHooks.push(hook); }
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
      if ((page.prot & PROT_WRITE) === 0) d |= PTE_AP_RO;
      if ((page.prot & PROT_EXEC) === 0) d |= PTE_UXN;
    }
    this.core.view.setBigUint64(off, d, true);
  }

  // Map fresh zeroed pages over [va, va+len) (page-aligned), replacing any.
  mapAnon(va: bigint, len: number, prot: number): void {
    const first = Number(va / 4096n), n = Math.ceil(len / PAGE_SIZE);
    for (let i = 0; i < n; i++) {
      const vpn = first + i;
      const old = this.pages.get(vpn);
      if (old) this.frames.release(old.frame);
      const page = { frame: this.frames.alloc(), prot };
      this.pages.set(vpn, page);
      this.writePte(vpn, page);
    }
    this.changed();
  }

  unmap(va: bigint, len: number): void {
    const first = Number(va / 4096n), n = Math.ceil(len / PAGE_SIZE);
    for (let i = 0; i < n; i++) {
      const p = this.pages.get(first + i);
      if (!p) continue;
      this.frames.release(p.frame);
      this.pages.delete(first + i);
      this.writePte(first + i, undefined);
    }
    this.changed();
  }

  protect(va: bigint, len: number, prot: number): boolean {
    const first = Number(va / 4096n), n = Math.ceil(len / PAGE_SIZE);
    for (let i = 0; i < n; i++) if (!this.pages.has(first + i)) return false;
    for (let i = 0; i < n; i++) {
      const p = this.pages.get(first + i)!;
      p.prot = prot;
      this.writePte(first + i, p);
    }
    this.changed();
    return true;
  }

  isMapped(va: bigint, len: number): boolean {
    const first = Number(va / 4096n), last = Number((va + BigInt(Math.max(len, 1)) - 1n) / 4096n);
    for (let v = first; v <= last; v++) if (!this.pages.has(v)) return false;
    return true;
  }

  // Copy in and out of user memory; throws EFAULT-worthy errors as null.
  read(va: bigint, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = va + BigInt(done);
      const p = this.pages.get(Number(a / 4096n));
      if (!p || (p.prot & PROT_READ) === 0) return null;
      const off = Number(a % 4096n);
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
      const p = this.pages.get(Number(a / 4096n));
      if (!p || (!force && (p.prot & PROT_WRITE) === 0)) return false;
      const off = Number(a % 4096n);
      const n = Math.min(data.length - done, PAGE_SIZE - off);
      this.core.bytes.set(data.subarray(done, done + n), this.frames.host(p.frame) + off);
      done += n;
    }
    return true;
  }
  readCString(va: bigint, max = 4096): string | null {
    const bytes: number[] = [];
    for (let i = 0; i < max; i++) {
      const b = this.read(va + BigInt(i), 1);
      if (!b) return null;
      if (b[0] === 0) return Buffer.from(bytes).toString("utf8");
      bytes.push(b[0]);
    }
    return null;
  }

  // A copy of this address space (fork): every page duplicated.
  clone(): AddressSpace {
    const as = new AddressSpace(this.frames);
    for (const [vpn, p] of this.pages) {
      const f = this.frames.alloc();
      const src = this.frames.host(p.frame), dst = this.frames.host(f);
      this.core.bytes.copyWithin(dst, src, src + PAGE_SIZE);
      const page = { frame: f, prot: p.prot };
      as.pages.set(vpn, page);
      as.writePte(vpn, page);
    }
    return as;
  }

  release(): void {
    for (const p of this.pages.values()) this.frames.release(p.frame);
    this.pages.clear();
    for (const t of this.tables) this.frames.release(t);
    this.tables.length = 0;
  }

  ttbr0(asid: number): bigint { return this.frames.pa(this.root) | (BigInt(asid & 0xFFFF) << 48n); }
}
