// The p2m: a domain's guest-physical to machine mapping, kept as real ARMv8
// stage-2 tables (4 KiB granule, 40-bit IPA, start level 1 with two
// concatenated root tables) that the core walks, plus arrays beside them for
// the hypervisor's lookups, a level-3 table's 512 gfns to a block (a Map
// with an object per page made populating 256 MiB, and the foreign mappings
// a build writes the kernel through, ~30 ms slower). Entries carry a type
// that says where the frame came from; every entry holds a reference on its
// frame (frames.ts), so a frame can never be freed while a stage-2 table
// still points at it.
//
// Tables come from the domain's p2m pool, as on Xen since XSA-409: the
// toolstack sizes it (XEN_DOMCTL_set_paging_mempool_size), so what a guest
// can make the hypervisor allocate for its tables is bounded. The control
// domain's tables come from the heap without a limit, as Xen's hardware
// domain's do.

import { FrameAllocator, FrameError, OutOfFrames, OWNER_XEN, KIND_P2M, KIND_RAM, KIND_SHARED } from "./frames.js";
import { XEN_E } from "./public/xen.js";

export const P2M_IPA_BITS = 40;
export const P2M_MAX_GFN = 2 ** (P2M_IPA_BITS - 12);
// VTCR_EL2: T0SZ = 64 - 40, SL0 = 1 (start at level 1), 4 KiB granule
export const VTCR_VALUE = BigInt(64 - P2M_IPA_BITS) | (1n << 6n);
// What Xen puts in a new domain's pool before the toolstack sizes it.
export const P2M_POOL_INITIAL_PAGES = 16;

export type P2mType =
  | "ram" // the domain's own memory
  | "foreign" // another domain's frame mapped by a privileged domain
  | "grant" // another domain's frame mapped through its grant table
  | "grant_ro"
  | "xen"; // a hypervisor-owned frame shared with the guest

export interface P2mEntry { frame: number; type: P2mType; }

// Types as stored: 0 is no entry (TYPES[0] is never read).
const TYPES: readonly P2mType[] = ["ram", "ram", "foreign", "grant", "grant_ro", "xen"];
const TYPE_CODE: Readonly<Record<P2mType, number>> = { ram: 1, foreign: 2, grant: 3, grant_ro: 4, xen: 5 };
const T_RAM = 1, T_GRANT_RO = 4;
const RAM: P2mEntry = { frame: 0, type: "ram" }; // (for its attributes, which do not depend on the frame)

// The entries of 512 consecutive gfns (gfn >> 9): frame, type, how many.
interface Block { frames: Int32Array; types: Uint8Array; count: number }

export const S2_VALID_PAGE = 3n;
export const S2_AF = 1n << 10n;
const S2_SH_INNER = 3n << 8n;
export const S2_RD = 1n << 6n;
export const S2_WR = 1n << 7n;
const S2_MEMATTR_NORMAL_WB = 0xFn << 2n;
export const S2_XN = 1n << 54n;
export const S2_OA_MASK = 0x0000FFFFFFFFF000n;

const ATTRS_LO = Number(S2_VALID_PAGE | S2_AF | S2_SH_INNER | S2_MEMATTR_NORMAL_WB | S2_RD);
const WR_LO = Number(S2_WR);
const XN_HI = Number(S2_XN >> 32n);

export function writableType(t: P2mType): boolean { return t !== "grant_ro"; }

export class P2m {
  readonly root: number; // first of two contiguous frames
  private readonly tables = new Map<number, number>(); // table frame -> live descriptors in it
  private readonly blocks = new Map<number, Block>(); // gfn >> 9 -> its entries (none empty)
  private lastKey = -1; // the block looked up last (runs of pages, a guest's hot pages)
  private lastBlock: Block | null = null;
  private count = 0; // entries
  generation = 0; // changes whenever an entry is added or removed (what is mapped where)
  logDirty = false;
  readonly dirty = new Set<number>(); // gfns written since the last clean
  private readonly view: DataView;
  private readonly pool: number[] = []; // free table frames of a limited pool
  private poolTotal = 0; // frames in the pool, free or in use (limited pools)

