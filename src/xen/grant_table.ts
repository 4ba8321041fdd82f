// Grant tables (v1): the granting domain's shared table of entries, in
// hypervisor-owned frames the guest maps at GUEST_GNTTAB_BASE, and the
// mapping side: map/unmap of another domain's granted frame into the
// caller's p2m (tracked by handle in the caller's maptrack), and grant copy.
//
// Every mapping holds two frame references: the p2m entry's and the
// maptrack entry's (Xen's grant mapping holds a page reference too). A
// grant entry in the p2m is removed only by unmap_grant_ref or the
// mapper's teardown, together with its maptrack entry, so the two always
// match one to one. Counts follow xen/common/grant_table.c: a grant pinned
// by one domain cannot be mapped by another at the same time, and each
// kind of pin refuses more mappings once it reaches 128.

import {
  GNTST, GTF_permit_access, GTF_type_mask, GTF_readonly, GTF_reading, GTF_writing, GNTMAP_readonly, GNTMAP_host_map,
  GNTMAP_device_map, GNTMAP_application_map, GNTMAP_contains_pte,
  GNTCOPY_source_gref, GNTCOPY_dest_gref, GRANT_ENTRIES_V1_PER_FRAME, grant_entry_v1,
} from "./public/grant_table.js";
import type { FrameAllocator } from "./frames.js";
import { OWNER_XEN, KIND_SHARED, OutOfFrames } from "./frames.js";
import type { P2m } from "./p2m.js";
import { P2M_MAX_GFN } from "./p2m.js";

export const DEFAULT_MAX_GRANT_FRAMES = 64;
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024; // Xen's gnttab_max_maptrack_frames
const MAPTRACK_PER_FRAME = 4096 / 8; // sizeof(struct grant_mapping)
const PIN_LIMIT = 0x80; // a pin counter with bit 7 set takes no more (GNTPIN_incr2oflow_mask)

export interface GrantDomain {
  readonly id: number;
  readonly privileged: boolean;
  readonly p2m: P2m;
  readonly gnttab: GrantTable;
}

// One mapping this domain made. The granter's table is held as an object,
// not a domain id, so that a later domain given the same id is never
// touched by this mapping's unmap.
export interface Mapping { granter: GrantTable; granterId: number; ref: number; gfn: number; frame: number; readonly: boolean; }
// A grant of ours that is mapped: by whom, which frame (fixed while pinned,
// as Xen's act->mfn) and the gfn it was at then, and how many mappings of
// each kind.
interface Active { mapper: number; frame: number; gfn: number; readers: number; writers: number; }

const FLAGS = grant_entry_v1.fields.flags.offset, DOMID = grant_entry_v1.fields.domid.offset, FRAME = grant_entry_v1.fields.frame.offset;

export class GrantTable {
  readonly frames: number[] = []; // hypervisor-owned table frames
  private readonly maptrack = new Map<number, Mapping>(); // handle -> mapping (made by this domain)
  private readonly freeHandles: number[] = [];
  private nextHandle = 1;
  private readonly active = new Map<number, Active>(); // ref -> mappings of our grants held by others
  private dead = false;
  readonly maxMappings: number;

  // markDirty: log-dirty's record of a write to one of our gfns. A mapper
  // writes through its mapping without the hypervisor seeing it, so the
  // gfn counts as written when a writable mapping of it goes (Xen's
  // gnttab_mark_dirty at unmap), and while one is held (writableGfns).
  constructor(private readonly fa: FrameAllocator, readonly maxFrames: number, readonly maxMaptrackFrames = DEFAULT_MAX_MAPTRACK_FRAMES,
    private readonly markDirty: (gfn: number) => void = () => {}) {
    this.maxMappings = maxMaptrackFrames * MAPTRACK_PER_FRAME;
  }

  nrFrames(): number { return this.frames.length; }
  nrEntries(): number { return this.frames.length * GRANT_ENTRIES_V1_PER_FRAME; }
  mappings(): number { return this.maptrack.size; }
  activeRefs(): number { return this.active.size; }
  // For the audit.
  allMappings(): IterableIterator<Mapping> { return this.maptrack.values(); }
  activeOf(ref: number): Readonly<Active> | undefined { return this.active.get(ref); }
  activeEntries(): IterableIterator<[number, Active]> { return this.active.entries(); }
  // Our gfns that another domain holds writable mappings of: log-dirty
  // reports them as written at every look, as the mapper may have written
  // them since (a backend's ring pages, blkback's persistent grants).
  writableGfns(): number[] {
    const out: number[] = [];
    for (const a of this.active.values()) if (a.writers > 0) out.push(a.gfn);
    return out;
  }

