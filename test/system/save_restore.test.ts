// Save and restore of a running Debian domU between two hosts (two Host
// instances, as two machines would be): the shell's state, a mounted disk
// and the console carry on in the restored guest; the source host gets
// every frame back; a corrupted or truncated stream is refused with a clear
// error and leaves nothing behind on the destination.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchImages } from "../../src/tools/images.js";
import { parseDiskSpec } from "../../src/tools/disk_spec.js";
import { fileSink, fileSource, StreamError } from "../../src/tools/save_stream.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { startHost, TestHost } from "../helpers/host.js";
import { diskImage } from "../helpers/guest_files.js";

const images = fetchImages();

const newHost = (): TestHost => startHost(512);

test("a running Linux guest is saved on one host and restored on another, shell, disk and console intact", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-save-"));
  const img = join(dir, "disk.img");
  diskImage(img, 32);
  const stream = join(dir, "guest.save");
  const a = newHost();
  let b: TestHost | null = null;
  try {
    const freeA = a.host.hv.frames.freeCount;
    const g = a.ts.create({
      name: "mover", memoryMiB: 160, vcpus: 2, kernel: new Uint8Array(readFileSync(images.kernel)), ramdisk: new Uint8Array(readFileSync(images.initrd)),
      cmdline: "console=hvc0", disks: [parseDiskSpec(`format=raw, vdev=xvda, access=rw, target=${img}`)],
    });
    const s = new ConsoleSession(g);
    await s.waitForShell(240_000);
    await s.run("X=$((6*7)); mount -t ext4 /dev/xvda /mnt && echo before > /mnt/f && sync");
    const sink = fileSink(stream);
    const { pages } = a.ts.save(g.domid, sink);
    sink.close();
    assert.ok(pages >= 160 * 256, `${pages} pages saved`);
    assert.equal(a.host.hv.domains.size, 1, "the saved domain is gone from the source");
    assert.equal(a.host.hv.frames.freeCount, freeA, "every frame is back on the source");
    assert.equal(a.ts.gnt.mapped, 0);

    b = newHost();
    const freeB = b.host.hv.frames.freeCount;
    // a corrupted and a truncated stream are refused, leaving nothing
    const good = readFileSync(stream);
    const bad = Buffer.from(good); bad[bad.length >> 1] ^= 0x40;
    writeFileSync(join(dir, "bad.save"), bad);
    writeFileSync(join(dir, "short.save"), good.subarray(0, good.length - 5000));
    for (const [f, re] of [["bad.save", /checksum mismatch/], ["short.save", /ends (early|inside)/]] as const) {
      const src = fileSource(join(dir, f));
      assert.throws(() => b!.ts.restore(src), (e: unknown) => e instanceof StreamError && re.test(e.message));
      src.close();
      assert.equal(b.host.hv.domains.size, 1, `${f}: no domain left behind`);
      assert.equal(b.host.hv.frames.freeCount, freeB, `${f}: every frame is back`);
    }

    const src = fileSource(stream);
    const r = b.ts.restore(src);
    src.close();
    assert.equal(r.domid, g.domid);
    const s2 = new ConsoleSession(r);
    assert.equal((await s2.run("echo $X", 60_000)).trim(), "42", "the shell's variables survived");
    assert.equal((await s2.run("cat /mnt/f")).trim(), "before");
    assert.equal((await s2.run("echo after >> /mnt/f && sync && cat /mnt/f")).trim(), "before\nafter", "the disk works after the move");
    assert.equal((await s2.run("cat /sys/hypervisor/type")).trim(), "xen");
    assert.equal((await s2.run("sleep 1; taskset -c 1 echo timers and both vCPUs", 30_000)).trim(), "timers and both vCPUs");
    assert.equal((await s2.run("grep -c ^processor /proc/cpuinfo")).trim(), "2");
    const dmesg = await s2.run("dmesg | tail -20");
    for (const bad2 of ["BUG:", "Oops", "stall"]) assert.ok(!dmesg.includes(bad2), dmesg);
    s2.type("poweroff\n");
    const t0 = Date.now();
    while (r.state !== "destroyed" && Date.now() - t0 < 60_000) await new Promise((res) => setTimeout(res, 50));
    assert.equal(r.state, "destroyed", `the restored guest did not power off:\n${s2.out.slice(-1500)}`);
    assert.equal(b.host.hv.frames.freeCount, freeB, "every frame is back on the destination");
  } finally {
    await a.done();
    await b?.done();
    rmSync(dir, { recursive: true, force: true });
  }
});