  // Descriptors are read and written as 32-bit halves with the frame
  // numbers as plain numbers (a BigInt per operation made mapping a 256 MiB
  // guest's RAM page by page take ~100 ms): RAM's first page number, and
  // the frame count for the range check frameOf makes.
  private readonly ramPage: number;
  private readonly nframes: number;

  constructor(readonly frames: FrameAllocator, readonly domid: number, readonly vmid: number,
    private readonly onChange: () => void, readonly limited: boolean) {
    this.root = frames.allocContiguous(OWNER_XEN, KIND_P2M, 2, 2);
    this.tables.set(this.root, 0).set(this.root + 1, 0);
    this.view = frames.core.view;
    this.ramPage = Number(frames.core.ramBase >> 12n);
    this.nframes = frames.nframes;
    if (limited) this.setPoolPages(P2M_POOL_INITIAL_PAGES);
  }

  // The table frame a valid table descriptor at host offset `off` points
  // to, or -1 if it is not a valid table descriptor.
  private tableAt(off: number): number {
    const lo = this.view.getUint32(off, true);
    if ((lo & 3) !== 3) return -1;
    const hi = this.view.getUint32(off + 4, true) & 0xFFFF; // OA bits 47:32
    const f = hi * 0x100000 + (lo >>> 12) - this.ramPage;
    if (f < 0 || f >= this.nframes) throw new RangeError(`d${this.domid}: a stage-2 table descriptor points outside RAM (page 0x${(f + this.ramPage).toString(16)})`);
    return f;
  }
  // Writes a descriptor for the page of `frame` with the given attribute halves.
  private putDesc(off: number, frame: number, attrLo: number, attrHi: number): void {
    const page = this.ramPage + frame;
    this.view.setUint32(off, (((page % 0x100000) * 4096) | attrLo) >>> 0, true);
    this.view.setUint32(off + 4, (Math.floor(page / 0x100000) | attrHi) >>> 0, true);
  }

  private clearDesc(off: number): void {
    this.view.setUint32(off, 0, true);
    this.view.setUint32(off + 4, 0, true);
  }

  vttbr(): bigint { return this.frames.paOf(this.root) | (BigInt(this.vmid & 0xFF) << 48n); }

  // ---- the pool
  poolPages(): number { return this.limited ? this.poolTotal : this.tables.size - 2; }
  // Grow or shrink a limited pool to n pages; -ENOMEM when the host has no
  // more memory or the tables in use do not leave that many to give back.
  setPoolPages(n: number): number {
    if (!this.limited) return 0;
    while (this.poolTotal < n) {
      try { this.pool.push(this.frames.alloc(OWNER_XEN, KIND_P2M)); } catch (e) { if (e instanceof OutOfFrames) return -XEN_E.ENOMEM; throw e; }
      this.poolTotal++;
    }
    while (this.poolTotal > n) {
      const f = this.pool.pop();
      if (f === undefined) return -XEN_E.ENOMEM;
      this.frames.free(f);
      this.poolTotal--;
    }
    return 0;
  }
  private newTable(): number {
    const t = this.limited ? this.pool.pop()! : this.frames.alloc(OWNER_XEN, KIND_P2M);
    this.tables.set(t, 0);
    return t;
  }
  private dropTable(t: number): void {
    this.l3Key = -1;
    this.tables.delete(t);
    if (this.limited) this.pool.push(t); // empty: every descriptor was cleared before its count reached 0
    else this.frames.free(t);
  }
  // Tables a new entry at gfn would need (0, 1 or 2).
  private tablesNeeded(gfn: number): number {
    if (Math.floor(gfn / 512) === this.l3Key) return 0;
    const l1 = Math.floor(gfn / 2 ** 18) & 1023;
    const l2 = this.tableAt(this.frames.hostOf(this.root) + l1 * 8);
    if (l2 < 0) return 2;
    return this.tableAt(this.frames.hostOf(l2) + (Math.floor(gfn / 512) & 511) * 8) < 0 ? 1 : 0;
  }

  // The walk to a level-3 descriptor; the tables it passed through are left
  // in pathOff/pathTable so that writeDesc can keep their use counts.
  private readonly pathOff = [0, 0, 0]; // descriptor offsets at levels 1..3
  private readonly pathTable = [0, 0]; // level-2 and level-3 table frames
  private pathRoot = 0; // the root frame the walk started in

