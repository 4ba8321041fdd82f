// The p2m: a domain's guest-physical to machine mapping, kept as real ARMv8
// stage-2 tables (4 KiB granule, 40-bit IPA, start level 1 with two
// concatenated root tables) that the core walks, plus a map beside them for
// the hypervisor's lookups. Entries carry a type that says where the frame
// came from, so teardown knows what to free and what to drop a reference on.

import { FrameAllocator, OWNER_XEN } from "./frames.js";

export const P2M_IPA_BITS = 40;
// VTCR_EL2: T0SZ = 64 - 40, SL0 = 1 (start at level 1), 4 KiB granule
export const VTCR_VALUE = BigInt(64 - P2M_IPA_BITS) | (1n << 6n);

export type P2mType =
  | "ram" // the domain's own memory
  | "ram_ro" // the domain's own memory, write-protected (log-dirty)
  | "foreign" // another domain's frame mapped by a privileged domain
  | "grant" // another domain's frame mapped through its grant table
  | "grant_ro"
  | "xen"; // a hypervisor-owned frame shared with the guest

export interface P2mEntry { frame: number; type: P2mType; }

const S2_VALID_PAGE = 3n;
const S2_AF = 1n << 10n;
const S2_SH_INNER = 3n << 8n;
const S2_RD = 1n << 6n;
const S2_WR = 1n << 7n;
const S2_MEMATTR_NORMAL_WB = 0xFn << 2n;
const S2_XN = 1n << 54n;

export class P2m {
  readonly root: number; // first of two contiguous frames
  private readonly tables = new Map<number, number>(); // table frame -> live descriptors in it
  readonly entries = new Map<number, P2mEntry>(); // gfn -> entry
  logDirty = false;
  readonly dirty = new Set<number>(); // gfns written since the last clean
  private readonly view: DataView;

  constructor(readonly frames: FrameAllocator, readonly vmid: number, private readonly onChange: () => void) {
    this.root = frames.allocContiguous(OWNER_XEN, 2, 2);
    this.tables.set(this.root, 0).set(this.root + 1, 0);
    this.view = frames.core.view;
  }

  vttbr(): bigint { return this.frames.paOf(this.root) | (BigInt(this.vmid & 0xFF) << 48n); }

  // The walk to a level-3 descriptor; the tables it passed through are left
  // in pathOff/pathTable so that writeDesc can keep their use counts.
  private readonly pathOff = [0, 0, 0]; // descriptor offsets at levels 1..3
  private readonly pathTable = [0, 0]; // level-2 and level-3 table frames

  private descAddr(gfn: number, create: boolean): number {
    // level 1: IPA bits 39:30 (10 bits over the two root frames)
    const l1 = Math.floor(gfn / 2 ** 18) & 1023;
    let off = this.frames.hostOf(this.root) + l1 * 8;
    this.pathOff[0] = off;
    for (let level = 2; level <= 3; level++) {
      let d = this.view.getBigUint64(off, true);
      if ((d & 3n) !== 3n) {
        if (!create) return -1;
        const t = this.frames.alloc(OWNER_XEN);
        this.tables.set(t, 0);
        if (level === 3) this.tables.set(this.pathTable[0], this.tables.get(this.pathTable[0])! + 1);
        d = this.frames.paOf(t) | 3n;
        this.view.setBigUint64(off, d, true);
      }
      const table = this.frames.frameOf((d & 0x0000FFFFFFFFF000n) >> 12n);
      this.pathTable[level - 2] = table;
      const idx = level === 2 ? Math.floor(gfn / 512) & 511 : gfn & 511;
      off = this.frames.hostOf(table) + idx * 8;
      this.pathOff[level - 1] = off;
    }
    return off;
  }

