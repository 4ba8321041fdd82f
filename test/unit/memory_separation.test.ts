// Memory separation, call by call: the escape found by a hostile guest
// (issue 11) and its relatives, each replayed against the real hypercall
// handlers by guests played from TypeScript, with the memory audit
// (src/xen/audit.ts) run after every step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { auditMemory } from "../../src/xen/audit.js";
import { KIND_RAM, OWNER_NONE, OWNER_FREE } from "../../src/xen/frames.js";
import { XENMAPSPACE, XEN_E, HYPERVISOR } from "../../src/xen/public/xen.js";
import { GNTST, GNTTABOP, GTF_reading, GTF_writing, GTF_permit_access } from "../../src/xen/public/grant_table.js";
import { saveDomainContext, restoreDomainContext, ContextError } from "../../src/xen/domain_context.js";
import type { DomainContext } from "../../src/xen/public/domain_context.js";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { buildDomain } from "../../src/tools/domain_builder.js";
import { XenError } from "../../src/tools/xc/xc.js";
import { guestImage } from "../helpers/guest_programs.js";
import { GUEST_GNTTAB_BASE } from "../../src/xen/public/arch_arm.js";
import { Exit } from "../../src/cpu/cpu.js";
import { S2_OA_MASK } from "../../src/xen/p2m.js";
import { section } from "../helpers/context_sections.js";

const GNT_GFN = Number(GUEST_GNTTAB_BASE >> 12n);

function machine(ramMiB = 64): { hv: Hypervisor; log: string[]; audit(): void } {
  const log: string[] = [];
  const hv = new Hypervisor({ ramBytes: ramMiB << 20, deterministic: true, log: (l) => log.push(l) });
  return { hv, log, audit: () => assert.deepEqual(auditMemory(hv), []) };
}

function guest(hv: Hypervisor, id: number, pages = 64, extra: Partial<Parameters<typeof PlayedGuest.create>[1]> = {}): PlayedGuest {
  const g = PlayedGuest.create(hv, { id, pages, maxPages: pages + 64, ...extra });
  assert.equal(g.addToPhysmap(XENMAPSPACE.grant_table, 0n, GNT_GFN), 0n, "grant table frame 0 mapped");
  return g;
}

const frameAt = (g: PlayedGuest, gfn: number): number => g.d.p2m.get(gfn)!.frame;