  // Grow the table to at least n frames (the guest maps frame idx at some gfn).
  ensureFrames(n: number): boolean {
    if (n > this.maxFrames || this.dead) return false;
    try {
      while (this.frames.length < n) this.frames.push(this.fa.alloc(OWNER_XEN, KIND_SHARED));
    } catch (e) { if (e instanceof OutOfFrames) return false; throw e; }
    return true;
  }

  private entryHost(ref: number): number {
    return this.fa.hostOf(this.frames[Math.floor(ref / GRANT_ENTRIES_V1_PER_FRAME)]) + (ref % GRANT_ENTRIES_V1_PER_FRAME) * 8;
  }
  entry(ref: number): { flags: number; domid: number; frame: number } | undefined {
    if (!Number.isInteger(ref) || ref < 0 || ref >= this.nrEntries()) return undefined;
    const h = this.entryHost(ref);
    const dv = this.fa.core.view;
    return { flags: dv.getUint16(h + FLAGS, true), domid: dv.getUint16(h + DOMID, true), frame: dv.getUint32(h + FRAME, true) };
  }
  // The gfn an entry names, read without building the entry (a map is
  // made per request by backends); the ref was checked by the caller.
  private entryFrame(ref: number): number { return this.fa.core.view.getUint32(this.entryHost(ref) + FRAME, true); }
  private setFlagBits(ref: number, set: number, clear: number): void {
    const h = this.entryHost(ref) + FLAGS;
    const dv = this.fa.core.view;
    dv.setUint16(h, (dv.getUint16(h, true) | set) & ~clear, true);
  }

  // After a restore: no grant of this table is mapped here, whatever the
  // saved entries' GTF_reading/GTF_writing say.
  clearInUseFlags(): void {
    for (let ref = 0; ref < this.nrEntries(); ref++) if (!this.active.has(ref)) this.setFlagBits(ref, 0, GTF_reading | GTF_writing);
  }

  // Checks that `ref` grants `grantee` access (write access if needed) and
  // returns the machine frame, or a GNTST error. A grant that is mapped
  // stays on the frame it was first mapped with.
  resolve(granter: GrantDomain, ref: number, grantee: number, write: boolean): number | { err: number } {
    const e = this.entry(ref);
    if (!e) return { err: GNTST.bad_gntref };
    if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== grantee) return { err: GNTST.general_error };
    if (write && (e.flags & GTF_readonly)) return { err: GNTST.general_error };
    const a = this.active.get(ref);
    if (a) return a.mapper === grantee ? a.frame : { err: GNTST.general_error };
    if (granter.p2m.typeAt(e.frame) !== "ram") return { err: GNTST.bad_page };
    return granter.p2m.frameAt(e.frame);
  }

  // GNTTABOP_map_grant_ref, by the domain owning this table's maptrack.
  map(self: GrantDomain, granter: GrantDomain | undefined, ref: number, flags: number, hostAddr: bigint): { status: number; handle: number; frame: number } {
    const fail = (status: number): { status: number; handle: number; frame: number } => ({ status, handle: 0, frame: -1 });
    if (!(flags & (GNTMAP_host_map | GNTMAP_device_map))) return fail(GNTST.bad_gntref);
    if (flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte)) return fail(GNTST.general_error); // no device mappings for a translated guest
    if (!granter) return fail(GNTST.bad_domain);
    if (this.maptrack.size >= this.maxMappings) return fail(GNTST.no_space);
    const gt = granter.gnttab;
    if (!Number.isInteger(ref) || ref < 0 || ref >= gt.nrEntries()) return fail(GNTST.bad_gntref);
    const ro = (flags & GNTMAP_readonly) !== 0;
    const a = gt.active.get(ref);
    if (a && (a.mapper !== self.id || (ro ? a.readers : a.writers) >= PIN_LIMIT)) return fail(GNTST.general_error);
    const r = gt.resolve(granter, ref, self.id, !ro);
    if (typeof r !== "number") return fail(r.err);
    const gfn = Number(hostAddr >> 12n); // the offset within the page is ignored, as Xen does
    if (hostAddr >> 12n >= BigInt(P2M_MAX_GFN)) return fail(GNTST.general_error);
    if (self.p2m.get(gfn)) return fail(GNTST.bad_virt_addr); // xents refuses to replace what is there (Xen would)
    if (self.p2m.set(gfn, { frame: r, type: ro ? "grant_ro" : "grant" }) < 0) return fail(GNTST.general_error);
    if (!this.fa.get(r)) { self.p2m.remove(gfn); return fail(GNTST.general_error); }
    gt.noteActive(ref, self.id, r, ro, +1, gt.entryFrame(ref));
    const handle = this.freeHandles.pop() ?? this.nextHandle++;
    this.maptrack.set(handle, { granter: gt, granterId: granter.id, ref, gfn, frame: r, readonly: ro });
    return { status: GNTST.okay, handle, frame: r };
  }

  private noteActive(ref: number, mapper: number, frame: number, ro: boolean, delta: number, gfn = -1): void {
    if (this.dead) return;
    const a = this.active.get(ref) ?? { mapper, frame, gfn, readers: 0, writers: 0 };
    if (delta < 0 && !ro && a.gfn >= 0) this.markDirty(a.gfn);
    if (ro) a.readers += delta; else a.writers += delta;
    const inTable = ref < this.nrEntries();
    if (a.readers + a.writers === 0) {
      this.active.delete(ref);
      if (inTable) this.setFlagBits(ref, 0, GTF_reading | GTF_writing);
      return;
    }
    this.active.set(ref, a);
    if (inTable) this.setFlagBits(ref, GTF_reading | (a.writers ? GTF_writing : 0), a.writers ? 0 : GTF_writing);
  }

  // GNTTABOP_unmap_grant_ref. host_addr 0 means wherever the handle maps.
  unmap(self: GrantDomain, hostAddr: bigint, handle: number): number {
    const m = this.maptrack.get(handle);
    if (!m) return GNTST.bad_handle;
    if (hostAddr !== 0n && hostAddr >> 12n !== BigInt(m.gfn)) return GNTST.general_error;
    this.maptrack.delete(handle);
    this.freeHandles.push(handle);
    self.p2m.remove(m.gfn);
    this.fa.put(m.frame);
    m.granter.noteActive(m.ref, self.id, m.frame, m.readonly, -1);
    return GNTST.okay;
  }

  unmapAll(self: GrantDomain): void {
    for (const h of [...this.maptrack.keys()]) this.unmap(self, 0n, h);
  }

  // The table's own frames go back when the domain dies (they were
  // unmapped from its p2m first). Mappings others hold of our grants keep
  // their frames through their own references; their unmaps no longer
  // touch this table.
  destroy(): void {
    for (const f of this.frames) this.fa.free(f);
    this.frames.length = 0;
    this.active.clear();
    this.dead = true;
  }
}

