// The host queries Debian's xl and libxl make before and around `xl create`
// and in `xl info` (issue 13's gap table): sysctl sched_id, numainfo and
// cpupool_op INFO/FREEINFO, physinfo's grant-table capability, and domctl
// set_address_size and cacheflush, answered as Xen 4.17 on Arm answers them
// (xen/common/sysctl.c, sched/cpupool.c, arch/arm/domctl.c, arm64/domctl.c),
// and domctl getdomaininfo's walk to the next domain (xen/common/domctl.c):
// one node, one pool with the one physical CPU, AArch64 guests only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { StructBuf } from "../../src/xen/public/layout.js";
import { HYPERVISOR, XEN_E } from "../../src/xen/public/xen.js";
import {
  SYSCTL, SYSCTL_U, XEN_SYSCTL_INTERFACE_VERSION, xen_sysctl, xen_sysctl_physinfo, xen_sysctl_sched_id, xen_sysctl_numainfo,
  xen_sysctl_meminfo, xen_sysctl_cpupool_op, xenctl_bitmap, XEN_SYSCTL_CPUPOOL_OP, XEN_SYSCTL_PHYSCAP_gnttab_v1, XEN_SCHEDULER_CREDIT2,
  DOMCTL, DOMCTL_U, XEN_DOMCTL_INTERFACE_VERSION, xen_domctl, xen_domctl_address_size, xen_domctl_cacheflush, xen_domctl_getdomaininfo,
  xen_sysctl_cputopoinfo, xen_sysctl_cputopo, xen_domctl_vcpuaffinity, xen_domctl_nodeaffinity, XEN_VCPUAFFINITY_HARD, XEN_VCPUAFFINITY_SOFT,
} from "../../src/xen/public/domctl.js";

function setup(): { hv: Hypervisor; d0: PlayedGuest; domU: PlayedGuest } {
  const hv = new Hypervisor({ ramBytes: 32 << 20, deterministic: true, log: () => {} });
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 16 });
  const domU = PlayedGuest.create(hv, { id: 1, pages: 16 });
  return { hv, d0, domU };
}
// A sysctl with `union` in its union; the result and the union afterwards.
function sysctl(g: PlayedGuest, cmd: number, union: Uint8Array): { rc: bigint; u: Uint8Array } {
  const op = new StructBuf(xen_sysctl).set("cmd", cmd).set("interface_version", XEN_SYSCTL_INTERFACE_VERSION);
  op.bytes.set(union, SYSCTL_U);
  g.write(g.scratch, op.bytes);
  const rc = g.call(HYPERVISOR.sysctl, g.scratch);
  return { rc, u: g.read(g.scratch + BigInt(SYSCTL_U), 128) };
}
function domctl(g: PlayedGuest, cmd: number, domid: number, union: Uint8Array): bigint {
  const op = new StructBuf(xen_domctl).set("cmd", cmd).set("interface_version", XEN_DOMCTL_INTERFACE_VERSION).set("domain", domid);
  op.bytes.set(union, DOMCTL_U);
  g.write(g.scratch, op.bytes);
  return g.call(HYPERVISOR.domctl, g.scratch);
}
const BUF = BigInt(RAM0_GFN + 4) << 12n; // arrays the calls fill

test("sysctl sched_id and physinfo: credit2, and grant tables v1 offered (libxl picks the grant version from it)", () => {
  const { d0, domU } = setup();
  const r = sysctl(d0, SYSCTL.sched_id, new Uint8Array(4));
  assert.equal(r.rc, 0n);
  assert.equal(new StructBuf(xen_sysctl_sched_id, r.u).num("sched_id"), XEN_SCHEDULER_CREDIT2);
  const p = sysctl(d0, SYSCTL.physinfo, new Uint8Array(xen_sysctl_physinfo.size));
  assert.equal(p.rc, 0n);
  assert.ok(new StructBuf(xen_sysctl_physinfo, p.u).num("capabilities") & XEN_SYSCTL_PHYSCAP_gnttab_v1);
  assert.equal(sysctl(domU, SYSCTL.sched_id, new Uint8Array(4)).rc, BigInt(-XEN_E.EPERM));
});