  // The last walk that reached a level-3 table, by its gfn >> 9 (-1: none):
  // a run of pages in one table (populating RAM, filling a mapping window)
  // walks once, not twice a page. Dropping any table forgets it.
  private l3Key = -1;
  private l3Off = 0; // host offset of that table's first descriptor
  private readonly l3Path = [0, 0, 0, 0, 0]; // pathOff[0], pathOff[1], pathRoot, pathTable[0], pathTable[1]

  private descAddr(gfn: number, create: boolean): number {
    const key = Math.floor(gfn / 512);
    if (key === this.l3Key) {
      const c = this.l3Path;
      this.pathOff[0] = c[0]; this.pathOff[1] = c[1]; this.pathRoot = c[2];
      this.pathTable[0] = c[3]; this.pathTable[1] = c[4];
      return (this.pathOff[2] = this.l3Off + (gfn & 511) * 8);
    }
    // level 1: IPA bits 39:30 (10 bits over the two root frames)
    const l1 = Math.floor(gfn / 2 ** 18) & 1023;
    let off = this.frames.hostOf(this.root) + l1 * 8;
    this.pathOff[0] = off;
    this.pathRoot = this.root + (l1 >> 9);
    for (let level = 2; level <= 3; level++) {
      let table = this.tableAt(off);
      if (table < 0) {
        if (!create) return -1;
        table = this.newTable();
        const parent = level === 3 ? this.pathTable[0] : this.pathRoot;
        this.tables.set(parent, this.tables.get(parent)! + 1);
        this.putDesc(off, table, 3, 0);
      }
      this.pathTable[level - 2] = table;
      const idx = level === 2 ? Math.floor(gfn / 512) & 511 : gfn & 511;
      off = this.frames.hostOf(table) + idx * 8;
      this.pathOff[level - 1] = off;
    }
    const c = this.l3Path;
    c[0] = this.pathOff[0]; c[1] = this.pathOff[1]; c[2] = this.pathRoot; c[3] = this.pathTable[0]; c[4] = this.pathTable[1];
    this.l3Key = key;
    this.l3Off = this.frames.hostOf(this.pathTable[1]);
    return off;
  }

  // The attribute bits of the stage-2 page descriptor an entry gets, as
  // 32-bit halves (log-dirty takes write access away from RAM pages not yet
  // written since the last clean). The audit checks the tables with them.
  descriptorAttrs(gfn: number, e: P2mEntry): { lo: number; hi: number } {
    this.attrs.lo = ATTRS_LO | (this.writable(gfn, e) ? WR_LO : 0);
    this.attrs.hi = e.type !== "ram" ? XN_HI : 0;
    return this.attrs;
  }
  private writable(gfn: number, e: P2mEntry): boolean {
    return writableType(e.type) && !(e.type === "ram" && this.logDirty && !this.dirty.has(gfn));
  }
  private readonly attrs = { lo: 0, hi: 0 };

  private writeDesc(gfn: number, e: P2mEntry | undefined): void {
    const off = this.descAddr(gfn, e !== undefined);
    if (off < 0) return;
    const was = (this.view.getUint32(off, true) | this.view.getUint32(off + 4, true)) !== 0;
    if (e) {
      const a = this.descriptorAttrs(gfn, e);
      this.putDesc(off, e.frame, a.lo, a.hi);
    } else this.clearDesc(off);
    const l3 = this.pathTable[1];
    if (!was && e) this.tables.set(l3, this.tables.get(l3)! + 1);
    else if (was && !e) this.release(l3, 2);
  }

  // One fewer live descriptor in the table at `level`+1 (a level-3 table is
  // released at level 2): an empty table goes back to the pool and its
  // parent descriptor is cleared, so tables never outlive what they map. The
  // caller's onChange() flushes the stage-2 TLB.
  private release(table: number, parentLevel: number): void {
    const n = this.tables.get(table)! - 1;
    if (n > 0) { this.tables.set(table, n); return; }
    this.clearDesc(this.pathOff[parentLevel - 1]);
    this.dropTable(table);
    if (parentLevel === 2) this.release(this.pathTable[0], 1);
    else this.tables.set(this.pathRoot, this.tables.get(this.pathRoot)! - 1); // roots stay
  }

