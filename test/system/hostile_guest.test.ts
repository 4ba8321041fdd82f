// A hostile guest (random hypercalls and arguments, unmapped IPAs, garbage
// to the GIC) beside a well-behaved one: the hostile guest gets error codes
// or is crashed, the other keeps running, the memory audit finds nothing
// after any hypercall, and afterwards every frame, event channel and grant
// mapping is accounted for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { buildDomain } from "../../src/tools/domain_builder.js";
import { guestImage } from "../helpers/guest_programs.js";
import { auditMemory } from "../../src/xen/audit.js";

for (const seed of ["0x9E3779B97F4A7C15ul", "0x0123456789ABCDEFul", "0xDEADBEEFCAFEF00Dul"])
test(`a hostile guest cannot hurt the hypervisor or its neighbour (seed ${seed})`, async () => {
  const log: string[] = [];
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, audit: true, log: (l) => log.push(l) });
  const dom0 = new Dom0(host.privcmd);
  const hv = host.hv;
  const freeBefore = hv.frames.freeCount;
  const dom0Tables = (): number => hv.domains.get(0)!.p2m.tableFrames(); // tables for dom0's mappings of the guests must go with them
  const tablesBefore = dom0Tables();
  const dom0Ports = hv.domains.get(0)!.evtchn.inUse();
  const out = new Map<number, string>();
  hv.events.onConsoleWrite = (d, t) => out.set(d.id, (out.get(d.id) ?? "") + t);

  const steady = buildDomain(dom0.xc, { name: "steady", memoryMiB: 16, vcpus: 1, kernel: guestImage("steady", { ROUNDS: 20 }), cmdline: "" });
  const hostile = buildDomain(dom0.xc, { name: "hostile", memoryMiB: 16, vcpus: 1, kernel: guestImage("hostile", { ITERATIONS: 4000, SEED: seed }), cmdline: "" });
  dom0.xc.unpause(hostile.domid);
  dom0.xc.unpause(steady.domid);
  const ds = hv.domains.get(steady.domid)!, dh = hv.domains.get(hostile.domid)!;
  const total = (): bigint => ds.vcpus[0].instructions + dh.vcpus[0].instructions;
  await host.run(() => (ds.shutdown !== null && (dh.shutdown !== null || dh.vcpus[0].blocked())) || total() > 3_000_000_000n);

  const s = out.get(steady.domid) ?? "";
  assert.deepEqual(s.split("\n").filter((l) => /^steady: \d/.test(l)), steadyLines(20), "the neighbour computed every round right");
  assert.deepEqual(ds.shutdown, { reason: 0 }, "the neighbour powered off normally");
  const h = out.get(hostile.domid) ?? "";
  assert.ok(dh.shutdown !== null, "the hostile guest finished or was crashed");
  if (process.env.XENTS_VERBOSE) process.stderr.write(h);
  // whether it finished or was crashed, it must have made its calls
  assert.ok(dh.hypercalls > 1000, `the hostile guest made ${dh.hypercalls} hypercalls`);
  if (dh.shutdown?.reason === 0) {
    assert.match(h, /hostile: done/);
    const errors = Number(/hostile: errors (\d+)/.exec(h)?.[1]);
    const calls = Number(/hostile: calls (\d+)/.exec(h)?.[1]);
    assert.ok(calls > 1000 && errors > calls / 2, `calls ${calls} errors ${errors}`);
    assert.ok(Number(/hostile: exceptions (\d+)/.exec(h)?.[1]) > 100, "unmapped accesses came back as aborts");
  }
  assert.ok(hv.stats.audits > 500, `audited after every hypercall (${hv.stats.audits})`);
  assert.deepEqual(hv.auditFindings, [], log.filter((l) => l.startsWith("AUDIT")).join("\n"));
  assert.equal(hv.stats.internalErrors, 0, log.filter((l) => l.startsWith("BUG")).join("\n"));
  dom0.xc.destroyDomain(hostile.domid);
  dom0.xc.destroyDomain(steady.domid);
  assert.deepEqual(auditMemory(hv), []);
  assert.equal(dom0Tables(), tablesBefore, "Domain-0's stage-2 tables shrank back");
  assert.equal(hv.frames.freeCount, freeBefore, "every frame returned to the allocator");
  assert.equal(hv.domains.get(0)!.evtchn.inUse(), dom0Ports, "no event channel left bound in dom0");
  assert.equal(hv.domains.get(0)!.gnttab.mappings(), 0, "no grant mapping left");
  assert.equal(hv.domains.size, 1);
});

// What steady.c prints: an FNV-style hash over 20000 steps a round, in hex.
function steadyLines(rounds: number): string[] {
  const M = (1n << 64n) - 1n;
  let h = 1469598103934665603n;
  const out: string[] = [];
  for (let k = 1; k <= rounds; k++) {
    for (let j = 0n; j < 20000n; j++) { h ^= j; h = (h * 1099511628211n) & M; }
    out.push(`steady: ${k} ${h.toString(16).padStart(16, "0")}`);
  }
  return out;
}