test("sysctl numainfo: the count alone, then one node with all memory and distance 20, never more than the caller has room for", () => {
  const { hv, d0 } = setup();
  // no arrays: how many nodes
  let r = sysctl(d0, SYSCTL.numainfo, new StructBuf(xen_sysctl_numainfo).set("num_nodes", 0).bytes);
  assert.equal(r.rc, 0n);
  assert.equal(new StructBuf(xen_sysctl_numainfo, r.u).num("num_nodes"), 1);
  // arrays with room for 4: one filled
  d0.write(BUF, new Uint8Array(256).fill(0xEE));
  r = sysctl(d0, SYSCTL.numainfo, new StructBuf(xen_sysctl_numainfo).set("num_nodes", 4).set("meminfo", BUF).set("distance", BUF + 128n).bytes);
  assert.equal(r.rc, 0n);
  assert.equal(new StructBuf(xen_sysctl_numainfo, r.u).num("num_nodes"), 1);
  const m = new StructBuf(xen_sysctl_meminfo, d0.read(BUF, 16));
  assert.equal(m.get("memsize"), BigInt(hv.frames.nframes) << 12n);
  assert.equal(m.get("memfree"), BigInt(hv.frames.freeCount) << 12n);
  assert.deepEqual([...d0.read(BUF + 128n, 8)], [20, 0, 0, 0, 0xEE, 0xEE, 0xEE, 0xEE], "one distance, nothing past it");
  assert.deepEqual([...d0.read(BUF + 16n, 4)], [0xEE, 0xEE, 0xEE, 0xEE], "one meminfo, nothing past it");
  // room for none: none filled, and it says so
  d0.write(BUF, new Uint8Array(32).fill(0xEE));
  r = sysctl(d0, SYSCTL.numainfo, new StructBuf(xen_sysctl_numainfo).set("num_nodes", 0).set("meminfo", BUF).bytes);
  assert.equal(new StructBuf(xen_sysctl_numainfo, r.u).num("num_nodes"), 0);
  assert.deepEqual([...d0.read(BUF, 4)], [0xEE, 0xEE, 0xEE, 0xEE]);
  // a wild array: EFAULT
  assert.equal(sysctl(d0, SYSCTL.numainfo, new StructBuf(xen_sysctl_numainfo).set("num_nodes", 1).set("meminfo", 0xDEAD0000n).bytes).rc, BigInt(-XEN_E.EFAULT));
});

test("sysctl cpupool_op: pool 0 (credit2, every domain, CPU 0) is the next at or after 0 and none after it; no free CPUs; pools cannot be changed", () => {
  const { hv, d0 } = setup();
  const pool = (op: number, id: number, nrBits: number): { rc: bigint; s: StructBuf<keyof typeof xen_sysctl_cpupool_op.fields>; map: number[] } => {
    d0.write(BUF, new Uint8Array(8).fill(0xEE));
    const s = new StructBuf(xen_sysctl_cpupool_op).set("op", op).set("cpupool_id", id);
    s.sub("cpumap").set(new StructBuf(xenctl_bitmap).set("bitmap", BUF).set("nr_bits", nrBits).bytes);
    const r = sysctl(d0, SYSCTL.cpupool_op, s.bytes);
    return { rc: r.rc, s: new StructBuf(xen_sysctl_cpupool_op, r.u), map: [...d0.read(BUF, 8)] };
  };
  const info = pool(XEN_SYSCTL_CPUPOOL_OP.INFO, 0, 16);
  assert.equal(info.rc, 0n);
  assert.equal(info.s.num("cpupool_id"), 0);
  assert.equal(info.s.num("sched_id"), XEN_SCHEDULER_CREDIT2);
  assert.equal(info.s.num("n_dom"), hv.domains.size);
  assert.deepEqual(info.map, [1, 0, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE], "CPU 0, zeros to the caller's 16 bits, nothing past");
  assert.equal(pool(XEN_SYSCTL_CPUPOOL_OP.INFO, 1, 16).rc, BigInt(-XEN_E.ENOENT), "libxl's walk of the pools ends");
  const free = pool(XEN_SYSCTL_CPUPOOL_OP.FREEINFO, 0, 8);
  assert.equal(free.rc, 0n);
  assert.deepEqual(free.map.slice(0, 2), [0, 0xEE]);
  // a map longer than the caller's memory: zeros up to where its memory ends, then EFAULT
  const huge = pool(XEN_SYSCTL_CPUPOOL_OP.INFO, 0, 0xFFFFFFFF);
  assert.equal(huge.rc, BigInt(-XEN_E.EFAULT));
  assert.deepEqual(huge.map.slice(0, 3), [1, 0, 0]);
  assert.equal(pool(XEN_SYSCTL_CPUPOOL_OP.CREATE, 0, 8).rc, BigInt(-XEN_E.EOPNOTSUPP));
  assert.equal(pool(99, 0, 8).rc, BigInt(-XEN_E.ENOSYS));
});