  // Map gfn (which must be empty) to a frame, taking a reference on it.
  // Returns 0, -EINVAL for a gfn outside the IPA space, or -ENOMEM when the
  // pool has no table for it.
  set(gfn: number, e: P2mEntry): number {
    if (!Number.isInteger(gfn) || gfn < 0 || gfn >= P2M_MAX_GFN) return -XEN_E.EINVAL;
    if (this.has(gfn)) throw new FrameError(`d${this.domid}: gfn 0x${gfn.toString(16)} is already mapped`);
    const kind = this.frames.kindOf(e.frame);
    // a foreign entry may also be another domain's grant-table frame (acquire_resource)
    if (kind !== (e.type === "xen" ? KIND_SHARED : KIND_RAM) && !(e.type === "foreign" && kind === KIND_SHARED)) throw new FrameError(`d${this.domid}: a ${e.type} mapping of a frame of kind ${kind}`);
    if (e.type === "ram" && this.frames.ownerOf(e.frame) !== this.domid) throw new FrameError(`d${this.domid}: RAM frame ${e.frame} belongs to ${this.frames.ownerOf(e.frame)}`);
    const need = this.tablesNeeded(gfn);
    if (need > (this.limited ? this.pool.length : this.frames.freeCount)) return -XEN_E.ENOMEM;
    if (!this.frames.get(e.frame)) return -XEN_E.ENOMEM;
    this.store(gfn, e.frame, TYPE_CODE[e.type]);
    this.generation++;
    this.writeDesc(gfn, e);
    // no TLB flush: the gfn was empty, and the core caches only translations
    // that succeeded (as hardware may not cache a translation fault either)
    return 0;
  }

  // Maps the unmapped gfns of [gfn, gfn + n), in order, to RAM frames of
  // this domain that alloc(count) hands over, or refuses (null): a
  // populate_physmap extent. Gfns already mapped stay as they are. All or
  // nothing: the range and the tables it needs are checked before alloc is
  // asked, so -EINVAL or -ENOMEM leaves everything as it was (page by page,
  // a pool that ran dry mid-extent left part of it mapped). Each level-3
  // table is walked to once, not per page, and one that is absent or holds
  // no descriptor maps nothing, so its gfns need no lookup in the map (the
  // lookups were a third of the time of populating a new domain).
  setRam(gfn: number, n: number, alloc: (count: number) => readonly number[] | null): number {
    if (!Number.isInteger(gfn) || !Number.isInteger(n) || gfn < 0 || n < 1 || gfn + n > P2M_MAX_GFN) return -XEN_E.EINVAL;
    const end = gfn + n;
    const root = this.frames.hostOf(this.root);
    let missing = 0, need = 0, l1Seen = -1, l2 = -1;
    for (let g = gfn; g < end;) {
      const stop = Math.min(end, (Math.floor(g / 512) + 1) * 512); // the end of this level-3 table's range
      const l1 = Math.floor(g / 2 ** 18) & 1023;
      if (l1 !== l1Seen) {
        l1Seen = l1;
        l2 = this.tableAt(root + l1 * 8);
        if (l2 < 0) need++;
      }
      if (l2 < 0 || this.tableAt(this.frames.hostOf(l2) + (Math.floor(g / 512) & 511) * 8) < 0) {
        need++;
        missing += stop - g;
        g = stop;
      } else {
        const b = this.blocks.get(Math.floor(g / 512));
        if (!b) { missing += stop - g; g = stop; } else for (; g < stop; g++) if (b.types[g & 511] === 0) missing++;
      }
    }
    if (missing === 0) return 0;
    // an unlimited pool's tables come from the heap the frames come from
    if (need > (this.limited ? this.pool.length : this.frames.freeCount - missing)) return -XEN_E.ENOMEM;
    const fs = alloc(missing);
    if (fs === null) return -XEN_E.ENOMEM;
    if (fs.length !== missing) throw new FrameError(`d${this.domid}: ${fs.length} frames for ${missing} gfns`);
    for (const f of fs) {
      if (this.frames.kindOf(f) !== KIND_RAM || this.frames.ownerOf(f) !== this.domid) throw new FrameError(`d${this.domid}: frame ${f} is not this domain's RAM`);
    }
    let i = 0;
    for (let g = gfn; g < end;) {
      const stop = Math.min(end, (Math.floor(g / 512) + 1) * 512);
      const off0 = this.descAddr(g, true) - (g & 511) * 8; // the table's first descriptor
      const l3 = this.pathTable[1];
      const b = this.blockFor(g);
      let added = 0;
      for (; g < stop; g++) {
        const j = g & 511;
        if (b.types[j] !== 0) continue;
        const frame = fs[i++];
        if (!this.frames.get(frame)) throw new FrameError(`d${this.domid}: no reference on new frame ${frame}`);
        b.frames[j] = frame;
        b.types[j] = T_RAM;
        b.count++;
        this.count++;
        const off = off0 + j * 8;
        if ((this.view.getUint32(off, true) | this.view.getUint32(off + 4, true)) === 0) added++;
        const a = this.descriptorAttrs(g, RAM);
        this.putDesc(off, frame, a.lo, a.hi);
      }
      this.tables.set(l3, this.tables.get(l3)! + added);
    }
    this.generation += missing;
    return 0; // no TLB flush, as in set()
  }

