// XENMEM_acquire_resource (issue 13): how Debian's libxc seeds a new
// domain's grant table (xc_dom_gnttab_seed, through privcmd's
// IOCTL_PRIVCMD_MMAP_RESOURCE): the size query, the frames mapped at the
// caller's gfns as foreign entries, Xen 4.17's errors for everything else,
// and the frames' lifetime when the table's domain dies while they are
// mapped. The memory audit runs after each step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { auditMemory } from "../../src/xen/audit.js";
import { XEN_E, XENMEM_resource, XENMEM_resource_grant_table_id, DOMID_SELF } from "../../src/xen/public/xen.js";
import { GTF_permit_access } from "../../src/xen/public/grant_table.js";

const E = (e: number): bigint => BigInt(-e);

test("acquire_resource maps a domain's grant-table frames into the control domain, as libxc's grant seed needs, with Xen's errors", () => {
  const hv = new Hypervisor({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  const free0 = hv.frames.freeCount;
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 64 });
  const du = PlayedGuest.create(hv, { id: 1, pages: 32, maxGrantFrames: 4 });
  const clean = (): void => assert.deepEqual(auditMemory(hv), []);

  // the size: max_grant_frames
  assert.deepEqual(d0.acquireResource(1, 0n, 0, null), { rc: 0n, nrFrames: 4 });
  // frames 0 and 1 at two of dom0's gfns (one already holding RAM, which goes)
  const at = [0x50000, RAM0_GFN + 40];
  assert.equal(d0.acquireResource(1, 0n, 2, at).rc, 0n);
  assert.equal(du.d.gnttab.frames.length, 2, "the table grew to the frames asked for");
  clean();
  // dom0 writes entry 0 (the console page, granted to dom0 itself), as the seed does, and the grant works
  const entry = new Uint8Array(8);
  const dv = new DataView(entry.buffer);
  dv.setUint16(0, GTF_permit_access, true); dv.setUint16(2, 0, true); dv.setUint32(4, RAM0_GFN + 3, true);
  d0.write(BigInt(at[0]) << 12n, entry);
  const m = d0.mapGrant(1, 0, 0x50100n);
  assert.equal(m.status, 0, "dom0 maps the grant it seeded");
  assert.equal(d0.unmapGrant(m.handle, 0x50100n).status, 0);
  // frame 1 is the second page of entries: ref 512 onwards
  assert.equal(d0.page(at[1])!.length, 4096);
  clean();

  // what Xen refuses
  const cases: [string, bigint, () => { rc: bigint }][] = [
    ["pad not zero", E(XEN_E.EINVAL), () => d0.acquireResource(1, 0n, 1, [0x50010], (s) => s.set("pad", 1))],
    ["frame beyond 32 bits", E(XEN_E.EINVAL), () => d0.acquireResource(1, 1n << 32n, 1, [0x50010])],
    ["frame + nr beyond 32 bits", E(XEN_E.EINVAL), () => d0.acquireResource(1, 0xFFFFFFFFn, 1, [0x50010])],
    ["itself", E(XEN_E.EPERM), () => d0.acquireResource(0, 0n, 1, [0x50010])],
    ["DOMID_SELF", E(XEN_E.EPERM), () => d0.acquireResource(DOMID_SELF, 0n, 1, [0x50010])],
    ["no such domain", E(XEN_E.ESRCH), () => d0.acquireResource(7, 0n, 1, [0x50010])],
    ["a domU asking", E(XEN_E.EPERM), () => du.acquireResource(0, 0n, 1, [RAM0_GFN + 20])],
    ["an ioreq server", E(XEN_E.EOPNOTSUPP), () => d0.acquireResource(1, 0n, 1, [0x50010], (s) => s.set("type", XENMEM_resource.ioreq_server))],
    ["status frames (v2 only)", E(XEN_E.EINVAL), () => d0.acquireResource(1, 0n, 1, [0x50010], (s) => s.set("id", XENMEM_resource_grant_table_id.status))],
    ["beyond max_grant_frames", E(XEN_E.EINVAL), () => d0.acquireResource(1, 3n, 2, [0x50010, 0x50011])],
    ["a size query with nr_frames", E(XEN_E.EINVAL), () => d0.acquireResource(1, 0n, 1, null)],
    ["a gfn beyond the p2m", E(XEN_E.EINVAL), () => d0.acquireResource(1, 0n, 1, [2 ** 40])],
    ["the second gfn beyond the p2m", E(XEN_E.EIO), () => d0.acquireResource(1, 0n, 2, [0x50020, 2 ** 40])],
  ];
  for (const [what, want, call] of cases) assert.equal(call().rc, want, what);
  assert.equal(du.d.gnttab.frames.length, 2, "nothing grew past the limit");
  d0.removeFromPhysmap(0x50020);
  clean();

  // the table's domain dies while dom0 still maps two of its frames: they stay until dom0 lets go
  hv.destroy(du.d);
  clean();
  assert.equal(d0.page(at[0])![0], GTF_permit_access & 0xFF, "the frame still holds what was written");
  for (const g of at) assert.equal(d0.removeFromPhysmap(g), 0n);
  clean();
  hv.destroy(d0.d);
  assert.equal(hv.frames.freeCount, free0, "every frame is back");
});
