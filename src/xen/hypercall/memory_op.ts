// memory_op(cmd, arg): reservations (populate/increase/decrease), physmap
// changes (shared_info and grant-table frames, foreign mappings for a
// privileged domain, removal), and the reservation queries.

import type { Handler, HypercallContext } from "./context.js";
import { targetDomain, canContinue, continuation, neg } from "./context.js";
import {
  XENMEM, XENMAPSPACE, XEN_E, xen_memory_reservation, xen_add_to_physmap, xen_add_to_physmap_batch,
  xen_remove_from_physmap, XENMAPIDX_grant_table_status, xen_mem_acquire_resource, XENMEM_resource,
  XENMEM_resource_grant_table_id,
} from "../public/xen.js";
import { KIND_RAM } from "../frames.js";
import { P2M_MAX_GFN } from "../p2m.js";

const MAX_GFN = P2M_MAX_GFN;
// The largest extent a caller may ask for (Xen's max_order(current)): 2 MiB
// for a domU, 1 GiB for the control domain (CONFIG_CTLDOM_MAX_ORDER = Arm's
// PAGEALLOC_MAX_ORDER, 18), which libxc's Arm builder tries first for a
// domU's RAM before falling back to 2 MiB and 4 KiB extents.
const DOMU_MAX_ORDER = 9, CTLDOM_MAX_ORDER = 18;

export const memoryOp: Handler = (c, a) => {
  const cmd = Number(a[0] & 0x3Fn);
  const arg = a[1];
  switch (cmd) {
    case XENMEM.populate_physmap: case XENMEM.increase_reservation: case XENMEM.decrease_reservation:
      return reservation(c, cmd, arg, a[0] >> MEMOP_EXTENT_SHIFT);
    case XENMEM.current_reservation: case XENMEM.maximum_reservation: case XENMEM.maximum_gpfn: {
      const b = c.g.read(arg, 2);
      if (!b) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, b[0] | (b[1] << 8));
      if ("err" in t) return neg(t.err);
      if (cmd === XENMEM.current_reservation) return BigInt(t.totPages());
      if (cmd === XENMEM.maximum_reservation) return t.maxPages;
      return BigInt(t.p2m.maxGfn());
    }
    case XENMEM.add_to_physmap: return addToPhysmap(c, arg);
    case XENMEM.add_to_physmap_batch: return addToPhysmapBatch(c, arg);
    case XENMEM.acquire_resource: return acquireResource(c, arg, a[0] >> MEMOP_EXTENT_SHIFT);
    case XENMEM.remove_from_physmap: {
      const r = c.g.readStruct(arg, xen_remove_from_physmap);
      if (!r) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, r.num("domid"));
      if ("err" in t) return neg(t.err);
      const gfn = r.get("gpfn");
      if (gfn >= BigInt(MAX_GFN)) return neg(XEN_E.EINVAL);
      return BigInt(t.removeGfn(Number(gfn)));
    }
    default: return neg(XEN_E.ENOSYS);
  }
};

// Pages done per piece before a continuation, at an extent's end (start_extent in the command's upper bits, as Xen's).
const MEMOP_EXTENT_SHIFT = 6n;
const PAGES_PER_PIECE = 4096;

