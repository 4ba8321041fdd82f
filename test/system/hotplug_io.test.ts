// Hot-unplug while I/O runs, with Linux's own xen-blkfront and xen-netfront
// (Debian's 6.1 kernel), in one boot. The guest has an ext4 disk (xvda), a
// raw disk (xvdb) and a vif on xenbr0, where a responder answers its pings.
//
// What Linux 6.1 does decides what the test expects: blkfront_closing()
// no longer refuses to close an open disk (older kernels answered "Device
// in use; refusing to close"); it marks the disk dead and closes, so a
// non-forced detach of a busy disk succeeds at once and the I/O on it
// fails. netfront closes on request whether the interface is up or not.
//
//  (a) non-forced detach of xvdb while dd writes to it: the detach ends,
//      the dd loop stops, xvdb is gone, the ext4 loop on xvda carries on;
//  (b) ext4 on xvda unmounted, then detached: /dev/xvda is gone, only the
//      vif's grants and ports are left in Domain-0;
//  (c) xvdb re-attached, dd on it again: while the guest is paused (does
//      not answer) a non-forced detach fails with a clear error and the
//      disk carries on; then a forced detach while dd writes: the guest
//      lives on, the backend lets go of everything, xvda still works;
//  the vif: a paused guest keeps it (non-forced detach refused), then it
//  is detached while ping traffic flows, re-attached, and
//  pings get answers again; xvda re-attached shows the files written
//  before. After the domain is destroyed every grant, port and frame is
//  back, the bridge is empty, and the ext4 image checks clean with the
//  files the guest wrote.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchImages } from "../../src/tools/images.js";
import { parseDiskSpec } from "../../src/tools/disk_spec.js";
import { parseVifSpec } from "../../src/tools/vif_spec.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { startHost } from "../helpers/host.js";
import { until } from "../helpers/until.js";
import { PingClient } from "../../src/tools/net/ping_client.js";
import { diskImage } from "../helpers/guest_files.js";

const BOOT_MS = 300_000;
const images = fetchImages();
const kernel = new Uint8Array(readFileSync(images.kernel));
const ramdisk = new Uint8Array(readFileSync(images.initrd));


// A background job in the guest's shell; `& true` keeps the line one command list.
const bg = (cmd: string): string => `(${cmd}) </dev/null >/dev/null 2>&1 & true`;
// dd onto the raw disk for as long as it is there; the loop's end and dd's last words land in /tmp/<tag>.*
const ddLoop = (tag: string): string => bg(`n=0; while [ -b /dev/xvdb ] && dd if=/dev/zero of=/dev/xvdb bs=64k count=128 oflag=direct 2>/tmp/${tag}.err; do n=$((n+1)); done; echo END $n > /tmp/${tag}.end`);
const FILES = "/mnt/f0 /mnt/f1 /mnt/f2 /mnt/f3 /mnt/g";
const sumsOf = (out: string): Map<string, string> => new Map([...out.matchAll(/^([0-9a-f]{64})\s+(\S+)$/gm)].map((m) => [m[2], m[1]]));

