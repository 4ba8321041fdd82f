// Remus with an arbiter (issue 17): a real etcd decides which copy runs
// when the replication link breaks while both hosts live. The primary
// reaches etcd through a proxy that the test can partition; the backup
// directly. Throughout, at most one copy runs (sampled every 10 ms).
// - The link cut, both hosts reaching etcd: the primary marks the backup's
//   copy stale and runs on, unprotected; the backup, seeing the primary's
//   lease alive and then the mark, discards its copy.
// - The primary cut off from everything: it cannot renew its lease and
//   pauses its copy (fenced, saying why) before etcd lets the lease lapse;
//   then the backup takes the domain and runs it.
// - Claims: a domain another live copy owns cannot be protected again,
//   and a copy that took over keeps the domain past its lease's time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bookedHost, BookedHost } from "../helpers/host.js";
import { until } from "../helpers/until.js";
import { TcpProxy } from "../helpers/tcp_proxy.js";
import { startEtcd, TestEtcd } from "../helpers/etcd.js";
import { MigrationListener } from "../../src/tools/migration.js";
import { RemusPrimary } from "../../src/tools/remus/primary.js";
import { RemusBackup } from "../../src/tools/remus/backup.js";
import { Arbiter } from "../../src/tools/remus/arbiter.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";

let etcd: TestEtcd;
before(async () => { etcd = await startEtcd(); });
after(async () => { await etcd.stop(); });

const running = (s: BookedHost): number[] => [...s.host.hv.domains.values()].filter((d) => d.id !== 0 && !d.paused()).map((d) => d.id);

interface Pair { a: BookedHost; b: BookedHost; domid: number; uuid: string; primary: RemusPrimary; backup: () => RemusBackup; link: TcpProxy; toEtcd: TcpProxy; close(): Promise<void>; never2(): void }
async function protect(timeoutMs: number, slowLinkMs = 0): Promise<Pair> {
  const a = bookedHost(), b = bookedHost();
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), "xents-remus-arb-"));
  const listener = new MigrationListener(b.ts, key);
  const backups: RemusBackup[] = [];
  listener.remus = (sock, lines) => { const r = new RemusBackup(b.ts, dir, sock, lines, "host-b", etcd.url); backups.push(r); r.start(); };
  const port = await listener.listen(0, "127.0.0.1");
  const g = a.ts.create({ name: "arbitrated", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  const link = new TcpProxy(port);
  const via = await link.listen();
  const toEtcd = new TcpProxy(Number(etcd.address.split(":")[1]));
  const etcdVia = await toEtcd.listen();
  if (slowLinkMs) { link.hold(); setTimeout(() => link.release(), slowLinkMs); }
  const primary = await RemusPrimary.start(a.ts, g.domid, "127.0.0.1", via, {
    key, intervalMs: 20, timeoutMs, netBuffer: true, disk: true, failover: "auto", arbiter: `etcd://127.0.0.1:${etcdVia}`, who: "host-a",
  });
  // two copies must never run at once: checked every 10 ms until the end
  let both = "";
  const sampler = setInterval(() => { if (running(a).length + running(b).length > 1 && !both) both = `both ran at ${new Date().toISOString()}`; }, 10);
  return {
    a, b, domid: g.domid, uuid: g.uuid, primary, backup: () => backups[0], link, toEtcd,
    never2: () => assert.equal(both, "", "at most one copy ran at any time"),
    close: async () => { clearInterval(sampler); await link.close(); await toEtcd.close(); await listener.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

test("the replication link cut while both hosts reach the arbiter: the primary runs on, the backup's copy is discarded as stale", async () => {
  const p = await protect(400);
  assert.equal(p.backup().status().state, "protecting");
  assert.equal(p.backup().status().arbiter, p.primary.status().arbiter, "the header carried the arbiter");
  await until("checkpoints", () => p.primary.status().checkpoints >= 3, 10_000);
  p.link.partition();
  await until("the backup gives up its copy", () => p.backup().status().state === "discarded", 10_000);
  assert.match(p.backup().status().why ?? "", /no-takeover mark\): this copy is stale/);
  assert.equal(p.primary.status().state, "unprotected");
  assert.deepEqual(running(p.a), [p.domid]);
  assert.deepEqual(running(p.b), []);
  p.never2();
  // the mark stays: no later take-over of this domain by a stale copy
  const arb = new Arbiter(etcd.url, p.uuid);
  const t = await arb.takeover("someone");
  assert.equal(t.ok, false);
  assert.equal(t.ok === false && t.forbidden, true);
  arb.close();
  await p.close();
});

test("the primary cut off from the backup and the arbiter: it pauses itself before its lease lapses, then the backup takes over", async () => {
  const p = await protect(400);
  await until("checkpoints", () => p.primary.status().checkpoints >= 3, 10_000);
  const t0 = Date.now();
  p.toEtcd.partition();
  p.link.partition();
  await until("the primary fences itself", () => p.primary.status().state === "fenced", 10_000);
  const fencedAt = Date.now() - t0;
  assert.match(p.primary.status().why ?? "", /arbiter/);
  assert.deepEqual(running(p.a), [], "the primary's copy is paused");
  assert.equal(p.a.host.hv.domains.has(p.domid), true, "and kept");
  await until("the backup takes over", () => p.backup().status().state === "running", 15_000);
  const tookAt = Date.now() - t0;
  assert.deepEqual(running(p.b), [p.domid]);
  assert.ok(tookAt > fencedAt, `the take-over (${tookAt} ms) came after the fence (${fencedAt} ms)`);
  p.never2();
  console.log(`partition: primary paused after ${fencedAt} ms, backup ran after ${tookAt} ms`);
  // the backup owns the domain now, for longer than a lease's time (its
  // lease was renewed before it took the key, and is kept alive since):
  // the old primary cannot claim it back
  await new Promise((res) => setTimeout(res, 2_500));
  const arb = new Arbiter(etcd.url, p.uuid);
  assert.equal(await arb.owner(), "host-b");
  await assert.rejects(arb.claim("host-a"), /another copy runs this domain \(host-b\)/);
  arb.close();
  await p.close();
});

test("a backup slow to answer the handshake for longer than the lease: the primary's lease is renewed meanwhile, and protection begins", async () => {
  const p = await protect(400, 2_600);
  assert.equal(p.primary.status().state, "protected");
  await until("checkpoints", () => p.primary.status().checkpoints >= 3, 10_000);
  const arb = new Arbiter(etcd.url, p.uuid);
  assert.equal(await arb.owner(), "host-a");
  arb.close();
  await p.primary.stop();
  await p.close();
});

test("remus-switch with an arbiter: the domain's claim passes to the backup with the domain, at once (not after a lease's time)", async () => {
  const p = await protect(400);
  await until("checkpoints", () => p.primary.status().checkpoints >= 3, 10_000);
  const t0 = Date.now();
  const r = await p.primary.switchOver();
  const took = Date.now() - t0;
  assert.equal(r.domid, p.domid);
  assert.equal(p.primary.status().state, "switched");
  assert.deepEqual(running(p.a), []);
  assert.equal(p.a.host.hv.domains.has(p.domid), false, "the primary's copy is destroyed");
  assert.deepEqual(running(p.b), [p.domid]);
  assert.ok(took < 2_000, `the switch took ${took} ms: the primary's lease was revoked, not left to lapse`);
  p.never2();
  const arb = new Arbiter(etcd.url, p.uuid);
  assert.equal(await arb.owner(), "host-b");
  await assert.rejects(arb.claim("host-a"), /another copy runs this domain \(host-b\)/);
  arb.close();
  await p.close();
});