function reservation(c: HypercallContext, cmd: number, arg: bigint, startExtent: bigint): bigint | null {
  const r = c.g.readStruct(arg, xen_memory_reservation);
  if (!r) return neg(XEN_E.EFAULT);
  const t = targetDomain(c, r.num("domid"));
  if ("err" in t) return neg(t.err);
  const order = r.num("extent_order");
  const n = r.get("nr_extents");
  // as Xen: too large an extent or count does nothing and says so (0 done), not an error
  if (order > (c.d.privileged ? CTLDOM_MAX_ORDER : DOMU_MAX_ORDER)) return startExtent;
  if (n > BigInt(0xFFFFFFFF >>> Number(MEMOP_EXTENT_SHIFT))) return startExtent;
  const list = r.get("extent_start");
  const per = 1 << order;
  if (startExtent >= n) return startExtent;
  const first = Number(startExtent);
  let done = first, pages = 0;
  for (; done < Number(n); done++, pages += per) {
    if (pages >= PAGES_PER_PIECE && canContinue(c)) return continuation(c, [BigInt(cmd) | (BigInt(done) << MEMOP_EXTENT_SHIFT), arg]);
    if (cmd === XENMEM.increase_reservation) {
      // Pages given to the domain without a guest-physical address (auto-translated guests
      // use populate_physmap); they are counted and freed with the domain.
      if (BigInt(t.totPages() + per) > t.maxPages || c.hv.frames.freeCount < per) break;
      for (const f of c.hv.frames.allocMany(t.id, KIND_RAM, per)) t.unmappedFrames.push(f);
      continue;
    }
    const gfn = c.g.u64(list + BigInt(done * 8));
    if (gfn === null) return done > 0 ? BigInt(done) : neg(XEN_E.EFAULT);
    if (gfn + BigInt(per) > BigInt(MAX_GFN) || (gfn & BigInt(per - 1)) !== 0n) break;
    if (cmd === XENMEM.populate_physmap) {
      // an extent is all or nothing, as Xen allocates it in one piece
      if (BigInt(t.totPages() + per) > t.maxPages || c.hv.frames.freeCount < per || !t.populateRange(Number(gfn), per)) break;
      continue;
    }
    let ok = true;
    for (let i = 0; i < per && ok; i++) {
      const g = Number(gfn) + i;
      ok = t.p2m.get(g)?.type === "ram" && t.removeGfn(g) === 0; // only the domain's own pages go back
    }
    if (!ok) break;
  }
  return BigInt(done);
}

function addToPhysmap(c: HypercallContext, arg: bigint): bigint {
  const x = c.g.readStruct(arg, xen_add_to_physmap);
  if (!x) return neg(XEN_E.EFAULT);
  const t = targetDomain(c, x.num("domid"));
  if ("err" in t) return neg(t.err);
  const gpfn = x.get("gpfn");
  if (gpfn >= BigInt(MAX_GFN)) return neg(XEN_E.EINVAL);
  const idx = x.get("idx");
  switch (x.num("space")) {
    case XENMAPSPACE.shared_info:
      if (idx !== 0n) return neg(XEN_E.EINVAL);
      return BigInt(t.mapXenFrame(Number(gpfn), t.sharedInfoFrame));
    case XENMAPSPACE.grant_table: {
      if (idx & XENMAPIDX_grant_table_status) return neg(XEN_E.EINVAL); // v2 only
      if (idx >= BigInt(t.gnttab.maxFrames) || !t.gnttab.ensureFrames(Number(idx) + 1)) return neg(XEN_E.EINVAL);
      return BigInt(t.mapXenFrame(Number(gpfn), t.gnttab.frames[Number(idx)]));
    }
    case XENMAPSPACE.gmfn: return neg(XEN_E.ENOSYS); // not on Arm (xenmem_add_to_physmap_one)
    case XENMAPSPACE.gmfn_foreign: return neg(XEN_E.EINVAL); // only through add_to_physmap_batch
    case XENMAPSPACE.dev_mmio: return neg(XEN_E.EPERM);
    default: return neg(XEN_E.EINVAL);
  }
}

// Foreign mappings: a privileged domain maps another domain's frames into its own space.
function addToPhysmapBatch(c: HypercallContext, arg: bigint): bigint {
  const b = c.g.readStruct(arg, xen_add_to_physmap_batch);
  if (!b) return neg(XEN_E.EFAULT);
  const t = targetDomain(c, b.num("domid"));
  if ("err" in t) return neg(t.err);
  if (b.num("space") !== XENMAPSPACE.gmfn_foreign) return neg(XEN_E.EOPNOTSUPP);
  if (!c.d.privileged) return neg(XEN_E.EPERM);
  const src = c.hv.domains.get(b.num("u"));
  if (!src) return neg(XEN_E.ESRCH);
  const n = b.num("size");
  // The lists are read, and the errors written, whole: one translation a
  // page of them instead of two reads and a write per entry.
  const idxBytes = c.g.read(b.get("idxs"), n * 8), gpfnBytes = c.g.read(b.get("gpfns"), n * 8);
  if (!idxBytes || !gpfnBytes) return neg(XEN_E.EFAULT);
  const idxs = new DataView(idxBytes.buffer), gpfns = new DataView(gpfnBytes.buffer);
  const errBytes = new Uint8Array(n * 4), errs = new DataView(errBytes.buffer);
  const maxGfn = BigInt(MAX_GFN);
  t.p2m.batched(() => {
    for (let i = 0; i < n; i++) {
      const idx = idxs.getBigUint64(i * 8, true), gpfn = gpfns.getBigUint64(i * 8, true);
      let err = 0;
      const ram = idx < maxGfn && src.p2m.typeAt(Number(idx)) === "ram";
      if (!ram || src === t || gpfn >= maxGfn) err = -XEN_E.EINVAL;
      else {
        if (t.p2m.has(Number(gpfn))) err = t.removeGfn(Number(gpfn));
        if (err === 0) err = t.p2m.set(Number(gpfn), { frame: src.p2m.frameAt(Number(idx)), type: "foreign" });
      }
      errs.setInt32(i * 4, err, true);
    }
  });
  return c.g.write(b.get("errs"), errBytes) ? 0n : neg(XEN_E.EFAULT);
}