test("the self-grant escape of issue 11 fails at the step that must fail, and the attacker never reaches a table or a victim page", () => {
  const m = machine();
  const { hv } = m;
  const freeBefore = hv.frames.freeCount;
  const a = guest(hv, 1), victim = guest(hv, 2);
  const secret = new Uint8Array(4096).fill(0x5A);
  for (let i = 8; i < 40; i++) victim.write(BigInt(RAM0_GFN + i) << 12n, secret);
  m.audit();

  const G1 = RAM0_GFN + 10, G2 = RAM0_GFN + 11, R1 = 8, R2 = 9;
  const X1 = RAM0_GFN + 100, X2 = RAM0_GFN + 101;
  const Y = RAM0_GFN + 0x10000; // a fresh 2 MiB region: its p2m needs a new table
  a.setGrant(GNT_GFN, R1, a.d.id, G1);
  a.setGrant(GNT_GFN, R2, a.d.id, G2);
  a.write(BigInt(G1) << 12n, new Uint8Array(4096).fill(0xA1));
  const F = frameAt(a, G1);

  const m1 = a.mapGrant(a.d.id, R1, BigInt(X1));
  const m2 = a.mapGrant(a.d.id, R1, BigInt(X2));
  assert.equal(m1.status, GNTST.okay);
  assert.equal(m2.status, GNTST.okay);
  m.audit();
  // step 3: the grant mapping is removed only with its maptrack entry
  assert.equal(a.removeFromPhysmap(X1), BigInt(-XEN_E.EBUSY), "remove_from_physmap of a grant mapping is refused");
  assert.equal(a.reservation("decrease", [X1]), 0n, "decrease_reservation of a grant mapping is refused");
  assert.equal(a.unmapGrant(m1.handle, BigInt(X1)).status, GNTST.okay);
  m.audit();
  // step 4: the page goes back, but X2 still maps it: it waits, unowned
  assert.equal(a.reservation("decrease", [G1]), 1n);
  assert.equal(hv.frames.ownerOf(F), OWNER_NONE);
  assert.equal(hv.frames.kindOf(F), KIND_RAM);
  m.audit();
  // step 5: a new table for Y comes from the pool, never from F
  const m3 = a.mapGrant(a.d.id, R2, BigInt(Y));
  assert.equal(m3.status, GNTST.okay);
  assert.ok(!a.d.p2m.tableCounts().has(F), "the frame still mapped at X2 did not become a stage-2 table");
  m.audit();
  // step 6: X2 shows the attacker's own old data, nothing else
  assert.deepEqual(a.page(X2), new Uint8Array(4096).fill(0xA1));
  for (const [gfn, e] of a.d.p2m.entries()) {
    assert.notEqual(hv.frames.kindOf(e.frame), 2, `gfn 0x${gfn.toString(16)} maps a table`);
    assert.ok(!a.page(gfn)!.every((b) => b === 0x5A), `the attacker reaches a victim page at gfn 0x${gfn.toString(16)}`);
  }
  for (let i = 8; i < 40; i++) assert.deepEqual(victim.page(RAM0_GFN + i), secret);

  assert.equal(a.unmapGrant(m2.handle, BigInt(X2)).status, GNTST.okay);
  assert.equal(hv.frames.ownerOf(F), OWNER_FREE, "the last mapping gone, the frame is free");
  assert.equal(a.unmapGrant(m3.handle, BigInt(Y)).status, GNTST.okay);
  m.audit();
  assert.ok(hv.destroy(a.d) && hv.destroy(victim.d));
  m.audit();
  assert.equal(hv.frames.freeCount, freeBefore, "every frame is back");
  assert.equal(hv.stats.internalErrors, 0);
});

test("one grant mapping removed behind the grant table's back: refused, and unmap still balances the counts", () => {
  const m = machine();
  const a = guest(m.hv, 1);
  a.setGrant(GNT_GFN, 3, a.d.id, RAM0_GFN + 5);
  const X = RAM0_GFN + 200;
  const r = a.mapGrant(a.d.id, 3, BigInt(X));
  assert.equal(r.status, GNTST.okay);
  assert.equal(a.removeFromPhysmap(X), BigInt(-XEN_E.EBUSY));
  assert.equal(a.addToPhysmap(XENMAPSPACE.shared_info, 0n, X), BigInt(-XEN_E.EBUSY), "no shared page over a grant mapping");
  assert.equal(a.unmapGrant(r.handle, BigInt(X)).status, GNTST.okay);
  assert.equal(a.unmapGrant(r.handle, BigInt(X)).status, GNTST.bad_handle, "a handle unmaps once");
  assert.equal(a.removeFromPhysmap(X), BigInt(-XEN_E.ENOENT));
  m.audit();
  assert.equal(m.hv.stats.internalErrors, 0);
});

test("a grant map says the frame's machine address in dev_bus_addr, as Xen does, and leaves it alone when it fails", () => {
  const m = machine();
  const a = guest(m.hv, 1), b = guest(m.hv, 2);
  a.setGrant(GNT_GFN, 4, b.d.id, RAM0_GFN + 6);
  const r = b.mapGrant(a.d.id, 4, BigInt(RAM0_GFN + 300));
  assert.equal(r.status, GNTST.okay);
  assert.equal(r.devBusAddr, m.hv.frames.paOf(a.d.p2m.get(RAM0_GFN + 6)!.frame));
  const bad = b.mapGrant(a.d.id, 9, BigInt(RAM0_GFN + 301));
  assert.notEqual(bad.status, GNTST.okay);
  assert.equal(bad.devBusAddr, 0xBADn);
  assert.equal(b.unmapGrant(r.handle, BigInt(RAM0_GFN + 300)).status, GNTST.okay);
  m.audit();
});

