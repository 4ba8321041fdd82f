// Debian's arm64 kernel (linux-image-arm64, unmodified) boots as a Xen domU
// to a busybox shell on hvc0, with 1 and with 2 vCPUs; two guests run at
// once; poweroff returns every frame. These are the slow tests: each boots
// a real kernel (about a billion instructions).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Toolstack, Guest } from "../../src/tools/toolstack.js";
import { fetchImages } from "../../src/tools/images.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { startHost, TestHost } from "../helpers/host.js";

const images = fetchImages();
const kernel = new Uint8Array(readFileSync(images.kernel));
const ramdisk = new Uint8Array(readFileSync(images.initrd));
const BOOT_MS = 240_000;

const newHost = (): TestHost => startHost(1024);

async function bootShell(ts: Toolstack, name: string, vcpus: number): Promise<{ g: Guest; s: ConsoleSession }> {
  const g = ts.create({ name, memoryMiB: 256, vcpus, kernel, ramdisk, cmdline: "console=hvc0" });
  const s = new ConsoleSession(g);
  await s.waitForShell(BOOT_MS);
  return { g, s };
}

for (const vcpus of [1, 2]) {
  test(`Debian's kernel boots as a domU with ${vcpus} vCPU(s) to a shell on hvc0`, async () => {
    const h = newHost();
    try {
      const frames0 = h.host.hv.frames.freeCount;
      const tables0 = h.host.hv.domains.get(0)!.p2m.tableFrames();
      const { g, s } = await bootShell(h.ts, `linux${vcpus}`, vcpus);
      assert.equal((await s.run("cat /sys/hypervisor/type")).trim(), "xen");
      const cpuinfo = await s.run("cat /proc/cpuinfo");
      assert.equal(cpuinfo.split("\n").filter((l) => /^processor\s*:/.test(l)).length, vcpus, cpuinfo);
      assert.match(cpuinfo, /Features\s*: fp asimd .*aes pmull sha1 sha2 crc32/);
      const dmesg = await s.run("dmesg");
      assert.match(dmesg, /Xen 4\.17 support found/);
      assert.match(dmesg, /xen:events: Using FIFO-based ABI/);
      assert.match(dmesg, /Grant table initialized/);
      assert.match(dmesg, /xen:grant_table: Grant tables using version 1 layout/);
      for (const bad of ["WARNING:", "BUG:", "Oops", "Unable to handle", "stall"]) {
        assert.ok(!dmesg.includes(bad), `dmesg contains "${bad}":\n${dmesg.split("\n").filter((l) => l.includes(bad)).join("\n")}`);
      }
      if (vcpus > 1) assert.match(dmesg, new RegExp(`smp: Brought up 1 node, ${vcpus} CPUs`));
      let reason = "";
      h.ts.events.onGuestExit = (_g, r) => { reason = r; };
      g.console.input(new Uint8Array(Buffer.from("poweroff\n")));
      const t0 = Date.now();
      while (g.state !== "destroyed" && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
      assert.equal(reason, "poweroff");
      assert.equal(g.state, "destroyed");
      assert.equal(h.host.hv.domains.get(0)!.p2m.tableFrames(), tables0, "Domain-0's stage-2 tables for its mappings of the guest are gone");
      assert.equal(h.host.hv.frames.freeCount, frames0, "every frame the guest held is back");
      assert.equal(h.host.hv.domains.size, 1);
    } finally {
      await h.done();
    }
  });
}

test("two Linux domUs run at once, each with its own console", async () => {
  const h = newHost();
  try {
    const [a, b] = await Promise.all([bootShell(h.ts, "alpha", 1), bootShell(h.ts, "beta", 1)]);
    const ra = a.s.run("echo I am $(cat /proc/sys/kernel/hostname)-alpha; cat /sys/hypervisor/type");
    const rb = b.s.run("echo I am $(cat /proc/sys/kernel/hostname)-beta; cat /sys/hypervisor/type");
    const [oa, ob] = await Promise.all([ra, rb]);
    assert.match(oa, /I am .*-alpha\nxen/);
    assert.match(ob, /I am .*-beta\nxen/);
    assert.ok(!a.s.out.includes("-beta\n"), "alpha's console shows only alpha");
    assert.ok(!b.s.out.includes("-alpha\n"), "beta's console shows only beta");
    assert.equal(h.ts.guests.size, 2);
  } finally {
    await h.done();
  }
});
