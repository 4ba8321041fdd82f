// Remus high availability (issue 17) with Debian's Linux guest, driven
// through the CLI with the README's lines: two hosts in two network
// namespaces joined by a veth pair (each xenbr0 on the link through a TAP),
// and the arbiter, etcd, in a third, which each host reaches by its own
// management link. A guest on the primary with a qcow2 disk and a vif,
// protected with `xents remus --arbiter`, sends a paced 4 MiB upload and a
// stream of "acked-N" lines (each sent after `rec-N` was appended to its
// disk and synced) to receivers on the link, and is pinged all the while.
// - The primary's host process is killed (SIGKILL) in the middle of sending
//   a checkpoint (fault injection, XENTS_FAULT_REMUS): once its lease lapses
//   the backup's copy takes over by itself; both TCP connections carry on
//   (the upload arrives whole, checksummed; the acks go on, no reset),
//   every record the receiver saw acknowledged is on the backup's disk, and
//   the guest did not reboot.
// - The first host comes back and the running copy is protected again,
//   towards it. Then the new primary is cut off from everything (both its
//   links down, as a network failure, not a death): it pauses its copy and
//   says why, the other host takes over, and exactly one copy runs.
// - Protected once more towards the first host, the primary is killed just
//   after an acknowledgement, during a burst of synced disk writes: the
//   copy takes over and every acknowledged record is on its disk.
// - Fail-back: the dead host comes back, the copy is protected towards it
//   and `remus-switch` moves the guest there; the acks' connection carries
//   on. Protected back once more, that host is killed in the middle of an
//   epoch, and the other's copy takes over with every acknowledged record.
// - A protected domain's disks cannot be attached; the replicas, one per
//   host named for the domain's uuid, check clean with e2fsck.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, copyFileSync, rmSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { canMakeNetworks, linkedPair } from "../helpers/netns.js";
import { startEtcd, TestEtcd } from "../helpers/etcd.js";
import { xentsCli, xentsOk, CliConsole } from "../helpers/cli.js";
import { diskImage, qcow2Of, linuxGuestFields, writeXlCfg } from "../helpers/guest_files.js";
import { readmeBlock } from "../helpers/readme_blocks.js";

const canNetns = canMakeNetworks();

// A receiver on the link: one TCP connection's bytes counted and hashed
// (GOT n, UPLOAD n sha256) on 8081; the acknowledgement lines on 8082 as
// they come (ACK line).
const RECEIVER = `
const h = require("node:crypto").createHash("sha256"); let n = 0, shown = 0;
const up = require("node:net").createServer((c) => {
  c.on("data", (d) => { h.update(d); n += d.length; if (n - shown >= 65536) { shown = n; console.log("GOT " + n); } });
  c.on("end", () => { console.log("UPLOAD " + n + " " + h.digest("hex")); });
  c.on("error", (e) => console.log("UPLOAD-ERROR " + e.message));
});
const acks = require("node:net").createServer((c) => {
  let buf = "";
  c.on("data", (d) => { buf += d; const l = buf.split("\\n"); buf = l.pop(); for (const x of l) console.log("ACK " + x); });
  c.on("error", (e) => console.log("ACKS-ERROR " + e.message));
  c.on("end", () => console.log("ACKS-END"));
});
up.listen(8081, "10.202.0.2", () => acks.listen(8082, "10.202.0.2", () => console.log("listening")));`;

