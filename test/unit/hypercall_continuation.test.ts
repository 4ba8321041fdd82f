// Long hypercalls are done in pieces (Xen's continuations): the vCPU goes
// back to its HVC with the arguments moved on, so one guest cannot hold the
// single-threaded host in one call. The results are what one long call gives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { HYPERVISOR, XENMEM, XENVER, multicall_entry, xen_memory_reservation } from "../../src/xen/public/xen.js";
import { StructBuf } from "../../src/xen/public/layout.js";
import { auditMemory } from "../../src/xen/audit.js";

function guestAt(hv: Hypervisor, pages: number): { g: PlayedGuest; code: bigint } {
  const g = PlayedGuest.create(hv, { id: 1, pages, maxPages: pages });
  const code = BigInt(RAM0_GFN + 1) << 12n;
  const insns = new Uint8Array(8);
  new DataView(insns.buffer).setUint32(0, 0xD4000002 | (0xEA1 << 5), true); // hvc #0xea1
  new DataView(insns.buffer).setUint32(4, 0x14000000, true); // b .
  g.write(code, insns);
  const v = g.d.vcpus[0];
  v.online = true;
  v.state.pc = code;
  v.state.pstate = 0x3C5n;
  return { g, code };
}

// Slices until the vCPU is past its HVC; returns how many HVC exits it took.
function runCall(hv: Hypervisor, g: PlayedGuest, code: bigint): number {
  let exits = 0;
  const v = g.d.vcpus[0];
  while (v.state.pc !== code + 4n) {
    const before = hv.stats.hypercalls;
    hv.runSlice(g.d, v);
    exits += hv.stats.hypercalls - before;
    assert.ok(exits < 10_000 && g.d.shutdown === null);
  }
  return exits;
}

test("a multicall of 1000 entries runs in pieces of 64, every entry's result written", () => {
  const hv = new Hypervisor({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  const { g, code } = guestAt(hv, 64);
  const list = BigInt(RAM0_GFN + 8) << 12n;
  for (let i = 0; i < 1000; i++) {
    const e = new StructBuf(multicall_entry).set("op", HYPERVISOR.xen_version).set("result", 0xDEADn);
    new DataView(e.sub("args").buffer, e.sub("args").byteOffset).setBigUint64(0, BigInt(XENVER.version), true);
    g.write(list + BigInt(i * multicall_entry.size), e.bytes);
  }
  const st = g.d.vcpus[0].state;
  st.setX(16, BigInt(HYPERVISOR.multicall)); st.setX(0, list); st.setX(1, 1000n);
  assert.equal(runCall(hv, g, code), Math.ceil(1000 / 64));
  assert.equal(st.x(0), 0n);
  for (let i = 0; i < 1000; i++) {
    const e = new StructBuf(multicall_entry, g.read(list + BigInt(i * multicall_entry.size), multicall_entry.size));
    assert.equal(e.get("result"), (4n << 16n) | 17n, `entry ${i}`);
  }
});

test("populate_physmap and decrease_reservation of 10,000 extents continue with start_extent and count every extent", () => {
  const hv = new Hypervisor({ ramBytes: 128 << 20, deterministic: true, log: () => {} });
  const { g, code } = guestAt(hv, 64);
  g.d.maxPages = 64n + 10_000n;
  const list = BigInt(RAM0_GFN + 8) << 12n; // 10,000 gfns: 80 KB, pages 8..27
  const gfns = new Uint8Array(10_000 * 8);
  for (let i = 0; i < 10_000; i++) new DataView(gfns.buffer).setBigUint64(i * 8, BigInt(RAM0_GFN + 100 + i), true);
  g.write(list, gfns);
  const st = g.d.vcpus[0].state;
  for (const cmd of [XENMEM.populate_physmap, XENMEM.decrease_reservation]) {
    const r = new StructBuf(xen_memory_reservation).set("extent_start", list).set("nr_extents", 10_000).set("domid", 0x7FF0);
    g.write(g.scratch, r.bytes);
    st.setX(16, BigInt(HYPERVISOR.memory_op)); st.setX(0, BigInt(cmd)); st.setX(1, g.scratch); st.pc = code;
    assert.equal(runCall(hv, g, code), 3, "4096 extents a piece");
    assert.equal(st.x(0), 10_000n);
  }
  assert.equal(g.d.totPages(), 64);
  assert.deepEqual(auditMemory(hv), []);
  // a start_extent beyond the count returns it, as Xen
  st.setX(0, BigInt(XENMEM.decrease_reservation) | (20_000n << 6n)); st.setX(1, g.scratch); st.pc = code;
  runCall(hv, g, code);
  assert.equal(st.x(0), 20_000n);
});

test("extent orders as Xen's max_order: 2 MiB for a guest, 1 GiB for the control domain; beyond that nothing is done and 0 said, not an error", () => {
  const hv = new Hypervisor({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 16 });
  const u = PlayedGuest.create(hv, { id: 1, pages: 16, maxPages: 16 + 2048 });
  const base = RAM0_GFN + 1024; // 4 MiB aligned
  assert.equal(u.reservation("populate", [base], 0x7FF0, 10), 0n, "a guest's 4 MiB extent: none done");
  assert.equal(u.reservation("populate", [base], 0x7FF0, 9), 1n, "a guest's 2 MiB extent");
  assert.equal(u.d.totPages(), 16 + 512);
  assert.equal(d0.reservation("populate", [base + 1024], 1, 10), 1n, "the control domain builds a guest with 4 MiB extents");
  assert.equal(u.d.totPages(), 16 + 512 + 1024);
  assert.equal(d0.reservation("populate", [base + 2048], 1, 19), 0n, "past 1 GiB: none done");
  assert.equal(d0.reservation("populate", [base + 2049], 1, 10), 0n, "a misaligned extent: none done");
  assert.equal(d0.reservation("decrease", [base + 1024], 1, 10), 1n);
  assert.equal(u.d.totPages(), 16 + 512);
  assert.deepEqual(auditMemory(hv), []);
});