test("a grant mapped beyond the IPA space gets GNTST_general_error, not a host exception", () => {
  const m = machine();
  const a = guest(m.hv, 1);
  a.setGrant(GNT_GFN, 1, a.d.id, RAM0_GFN + 5);
  for (const gfn of [1n << 33n, (1n << 28n), (1n << 52n) - 1n]) {
    assert.equal(a.mapGrant(a.d.id, 1, gfn).status, GNTST.general_error, `gfn 0x${gfn.toString(16)}`);
  }
  assert.equal(a.d.gnttab.mappings(), 0);
  m.audit();
});

test("one grant takes 128 mappings of a kind and no more (Xen's pin counters), and a maptrack has a limit", () => {
  const m = machine();
  const a = guest(m.hv, 1, 64, { maxMaptrackFrames: 1, poolPages: 64 });
  for (let ref = 0; ref < 8; ref++) a.setGrant(GNT_GFN, ref, a.d.id, RAM0_GFN + 8 + ref);
  const handles: number[] = [];
  let gfn = RAM0_GFN + 1000;
  for (let i = 0; i < 128; i++) {
    const r = a.mapGrant(a.d.id, 0, BigInt(gfn++));
    assert.equal(r.status, GNTST.okay, `mapping ${i}`);
    handles.push(r.handle);
  }
  assert.equal(a.mapGrant(a.d.id, 0, BigInt(gfn++)).status, GNTST.general_error, "the 129th writable mapping");
  assert.equal(a.mapGrant(a.d.id, 0, BigInt(gfn++), true).status, GNTST.okay, "read-only pins are counted apart");
  m.audit();
  // 512 maptrack entries in one frame: fill them with the other grants
  let n = 129;
  for (let ref = 1; n < 512; ref++) for (let i = 0; i < 128 && n < 512; i++, n++) assert.equal(a.mapGrant(a.d.id, ref, BigInt(gfn++)).status, GNTST.okay);
  assert.equal(a.mapGrant(a.d.id, 7, BigInt(gfn++)).status, GNTST.no_space, "the maptrack is full");
  assert.equal(a.unmapGrant(handles[0], 0n).status, GNTST.okay);
  assert.equal(a.mapGrant(a.d.id, 0, BigInt(gfn++)).status, GNTST.okay, "a freed handle is used again");
  m.audit();
  assert.ok(m.hv.destroy(a.d));
  m.audit();
});

test("stage-2 tables come from the domain's pool: when it is empty, calls fail with an error and nothing leaks", () => {
  const m = machine();
  const a = guest(m.hv, 1, 16, { poolPages: 5 }); // 4 tables for RAM and the grant frame, 1 to spare
  a.setGrant(GNT_GFN, 1, a.d.id, RAM0_GFN + 5);
  const results: number[] = [];
  // each mapping in a new 2 MiB region needs a level-3 table (and a new 1 GiB region a level-2 one)
  for (let i = 1; i < 8; i++) results.push(a.mapGrant(a.d.id, 1, BigInt(RAM0_GFN + i * 512), true).status);
  assert.ok(results.includes(GNTST.okay) && results.at(-1) === GNTST.general_error, String(results));
  assert.equal(a.reservation("populate", [RAM0_GFN + 100 * 512]), 0n, "no table for a new region: nothing populated");
  assert.equal(a.d.p2m.setPoolPages(0), -XEN_E.ENOMEM, "tables in use cannot leave the pool");
  m.audit();
  const pool0 = m.hv.frames.freeCount;
  assert.equal(a.d.p2m.setPoolPages(40), 0);
  assert.ok(m.hv.frames.freeCount < pool0, "growing the pool takes host memory up front, as Xen's does");
  assert.equal(a.reservation("populate", [RAM0_GFN + 100 * 512]), 1n);
  m.audit();
});

