// Grant tables (v1): the granting domain's shared table of entries, in
// hypervisor-owned frames the guest maps at GUEST_GNTTAB_BASE, and the
// mapping side: map/unmap of another domain's granted frame into the
// caller's p2m (tracked by handle), and grant copy.

import {
  GNTST, GTF_permit_access, GTF_type_mask, GTF_readonly, GTF_reading, GTF_writing, GNTMAP_readonly, GNTMAP_host_map,
  GNTCOPY_source_gref, GNTCOPY_dest_gref, GRANT_ENTRIES_V1_PER_FRAME, grant_entry_v1,
} from "./public/grant_table.js";
import type { FrameAllocator } from "./frames.js";
import { OWNER_XEN } from "./frames.js";
import type { P2m } from "./p2m.js";

export const DEFAULT_MAX_GRANT_FRAMES = 64;

export interface GrantDomain {
  readonly id: number;
  readonly privileged: boolean;
  readonly p2m: P2m;
  readonly gnttab: GrantTable;
}

interface Mapping { granter: number; ref: number; gfn: number; frame: number; readonly: boolean; }
interface Active { readers: number; writers: number; }

const FLAGS = grant_entry_v1.fields.flags.offset, DOMID = grant_entry_v1.fields.domid.offset, FRAME = grant_entry_v1.fields.frame.offset;

export class GrantTable {
  readonly frames: number[] = []; // hypervisor-owned table frames
  private readonly maptrack = new Map<number, Mapping>(); // handle -> mapping (made by this domain)
  private nextHandle = 1;
  private readonly active = new Map<number, Active>(); // ref -> mappings of our grants held by others

  constructor(private readonly fa: FrameAllocator, readonly maxFrames: number) {}

  nrFrames(): number { return this.frames.length; }
  nrEntries(): number { return this.frames.length * GRANT_ENTRIES_V1_PER_FRAME; }
  mappings(): number { return this.maptrack.size; }
  activeRefs(): number { return this.active.size; }

  // Grow the table to at least n frames (the guest maps frame idx at some gfn).
  ensureFrames(n: number): boolean {
    if (n > this.maxFrames) return false;
    while (this.frames.length < n) this.frames.push(this.fa.alloc(OWNER_XEN));
    return true;
  }

  private entryHost(ref: number): number {
    return this.fa.hostOf(this.frames[Math.floor(ref / GRANT_ENTRIES_V1_PER_FRAME)]) + (ref % GRANT_ENTRIES_V1_PER_FRAME) * 8;
  }
  entry(ref: number): { flags: number; domid: number; frame: number } | undefined {
    if (ref < 0 || ref >= this.nrEntries()) return undefined;
    const h = this.entryHost(ref);
    const dv = this.fa.core.view;
    return { flags: dv.getUint16(h + FLAGS, true), domid: dv.getUint16(h + DOMID, true), frame: dv.getUint32(h + FRAME, true) };
  }
  private setFlagBits(ref: number, set: number, clear: number): void {
    const h = this.entryHost(ref) + FLAGS;
    const dv = this.fa.core.view;
    dv.setUint16(h, (dv.getUint16(h, true) | set) & ~clear, true);
  }