  // Removes the mapping, drops its reference and returns what was there.
  remove(gfn: number): P2mEntry | undefined {
    const e = this.get(gfn);
    if (!e) return undefined;
    this.erase(gfn);
    this.generation++;
    if (this.dirty.delete(gfn)) { /* a page that is gone is not dirty */ }
    this.writeDesc(gfn, undefined);
    this.changed();
    this.frames.put(e.frame);
    return e;
  }

  // Runs f with the TLB flushes its removals need made once, at its end
  // (a foreign-mapping batch that replaces a window's 1024 pages flushed
  // 1024 times). Only for work no vCPU runs in the middle of: a hypercall.
  batched<R>(f: () => R): R {
    this.deferred++;
    try { return f(); } finally {
      if (--this.deferred === 0 && this.flushOwed) { this.flushOwed = false; this.onChange(); }
    }
  }
  private deferred = 0;
  private flushOwed = false;
  private changed(): void {
    if (this.deferred > 0) this.flushOwed = true;
    else this.onChange();
  }

  get(gfn: number): P2mEntry | undefined {
    const b = this.block(gfn);
    const t = b ? b.types[gfn & 511] : 0;
    return t === 0 ? undefined : { frame: b!.frames[gfn & 511], type: TYPES[t] };
  }
  has(gfn: number): boolean {
    const b = this.block(gfn);
    return b !== null && b.types[gfn & 511] !== 0;
  }
  // The same as get()'s type and frame, without an object (grant copies,
  // foreign-map batches, log-dirty faults: per request or per page).
  typeAt(gfn: number): P2mType | undefined {
    const b = this.block(gfn);
    const t = b ? b.types[gfn & 511] : 0;
    return t === 0 ? undefined : TYPES[t];
  }
  frameAt(gfn: number): number {
    const b = this.block(gfn);
    return b !== null && b.types[gfn & 511] !== 0 ? b.frames[gfn & 511] : -1;
  }
  // Entries (a teardown's, the audit's count).
  get size(): number { return this.count; }
  // Every entry, in gfn order.
  *entries(): Generator<[number, P2mEntry]> {
    for (const key of [...this.blocks.keys()].sort((a, b) => a - b)) {
      const b = this.blocks.get(key);
      if (b) for (let i = 0; i < 512; i++) if (b.types[i] !== 0) yield [key * 512 + i, { frame: b.frames[i], type: TYPES[b.types[i]] }];
    }
  }
  // The highest gfn mapped (0 if none: XENMEM_maximum_gpfn's answer).
  maxGfn(): number {
    let key = -1;
    for (const k of this.blocks.keys()) if (k > key) key = k;
    const b = this.blocks.get(key);
    if (!b) return 0;
    let i = 511;
    while (i > 0 && b.types[i] === 0) i--;
    return key * 512 + i;
  }

