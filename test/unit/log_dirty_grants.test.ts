// Log-dirty and grant mappings: a backend writes a guest's page through its
// mapping without the hypervisor seeing the write, so the page must still
// come out dirty, or a migration or a Remus checkpoint carries a stale copy
// of it (a ring's responses, a block read's data). A writable mapping that
// goes marks its page dirty (Xen's gnttab_mark_dirty at unmap), and one
// that is still held (a ring, blkback's persistent grants) makes its page
// dirty at every look; read-only mappings change nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { GrantEntries } from "../../src/host/fuzz/played_frontends.js";
import { HYPERVISOR } from "../../src/xen/public/xen.js";
import { XEN_DOMCTL_SHADOW_OP, DOMCTL, DOMCTL_U, XEN_DOMCTL_INTERFACE_VERSION, xen_domctl, xen_domctl_shadow_op } from "../../src/xen/public/domctl.js";
import { StructBuf } from "../../src/xen/public/layout.js";

// What the shadow op reports of du's first 64 pages, through the domctl
// Domain-0's toolstack calls.
function looker(d0: PlayedGuest, du: PlayedGuest): (op: number) => number[] {
  return (op) => {
    const bitmap = BigInt(RAM0_GFN + 8) << 12n;
    d0.write(bitmap, new Uint8Array(8));
    const u = new StructBuf(xen_domctl_shadow_op).set("op", op).set("pages", 64).set("dirty_bitmap", bitmap);
    const req = new StructBuf(xen_domctl).set("cmd", DOMCTL.shadow_op).set("interface_version", XEN_DOMCTL_INTERFACE_VERSION).set("domain", du.d.id);
    req.bytes.set(u.bytes, DOMCTL_U);
    d0.write(d0.scratch, req.bytes);
    assert.equal(d0.call(HYPERVISOR.domctl, d0.scratch), 0n);
    const bits = d0.read(bitmap, 8), out: number[] = [];
    for (let i = 0; i < 64; i++) if (bits[i >> 3] & (1 << (i & 7))) out.push(RAM0_GFN + i);
    return out;
  };
}

test("pages written through grant mappings are in the dirty log: at unmap, and at every look while a writable mapping is held", () => {
  const hv = new Hypervisor({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 64 });
  const du = PlayedGuest.create(hv, { id: 1, pages: 64, maxGrantFrames: 4 });
  const grants = new GrantEntries(du);
  const clean = (): number[] => du.d.p2m.cleanDirty(); // the log emptied, as the hypervisor keeps it
  const look = looker(d0, du);
  assert.equal(look(XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY).length, 0);
  clean();

  const ring = RAM0_GFN + 10, data = RAM0_GFN + 20, ro = RAM0_GFN + 30;
  grants.grant(1, ring, false);
  grants.grant(2, data, false);
  grants.grant(3, ro, true);
  // the guest's own write to the grant table page is not RAM in the log; start from nothing
  clean();

  // a writable mapping held: its page is dirty at every look, though the hypervisor saw no write
  const mRing = d0.mapGrant(1, 1, 0x50000n);
  assert.equal(mRing.status, 0);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), [ring]);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), [ring], "and again at the next look");
  // a transient writable mapping: dirty once it goes, then no more
  const mData = d0.mapGrant(1, 2, 0x50001n);
  assert.equal(d0.unmapGrant(mData.handle, 0x50001n).status, 0);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), [ring, data]);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), [ring]);
  // read-only mappings never dirty anything
  const mRo = d0.mapGrant(1, 3, 0x50002n, true);
  assert.equal(mRo.status, 0);
  assert.equal(d0.unmapGrant(mRo.handle, 0x50002n).status, 0);
  const mData2 = d0.mapGrant(1, 2, 0x50003n, true);
  assert.equal(d0.unmapGrant(mData2.handle, 0x50003n).status, 0);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), [ring]);
  // the ring's unmap marks it once more; after that nothing is dirty
  assert.equal(d0.unmapGrant(mRing.handle, 0x50000n).status, 0);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), [ring]);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), []);
  assert.equal(look(XEN_DOMCTL_SHADOW_OP.OFF).length, 0);
});

// The pages the hypervisor pins and writes by itself (the FIFO ABI's
// control block and event array, a registered vcpu_info) are dirty at every
// look: an event raised while the guest is paused (a backend's frame
// arriving during a migration's last round) writes them with no stage-2
// fault to log. A migration's copy of them without its last events left a
// port linked in a queue the destination's pages did not hold: never
// delivered again (bench migrate's guest lost its network).
test("pages the hypervisor pins (FIFO control block and event array, vcpu_info) are in the dirty log at every look", () => {
  const hv = new Hypervisor({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 64 });
  const du = PlayedGuest.create(hv, { id: 1, pages: 64 });
  const look = looker(d0, du);
  const control = RAM0_GFN + 12, array = RAM0_GFN + 13, info = RAM0_GFN + 14;
  assert.equal(du.initControl(control), 0n);
  assert.equal(du.expandArray(array), 0n);
  assert.equal(du.registerVcpuInfo(info, 64), 0n);
  assert.equal(look(XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY).length, 0);
  du.d.p2m.cleanDirty();
  const pinned = [control, array, info];
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), pinned);
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), pinned, "and again at the next look");
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.PEEK), pinned);
  // let go (EVTCHNOP_reset back to the 2-level ABI): no longer
  assert.equal(du.evtchnReset(), 0n);
  du.d.p2m.cleanDirty(); // (the call's own argument page)
  assert.deepEqual(look(XEN_DOMCTL_SHADOW_OP.CLEAN), [info]);
  assert.equal(look(XEN_DOMCTL_SHADOW_OP.OFF).length, 0);
});
