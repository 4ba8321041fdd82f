// What libxl does for xl vcpu-set, mem-set, mem-max and rename, now the
// toolstack's: the nodes the guest's drivers watch, the hypervisor's limit,
// and refusals with a reason. A fractional mem-max was a RangeError
// (BigInt of 100.5) inside the daemon, counted as a daemon bug.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { SHUTDOWN } from "../../src/xen/public/xen.js";

test("toolstack: vcpu-set, mem-set, mem-max and rename as libxl does them", () => {
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd));
  const g = ts.create({ name: "p", memoryMiB: 32, vcpus: 2, kernel: idleImage(), cmdline: "", paused: true });
  const other = ts.create({ name: "q", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true });
  const dp = `/local/domain/${g.domid}`;
  ts.setVcpus(g.domid, 1);
  assert.deepEqual([0, 1].map((i) => ts.xsRead(`${dp}/cpu/${i}/availability`)), ["online", "offline"]);
  assert.throws(() => ts.setVcpus(g.domid, 3), /between 1 and 2/);
  ts.setMaxMemory(g.domid, 100.5);
  assert.equal(ts.xsRead(`${dp}/memory/static-max`), String(100 * 1024 + 512));
  assert.equal(ts.dom0.xc.domainInfo(g.domid).maxPages, (100n * 1024n + 1024n) / 4n);
  ts.setMemoryTarget(g.domid, 24);
  assert.equal(ts.xsRead(`${dp}/memory/target`), String(24 * 1024));
  assert.throws(() => ts.setMemoryTarget(g.domid, 500), /exceeds the maximum \(101 MiB\)/);
  assert.throws(() => ts.setMemoryTarget(g.domid, 8), /at least 16 MiB/);
  ts.rename(g.domid, "renamed");
  assert.equal(ts.xsRead(`${dp}/name`), "renamed");
  assert.throws(() => ts.rename(g.domid, "q"), /a domain named 'q' exists/);
  assert.throws(() => ts.rename(g.domid, "no spaces"), /invalid name/);
  assert.throws(() => ts.setVcpus(999, 1), /no domain 999/);
  ts.destroy(other.domid);
  ts.destroy(g.domid);
});

// A guest that suspends itself (Linux does, on control/shutdown = "suspend",
// which the guest may write itself) was destroyed: the toolstack took the
// suspend for any other shutdown. xl leaves it ("Domain has suspended"),
// shut down and paused, until someone destroys (or saves) it.
test("toolstack: a guest that suspends itself is kept, shut down, not destroyed", () => {
  const host = new Host({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd));
  const exits: string[] = [];
  ts.events.onGuestExit = (_g, reason, action) => exits.push(`${reason} ${action}`);
  const g = ts.create({ name: "s", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true });
  host.hv.shutdown(host.hv.domains.get(g.domid)!, SHUTDOWN.suspend);
  ts.checkDomains();
  assert.deepEqual(exits, ["suspend preserve"]);
  assert.equal(g.state, "shutdown");
  assert.equal(ts.guests.get(g.domid), g, "still the toolstack's");
  assert.ok(ts.dom0.xc.listDomains().some((i) => i.domid === g.domid && i.shutdown), "still the hypervisor's, shut down");
  ts.destroy(g.domid);
  assert.equal(ts.guests.size, 0);
});