  // The block of gfn's entries, or null if it has none.
  private block(gfn: number): Block | null {
    const key = Math.floor(gfn / 512);
    if (key !== this.lastKey) { this.lastKey = key; this.lastBlock = this.blocks.get(key) ?? null; }
    return this.lastBlock;
  }
  // The same, made if it is not there.
  private blockFor(gfn: number): Block {
    let b = this.block(gfn);
    if (!b) {
      b = { frames: new Int32Array(512), types: new Uint8Array(512), count: 0 };
      this.blocks.set(this.lastKey, b);
      this.lastBlock = b;
    }
    return b;
  }
  private store(gfn: number, frame: number, type: number): void {
    const b = this.blockFor(gfn), i = gfn & 511;
    if (b.types[i] === 0) { b.count++; this.count++; }
    b.frames[i] = frame;
    b.types[i] = type;
  }
  private erase(gfn: number): void {
    const b = this.block(gfn), i = gfn & 511;
    if (!b || b.types[i] === 0) return;
    b.types[i] = 0;
    this.count--;
    if (--b.count === 0) { this.blocks.delete(this.lastKey); this.lastBlock = null; }
  }

  // Host (wasm) offset of a guest-physical address, or -1 if not mapped.
  hostAddr(ipa: bigint, write: boolean): number {
    const gfn = Number(ipa >> 12n);
    const b = this.block(gfn), i = gfn & 511;
    const t = b ? b.types[i] : 0;
    if (t === 0 || (write && t === T_GRANT_RO)) return -1;
    if (write && this.logDirty) this.markDirty(gfn);
    return this.frames.hostOf(b!.frames[i]) + Number(ipa & 0xFFFn);
  }

  // How many pages from gfn on (at most max) are mapped, to consecutive
  // frames, and (if write) writable: host copies go over them at once.
  // Like hostAddr, a write marks them dirty.
  contiguous(gfn: number, max: number, write: boolean): number {
    let n = 0, frame = -1;
    for (; n < max; n++) {
      const b = this.block(gfn + n), i = (gfn + n) & 511;
      const t = b ? b.types[i] : 0;
      if (t === 0 || (n > 0 && b!.frames[i] !== frame + 1) || (write && t === T_GRANT_RO)) break;
      frame = b!.frames[i];
      if (write && this.logDirty) this.markDirty(gfn + n);
    }
    return n;
  }

  // Log-dirty: write-protect every RAM page; the first write to each faults
  // (a stage-2 permission fault) and is recorded.
  setLogDirty(on: boolean): void {
    this.logDirty = on;
    this.dirty.clear();
    for (const [gfn, e] of this.entries()) if (e.type === "ram") this.writeDesc(gfn, e);
    this.onChange();
  }
  markDirty(gfn: number): boolean {
    const e = this.get(gfn);
    if (!e || !this.logDirty) return false;
    if (!this.dirty.has(gfn)) {
      this.dirty.add(gfn);
      // Write access is only added: no TLB entry can hold it (the core keeps
      // a separate write tag, left invalid while the page was protected), so
      // nothing is flushed; a flush per first write cost every vCPU its
      // whole TLB each time.
      if (e.type === "ram") this.writeDesc(gfn, e);
    }
    return true;
  }
  // Returns the dirty set and write-protects again.
  cleanDirty(): number[] {
    const d = [...this.dirty];
    this.dirty.clear();
    for (const gfn of d) { const e = this.get(gfn); if (e && e.type === "ram") this.writeDesc(gfn, e); }
    if (d.length) this.onChange();
    return d;
  }

  // Domain teardown: every entry goes at once, without rewriting the
  // descriptors of tables that are about to be freed; each entry's frame
  // reference is dropped. destroy() then frees the tables.
  removeAll(): void {
    const all = [...this.entries()].map(([, e]) => e);
    this.blocks.clear();
    this.lastKey = -1;
    this.lastBlock = null;
    this.count = 0;
    this.generation++;
    this.dirty.clear();
    this.onChange(); // nothing may translate through the tables any more
    for (const e of all) this.frames.put(e.frame);
  }

  // Frees the tables and the pool (the entries must be gone: removeAll()).
  destroy(): void {
    if (this.count) throw new FrameError(`d${this.domid}: p2m destroyed with ${this.count} entries`);
    for (const t of this.tables.keys()) this.frames.free(t);
    this.tables.clear();
    this.l3Key = -1;
    for (const f of this.pool.splice(0)) this.frames.free(f);
    this.poolTotal = 0;
  }
  // Table frames in use, roots included.
  tableFrames(): number { return this.tables.size; }
  // For the audit: every table frame in use with its count of live descriptors.
  tableCounts(): ReadonlyMap<number, number> { return this.tables; }
  poolFreeFrames(): readonly number[] { return this.pool; }
}