test("detaching a disk or a vif while I/O runs ends cleanly on both sides (Linux 6.1 blkfront/netfront)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xents-hotplug-"));
  const imgA = join(dir, "a.img"), imgB = join(dir, "b.img");
  diskImage(imgA, 64);
  diskImage(imgB, 32, { ext4: false });
  const specA = parseDiskSpec(`format=raw, vdev=xvda, access=rw, target=${imgA}`);
  const specB = parseDiskSpec(`format=raw, vdev=xvdb, access=rw, target=${imgB}`);
  const vifSpec = parseVifSpec("mac=00:16:3e:00:00:2a, bridge=xenbr0");

  const th = startHost(768);
  const { host, dom0, ts } = th;
  const tStart = Date.now();
  const mark = (what: string): void => t.diagnostic(`${((Date.now() - tStart) / 1000).toFixed(1)} s: ${what}`);
  try {
    const free0 = host.hv.frames.freeCount;
    const evtch = (): number => dom0.xc.listEvtchn(0).length;
    const ev0 = evtch();
    const br = ts.bridges.get("xenbr0");
    const resp = new PingClient(new Uint8Array([2, 0, 0, 0, 0, 1]), "10.9.0.1");
    resp.attach(br);

    const g = ts.create({
      name: "hotplug", memoryMiB: 176, vcpus: 1, kernel, ramdisk, cmdline: "console=hvc0",
      disks: [specA, specB], vifs: [vifSpec],
    });
    const d = g.domid;
    const keyA = `${d}/${specA.devid}`, keyB = `${d}/${specB.devid}`;
    const s = new ConsoleSession(g);
    await s.waitForShell(BOOT_MS);
    mark("shell");
    const vifDev = () => ts.netback.devices.get(`${d}/0`);
    await until("both disks and the vif are connected", () => !!ts.blkback.devices.get(keyA)?.connected && !!ts.blkback.devices.get(keyB)?.connected && !!vifDev()?.connected, 30_000);
    const devA = ts.blkback.devices.get(keyA)!;
    // one vCPU: one queue per disk; with the console and xenstore that is 5 ports in Domain-0
    const evAll = evtch();
    assert.equal(evAll, ev0 + 5, "Domain-0 ports: console, xenstore, xvda, xvdb, vif");

    // kernel messages (I/O errors to come) stay off the console the test reads
    await s.run("dmesg -n 1");
    assert.match(await s.run("ip link set eth0 up && ip addr add 10.9.0.2/24 dev eth0 && ping -c 2 -W 3 10.9.0.1", 60_000), /2 packets received/, "the responder answers");
    await s.run(`ping -i 0.2 10.9.0.1 >/tmp/ping.log 2>&1 & echo $! > /tmp/ping.pid`);
    await s.run("mount -t ext4 /dev/xvda /mnt && echo MOUNTED");
    // the ext4 loop: rewrite four files, sync, until told to stop
    await s.run(bg("i=0; while [ ! -e /tmp/stop-a ]; do dd if=/dev/urandom of=/mnt/f$((i%4)) bs=16k count=16 2>/dev/null && sync || echo FAIL $i >> /tmp/a.fail; i=$((i+1)); done; echo END $i > /tmp/a.end"));
    await s.run(ddLoop("b"));
    {
      const devB = ts.blkback.devices.get(keyB)!, v = vifDev()!;
      const a0 = devA.stats().sectorsWritten, b0 = devB.stats().sectorsWritten, tx0 = v.stats.txPackets, rx0 = v.stats.rxPackets;
      await until("xvda, xvdb and the vif all move data", () => devA.stats().sectorsWritten > a0 + 256 && devB.stats().sectorsWritten > b0 + 2048
        && v.stats.txPackets > tx0 + 5 && v.stats.rxPackets > rx0 + 5, 120_000);
    }
    mark("I/O runs on xvda, xvdb and the vif");

    // (a) non-forced detach of the busy raw disk: 6.1's blkfront lets go at once
    let t0 = Date.now();
    await ts.removeDevice("vbd", d, specB.devid, false);
    mark(`(a) non-forced detach of busy xvdb done in ${Date.now() - t0} ms`);
    assert.ok(!ts.blkback.devices.has(keyB), "xvdb's backend device is gone");
    assert.deepEqual(ts.disks(d).map((x) => x.vdev), ["xvda"]);
    assert.equal(evtch(), evAll - 1, "xvdb's event channel is closed");
    let out = await s.run("while [ ! -e /tmp/b.end ]; do sleep 0.2; done; cat /tmp/b.end; cat /tmp/b.err; [ -b /dev/xvdb ] || echo NO-XVDB", 120_000);
    t.diagnostic(`(a) guest: ${out.replace(/\n/g, " | ")}`);
    assert.match(out, /NO-XVDB/, "/dev/xvdb went away");
    assert.deepEqual((await s.run("ls /sys/block")).split(/\s+/).filter((x) => x.startsWith("xvd")), ["xvda"], "xvdb left /sys/block");
    assert.match(out, /END \d+/, "the dd loop on xvdb ended");
    {
      const a1 = devA.stats().sectorsWritten;
      await until("the ext4 loop on xvda carries on", () => devA.stats().sectorsWritten > a1 + 256, 60_000);
    }
    out = await s.run("touch /tmp/stop-a; while [ ! -e /tmp/a.end ]; do sleep 0.2; done; cat /tmp/a.end; cat /tmp/a.fail 2>/dev/null; "
      + "dd if=/dev/urandom of=/mnt/g bs=64k count=4 2>/dev/null; sync; echo 3 > /proc/sys/vm/drop_caches; sha256sum " + FILES, 120_000);
    assert.match(out, /END \d+/);
    assert.doesNotMatch(out, /FAIL/, "no write or sync failed on xvda");
    const sums = sumsOf(out);
    assert.equal(sums.size, 5, out);
    const gntA = ts.gnt.mapped; // xvda idle (its ring and persistent grants) + the vif's two rings
    mark("(a) checked; xvda loop stopped");

    // (c) forced detach of xvdb, re-attached, while dd writes to it
    ts.addDisk(d, specB);
    await until("xvdb's backend connects again", () => !!ts.blkback.devices.get(keyB)?.connected, 60_000);
    {
      // bounded, so that a disk that never comes back says why (the guest's own account of xvdb)
      const back = await s.run("i=0; until [ -b /dev/xvdb ] || [ $i -ge 200 ]; do sleep 0.2; i=$((i+1)); done; "
        + "cat /sys/block/xvdb/size 2>/dev/null || { echo NO-XVDB; dmesg | grep -i -E 'xvdb|blkfront|vbd' | tail -8; }", 90_000);
      assert.equal(back.trim().split("\n")[0], String((32 << 20) / 512), `xvdb came back: ${back}`);
    }
    assert.equal(evtch(), evAll);
    await s.run(ddLoop("c"));
    {
      const devB = ts.blkback.devices.get(keyB)!;
      await until("dd writes to the re-attached xvdb", () => devB.stats().sectorsWritten > 2048, 60_000);
    }
    // A guest that does not answer (paused here) keeps its disk: the
    // non-forced detach gives up with a clear error and the I/O carries on.
    {
      const devB = ts.blkback.devices.get(keyB)!;
      dom0.xc.pause(d);
      await assert.rejects(ts.removeDevice("vbd", d, specB.devid, false, 1_000), /did not release the device/);
      await until("xvdb's backend is connected again", () => devB.connected, 10_000);
      dom0.xc.unpause(d);
      const w = devB.stats().sectorsWritten;
      await until("dd on xvdb carries on", () => devB.stats().sectorsWritten > w + 2048, 60_000);
      assert.equal(ts.blkback.devices.get(keyB), devB, "the same backend device serves xvdb");
      assert.equal((await s.run("cat /sys/block/xvdb/size; [ -e /tmp/c.end ] || echo DD-RUNS")).replace(/\n/g, " ").trim(), `${(32 << 20) / 512} DD-RUNS`);
      mark("(a) a paused guest keeps its disk: non-forced detach refused");
    }
    t0 = Date.now();
    await ts.removeDevice("vbd", d, specB.devid, true);
    mark(`(c) forced detach of busy xvdb done in ${Date.now() - t0} ms`);
    assert.ok(!ts.blkback.devices.has(keyB));
    assert.equal(evtch(), evAll - 1, "xvdb's event channel is closed");
    assert.equal(ts.gnt.mapped, gntA, "every grant xvdb's backend had mapped is unmapped");
    out = await s.run("while [ ! -e /tmp/c.end ]; do sleep 0.2; done; cat /tmp/c.end; cat /tmp/c.err; [ -b /dev/xvdb ] || echo NO-XVDB", 120_000);
    t.diagnostic(`(c) guest: ${out.replace(/\n/g, " | ")}`);
    assert.match(out, /NO-XVDB/);
    assert.match(out, /END \d+/);
    assert.equal((await s.run("echo alive-$((6*7))")).trim(), "alive-42", "the guest's shell answers");
    out = await s.run("dd if=/dev/urandom of=/mnt/h bs=64k count=4 2>/dev/null && sync && echo 3 > /proc/sys/vm/drop_caches && cat /mnt/h | wc -c", 60_000);
    assert.equal(out.trim(), String(4 * 65536), "xvda still works");
    mark("(c) checked");

    // (b) stop using xvda, then detach it
    assert.match(await s.run("umount /mnt && echo UMOUNTED", 60_000), /UMOUNTED/);
    t0 = Date.now();
    await ts.removeDevice("vbd", d, specA.devid, false);
    mark(`(b) detach of the unmounted xvda done in ${Date.now() - t0} ms`);
    assert.equal(ts.blkback.devices.size, 0, "no backend block device is left");
    assert.equal(ts.disks(d).length, 0);
    assert.match(await s.run("until [ ! -b /dev/xvda ]; do sleep 0.2; done; echo NO-XVDA", 60_000), /NO-XVDA/);
    assert.doesNotMatch(await s.run("ls /sys/block"), /xvd/, "no xvd disk is left in the guest");
    assert.equal(ts.gnt.mapped, 2, "only the vif's two ring pages stay mapped");
    assert.equal(evtch(), evAll - 2);

    // the vif, while ping runs
    {
      const v = vifDev()!;
      const tx0 = v.stats.txPackets, rx0 = v.stats.rxPackets;
      await until("ping traffic flows both ways", () => v.stats.txPackets > tx0 + 3 && v.stats.rxPackets > rx0 + 3, 60_000);
    }
    {
      // a guest that does not answer keeps its vif too
      const v = vifDev()!;
      dom0.xc.pause(d);
      await assert.rejects(ts.removeDevice("vif", d, 0, false, 1_000), /did not release the device/);
      await until("the vif's backend is connected again", () => v.connected, 10_000);
      dom0.xc.unpause(d);
      const rx0 = v.stats.rxPackets;
      await until("ping replies keep arriving", () => v.stats.rxPackets > rx0 + 3, 60_000);
      assert.equal(vifDev(), v);
    }
    t0 = Date.now();
    await ts.removeDevice("vif", d, 0, false);
    mark(`vif detach during ping done in ${Date.now() - t0} ms`);
    assert.equal(ts.netback.devices.size, 0, "no backend vif is left");
    assert.deepEqual([...br.ports], [resp], "the guest's port left the bridge");
    assert.equal(ts.gnt.mapped, 0, "no grant stays mapped");
    assert.equal(evtch(), ev0 + 2, "Domain-0 keeps only the console's and xenstore's ports");
    out = await s.run("until [ ! -e /sys/class/net/eth0 ]; do sleep 0.2; done; echo NO-ETH0; kill $(cat /tmp/ping.pid) 2>/dev/null; tail -n 2 /tmp/ping.log", 60_000);
    t.diagnostic(`vif guest: ${out.replace(/\n/g, " | ")}`);
    assert.match(out, /NO-ETH0/);
    const echoed = resp.stats.echoReplies;

    // a new vif works: the guest's side of the old one ended cleanly
    ts.addVif(d, 0, vifSpec);
    await until("the new vif connects", () => !!vifDev()?.connected, 60_000);
    out = await s.run("until [ -e /sys/class/net/eth0 ]; do sleep 0.2; done; ip link set eth0 up && ip addr add 10.9.0.2/24 dev eth0 && ping -c 3 -W 3 10.9.0.1", 90_000);
    assert.match(out, /3 packets received/, out);
    assert.ok(resp.stats.echoReplies >= echoed + 3);
    // and so does xvda again, with the files written before it was detached
    ts.addDisk(d, specA);
    out = await s.run(`until [ -b /dev/xvda ]; do sleep 0.2; done; mount -t ext4 /dev/xvda /mnt && sha256sum ${FILES} && umount /mnt`, 90_000);
    assert.deepEqual(sumsOf(out), sums, "xvda's files read back as written");
    mark("re-attached vif and xvda work");

    out = await s.run("dmesg | grep -E 'BUG|Oops|WARNING|Call trace|blocked for more than|xvd|blkfront|vif' | tail -n 20");
    t.diagnostic(`guest kernel: ${out.replace(/\n/g, " | ")}`);
    assert.doesNotMatch(out, /BUG|Oops|WARNING|Call trace|blocked for more than/, "the guest kernel stayed healthy");

    ts.destroy(d);
    assert.equal(ts.blkback.devices.size, 0);
    assert.equal(ts.netback.devices.size, 0);
    assert.equal(ts.gnt.mapped, 0, "no grant stays mapped");
    assert.equal(evtch(), ev0, "no event channel is left");
    assert.equal(host.hv.frames.freeCount, free0, "every frame is back");
    resp.detach();
    assert.equal(br.ports.size, 0, "the bridge has no port left");

    execFileSync("e2fsck", ["-f", "-n", imgA], { stdio: "pipe" }); // exit 0: clean
    for (const [f, h] of sums) {
      const data = execFileSync("debugfs", ["-R", `cat ${f.slice(4)}`, imgA], { stdio: ["ignore", "pipe", "ignore"], maxBuffer: 16 << 20 });
      assert.equal(createHash("sha256").update(data).digest("hex"), h, `${f} on the host`);
    }
    mark("done");
  } finally {
    await th.done();
    rmSync(dir, { recursive: true, force: true });
  }
});