test("FIFO event pages and vcpu_info are pinned: a guest giving them back cannot free frames the hypervisor writes", () => {
  const m = machine();
  const { hv } = m;
  const freeBefore = hv.frames.freeCount;
  const a = guest(hv, 1);
  const C = RAM0_GFN + 20, E = RAM0_GFN + 21, V = RAM0_GFN + 22;
  assert.equal(a.initControl(C), 0n);
  assert.equal(a.expandArray(E), 0n);
  assert.equal(a.registerVcpuInfo(V, 64), 0n);
  const frames = [C, E, V].map((g) => frameAt(a, g));
  assert.equal(a.reservation("decrease", [C, E, V]), 3n, "the guest may give the pages back");
  for (const f of frames) assert.equal(hv.frames.ownerOf(f), OWNER_NONE, "but the frames stay with the hypervisor");
  m.audit();
  // more allocations cannot get those frames
  assert.equal(a.reservation("populate", [C, E, V]), 3n);
  for (const g of [C, E, V]) assert.ok(!frames.includes(frameAt(a, g)));
  assert.equal(a.initControl(C), BigInt(-XEN_E.EINVAL), "one control block per vCPU");
  assert.equal(a.evtchnReset(), 0n, "EVTCHNOP_reset lets the FIFO pages go");
  assert.equal(hv.frames.ownerOf(frames[0]), OWNER_FREE);
  assert.equal(hv.frames.ownerOf(frames[1]), OWNER_FREE);
  assert.equal(a.initControl(C), 0n, "and FIFO can be set up again");
  m.audit();
  assert.ok(hv.destroy(a.d));
  m.audit();
  assert.equal(hv.frames.freeCount, freeBefore);
});

test("a FIFO control block or vcpu_info must be the guest's own RAM", () => {
  const m = machine();
  const a = guest(m.hv, 1), b = guest(m.hv, 2);
  b.setGrant(GNT_GFN, 1, a.d.id, RAM0_GFN + 5);
  const X = RAM0_GFN + 300;
  assert.equal(a.mapGrant(b.d.id, 1, BigInt(X)).status, GNTST.okay);
  assert.equal(a.initControl(X), BigInt(-XEN_E.EINVAL), "not in a page granted by another domain");
  assert.equal(a.initControl(GNT_GFN), BigInt(-XEN_E.EINVAL), "not in a grant-table frame");
  assert.equal(a.registerVcpuInfo(X, 0), BigInt(-XEN_E.EINVAL));
  assert.equal(a.registerVcpuInfo(RAM0_GFN + 9999, 0), BigInt(-XEN_E.EINVAL), "not in a hole");
  m.audit();
});

test("shared_info and grant-table frames: mapped once, moved only after an unmap, never given back as RAM", () => {
  const m = machine();
  const a = guest(m.hv, 1);
  const S1 = RAM0_GFN + 500, S2 = RAM0_GFN + 501;
  assert.equal(a.addToPhysmap(XENMAPSPACE.shared_info, 0n, S1), 0n);
  assert.equal(a.addToPhysmap(XENMAPSPACE.shared_info, 0n, S1), 0n, "again where it is: nothing changes");
  assert.equal(a.addToPhysmap(XENMAPSPACE.shared_info, 0n, S2), BigInt(-XEN_E.EBUSY), "mapped elsewhere already (Xen 4.17)");
  assert.equal(a.reservation("decrease", [S1]), 0n, "not the guest's RAM to give back");
  assert.equal(a.addToPhysmap(XENMAPSPACE.grant_table, 0n, RAM0_GFN + 502), BigInt(-XEN_E.EBUSY));
  assert.equal(a.addToPhysmap(XENMAPSPACE.grant_table, 99n, RAM0_GFN + 502), BigInt(-XEN_E.EINVAL), "beyond max_grant_frames");
  assert.equal(a.addToPhysmap(XENMAPSPACE.gmfn, BigInt(RAM0_GFN + 3), RAM0_GFN + 503), BigInt(-XEN_E.ENOSYS), "no gmfn space on Arm");
  assert.equal(a.removeFromPhysmap(S1), 0n);
  assert.equal(a.d.sharedInfoGfn, null);
  assert.equal(a.addToPhysmap(XENMAPSPACE.shared_info, 0n, S2), 0n);
  // over the guest's own RAM page: that page is given up (as remove_from_physmap)
  const ramFrame = frameAt(a, RAM0_GFN + 7);
  assert.equal(a.addToPhysmap(XENMAPSPACE.grant_table, 1n, RAM0_GFN + 7), 0n);
  assert.equal(m.hv.frames.ownerOf(ramFrame), OWNER_FREE);
  m.audit();
});