  private writeDesc(gfn: number, e: P2mEntry | undefined): void {
    const off = this.descAddr(gfn, e !== undefined);
    if (off < 0) return;
    let d = 0n;
    if (e) {
      d = this.frames.paOf(e.frame) | S2_VALID_PAGE | S2_AF | S2_SH_INNER | S2_MEMATTR_NORMAL_WB | S2_RD;
      const writable = e.type === "ram" || e.type === "foreign" || e.type === "grant" || e.type === "xen";
      if (writable && !(this.logDirty && !this.dirty.has(gfn))) d |= S2_WR;
      if (e.type !== "ram" && e.type !== "ram_ro") d |= S2_XN;
    }
    const was = this.view.getBigUint64(off, true) !== 0n;
    this.view.setBigUint64(off, d, true);
    const l3 = this.pathTable[1];
    if (!was && e) this.tables.set(l3, this.tables.get(l3)! + 1);
    else if (was && !e) this.release(l3, 2);
  }

  // One fewer live descriptor in the table at `level`+1 (a level-3 table is
  // released at level 2): an empty table goes back to the allocator and its
  // parent descriptor is cleared, so tables never outlive what they map. The
  // caller's onChange() flushes the stage-2 TLB.
  private release(table: number, parentLevel: number): void {
    const n = this.tables.get(table)! - 1;
    if (n > 0) { this.tables.set(table, n); return; }
    this.tables.delete(table);
    this.view.setBigUint64(this.pathOff[parentLevel - 1], 0n, true);
    this.frames.free(table);
    if (parentLevel === 2) this.release(this.pathTable[0], 1);
  }

  set(gfn: number, e: P2mEntry): void {
    if (gfn < 0 || gfn >= 2 ** (P2M_IPA_BITS - 12)) throw new RangeError(`gfn 0x${gfn.toString(16)} beyond the IPA space`);
    this.entries.set(gfn, e);
    this.writeDesc(gfn, e);
    this.onChange();
  }

  // Removes the mapping and returns what was there (the caller frees or drops references).
  remove(gfn: number): P2mEntry | undefined {
    const e = this.entries.get(gfn);
    if (!e) return undefined;
    this.entries.delete(gfn);
    this.writeDesc(gfn, undefined);
    this.onChange();
    return e;
  }

  get(gfn: number): P2mEntry | undefined { return this.entries.get(gfn); }

  // Host (wasm) offset of a guest-physical address, or -1 if not mapped.
  hostAddr(ipa: bigint, write: boolean): number {
    const gfn = Number(ipa >> 12n);
    const e = this.entries.get(gfn);
    if (!e) return -1;
    if (write && (e.type === "ram_ro" || e.type === "grant_ro")) return -1;
    if (write && this.logDirty) this.markDirty(gfn);
    return this.frames.hostOf(e.frame) + Number(ipa & 0xFFFn);
  }

  // Log-dirty: write-protect every RAM page; the first write to each faults
  // (a stage-2 permission fault) and is recorded.
  setLogDirty(on: boolean): void {
    this.logDirty = on;
    this.dirty.clear();
    for (const [gfn, e] of this.entries) if (e.type === "ram") this.writeDesc(gfn, e);
    this.onChange();
  }
  markDirty(gfn: number): boolean {
    const e = this.entries.get(gfn);
    if (!e || !this.logDirty) return false;
    if (!this.dirty.has(gfn)) {
      this.dirty.add(gfn);
      // Write access is only added: no TLB entry can hold it (the core keeps
      // a separate write tag, left invalid while the page was protected), so
      // nothing is flushed; a flush per first write cost every vCPU its
      // whole TLB each time.
      this.writeDesc(gfn, e);
    }
    return true;
  }
  // Returns the dirty set and write-protects again.
  cleanDirty(): number[] {
    const d = [...this.dirty];
    this.dirty.clear();
    for (const gfn of d) { const e = this.entries.get(gfn); if (e) this.writeDesc(gfn, e); }
    if (d.length) this.onChange();
    return d;
  }

  // Domain teardown: every entry goes at once, without rewriting the
  // descriptors of tables that are about to be freed. Returns the entries so
  // that the caller can drop what they held; destroy() frees the tables.
  takeAll(): P2mEntry[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.dirty.clear();
    this.onChange(); // nothing may translate through the tables any more (destroy() frees and zeroes them)
    return all;
  }

  // Frees the tables (the entries must have been removed by the domain teardown).
  destroy(): void {
    for (const t of this.tables.keys()) this.frames.free(t);
    this.tables.clear();
  }
  tableFrames(): number { return this.tables.size; }
}
