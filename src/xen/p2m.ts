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
  private readonly tables: number[] = [];
  readonly entries = new Map<number, P2mEntry>(); // gfn -> entry
  logDirty = false;
  readonly dirty = new Set<number>(); // gfns written since the last clean
  private readonly view: DataView;

  constructor(readonly frames: FrameAllocator, readonly vmid: number, private readonly onChange: () => void) {
    this.root = frames.allocContiguous(OWNER_XEN, 2, 2);
    this.tables.push(this.root, this.root + 1);
    this.view = frames.core.view;
  }

  vttbr(): bigint { return this.frames.paOf(this.root) | (BigInt(this.vmid & 0xFF) << 48n); }

  private descAddr(gfn: number, create: boolean): number {
    // level 1: IPA bits 39:30 (10 bits over the two root frames)
    const l1 = Math.floor(gfn / 2 ** 18) & 1023;
    let off = this.frames.hostOf(this.root) + l1 * 8;
    for (let level = 2; level <= 3; level++) {
      let d = this.view.getBigUint64(off, true);
      if ((d & 3n) !== 3n) {
        if (!create) return -1;
        const t = this.frames.alloc(OWNER_XEN);
        this.tables.push(t);
        d = this.frames.paOf(t) | 3n;
        this.view.setBigUint64(off, d, true);
      }
      const table = this.frames.frameOf((d & 0x0000FFFFFFFFF000n) >> 12n);
      const idx = level === 2 ? Math.floor(gfn / 512) & 511 : gfn & 511;
      off = this.frames.hostOf(table) + idx * 8;
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
    this.view.setBigUint64(off, d, true);
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
      this.writeDesc(gfn, e);
      this.onChange();
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

  // Frees the tables (the entries must have been removed by the domain teardown).
  destroy(): void {
    for (const t of this.tables) this.frames.free(t);
    this.tables.length = 0;
  }
  tableFrames(): number { return this.tables.length; }
}