test("domctl set_address_size 64 and cacheflush succeed; a 32-bit guest and an oversized or wrapping flush are EINVAL", () => {
  const { d0 } = setup();
  const size = (n: number): bigint => domctl(d0, DOMCTL.set_address_size, 1, new StructBuf(xen_domctl_address_size).set("size", n).bytes);
  assert.equal(size(64), 0n);
  assert.equal(size(32), BigInt(-XEN_E.EINVAL));
  assert.equal(size(48), BigInt(-XEN_E.EINVAL));
  const flush = (start: bigint, n: bigint): bigint => domctl(d0, DOMCTL.cacheflush, 1, new StructBuf(xen_domctl_cacheflush).set("start_pfn", start).set("nr_pfns", n).bytes);
  assert.equal(flush(BigInt(RAM0_GFN), 16n), 0n);
  assert.equal(flush(0n, 1n << 18n), 0n);
  assert.equal(flush(0n, (1n << 18n) + 1n), BigInt(-XEN_E.EINVAL));
  assert.equal(flush((1n << 64n) - 2n, 4n), BigInt(-XEN_E.EINVAL));
  assert.equal(domctl(d0, DOMCTL.cacheflush, 77, new Uint8Array(16)), BigInt(-XEN_E.ESRCH));
});

test("domctl getdomaininfo answers for the first domain at or after the id and says which (xenconsoled walks past gaps this way)", () => {
  const { d0 } = setup();
  PlayedGuest.create(d0.hv, { id: 5, pages: 4 });
  const info = (id: number): { rc: bigint; domain: number; infoDomain: number } => {
    const op = new StructBuf(xen_domctl).set("cmd", DOMCTL.getdomaininfo).set("interface_version", XEN_DOMCTL_INTERFACE_VERSION).set("domain", id);
    d0.write(d0.scratch, op.bytes);
    const rc = d0.call(HYPERVISOR.domctl, d0.scratch);
    const out = new StructBuf(xen_domctl, d0.read(d0.scratch, xen_domctl.size));
    return { rc, domain: out.num("domain"), infoDomain: new StructBuf(xen_domctl_getdomaininfo, out.bytes.subarray(DOMCTL_U)).num("domain") };
  };
  assert.deepEqual(info(1), { rc: 0n, domain: 1, infoDomain: 1 });
  assert.deepEqual(info(2), { rc: 0n, domain: 5, infoDomain: 5 }, "the gap is walked over");
  assert.equal(info(6).rc, BigInt(-XEN_E.ESRCH));
  assert.equal(info(0x7FF0).rc, BigInt(-XEN_E.EINVAL), "DOMID_SELF and other reserved ids");
});

test("sysctl cputopoinfo: one CPU (core 0, socket 0, node 0), the count alone without a buffer (libxl_get_cpu_topology)", () => {
  const { d0, domU } = setup();
  let r = sysctl(d0, SYSCTL.cputopoinfo, new StructBuf(xen_sysctl_cputopoinfo).set("num_cpus", 0).bytes);
  assert.equal(r.rc, 0n);
  assert.equal(new StructBuf(xen_sysctl_cputopoinfo, r.u).num("num_cpus"), 1);
  d0.write(BUF, new Uint8Array(64).fill(0xEE));
  r = sysctl(d0, SYSCTL.cputopoinfo, new StructBuf(xen_sysctl_cputopoinfo).set("num_cpus", 4).set("cputopo", BUF).bytes);
  assert.equal(r.rc, 0n);
  assert.equal(new StructBuf(xen_sysctl_cputopoinfo, r.u).num("num_cpus"), 1, "told how many it filled");
  const t = new StructBuf(xen_sysctl_cputopo, d0.read(BUF, 12));
  assert.deepEqual([t.num("core"), t.num("socket"), t.num("node")], [0, 0, 0]);
  assert.equal(d0.read(BUF + 12n, 1)[0], 0xEE, "nothing past the one CPU");
  assert.equal(sysctl(d0, SYSCTL.cputopoinfo, new StructBuf(xen_sysctl_cputopoinfo).set("num_cpus", 1).set("cputopo", 0xDEAD0000n).bytes).rc, BigInt(-XEN_E.EFAULT));
  assert.equal(sysctl(domU, SYSCTL.cputopoinfo, new Uint8Array(16)).rc, BigInt(-XEN_E.EPERM));
});