test("foreign mappings: only for a privileged domain, of another domain's RAM; the page outlives its owner's release", () => {
  const m = machine();
  const { hv } = m;
  const freeBefore = hv.frames.freeCount;
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 16 });
  const a = guest(hv, 1), b = guest(hv, 2);
  const W = RAM0_GFN + 4000;
  assert.equal(b.mapForeign(a.d.id, RAM0_GFN + 3, W)[0], BigInt(-XEN_E.EPERM), "an unprivileged domain");
  assert.deepEqual(d0.mapForeign(0, RAM0_GFN + 3, W), [0n, -XEN_E.EINVAL], "its own page");
  assert.deepEqual(d0.mapForeign(a.d.id, GNT_GFN, W), [0n, -XEN_E.EINVAL], "a grant-table frame is not RAM");
  assert.deepEqual(d0.mapForeign(a.d.id, RAM0_GFN + 3, W), [0n, 0]);
  const f = frameAt(a, RAM0_GFN + 3);
  assert.equal(a.reservation("decrease", [RAM0_GFN + 3]), 1n);
  assert.equal(hv.frames.ownerOf(f), OWNER_NONE);
  m.audit();
  assert.ok(hv.destroy(a.d));
  m.audit();
  assert.equal(d0.removeFromPhysmap(W), 0n);
  assert.equal(hv.frames.ownerOf(f), OWNER_FREE);
  assert.ok(hv.destroy(b.d) && hv.destroy(d0.d));
  m.audit();
  assert.equal(hv.frames.freeCount, freeBefore);
});

test("a grant's unmap after its granter died never touches a new domain given the same id", () => {
  const m = machine();
  const { hv } = m;
  const a = guest(hv, 1), b = guest(hv, 2);
  b.setGrant(GNT_GFN, 4, a.d.id, RAM0_GFN + 6);
  const X = RAM0_GFN + 700;
  const r = a.mapGrant(b.d.id, 4, BigInt(X));
  assert.equal(r.status, GNTST.okay);
  assert.ok(hv.destroy(b.d));
  m.audit();
  const b2 = guest(hv, 2);
  b2.setGrant(GNT_GFN, 4, a.d.id, RAM0_GFN + 6);
  const r2 = a.mapGrant(b2.d.id, 4, BigInt(X + 1));
  assert.equal(r2.status, GNTST.okay);
  assert.equal(a.unmapGrant(r.handle, BigInt(X)).status, GNTST.okay, "the old mapping goes");
  assert.equal(b2.d.gnttab.activeOf(4)?.writers, 1, "the new domain's grant is still pinned once");
  m.audit();
});

