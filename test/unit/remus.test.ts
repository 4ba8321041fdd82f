// Remus replication between two in-process hosts (issue 17), through a
// proxy that can hold the primary's bytes back and cut the link: a page the
// guest writes reaches the backup's copy with the next acknowledged
// checkpoint and not before; a checkpoint cut half way is never applied
// (the copy takes over from the one before); fail-over runs the copy by
// itself with "auto" and waits for remus-takeover with "manual"; a backup
// that goes leaves the primary running unprotected; remus-stop and a
// domain destroyed on the primary leave nothing on the backup. Also the
// output buffer's order and the disk log, which the Linux system test
// drives through netfront and blkfront.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bookedHost, BookedHost } from "../helpers/host.js";
import { until as untilOr } from "../helpers/until.js";
import { TcpProxy } from "../helpers/tcp_proxy.js";
import { MigrationListener } from "../../src/tools/migration.js";
import { RemusPrimary, RemusOptions } from "../../src/tools/remus/primary.js";
import { RemusBackup } from "../../src/tools/remus/backup.js";
import { OutputBuffer } from "../../src/tools/remus/output_buffer.js";
import { DiskLog } from "../../src/tools/remus/disk_log.js";
import { decodeDisk, DISK_WRITE, DISK_DISCARD, DISK_CHUNK, checkHeader } from "../../src/tools/remus/protocol.js";
import type { Vif } from "../../src/tools/backends/netback.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { RAM0_GFN } from "../../src/host/fuzz/played_guest.js";

type Side = BookedHost;
const side = (): Side => bookedHost();
// a guest page as the guest writes it (log-dirty sees it) or reads it
function page(s: Side, domid: number, gfn: number, write = false): Uint8Array {
  const d = s.host.hv.domains.get(domid)!;
  const h = d.p2m.hostAddr(BigInt(gfn) << 12n, write);
  assert.ok(h >= 0, `gfn ${gfn.toString(16)} is mapped in d${domid}`);
  return d.bytes.subarray(h, h + 4096);
}
const X = RAM0_GFN + 700;
const stamp = (v: number): Uint8Array => new Uint8Array(4096).fill(v);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const until = (what: string, f: () => boolean, ms = 10_000): Promise<void> => untilOr(what, f, ms);