test("domctl vcpu and node affinity as libxl's build sets them: CPU 0 and node 0 must be in the maps; soft affinity kept; what is used reported back", () => {
  const { d0, domU } = setup();
  const MAP_A = BUF, MAP_B = BUF + 64n;
  const aff = (cmd: number, vcpu: number, flags: number, hard: number, soft: number, nrBits = 8, target = 1): { rc: bigint; hard: number; soft: number } => {
    d0.write(MAP_A, new Uint8Array([hard, 0xFF])); d0.write(MAP_B, new Uint8Array([soft, 0xFF]));
    const a = new StructBuf(xen_domctl_vcpuaffinity).set("vcpu", vcpu).set("flags", flags);
    a.sub("cpumap_hard").set(new StructBuf(xenctl_bitmap).set("bitmap", MAP_A).set("nr_bits", nrBits).bytes);
    a.sub("cpumap_soft").set(new StructBuf(xenctl_bitmap).set("bitmap", MAP_B).set("nr_bits", nrBits).bytes);
    const rc = domctl(d0, cmd, target, a.bytes);
    return { rc, hard: d0.read(MAP_A, 1)[0], soft: d0.read(MAP_B, 1)[0] };
  };
  const both = XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT;
  assert.deepEqual(aff(DOMCTL.setvcpuaffinity, 0, both, 0xFF, 0xFF), { rc: 0n, hard: 1, soft: 1 }, "all CPUs: what is used is CPU 0");
  assert.equal(aff(DOMCTL.setvcpuaffinity, 0, XEN_VCPUAFFINITY_HARD, 0x02, 0).rc, BigInt(-XEN_E.EINVAL), "a hard map without CPU 0");
  assert.deepEqual(aff(DOMCTL.setvcpuaffinity, 0, XEN_VCPUAFFINITY_SOFT, 0, 0x02), { rc: 0n, hard: 0, soft: 0 }, "a soft map without CPU 0 is kept, and reported empty");
  assert.deepEqual(aff(DOMCTL.getvcpuaffinity, 0, both, 0x55, 0x55), { rc: 0n, hard: 1, soft: 0 });
  assert.equal(aff(DOMCTL.setvcpuaffinity, 0, 0, 1, 1).rc, BigInt(-XEN_E.EINVAL), "no flags");
  assert.equal(aff(DOMCTL.setvcpuaffinity, 5, both, 1, 1).rc, BigInt(-XEN_E.EINVAL), "no such vCPU");
  assert.equal(aff(DOMCTL.setvcpuaffinity, 0, both, 1, 1, 0).rc, BigInt(-XEN_E.EINVAL), "nr_bits 0: an empty hard map...");
  assert.equal(aff(DOMCTL.setvcpuaffinity, 0, XEN_VCPUAFFINITY_SOFT, 1, 1, 0).rc, 0n, "...but an empty soft map is fine...");
  assert.equal(d0.read(MAP_B + 1n, 1)[0], 0xFF, "...and nothing is written past the caller's bits");
  const node = (cmd: number, bits: number, target = 1): { rc: bigint; map: number } => {
    d0.write(MAP_A, new Uint8Array([bits]));
    const n = new StructBuf(xen_domctl_nodeaffinity);
    n.sub("nodemap").set(new StructBuf(xenctl_bitmap).set("bitmap", MAP_A).set("nr_bits", 64).bytes);
    return { rc: domctl(d0, cmd, target, n.bytes), map: d0.read(MAP_A, 1)[0] };
  };
  assert.equal(node(DOMCTL.setnodeaffinity, 1).rc, 0n);
  assert.equal(node(DOMCTL.setnodeaffinity, 2).rc, BigInt(-XEN_E.EINVAL), "a map without node 0 is disjoint from the host");
  assert.deepEqual(node(DOMCTL.getnodeaffinity, 0xF0), { rc: 0n, map: 1 });
  assert.equal(domctl(domU, DOMCTL.setnodeaffinity, 1, new Uint8Array(16)), BigInt(-XEN_E.EPERM));
});