test("grant copy: by gref from others, by frame only from oneself", () => {
  const m = machine();
  const a = guest(m.hv, 1), b = guest(m.hv, 2);
  b.write(BigInt(RAM0_GFN + 6) << 12n, new Uint8Array(4096).fill(7));
  b.setGrant(GNT_GFN, 2, a.d.id, RAM0_GFN + 6, true);
  assert.equal(a.grantCopy({ dom: b.d.id, gfn: RAM0_GFN + 6 }, { dom: 0x7FF0, gfn: RAM0_GFN + 9 }, 16), GNTST.permission_denied);
  assert.equal(a.grantCopy({ dom: b.d.id, gref: 2 }, { dom: 0x7FF0, gfn: RAM0_GFN + 9 }, 4096), GNTST.okay);
  assert.deepEqual(a.page(RAM0_GFN + 9), new Uint8Array(4096).fill(7));
  assert.equal(a.grantCopy({ dom: 0x7FF0, gfn: RAM0_GFN + 9 }, { dom: b.d.id, gref: 2 }, 16), GNTST.general_error, "a read-only grant");
  assert.equal(a.grantCopy({ dom: 0x7FF0, gfn: RAM0_GFN + 9 }, { dom: 0x7FF0, gfn: 1 << 30 }, 16), GNTST.bad_page);
  m.audit();
});

test("a stage-2 descriptor whose output is not machine RAM is a fault, never a read of other memory", () => {
  const m = machine();
  const { hv } = m;
  const a = guest(hv, 1);
  const v = a.d.vcpus[0];
  const code = RAM0_GFN + 1, Y = RAM0_GFN + 30;
  // ldr x0, [x1]; b .
  const insns = new Uint8Array(8);
  new DataView(insns.buffer).setUint32(0, 0xF9400020, true);
  new DataView(insns.buffer).setUint32(4, 0x14000000, true);
  a.write(BigInt(code) << 12n, insns);
  // Y's level-3 descriptor rewritten to point just below and just past machine RAM
  const l3 = [...a.d.p2m.tableCounts().keys()].find((t) => t !== a.d.p2m.root && t !== a.d.p2m.root + 1 && a.d.p2m.tableCounts().get(t)! >= 64)!;
  const descHost = hv.frames.hostOf(l3) + (Y & 511) * 8;
  for (const pa of [hv.core.ramBase - 0x1000n, hv.core.ramBase + BigInt(hv.core.ramSize), 0n]) {
    const d = hv.core.view.getBigUint64(descHost, true);
    hv.core.view.setBigUint64(descHost, (d & ~S2_OA_MASK) | pa, true);
    v.state.flushTlb();
    v.state.pc = BigInt(code) << 12n;
    v.state.pstate = 0x3C5n; // EL1h, interrupts masked
    v.state.setX(0, 0x1234n);
    v.state.setX(1, BigInt(Y) << 12n);
    const exit = v.state.run(100n, hv.clock.now(), hv.clock.scale);
    assert.equal(exit, Exit.DABT, `output 0x${pa.toString(16)}`);
    assert.equal(v.state.exitIpa, BigInt(Y) << 12n);
    assert.equal(v.state.x(0), 0x1234n, "the load did not complete");
    hv.core.view.setBigUint64(descHost, d, true);
  }
});

test("an exception inside a hypercall handler crashes the calling guest only, and is logged and counted", () => {
  const m = machine();
  const { hv } = m;
  const a = guest(hv, 1), b = guest(hv, 2);
  const v = a.d.vcpus[0];
  const code = RAM0_GFN + 1;
  const insns = new Uint8Array(8);
  new DataView(insns.buffer).setUint32(0, 0xD4000002 | (0xEA1 << 5), true); // hvc #0xea1
  new DataView(insns.buffer).setUint32(4, 0x14000000, true);
  a.write(BigInt(code) << 12n, insns);
  a.d.gnttab.map = () => { throw new Error("injected fault"); };
  v.online = true;
  v.state.pc = BigInt(code) << 12n;
  v.state.pstate = 0x3C5n;
  v.state.setX(16, BigInt(HYPERVISOR.grant_table_op));
  v.state.setX(0, BigInt(GNTTABOP.map_grant_ref));
  v.state.setX(1, a.scratch);
  v.state.setX(2, 1n);
  hv.runSlice(a.d, v);
  assert.deepEqual(a.d.shutdown, { reason: 3 }, "the caller crashed");
  assert.equal(b.d.shutdown, null, "its neighbour did not");
  assert.equal(hv.stats.internalErrors, 1);
  assert.ok(m.log.some((l) => l.startsWith("BUG: d1 vCPU 0") && l.includes("injected fault")), m.log.join("\n"));
  // the control domain's calls get an error code instead
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 16 });
  d0.d.gnttab.map = () => { throw new Error("injected fault"); };
  assert.equal(hv.privcmd(d0.d, HYPERVISOR.grant_table_op, [BigInt(GNTTABOP.map_grant_ref), d0.scratch, 1n, 0n, 0n]), BigInt(-XEN_E.EIO));
  assert.equal(hv.stats.internalErrors, 2);
});