  // Checks that `ref` grants `grantee` access (write access if needed) and
  // returns the machine frame, or a GNTST error.
  resolve(granter: GrantDomain, ref: number, grantee: number, write: boolean): number | { err: number } {
    const e = this.entry(ref);
    if (!e) return { err: GNTST.bad_gntref };
    if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== grantee) return { err: GNTST.permission_denied };
    if (write && (e.flags & GTF_readonly)) return { err: GNTST.permission_denied };
    const p = granter.p2m.get(e.frame);
    if (!p || (p.type !== "ram" && p.type !== "ram_ro")) return { err: GNTST.bad_page };
    return p.frame;
  }

  // GNTTABOP_map_grant_ref, by the domain owning this table's maptrack.
  map(self: GrantDomain, granter: GrantDomain | undefined, ref: number, flags: number, hostAddr: bigint): { status: number; handle: number } {
    if (!granter) return { status: GNTST.bad_domain, handle: 0 };
    if (!(flags & GNTMAP_host_map)) return { status: GNTST.general_error, handle: 0 };
    if (hostAddr & 0xFFFn) return { status: GNTST.bad_virt_addr, handle: 0 };
    const ro = (flags & GNTMAP_readonly) !== 0;
    const r = granter.gnttab.resolve(granter, ref, self.id, !ro);
    if (typeof r !== "number") return { status: r.err, handle: 0 };
    const gfn = Number(hostAddr >> 12n);
    if (self.p2m.get(gfn)) return { status: GNTST.bad_virt_addr, handle: 0 };
    this.fa.get(r);
    self.p2m.set(gfn, { frame: r, type: ro ? "grant_ro" : "grant" });
    granter.gnttab.noteActive(ref, ro, +1);
    const handle = this.nextHandle++;
    this.maptrack.set(handle, { granter: granter.id, ref, gfn, frame: r, readonly: ro });
    return { status: GNTST.okay, handle };
  }

  private noteActive(ref: number, ro: boolean, delta: number): void {
    const a = this.active.get(ref) ?? { readers: 0, writers: 0 };
    if (ro) a.readers += delta; else a.writers += delta;
    if (a.readers + a.writers === 0) { this.active.delete(ref); if (ref < this.nrEntries()) this.setFlagBits(ref, 0, GTF_reading | GTF_writing); return; }
    this.active.set(ref, a);
    if (ref < this.nrEntries()) this.setFlagBits(ref, GTF_reading | (a.writers ? GTF_writing : 0), a.writers ? 0 : GTF_writing);
  }

  unmap(self: GrantDomain, lookup: (id: number) => GrantDomain | undefined, hostAddr: bigint, handle: number): number {
    const m = this.maptrack.get(handle);
    if (!m) return GNTST.bad_handle;
    if (hostAddr !== 0n && Number(hostAddr >> 12n) !== m.gfn) return GNTST.bad_virt_addr;
    this.maptrack.delete(handle);
    self.p2m.remove(m.gfn);
    this.fa.put(m.frame);
    lookup(m.granter)?.gnttab.noteActive(m.ref, m.readonly, -1);
    return GNTST.okay;
  }

  unmapAll(self: GrantDomain, lookup: (id: number) => GrantDomain | undefined): void {
    for (const h of [...this.maptrack.keys()]) this.unmap(self, lookup, 0n, h);
  }

  // The table's own frames go back when the domain dies (mapped grants keep
  // their frames alive through the frame reference counts).
  destroy(): void {
    for (const f of this.frames) this.fa.free(f);
    this.frames.length = 0;
    this.active.clear();
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
    if (d.id !== caller.id && !caller.privileged) return { err: GNTST.permission_denied };
    const e = d.p2m.get(Number(u));
    if (!e || (write && (e.type === "ram_ro" || e.type === "grant_ro"))) return { err: GNTST.bad_page };
    return e.frame;
  };
  const src = side(op.srcU, op.srcDom, (op.flags & GNTCOPY_source_gref) !== 0, false);
  if (typeof src !== "number") return src.err;
  const dst = side(op.dstU, op.dstDom, (op.flags & GNTCOPY_dest_gref) !== 0, true);
  if (typeof dst !== "number") return dst.err;
  const s = fa.hostOf(src) + op.srcOff, d = fa.hostOf(dst) + op.dstOff;
  fa.core.bytes.copyWithin(d, s, s + op.len);
  const dd = lookup(op.dstDom);
  if (dd && !(op.flags & GNTCOPY_dest_gref)) dd.p2m.markDirty(Number(op.dstU));
  else if (dd) { const e = dd.gnttab.entry(Number(op.dstU & 0xFFFFFFFFn)); if (e) dd.p2m.markDirty(e.frame); }
  return GNTST.okay;
}

