// Remus high availability (issue 17) with Debian's Linux guest, driven
// through the CLI with the README's lines: two hosts in two network
// namespaces joined by a veth pair (each xenbr0 on the link through a TAP),
// a guest on the primary with a qcow2 disk and a vif. Protected with
// `xents remus --unsafe-failover`, it sends a paced 4 MiB upload and a
// stream of "acked-N" lines (each sent after `rec-N` was appended to its
// disk and synced) to receivers on the link, and is pinged all the while.
// Then the primary's host process is killed (SIGKILL): the backup's copy
// takes over by itself, both TCP connections carry on (the upload arrives
// whole, checksummed; the acks go on without a gap or a reset), every
// record the receiver saw acknowledged is on the backup's disk, the guest
// did not reboot, and the replica checks clean with e2fsck.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, ChildProcess } from "node:child_process";
import { mkdtempSync, copyFileSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { canMakeNetworks } from "../helpers/netns.js";
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

test("Remus: the primary's host is killed mid-transfer; the backup's copy takes over with its TCP connections, disk and memory", { skip: canNetns ? false : "needs root, /dev/net/tun and ip netns" }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "xents-remus-"));
  const tag = process.pid.toString(36);
  const nsA = `ra-${tag}`, nsB = `rb-${tag}`, va = `rva${tag}`.slice(0, 15), vb = `rvb${tag}`.slice(0, 15);
  const ip = (...a: string[]): void => { execFileSync("ip", a, { stdio: "pipe" }); };
  const hA = join(root, "a"), hB = join(root, "b");
  const kids: ChildProcess[] = [];
  let out = "", pings = "";
  const waitFor = async (what: string, f: () => boolean, ms: number): Promise<void> => {
    for (const t0 = Date.now(); !f();) { if (Date.now() - t0 > ms) assert.fail(`timed out: ${what}\n${out.slice(-600)}`); await new Promise((res) => setTimeout(res, 100)); }
  };
  const received = (): number => Number([...out.matchAll(/GOT (\d+)/g)].at(-1)?.[1] ?? 0);
  const acked = (): number[] => [...out.matchAll(/ACK acked-(\d+)/g)].map((m) => Number(m[1]));
  const replies = (): number[] => [...pings.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  const status = async (h: string): Promise<Record<string, unknown>[]> => JSON.parse(await xentsOk(h, ["remus-status", "--json"])) as Record<string, unknown>[];
  try {
    ip("netns", "add", nsA); ip("netns", "add", nsB);
    ip("link", "add", va, "type", "veth", "peer", "name", vb);
    ip("link", "set", va, "netns", nsA); ip("link", "set", vb, "netns", nsB);
    for (const [ns, dev, addr] of [[nsA, va, "10.202.0.1/24"], [nsB, vb, "10.202.0.2/24"]]) {
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "add", "br0", "type", "bridge");
      ip("-n", ns, "link", "set", dev, "master", "br0", "up");
      ip("-n", ns, "addr", "add", addr, "dev", "br0");
      ip("-n", ns, "link", "set", "br0", "up");
    }
    // the README's lines, with this test's names: the backup in its own namespace, so port 8002 is free
    const lines = readmeBlock("High availability (Remus)", "sh").split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter(Boolean);
    assert.deepEqual(lines, ["npx xents host start --migrate-port 8002", "npx xents remus --unsafe-failover guest backup:8002", "npx xents remus-status"]);
    const cli = (l: string): string[] => l.replace(/^npx xents /, "").replace(/\bguest\b/, "ha").replace("backup:", "10.202.0.2:").split(" ");
    for (const [ns, h, args] of [[nsB, hB, cli(lines[0])], [nsA, hA, ["host", "start", "--memory", "512"]]] as const) {
      const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "bin/xents.js", ...args], { env: { ...process.env, XENTS_HOME: h }, encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
    }
    for (const [ns, h, tap] of [[nsA, hA, `rta${tag}`], [nsB, hB, `rtb${tag}`]]) {
      await xentsOk(h, ["tap-attach", "xenbr0", tap.slice(0, 15)]);
      ip("-n", ns, "link", "set", tap.slice(0, 15), "master", "br0", "up");
    }
    copyFileSync(join(hB, "migrate.key"), join(hA, "migrate.key"));
    const disk = qcow2Of(diskImage(join(root, "raw.img"), 32), join(root, "ha.qcow2"));
    const cfg = join(root, "ha.cfg");
    writeXlCfg(cfg, linuxGuestFields("ha", 160, 1, { disk: [`format=qcow2, vdev=xvda, access=rw, target=${disk}`], vif: ["mac=00:16:3e:20:02:0a, bridge=xenbr0"] }));
    await xentsOk(hA, ["create", cfg]);
    const sa = new ConsoleSession(new CliConsole(hA, "ha"));
    await sa.waitForShell(240_000);
    await sa.run("ip link set eth0 up && ip addr add 10.202.0.10/24 dev eth0 && mount -t ext4 /dev/xvda /mnt && head -c 4194304 /dev/urandom > /tmp/blob && echo ready");

    const r = await xentsCli(hA, cli(lines[1]), 300_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /ha is protected by 10\.202\.0\.2:8002: first checkpoint in \d+ ms, then every 200 ms; fail-over automatic/);
    t.diagnostic(r.stderr.trim());
    assert.match(await xentsOk(hA, cli(lines[2])), /^ha\s+primary\s+10\.202\.0\.2:8002\s+protected\s+200\s+\d+/m);
    const [pa] = await status(hA), [pb] = await status(hB);
    assert.equal(pa.role, "primary"); assert.equal(pa.state, "protected"); assert.equal(pa.interval_ms, 200);
    assert.equal(pb.role, "backup"); assert.equal(pb.state, "protecting");
    assert.match(await xentsOk(hB, ["list"]), /^ha--incoming\s+\d+\s+160\s+\d+\s+--p---/m, "the copy is there, paused");
    const hostStatus = JSON.parse(await xentsOk(hA, ["host", "status", "--json"])) as { remus: { domain: string }[] };
    assert.deepEqual(hostStatus.remus.map((x) => x.domain), ["ha"]);

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
    const pidA = (JSON.parse(await xentsOk(hA, ["host", "status", "--json"])) as { pid: number }).pid;
    const ackedBefore = Math.max(...acked()), receivedBefore = received(), pingsBefore = Math.max(...replies());
    process.kill(pidA, "SIGKILL");
    const killed = Date.now();
    let pb2: Record<string, unknown> = {};
    for (const t0 = Date.now(); pb2.state !== "running"; await new Promise((res) => setTimeout(res, 100))) {
      assert.ok(Date.now() - t0 < 30_000, `the backup takes over (${JSON.stringify(pb2)})`);
      [pb2] = await status(hB);
    }
    const listed = Date.now() - killed;
    assert.match(await xentsOk(hB, ["list"]), /^ha\s+\d+\s+160\s+1\s/m);
    assert.match(String(pb2.why), /link to the primary/);
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
    assert.ok(Number(up) > 30, `the guest did not reboot (up ${up} s)`);
    await xentsOk(hB, ["destroy", "ha"]);
    const replica = join(hB, "remus", "ha-xvda.img");
    const fsck = spawnSync("e2fsck", ["-f", "-y", replica], { encoding: "utf8" });
    assert.ok(fsck.status === 0 || fsck.status === 1, `e2fsck ${fsck.status}: ${fsck.stdout}`);
  } finally {
    for (const k of kids) k.kill();
    for (const h of [hA, hB]) await xentsCli(h, ["host", "stop"], 60_000).catch(() => undefined);
    for (const ns of [nsA, nsB]) spawnSync("ip", ["netns", "del", ns]);
    rmSync(root, { recursive: true, force: true });
  }
});