test("save and restore carry grant-table frames, FIFO pages and vcpu_info as pinned frames of the new domain, and no stale in-use grant flags", () => {
  const m = machine(96);
  const { hv } = m;
  const freeBefore = hv.frames.freeCount;
  const a = guest(hv, 1), b = guest(hv, 2);
  a.setGrant(GNT_GFN, 1, b.d.id, RAM0_GFN + 6);
  const r = b.mapGrant(a.d.id, 1, BigInt(RAM0_GFN + 300));
  assert.equal(r.status, GNTST.okay);
  assert.equal(a.initControl(RAM0_GFN + 20), 0n);
  assert.equal(a.expandArray(RAM0_GFN + 21), 0n);
  assert.equal(a.registerVcpuInfo(RAM0_GFN + 22, 128), 0n);
  const flags = (g: PlayedGuest): number => g.d.gnttab.entry(1)!.flags;
  assert.equal(flags(a) & (GTF_reading | GTF_writing), GTF_reading | GTF_writing, "mapped: in use");
  const ctx = JSON.parse(JSON.stringify(saveDomainContext(a.d, hv.clock.now()))) as DomainContext;
  // the copy: a fresh domain with the same RAM, as restore builds it
  const a2 = PlayedGuest.create(hv, { id: 3, pages: 64, maxPages: 128 });
  restoreDomainContext(a2.d, ctx, hv.clock.now());
  assert.equal(flags(a2), GTF_permit_access, "nothing maps the copy's grants yet");
  assert.equal(a2.d.pins, 3, "control block, event array and vcpu_info pinned");
  assert.equal(a2.d.vcpus[0].vcpuInfo?.gfn, BigInt(RAM0_GFN + 22));
  m.audit();
  assert.equal(b.mapGrant(a2.d.id, 1, BigInt(RAM0_GFN + 301)).status, GNTST.okay, "the copy's grants work");
  m.audit();
  for (const d of [b.d, a.d, a2.d]) assert.ok(hv.destroy(d));
  m.audit();
  assert.equal(hv.frames.freeCount, freeBefore);
});

test("a context naming a vcpu_info page outside the guest's RAM is refused; what was pinned goes with the domain", () => {
  const m = machine();
  const { hv } = m;
  const freeBefore = hv.frames.freeCount;
  const a = guest(hv, 1);
  assert.equal(a.registerVcpuInfo(RAM0_GFN + 22, 0), 0n);
  assert.equal(a.initControl(RAM0_GFN + 20), 0n);
  const ctx = JSON.parse(JSON.stringify(saveDomainContext(a.d, hv.clock.now()))) as DomainContext;
  section(ctx, "vcpus")[0].vcpuInfo!.gfn = String(RAM0_GFN + 5000);
  const a2 = PlayedGuest.create(hv, { id: 3, pages: 64, maxPages: 128 });
  assert.throws(() => restoreDomainContext(a2.d, ctx, hv.clock.now()), ContextError);
  assert.ok(hv.destroy(a2.d) && hv.destroy(a.d));
  m.audit();
  assert.equal(hv.frames.freeCount, freeBefore);
});

