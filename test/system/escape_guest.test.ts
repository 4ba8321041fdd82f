// The stage-2 escape of issue 11 run by a guest (test/programs/hostile/
// escape.c, the same hypercalls Linux's gntalloc and gntdev make) beside a
// victim holding secrets, one page granted to Domain-0 only; the memory
// audit runs after every hypercall. Before the fix the attacker's X2 became
// its own stage-2 table and it read the victim's pages through it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { buildDomain } from "../../src/tools/domain_builder.js";
import { guestImage } from "../helpers/guest_programs.js";
import { auditMemory } from "../../src/xen/audit.js";

const HOST_MIB = 128;
const SECRET = 0x5EC2E75EC2E70000n;
const SECRET_PAGES = 256;

test("a guest running the self-grant escape gets nowhere: the steps that must fail fail, the victim is untouched, accounting returns to baseline", async () => {
  const log: string[] = [];
  const host = new Host({ ramBytes: HOST_MIB << 20, deterministic: true, audit: true, log: (l) => log.push(l) });
  const dom0 = new Dom0(host.privcmd);
  const hv = host.hv;
  const freeBefore = hv.frames.freeCount;
  const out = new Map<number, string>();
  hv.events.onConsoleWrite = (d, t) => out.set(d.id, (out.get(d.id) ?? "") + t);
  const defines = { SECRET: `${SECRET}ul`, HOST_FRAMES: (HOST_MIB << 20) / 4096, RAM_PAGES: 4096, SECRET_PAGES, ROUNDS: 4 };
  const victim = buildDomain(dom0.xc, { name: "victim", memoryMiB: 16, vcpus: 1, kernel: guestImage("victim", defines), cmdline: "" });
  const attacker = buildDomain(dom0.xc, { name: "attacker", memoryMiB: 16, vcpus: 1, kernel: guestImage("escape", defines), cmdline: "" });
  dom0.xc.unpause(victim.domid);
  const dv = hv.domains.get(victim.domid)!, da = hv.domains.get(attacker.domid)!;
  await host.run(() => /victim: ready/.test(out.get(victim.domid) ?? "") || dv.shutdown !== null);
  dom0.xc.unpause(attacker.domid);
  const insns = (): bigint => dv.vcpus[0].instructions + da.vcpus[0].instructions;
  await host.run(() => (dv.shutdown !== null && da.shutdown !== null) || insns() > 4_000_000_000n);

  const a = out.get(attacker.domid) ?? "";
  const line = (label: string): number => {
    const m = new RegExp(`escape: ${label} (-?\\d+)`).exec(a);
    assert.ok(m, `no '${label}' in:\n${a}`);
    return Number(m[1]);
  };
  assert.deepEqual(da.shutdown, { reason: 0 }, `the attacker ran to its end:\n${a}`);
  assert.equal(line("grant table mapped"), 0);
  assert.equal(line("domid"), attacker.domid);
  assert.equal(line("step2 map X1"), 0);
  assert.equal(line("step2 map X2"), 0);
  assert.equal(line("step3 remove_from_physmap X1"), -16, "removing a grant mapping behind the grant table: EBUSY");
  assert.equal(line("step3 unmap X1"), 0);
  assert.equal(line("step4 decrease G1"), 1, "the guest may give its page back");
  assert.equal(line("step5 map Y"), 0);
  assert.equal(line("step6 own words at X2"), 512, "X2 still shows the attacker's own data");
  assert.equal(line("step6 table-like words at X2"), 0, "X2 is not a stage-2 table");
  assert.doesNotMatch(a, /ESCAPED/);
  assert.equal(line("victim grants mapped"), 0, "the page granted to Domain-0 only stays Domain-0's");
  assert.equal(line("secret pages seen"), 0);
  assert.equal(line("cleanup"), 0);

  const v = out.get(victim.domid) ?? "";
  assert.match(v, /victim: words changed 0\n/, v);
  // the victim's memory, read by the host: every secret word as written
  for (let p = 0; p < SECRET_PAGES; p++) {
    const page = dom0.xc.mapForeign(victim.domid, [0x40400n + BigInt(p)]);
    const w = new DataView(page.page(0).buffer, page.page(0).byteOffset, 4096);
    for (let i = 0; i < 512; i += 97) assert.equal(w.getBigUint64(i * 8, true), SECRET ^ (BigInt(p) << 9n) ^ BigInt(i));
    page.unmap();
  }

  assert.ok(hv.stats.audits > 1000, `the audit ran after every hypercall (${hv.stats.audits})`);
  if (process.env.XENTS_VERBOSE) process.stderr.write(`audits ${hv.stats.audits}\n`);
  assert.deepEqual(hv.auditFindings, [], log.filter((l) => l.startsWith("AUDIT")).join("\n"));
  assert.equal(hv.stats.internalErrors, 0, log.join("\n"));
  dom0.xc.destroyDomain(attacker.domid);
  dom0.xc.destroyDomain(victim.domid);
  assert.deepEqual(auditMemory(hv), []);
  assert.equal(hv.frames.freeCount, freeBefore, "every frame is back");
  assert.equal(hv.domains.size, 1);
});