interface Pair { a: Side; b: Side; domid: number; primary: RemusPrimary; backups: RemusBackup[]; proxy: TcpProxy; listener: MigrationListener; baseB: string; dir: string; key: Uint8Array; port: number }
async function protect(o: Partial<RemusOptions> = {}): Promise<Pair> {
  const a = side(), b = side();
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), "xents-remus-"));
  const listener = new MigrationListener(b.ts, key);
  const backups: RemusBackup[] = [];
  listener.remus = (sock, lines) => { const r = new RemusBackup(b.ts, dir, sock, lines, "b"); r.peers = () => backups; backups.push(r); r.start(); };
  const port = await listener.listen(0, "127.0.0.1");
  const baseB = b.books();
  const g = a.ts.create({ name: "guarded", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  page(a, g.domid, X, true).set(stamp(1));
  const proxy = new TcpProxy(port);
  const via = await proxy.listen();
  const primary = await RemusPrimary.start(a.ts, g.domid, "127.0.0.1", via, { key, intervalMs: 20, timeoutMs: 2000, netBuffer: true, disk: true, failover: "auto", arbiter: null, who: "a", ...o });
  return { a, b, domid: g.domid, primary, backups, proxy, listener, baseB, dir, key, port };
}
async function done(p: Pair): Promise<void> {
  await p.proxy.close();
  await p.listener.close();
  rmSync(p.dir, { recursive: true, force: true });
}
const running = (s: Side): number[] => [...s.host.hv.domains.values()].filter((d) => d.id !== 0 && !d.paused()).map((d) => d.id);
const others = (s: Side): number[] => [...s.host.hv.domains.keys()].filter((id) => id !== 0);
const acked = (p: Pair): number => p.primary.status().checkpoints;

test("a guest's write reaches the backup with the next acknowledged checkpoint; a checkpoint cut half way is never applied; fail-over runs the last whole one", async () => {
  const p = await protect();
  const { a, b, domid } = p;
  assert.equal(p.backups.length, 1);
  assert.equal(p.backups[0].status().state, "protecting");
  assert.deepEqual(others(b), [domid], "the copy exists under the same id");
  assert.deepEqual(running(b), [], "and is paused");
  assert.deepEqual(page(b, domid, X), stamp(1), "the first checkpoint carried the guest's memory");
  await until("checkpoints", () => acked(p) >= 3);
  // a write between checkpoints: on the backup only after the next acknowledgement
  page(a, domid, X, true).set(stamp(2));
  const n = acked(p);
  await until("the next acknowledgement", () => acked(p) >= n + 2);
  assert.deepEqual(page(b, domid, X), stamp(2));
  const st = p.primary.status();
  assert.equal(st.state, "protected");
  assert.ok(st.last_pages >= 0 && st.mean_pause_ms >= 0);
  const be = p.backups[0].status().epoch;
  assert.ok(be >= st.checkpoints && be <= st.epoch, `the backup's epoch ${be} lies between the primary's last acknowledged (${st.checkpoints}) and last sent (${st.epoch})`);

  // the next checkpoint carries stamp 3, but the link dies with part of it delivered
  p.proxy.hold();
  page(a, domid, X, true).set(stamp(3));
  await until("a checkpoint sent", () => p.primary.status().epoch > p.backups[0].status().epoch);
  await sleep(50); // its bytes reach the proxy
  const epochBefore = p.backups[0].status().epoch;
  const heldBytes = p.proxy.cutAfterPartOfHeld(16);
  assert.ok(heldBytes > 4096, `a checkpoint with the page (${heldBytes} bytes held)`);
  await until("the take-over", () => running(b).length === 1);
  const bs = p.backups[0].status();
  assert.equal(bs.state, "running");
  assert.equal(bs.epoch, epochBefore, "the copy runs from the last whole checkpoint");
  assert.deepEqual(page(b, domid, X), stamp(2), "the checkpoint cut half way was not applied");
  assert.ok(b.ts.guests.get(domid), "the copy is the backup's guest now (console, xenstore)");
  assert.equal(b.ts.xenstored.store.get(`/local/domain/${domid}/name`) ? "named" : "", "named");
  // the primary lost its backup: it runs on, unprotected, with its output released
  await until("the primary notices", () => p.primary.status().state !== "protected");
  assert.equal(p.primary.status().state, "unprotected");
  assert.match(p.primary.status().why ?? "", /link|acknowledgement/);
  assert.deepEqual(running(a), [domid], "the primary's copy runs (the test cut the link; a dead primary would run nothing)");
  assert.equal(a.host.hv.domains.get(domid)!.p2m.logDirty, false, "log-dirty is off again");
  await done(p);
});

test("manual fail-over: the copy waits, paused, for remus-takeover; a primary that stops protection or loses its domain leaves nothing on the backup", async () => {
  const p = await protect({ failover: "manual" });
  await until("checkpoints", () => acked(p) >= 2);
  assert.throws(() => p.backups[0].takeOver(), /primary is alive/, "no take-over while the link is up");
  p.proxy.cut();
  await until("the backup notices", () => p.backups[0].status().state === "primary-lost");
  assert.deepEqual(running(p.b), [], "nothing runs by itself");
  const g = p.backups[0].takeOver();
  assert.equal(g.domid, p.domid);
  assert.deepEqual(running(p.b), [p.domid]);
  await done(p);

  // remus-stop: the primary runs on; the backup's books are as before
  const q = await protect();
  await until("checkpoints", () => acked(q) >= 2);
  const t0 = Date.now();
  await q.primary.stop();
  assert.ok(Date.now() - t0 < 4000, "the backup confirmed (STOPPED) rather than the wait running out");
  assert.equal(q.primary.status().state, "stopped");
  await until("the backup discards", () => q.backups[0].status().state === "discarded");
  assert.equal(q.b.books(), q.baseB, "the backup keeps nothing");
  assert.deepEqual(running(q.a), [q.domid]);
  assert.equal(q.a.host.hv.domains.get(q.domid)!.p2m.logDirty, false);
  await done(q);

  // the domain destroyed on the primary: the backup discards its copy too (no fail-over to it)
  const r = await protect();
  await until("checkpoints", () => acked(r) >= 2);
  r.a.ts.destroy(r.domid);
  await until("the backup discards", () => r.backups[0].status().state === "discarded");
  assert.match(r.backups[0].status().why ?? "", /gone/);
  assert.equal(r.b.books(), r.baseB);
  await done(r);
});

test("a backup that is lost (silent past the timeout) leaves the primary running, unprotected", async () => {
  const p = await protect({ timeoutMs: 300 });
  await until("checkpoints", () => acked(p) >= 2);
  // the backup still hears the primary, but its acknowledgements never arrive
  p.proxy.swallowAnswers();
  await until("the primary gives up", () => p.primary.status().state === "unprotected", 5_000);
  assert.match(p.primary.status().why ?? "", /no acknowledgement of checkpoint \d+ in 150 ms/);
  assert.deepEqual(running(p.a), [p.domid]);
  // the backup, slow rather than dead here, was told: it discards its copy instead of taking over
  await until("the backup discards", () => p.backups[0].status().state === "discarded");
  assert.match(p.backups[0].status().why ?? "", /the primary ended protection: no acknowledgement/);
  assert.deepEqual(running(p.b), [], "never two copies");
  await done(p);
});

test("remus-switch: the domain moves to the backup with its last write, the primary's copy goes; a second copy of one name is refused", async () => {
  const p = await protect();
  const { a, b, domid } = p;
  await until("checkpoints", () => acked(p) >= 2);
  // a domain of the same name from another host cannot be held beside this copy
  const c = side();
  const g2 = c.ts.create({ name: "guarded", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  await assert.rejects(RemusPrimary.start(c.ts, g2.domid, "127.0.0.1", p.port, {
    key: p.key, intervalMs: 20, timeoutMs: 2000, netBuffer: true, disk: true, failover: "auto", arbiter: null, who: "c",
  }), /this host already holds a Remus copy of 'guarded'/);
  assert.deepEqual(running(c), [g2.domid], "the refused one runs on");
  assert.equal(p.backups[0].status().state, "protecting", "and the copy held is untouched");
  // the last write before the switch is in the copy that runs
  page(a, domid, X, true).set(stamp(9));
  const r = await p.primary.switchOver();
  assert.equal(r.domid, domid);
  assert.equal(p.primary.status().state, "switched");
  assert.match(p.primary.status().why ?? "", /switched over to 127\.0\.0\.1:\d+, where it runs as d\d+/);
  assert.deepEqual(others(a), [], "the primary's copy is destroyed");
  assert.equal(a.ts.guests.size, 0);
  assert.deepEqual(running(b), [domid], "the backup's copy runs");
  assert.deepEqual(page(b, domid, X), stamp(9), "with the write made just before the switch");
  const bs = p.backups[0].status();
  assert.equal(bs.state, "running");
  assert.match(bs.why ?? "", /switched the domain over/);
  assert.ok(b.ts.guests.get(domid), "a guest of the backup's toolstack (console, xenstore)");
  await assert.rejects(p.primary.switchOver(), /not protected/, "once only");
  await done(p);
});

test("remus-switch that goes wrong: never two copies; a checkpoint not acknowledged leaves the primary running, an answer that never comes leaves it paused", async () => {
  // the switch's last checkpoint is never acknowledged: it does not begin
  const p = await protect({ timeoutMs: 400 });
  await until("checkpoints", () => acked(p) >= 2);
  p.proxy.swallowAnswers();
  await assert.rejects(p.primary.switchOver(), /the switch-over did not begin: no acknowledgement of checkpoint \d+ in 200 ms/);
  assert.equal(p.primary.status().state, "unprotected");
  assert.deepEqual(running(p.a), [p.domid], "the primary's copy runs on");
  await until("the backup discards", () => p.backups[0].status().state === "discarded");
  assert.deepEqual(running(p.b), []);
  await done(p);

  // the backup runs its copy but its answer is lost: the primary cannot
  // know, so its copy stays paused (exactly one runs)
  const q = await protect({ timeoutMs: 400 });
  await until("checkpoints", () => acked(q) >= 2);
  q.proxy.swallowAnswers(/SWITCHED/);
  await assert.rejects(q.primary.switchOver(), /the backup did not answer: guarded stays paused here/);
  assert.equal(q.primary.status().state, "fenced");
  assert.deepEqual(running(q.a), [], "the primary's copy is paused");
  assert.ok(q.a.ts.guests.get(q.domid), "and kept, for the user to destroy or unpause");
  assert.deepEqual(running(q.b), [q.domid], "the backup's copy runs");
  await done(q);
});

test("the output buffer releases an epoch's frames, in order, only with its acknowledgement; the disk log keeps writes in order, in chunks", () => {
  const sent: string[] = [];
  const vif = (name: string): Vif => ({ transmit: (f: Uint8Array) => { sent.push(`${name}:${f[0]}`); } }) as unknown as Vif;
  const v1 = vif("a"), v2 = vif("b");
  const out = new OutputBuffer();
  out.hold(v1, Uint8Array.of(1));
  out.hold(v2, Uint8Array.of(2));
  out.seal(1);
  out.hold(v1, Uint8Array.of(3));
  assert.deepEqual(sent, [], "nothing leaves before an acknowledgement");
  out.release(1);
  assert.deepEqual(sent, ["a:1", "b:2"], "epoch 1's frames, in order; epoch 2's wait");
  out.seal(2);
  out.hold(v2, Uint8Array.of(4));
  out.release(2);
  assert.deepEqual(sent, ["a:1", "b:2", "a:3"]);
  out.releaseAll();
  assert.deepEqual(sent, ["a:1", "b:2", "a:3", "b:4"]);
  assert.equal(out.held, 0);

  const log = new DiskLog(new Set([51712]));
  const big = new Uint8Array(DISK_CHUNK + 512).fill(7);
  log.write(51712, 4096, big);
  log.discard(51712, 0, 8192);
  log.write(51728, 0, new Uint8Array(512)); // a disk that is not replicated
  const e = log.take().map(decodeDisk);
  assert.deepEqual(e.map((x) => [x.op, x.offset, x.length]), [[DISK_WRITE, 4096, DISK_CHUNK], [DISK_WRITE, 4096 + DISK_CHUNK, 512], [DISK_DISCARD, 0, 8192]]);
  big.fill(9); // the log copied the data when the write was made
  assert.equal(e[0].data![0], 7);
  assert.deepEqual(log.take(), []);
  assert.throws(() => decodeDisk(new Uint8Array(10)), /too short/);
  assert.throws(() => checkHeader(new Uint8Array(Buffer.from(JSON.stringify({ version: 1, name: "x", intervalMs: 0, timeoutMs: 100, failover: "auto", disks: [] })))), /intervalMs/);
});