test("a teardown that fails inside the hypervisor still removes the domain, and the toolstack reports it instead of swallowing it", () => {
  const log: string[] = [];
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: (l) => log.push(l) });
  const dom0 = new Dom0(host.privcmd);
  const ts = new Toolstack(dom0, () => {});
  const built = buildDomain(dom0.xc, { name: "victim-of-a-bug", memoryMiB: 16, vcpus: 1, kernel: guestImage("steady", { ROUNDS: 1 }), cmdline: "" });
  const d = host.hv.domains.get(built.domid)!;
  d.gnttab.destroy = () => { throw new Error("injected teardown fault"); };
  assert.throws(() => ts.destroy(built.domid), (e: Error) => e instanceof XenError && e.errno === XEN_E.EIO);
  assert.ok(!host.hv.domains.has(built.domid), "the domain is gone");
  assert.equal(host.hv.stats.internalErrors, 1);
  assert.ok(log.some((l) => l.includes("teardown of grant table") && l.includes("injected teardown fault")), log.join("\n"));
  assert.throws(() => dom0.xc.destroyDomain(built.domid), (e: Error) => e instanceof XenError && e.errno === XEN_E.ESRCH);
  ts.destroy(built.domid); // already gone: nothing to report
});

test("frames freed again and again wait for scrubbing once each: a guest cycling pages cannot grow the list", () => {
  const m = machine(16);
  const fa = m.hv.frames;
  for (let i = 0; i < 200_000; i++) fa.free(fa.alloc(7, KIND_RAM));
  assert.ok(fa.scrub(0) <= fa.nframes, `${fa.scrub(0)} frames waiting`);
  const f = fa.alloc(7, KIND_RAM);
  assert.ok(fa.core.bytes.subarray(fa.hostOf(f), fa.hostOf(f) + 4096).every((b) => b === 0));
  fa.free(f);
});

// Stage-2 roots (allocContiguous): the first aligned run of frames without
// an owner, taken off the free list, which goes on handing out the lowest
// free frame first.
test("contiguous frames for a stage-2 root: aligned, free, off the free list, and the rest handed out in order", () => {
  const m = machine(16);
  const fa = m.hv.frames;
  const taken = [fa.alloc(7, KIND_RAM), fa.alloc(7, KIND_RAM), fa.alloc(7, KIND_RAM)];
  const odd = taken.find((f) => f % 2 === 1)!;
  fa.free(odd); // free, but its even partner is not: no candidate
  const before = fa.freeCount;
  const root = fa.allocContiguous(-2, 2, 2, 2);
  assert.equal(root % 2, 0);
  assert.ok(root > Math.max(...taken), `root ${root} past the frames in use (${taken})`);
  assert.deepEqual([fa.ownerOf(root), fa.ownerOf(root + 1), fa.kindOf(root), fa.kindOf(root + 1)], [-2, -2, 2, 2]);
  assert.equal(fa.freeCount, before - 2);
  const listed = fa.isFreeListed();
  assert.deepEqual([listed[root], listed[root + 1], listed[odd]], [0, 0, 1]);
  assert.ok(listed.every((n) => n <= 1), "no frame listed twice");
  assert.equal(fa.alloc(7, KIND_RAM), odd, "the lowest free frame still comes first");
  assert.equal(fa.alloc(7, KIND_RAM), root + 2);
});

test("a level-3 table emptied and given back is never written through again: the p2m forgets its last walk", () => {
  const m = machine();
  const g = guest(m.hv, 1, 16);
  const base = RAM0_GFN + 10 * 512; // a 2 MiB region of its own: one level-3 table
  assert.equal(g.reservation("populate", [base]), 1n);
  assert.equal(g.reservation("decrease", [base]), 1n, "the region's only page goes: its table goes back to the pool");
  m.audit();
  // the same region again, then its neighbour in the same table: each
  // needs the table linked in anew, not the old one written behind the walk
  assert.equal(g.reservation("populate", [base + 1]), 1n);
  assert.equal(g.reservation("populate", [base + 2]), 1n);
  m.audit();
  for (const gfn of [base + 1, base + 2]) assert.notEqual(g.d.p2m.get(gfn), undefined);
});