export interface CopyOp {
  srcU: bigint; srcDom: number; srcOff: number; dstU: bigint; dstDom: number; dstOff: number; len: number; flags: number;
}

// GNTTABOP_copy for one element: returns a GNTST status.
export function grantCopy(fa: FrameAllocator, caller: GrantDomain, lookup: (id: number) => GrantDomain | undefined, op: CopyOp): number {
  if (op.len > 4096 || op.srcOff + op.len > 4096 || op.dstOff + op.len > 4096) return GNTST.bad_copy_arg;
  const side = (u: bigint, domid: number, isGref: boolean, write: boolean): number | { err: number } => {
    const d = lookup(domid);
    if (!d) return { err: GNTST.bad_domain };
    if (isGref) return d.gnttab.resolve(d, Number(u & 0xFFFFFFFFn), caller.id, write);
    if (d.id !== caller.id) return { err: GNTST.permission_denied }; // only one's own frames by number, as Xen

    if (u >= BigInt(P2M_MAX_GFN)) return { err: GNTST.bad_page };
    const t = d.p2m.typeAt(Number(u));
    if (t !== "ram" && t !== "xen") return { err: GNTST.bad_page }; // own pages only, as Xen's get_paged_frame
    return d.p2m.frameAt(Number(u));
  };
  const src = side(op.srcU, op.srcDom, (op.flags & GNTCOPY_source_gref) !== 0, false);
  if (typeof src !== "number") return src.err;
  const dst = side(op.dstU, op.dstDom, (op.flags & GNTCOPY_dest_gref) !== 0, true);
  if (typeof dst !== "number") return dst.err;
  const s = fa.hostOf(src) + op.srcOff, d = fa.hostOf(dst) + op.dstOff;
  fa.core.bytes.copyWithin(d, s, s + op.len);
  fa.core.noteWrite(d, op.len);
  const dd = lookup(op.dstDom);
  if (dd && !(op.flags & GNTCOPY_dest_gref)) dd.p2m.markDirty(Number(op.dstU));
  else if (dd) { const e = dd.gnttab.entry(Number(op.dstU & 0xFFFFFFFFn)); if (e) dd.p2m.markDirty(e.frame); }
  return GNTST.okay;
}