// XENMEM_acquire_resource (Xen 4.17 common/memory.c): a privileged caller
// maps another domain's resource; the only one on Arm is the grant table's
// shared frames (libxc's xc_dom_gnttab_seed writes the console and
// xenstore entries through it before the guest runs). A size query (no
// frame list, nr_frames 0) answers max_grant_frames. Otherwise the table
// grows to cover the frames asked for and, the caller being
// auto-translated, each lands at the gfn the caller names as a foreign
// entry holding a reference, so a frame outlives its table while mapped.
// Status frames exist only with grant tables v2, which xents does not offer.
const ACQUIRE_CHUNK = 32;
function acquireResource(c: HypercallContext, arg: bigint, startExtent: bigint): bigint {
  const x = c.g.readStruct(arg, xen_mem_acquire_resource);
  if (!x) return neg(XEN_E.EFAULT);
  if (x.num("pad") !== 0) return neg(XEN_E.EINVAL);
  const frame = x.get("frame"), nr = x.num("nr_frames");
  if (frame >> 32n || (frame + BigInt(nr)) >> 32n) return neg(XEN_E.EINVAL);
  const domid = x.num("domid");
  if (domid === 0x7FF0 || domid === c.d.id) return neg(XEN_E.EPERM); // a remote domain only
  const t = c.hv.domains.get(domid);
  if (!t) return neg(XEN_E.ESRCH);
  if (!c.d.privileged) return neg(XEN_E.EPERM); // XSM_DM_PRIV
  if (x.num("type") !== XENMEM_resource.grant_table) return neg(XEN_E.EOPNOTSUPP);
  const max = x.num("id") === XENMEM_resource_grant_table_id.shared ? t.gnttab.maxFrames : 0; // status: v2 only
  if (max === 0) return neg(XEN_E.EINVAL);
  const list = x.get("frame_list");
  if (list === 0n) {
    if (nr !== 0 || startExtent !== 0n) return neg(XEN_E.EINVAL);
    x.set("nr_frames", max);
    return c.g.writeStruct(arg, x) ? 0n : neg(XEN_E.EFAULT);
  }
  if (startExtent >= BigInt(nr) || nr > (0xFFFFFFFF >>> Number(MEMOP_EXTENT_SHIFT))) return neg(XEN_E.EINVAL);
  let first = Number(frame) + Number(startExtent);
  for (let done = Number(startExtent); done < nr;) {
    const todo = Math.min(ACQUIRE_CHUNK, nr - done);
    if (!t.gnttab.ensureFrames(first + todo)) return neg(XEN_E.EINVAL); // beyond max_grant_frames, or no memory to grow
    for (let i = 0; i < todo; i++) {
      const gfn = c.g.u64(list + BigInt((done + i) * 8));
      if (gfn === null) return neg(XEN_E.EFAULT);
      let rc = gfn < BigInt(MAX_GFN) ? 0 : -XEN_E.EINVAL;
      if (rc === 0 && c.d.p2m.get(Number(gfn))) rc = c.d.removeGfn(Number(gfn));
      if (rc === 0) rc = c.d.p2m.set(Number(gfn), { frame: t.gnttab.frames[first + i], type: "foreign" });
      if (rc < 0) return neg(i ? XEN_E.EIO : -rc); // as Xen: after the first of a batch, EIO
    }
    done += todo;
    first += todo;
  }
  return 0n;
}