test("Remus: a primary host killed in the middle of a checkpoint, then a partitioned one: the backup's copy takes over with its TCP connections, disk and memory, and never two copies run", { skip: canNetns ? false : "needs root, /dev/net/tun and ip netns" }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "xents-remus-"));
  const tag = process.pid.toString(36);
  const ip = (...a: string[]): void => { execFileSync("ip", a, { stdio: "pipe" }); };
  const hA = join(root, "a"), hB = join(root, "b");
  const kids: ChildProcess[] = [];
  let out = "", pings = "";
  let etcd: TestEtcd | null = null;
  const waitFor = async (what: string, f: () => boolean, ms: number): Promise<void> => {
    for (const t0 = Date.now(); !f();) { if (Date.now() - t0 > ms) assert.fail(`timed out: ${what}\n${out.slice(-600)}`); await new Promise((res) => setTimeout(res, 100)); }
  };
  const received = (): number => Number([...out.matchAll(/GOT (\d+)/g)].at(-1)?.[1] ?? 0);
  const acked = (): number[] => [...out.matchAll(/ACK acked-(\d+)/g)].map((m) => Number(m[1]));
  const replies = (): number[] => [...pings.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  const status = async (h: string): Promise<Record<string, unknown>[]> => JSON.parse(await xentsOk(h, ["remus-status", "--json"])) as Record<string, unknown>[];
  // the entry `pick` chooses (by default, the first in that state) is in state `want`
  type Entries = Record<string, unknown>[];
  const remusState = async (h: string, want: string, ms: number, pick = (all: Entries) => all.find((x) => x.state === want)): Promise<Record<string, unknown>> => {
    let all: Entries = [];
    for (const t0 = Date.now(); ; await new Promise((res) => setTimeout(res, 100))) {
      all = await status(h);
      const s = pick(all);
      if (s?.state === want) return s;
      assert.ok(Date.now() - t0 < ms, `remus-status says ${want} (${JSON.stringify(all)})`);
    }
  };
  const net = linkedPair("r", tag, "10.202.0");
  const { nsA, nsB } = net;
  const nsE = `re-${tag}`, mA = `rma${tag}`.slice(0, 15), mB = `rmb${tag}`.slice(0, 15);
  try {
    // the management network: the arbiter's namespace, a bridge, a veth from each host's
    ip("netns", "add", nsE);
    ip("-n", nsE, "link", "set", "lo", "up");
    ip("-n", nsE, "link", "add", "mgmt", "type", "bridge");
    ip("-n", nsE, "addr", "add", "10.203.0.100/24", "dev", "mgmt");
    ip("-n", nsE, "link", "set", "mgmt", "up");
    for (const [ns, dev, addr] of [[nsA, mA, "10.203.0.1/24"], [nsB, mB, "10.203.0.2/24"]]) {
      ip("link", "add", dev, "type", "veth", "peer", "name", `${dev}e`);
      ip("link", "set", dev, "netns", ns); ip("link", "set", `${dev}e`, "netns", nsE);
      ip("-n", nsE, "link", "set", `${dev}e`, "master", "mgmt", "up");
      ip("-n", ns, "addr", "add", addr, "dev", dev);
      ip("-n", ns, "link", "set", dev, "up");
    }
    etcd = await startEtcd({ host: "10.203.0.100", port: 2379, prefix: ["ip", "netns", "exec", nsE] });
    // the README's lines, with this test's names: each host in its own namespace, so port 8002 is free
    const lines = readmeBlock("High availability (Remus)", "sh").split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter(Boolean);
    assert.deepEqual(lines, ["npx xents host start --migrate-port 8002", "npx xents remus --arbiter etcd://arbiter:2379 guest backup:8002", "npx xents remus-status"]);
    const cli = (l: string, backup = "10.202.0.2"): string[] => l.replace(/^npx xents /, "").replace(/\bguest\b/, "ha").replace("backup:", `${backup}:`).replace("arbiter:", "10.203.0.100:").split(" ");
    const faultA = join(root, "fault-a"); // what kills host A, when the test writes it
    const startHost = (ns: string, h: string): void => {
      const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "bin/xents.js", ...cli(lines[0])], { env: { ...process.env, XENTS_HOME: h, XENTS_FAULT_REMUS: faultA }, encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
    };
    startHost(nsB, hB);
    mkdirSync(hA, { mode: 0o700 });
    copyFileSync(join(hB, "migrate.key"), join(hA, "migrate.key"));
    startHost(nsA, hA);
    // each host's xenbr0 on the link, through a TAP on br0 (made again when a host comes back)
    const cable = async (ns: string, h: string, tap: string): Promise<void> => {
      await xentsOk(h, ["tap-attach", "xenbr0", tap.slice(0, 15)]);
      ip("-n", ns, "link", "set", tap.slice(0, 15), "master", "br0", "up");
    };
    await cable(nsA, hA, `rta${tag}`);
    await cable(nsB, hB, `rtb${tag}`);
    const disk = qcow2Of(diskImage(join(root, "raw.img"), 32), join(root, "ha.qcow2"));
    const cfg = join(root, "ha.cfg");
    writeXlCfg(cfg, linuxGuestFields("ha", 160, 1, { disk: [`format=qcow2, vdev=xvda, access=rw, target=${disk}`], vif: ["mac=00:16:3e:20:02:0a, bridge=xenbr0"] }));
    await xentsOk(hA, ["create", cfg]);
    const sa = new ConsoleSession(new CliConsole(hA, "ha"));
    await sa.waitForShell(240_000);
    await sa.run("ip link set eth0 up && ip addr add 10.202.0.10/24 dev eth0 && mount -t ext4 /dev/xvda /mnt && head -c 4194304 /dev/urandom > /tmp/blob && echo ready");

    const r = await xentsCli(hA, cli(lines[1]), 300_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /ha is protected by 10\.202\.0\.2:8002: first checkpoint in \d+ ms, then every 200 ms; fail-over automatic, arbitrated by etcd:\/\/10\.203\.0\.100:2379/);
    t.diagnostic(r.stderr.trim());
    assert.match(await xentsOk(hA, cli(lines[2])), /^ha\s+primary\s+10\.202\.0\.2:8002\s+protected\s+200\s+\d+/m);
    const [pa] = await status(hA), [pb] = await status(hB);
    assert.equal(pa.role, "primary"); assert.equal(pa.state, "protected"); assert.equal(pa.interval_ms, 200);
    assert.equal(pb.role, "backup"); assert.equal(pb.state, "protecting");
    assert.match(await xentsOk(hB, ["list"]), /^ha--incoming\s+\d+\s+160\s+\d+\s+--p---/m, "the copy is there, paused");
    const hostStatus = JSON.parse(await xentsOk(hA, ["host", "status", "--json"])) as { remus: { domain: string }[] };
    assert.deepEqual(hostStatus.remus.map((x) => x.domain), ["ha"]);
    // its disks are the replicated ones: none comes or goes while protected
    const attach = await xentsCli(hA, ["block-attach", "ha", `format=raw, vdev=xvdb, access=rw, target=${join(root, "raw.img")}`]);
    assert.notEqual(attach.code, 0);
    assert.match(attach.stderr, /ha is protected by Remus with its disks replicated: its disks cannot change until remus-stop ends the protection/);

    const recv = spawn("ip", ["netns", "exec", nsB, process.execPath, "-e", RECEIVER], { stdio: ["ignore", "pipe", "inherit"] });
    kids.push(recv);
    recv.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
    await waitFor("the receiver listens", () => out.includes("listening"), 30_000);
    const pinger = spawn("ip", ["netns", "exec", nsB, "ping", "-n", "-i", "0.1", "-W", "1", "10.202.0.10"], { stdio: ["ignore", "pipe", "ignore"] });
    kids.push(pinger);
    pinger.stdout!.on("data", (d: Buffer) => { pings += d.toString(); });
    // the guest: records synced to its disk, each then acknowledged over TCP; and the upload, paced
    sa.type("(i=0; while true; do i=$((i+1)); echo rec-$i >> /mnt/log; sync; echo acked-$i; sleep 0.1; done) | nc 10.202.0.2 8082 &\n");
    sa.type("(for i in $(seq 0 63); do dd if=/tmp/blob bs=65536 skip=$i count=1 2>/dev/null; sleep 0.2; done) | nc 10.202.0.2 8081 &\n");
    await waitFor("the upload is under way", () => received() >= 1 << 20, 240_000);
    await waitFor("records are acknowledged", () => acked().length >= 5, 60_000);

    // the primary's host dies
    const upBefore = Number((await sa.run("cut -d. -f1 /proc/uptime")).trim());
    const pidA = (JSON.parse(await xentsOk(hA, ["host", "status", "--json"])) as { pid: number }).pid;
    const ackedBefore = Math.max(...acked()), receivedBefore = received(), pingsBefore = Math.max(...replies());
    writeFileSync(faultA, "mid-checkpoint");
    await waitFor("host A dies in a checkpoint", () => { try { process.kill(pidA, 0); return false; } catch { return true; } }, 30_000);
    rmSync(faultA);
    const killed = Date.now();
    const pb2 = await remusState(hB, "running", 30_000);
    const listed = Date.now() - killed;
    assert.match(String(pb2.why), /link to the primary/);
    assert.match(await xentsOk(hB, ["list"]), /^ha\s+\d+\s+160\s+1\s/m);
    await waitFor("the upload completes", () => /UPLOAD \d+/.test(out), 240_000);
    await waitFor("acks go on", () => Math.max(...acked()) > ackedBefore + 10, 60_000);
    await waitFor("pings are answered from the backup", () => replies().filter((n) => n > pingsBefore).length >= 10, 60_000);
    assert.doesNotMatch(out, /ERROR|ACKS-END/, "no connection was reset");
    const seqs = replies();
    let gap = 0;
    for (let i = 1; i < seqs.length; i++) gap = Math.max(gap, seqs[i] - seqs[i - 1]);
    t.diagnostic(`fail-over: ${(receivedBefore / 1024).toFixed(0)} KiB of the upload and ${ackedBefore} records acknowledged before the kill; longest ping gap ${gap * 100} ms; remus-status said running ${listed} ms after the kill (CLI polls included)`);
    for (const l of readFileSync(join(hB, "host.log"), "utf8").split("\n").filter((x) => /Remus/.test(x))) t.diagnostic(l);

    const sb = new ConsoleSession(new CliConsole(hB, "ha"));
    const [len, sum] = /UPLOAD (\d+) ([0-9a-f]{64})/.exec(out)!.slice(1);
    const mine = (await sb.run("kill %1 %2 2>/dev/null; wc -c < /tmp/blob; sha256sum /tmp/blob | cut -d' ' -f1", 60_000)).trim().split(/\s+/);
    assert.deepEqual([len, sum], mine.slice(0, 2), "every byte of the upload arrived, in order, on the same connection");
    const log = (await sb.run("sync; cat /mnt/log", 60_000)).split(/\s+/).filter((x) => x.startsWith("rec-")).map((x) => Number(x.slice(4)));
    const seen = acked();
    for (const k of seen) assert.ok(log.includes(k), `record ${k} was acknowledged to the receiver, so it is on the backup's disk`);
    assert.deepEqual(log, log.map((_, i) => i + 1), "the records are whole and in order");
    const up = (await sb.run("cut -d. -f1 /proc/uptime")).trim();
    assert.ok(upBefore > 0 && Number(up) >= upBefore, `the guest did not reboot (up ${up} s, against ${upBefore} s before the kill)`);

    // the first host comes back; the copy that runs is protected again, towards it
    startHost(nsA, hA);
    await cable(nsA, hA, `rta${tag}`);
    // (a longer timeout for the next protections: beside other tests a loaded machine can be slower to acknowledge than half a second)
    const again = await xentsCli(hB, [...cli(lines[1], "10.202.0.1"), "--timeout", "6000"], 300_000);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await status(hA)).some((x) => x.role === "backup" && x.state === "protecting"), "the first host holds the copy now");
    // the new primary is cut off from everything, as a failed network (it lives on)
    ip("-n", nsB, "link", "set", net.vb, "down");
    ip("-n", nsB, "link", "set", mB, "down");
    const cut = Date.now();
    const fenced = await remusState(hB, "fenced", 30_000);
    const fencedAt = Date.now() - cut;
    assert.match(String(fenced.why), /arbiter .* has not renewed this host's lease/);
    assert.match(await xentsOk(hB, ["list"]), /^ha\s+\d+\s+160\s+1\s+-[-b]p---/m, "the partitioned copy is paused");
    await remusState(hA, "running", 30_000);
    const tookAt = Date.now() - cut;
    assert.match(await xentsOk(hA, ["list"]), /^ha\s+\d+\s+160\s+1\s+[-r][-b]-{4}/m, "the other host's copy runs");
    assert.match(await xentsOk(hB, ["list"]), /^ha\s+\d+\s+160\s+1\s+-[-b]p---/m, "and the partitioned one is still paused");
    const sa2 = new ConsoleSession(new CliConsole(hA, "ha"));
    assert.equal((await sa2.run("echo alive-$((6*7))")).trim(), "alive-42");
    t.diagnostic(`partition: the cut-off primary paused itself after ${fencedAt} ms, the other host's copy ran after ${tookAt} ms (CLI polls included)`);

    // B is back on both networks; its paused copy is stale and goes. The copy
    // on A is protected towards B, and A dies just after an acknowledgement,
    // in the middle of a burst of synced disk writes.
    ip("-n", nsB, "link", "set", net.vb, "up");
    ip("-n", nsB, "link", "set", mB, "up");
    await xentsOk(hB, ["destroy", "ha"]);
    const third = await xentsCli(hA, [...cli(lines[1]), "--timeout", "6000"], 300_000);
    assert.equal(third.code, 0, third.stderr);
    const seenBefore = acked().length;
    sa2.type("(i=1000; while true; do i=$((i+1)); echo rec-$i >> /mnt/log; sync; echo acked-$i; sleep 0.05; done) | nc 10.202.0.2 8082 &\n");
    sa2.type("dd if=/dev/urandom of=/mnt/burst bs=65536 count=128 conv=fsync 2>/dev/null &\n");
    await waitFor("acknowledgements under the third protection", () => acked().length >= seenBefore + 5, 120_000);
    const ends = (): number => (out.match(/ACKS-END|ERROR/g) ?? []).length;
    const endsAtKill = ends();
    // host A's process kills itself at a fault point
    const killA = async (point: string, what: string): Promise<void> => {
      const pid = (JSON.parse(await xentsOk(hA, ["host", "status", "--json"])) as { pid: number }).pid;
      writeFileSync(faultA, point);
      await waitFor(`host A dies ${what}`, () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 30_000);
      rmSync(faultA);
    };
    // every record acknowledged so far is on the disk of the copy that runs on host h
    const ackedOnDisk = async (h: string, what: string): Promise<void> => {
      const before = acked().filter((x) => x > 1000); // (records acknowledged after the read need not be in it)
      const log = (await new ConsoleSession(new CliConsole(h, "ha")).run("sync; cat /mnt/log", 60_000)).split(/\s+/).filter((x) => x.startsWith("rec-")).map((x) => Number(x.slice(4)));
      for (const k of before) assert.ok(log.includes(k), `record ${k}, acknowledged ${what}, is on ${h === hA ? "A" : "B"}'s disk`);
    };
    await killA("after-ack", "just after an acknowledgement");
    const ackedAtKill = acked().length;
    await remusState(hB, "running", 30_000, (all) => all.filter((x) => x.role === "backup").at(-1));
    await waitFor("acknowledgements from B's copy", () => acked().length > ackedAtKill + 5, 60_000);
    await ackedOnDisk(hB, "to the receiver before or after A died");
    assert.equal(ends(), endsAtKill, "the acknowledgements' connection was not reset");
    t.diagnostic(`after-ack kill during a disk burst: ${acked().filter((x) => x > 1000).length} records acknowledged across it`);
    // fail-back: A comes back, the copy on B is protected towards it, and
    // remus-switch moves the guest there (its disk A's replica), with its
    // connections
    startHost(nsA, hA);
    await cable(nsA, hA, `rta${tag}`);
    const fourth = await xentsCli(hB, [...cli(lines[1], "10.202.0.1"), "--timeout", "6000"], 300_000);
    assert.equal(fourth.code, 0, fourth.stderr);
    const ackedAtSwitch = acked().length;
    const sw = await xentsCli(hB, ["remus-switch", "ha"], 60_000);
    assert.equal(sw.code, 0, sw.stderr);
    assert.match(sw.stderr, /^ha runs on 10\.202\.0\.1:8002 now, as domain \d+$/m);
    assert.match(await xentsOk(hA, ["list"]), /^ha\s+\d+\s+160\s+1\s+[-r][-b]-{4}/m, "the guest runs on A");
    assert.doesNotMatch(await xentsOk(hB, ["list"]), /^ha/m, "and is gone from B");
    assert.equal((await status(hB)).find((x) => x.role === "primary" && x.state === "switched")?.domain, "ha");
    await waitFor("acknowledgements from A's copy after the switch", () => acked().length > ackedAtSwitch + 5, 60_000);
    assert.equal(ends(), endsAtKill, "the acknowledgements' connection carried on across the switch");
    await ackedOnDisk(hA, "before or after the switch");
    t.diagnostic(`fail-back: remus-switch moved ha to A; ${acked().length - ackedAtSwitch} records acknowledged since`);
    // A protects it towards B once more and dies in the middle of an epoch
    const fifth = await xentsCli(hA, [...cli(lines[1]), "--timeout", "6000"], 300_000);
    assert.equal(fifth.code, 0, fifth.stderr);
    await waitFor("acknowledgements under the fifth protection", () => acked().length > ackedAtSwitch + 10, 60_000);
    await killA("mid-epoch", "in the middle of an epoch");
    const ackedAtKill5 = acked().length;
    await remusState(hB, "running", 30_000, (all) => all.filter((x) => x.role === "backup").at(-1));
    await waitFor("acknowledgements from B's copy after the mid-epoch kill", () => acked().length > ackedAtKill5 + 5, 60_000);
    assert.equal(ends(), endsAtKill, "the acknowledgements' connection carried on");
    await ackedOnDisk(hB, "before or after the mid-epoch kill");
    t.diagnostic(`mid-epoch kill: ${acked().length - ackedAtKill5} records acknowledged from B's copy since`);
    await xentsOk(hB, ["destroy", "ha"]);
    // each host's replica, named for the domain and its uuid
    const replicas = [hB, hA].map((h) => {
      const files = readdirSync(join(h, "remus")).filter((f) => /^ha-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-xvda\.img$/.test(f));
      assert.equal(files.length, 1, `one replica of ha's xvda in ${h}/remus`);
      return join(h, "remus", files[0]);
    });
    for (const replica of replicas) {
      const fsck = spawnSync("e2fsck", ["-f", "-y", replica], { encoding: "utf8" });
      assert.ok(fsck.status === 0 || fsck.status === 1, `e2fsck ${replica}: ${fsck.status}: ${fsck.stdout}`);
    }
  } finally {
    for (const k of kids) k.kill();
    for (const h of [hA, hB]) await xentsCli(h, ["host", "stop"], 60_000).catch(() => undefined);
    await etcd?.stop();
    net.remove();
    spawnSync("ip", ["netns", "del", nsE]);
    rmSync(root, { recursive: true, force: true });
  }
});
