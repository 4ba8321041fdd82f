// Linux's own xen-blkfront against xents' blkback on a raw image: the guest
// mounts an ext4 file system on /dev/xvda, writes files of known checksum,
// syncs, reboots (on_reboot=restart: a new domain, the same disk) and reads
// them back; after the domain is gone the host checks the image with
// e2fsck and reads the files with debugfs. The same on qcow2, which
// qemu-img checks and converts for e2fsck.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Guest } from "../../src/tools/toolstack.js";
import { fetchImages } from "../../src/tools/images.js";
import { parseDiskSpec } from "../../src/tools/disk_spec.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { startHost } from "../helpers/host.js";
import { until } from "../helpers/until.js";
import { diskImage, qcow2Of } from "../helpers/guest_files.js";

const BOOT_MS = 240_000;
const images = fetchImages();
const kernel = new Uint8Array(readFileSync(images.kernel));
const ramdisk = new Uint8Array(readFileSync(images.initrd));


for (const format of ["raw", "qcow2"] as const) test(`ext4 on a ${format} image through blkfront/blkback: write, sync, reboot, read back; e2fsck and debugfs agree`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-blk-"));
  const rawImg = diskImage(join(dir, "disk.img"), 64);
  let img = format === "qcow2" ? qcow2Of(rawImg, join(dir, "disk.qcow2")) : rawImg;

  const th = startHost(768);
  const { host, ts } = th;
  try {
    const free0 = host.hv.frames.freeCount;
    const g = ts.create({
      name: "blk", memoryMiB: 192, vcpus: 2, kernel, ramdisk, cmdline: "console=hvc0", onReboot: "restart",
      disks: [parseDiskSpec(`format=${format}, vdev=xvda, access=rw, target=${img}`)],
    });
    const s = new ConsoleSession(g);
    await s.waitForShell(BOOT_MS);
    assert.equal((await s.run("cat /sys/block/xvda/size")).trim(), String((64 << 20) / 512));
    const dev = [...ts.blkback.devices.values()][0];
    assert.ok(dev.connected, "the backend is connected");
    // two files: one small, one large enough for indirect requests; content from the guest's own RNG
    const out = await s.run("mount -t ext4 /dev/xvda /mnt && dd if=/dev/urandom of=/mnt/small bs=1k count=3 2>/dev/null && "
      + "dd if=/dev/urandom of=/mnt/big bs=1M count=6 2>/dev/null && mkdir /mnt/d && echo hello > /mnt/d/hello && sync && "
      + "sha256sum /mnt/small /mnt/big /mnt/d/hello", 120_000);
    const sums = new Map([...out.matchAll(/^([0-9a-f]{64})\s+(\S+)$/gm)].map((m) => [m[2], m[1]]));
    assert.equal(sums.size, 3, out);
    const st = dev.stats();
    assert.ok(st.sectorsWritten >= 12288, `sectors written: ${st.sectorsWritten}`);
    assert.ok(st.flushes > 0, "sync flushed the disk");
    assert.equal(st.errors, 0);

    // reboot: the domain is rebuilt with the same disk
    const mark = s.out.length;
    s.type("reboot\n");
    await until("the guest comes back under a new id", () => [...ts.guests.values()].some((x) => x.name === "blk" && x.domid !== g.domid), 60_000);
    const g2 = [...ts.guests.values()].find((x) => x.name === "blk")!;
    await s.waitFor(/Booting Linux[\s\S]*xents: busybox shell[\s\S]*\/ # /, BOOT_MS, mark);
    const back = await s.run("mount -t ext4 /dev/xvda /mnt && sha256sum /mnt/small /mnt/big /mnt/d/hello && umount /mnt", 120_000);
    for (const [f, h] of sums) assert.match(back, new RegExp(`^${h}\\s+${f.replace(/\//g, "\\/")}$`, "m"), `${f} read back differently`);

    s.type("poweroff\n");
    await until("the guest is gone", () => (g2 as Guest).state === "destroyed", 60_000);
    assert.equal(ts.blkback.devices.size, 0, "the backend device went with the domain");
    assert.equal(ts.gnt.mapped, 0, "no grant stays mapped");
    assert.equal(host.hv.frames.freeCount, free0, "every frame is back");

    if (format === "qcow2") {
      execFileSync("qemu-img", ["check", img], { stdio: "pipe" }); // exit 0: consistent, no leaks
      execFileSync("qemu-img", ["convert", "-q", "-O", "raw", img, rawImg]);
      img = rawImg;
    }
    execFileSync("e2fsck", ["-f", "-n", img], { stdio: "pipe" }); // exit 0: clean
    const hostSum = (name: string): string => createHash("sha256").update(execFileSync("debugfs", ["-R", `cat ${name}`, img], { stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 })).digest("hex");
    assert.equal(hostSum("/big"), sums.get("/mnt/big"));
    assert.equal(hostSum("/small"), sums.get("/mnt/small"));
    assert.equal(hostSum("/d/hello"), sums.get("/mnt/d/hello"));
  } finally {
    await th.done();
    rmSync(dir, { recursive: true, force: true });
  }
});
