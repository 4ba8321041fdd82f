// A machine disk passed through to a Linux domU, as the README's "Passing a
// device through" shows it (its commands, xl.cfg keys and pt.dts are read
// from the README): the host started with `--assignable-disk`, `xents
// assignable-list` naming its device-tree path, and an xl.cfg with dtdev,
// iomem, irqs and a partial device tree (compiled by dtc) whose
// /passthrough node describes the device to the guest. Debian's kernel in
// the domU finds it with its own virtio_mmio and virtio_blk drivers, reads
// what the host wrote and writes back, its DMA going through the SMMU to
// its own memory only. A domain with a device cannot be saved; destroying
// it gives the device back, stopped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xentsCli, xentsOk, CliConsole } from "../helpers/cli.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { diskImage, xlCfgText, linuxGuestFields } from "../helpers/guest_files.js";
import { readmeBlock } from "../helpers/readme_blocks.js";

// The README's section, its sh lines and its text (xl.cfg) and dts blocks.
const block = (lang: string): string => readmeBlock("Passing a device through", lang);

const home = mkdtempSync(join(tmpdir(), "xents-pt-"));
const disk = join(home, "pt.img");
const MARK = "xents-passthrough-sector-0";
const BOOT_MS = 300_000;

interface DeviceRow { name: string; kind: string; path: string; address: number; irq: number; owner: number | null; stats: Record<string, number> }
const devices = async (): Promise<DeviceRow[]> => (JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { devices?: DeviceRow[] }).devices ?? [];

before(async () => {
  diskImage(disk, 8, { ext4: false, head: Buffer.from(MARK) });
  assert.deepEqual(block("sh").trim().split("\n"), [
    "npx xents host start --assignable-disk storage.img", "npx xents assignable-list", "dtc -I dts -O dtb -o pt.dtb pt.dts",
    "npx xents create storage.cfg", "npx xents device-list",
  ], "the README's lines are the ones this test runs");
  // the README's line with its defaults (the image is this test's)
  await xentsOk(home, ["host", "start", "--assignable-disk", disk], 60_000);
});

after(async () => {
  await xentsCli(home, ["host", "stop"], 60_000);
  rmSync(home, { recursive: true, force: true });
});

test("a disk passed through with dtdev, iomem, irqs and device_tree works in a Linux domU and comes back when it is destroyed", async () => {
  const table = await xentsOk(home, ["device-list"]);
  assert.match(table, /^pt-vda\s+virtio-blk\s+\/virtio_mmio@a000000\s+a000\s+48 -$/m, table);
  assert.equal(await xentsOk(home, ["assignable-list"]), "/virtio_mmio@a000000\n");

  // the partial device tree and the passthrough keys, as the README gives them
  const dts = join(home, "pt.dts"), dtb = join(home, "pt.dtb");
  writeFileSync(dts, block("dts"));
  execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts]);
  const cfg = join(home, "storage.cfg");
  writeFileSync(cfg, xlCfgText(linuxGuestFields("storage", 160)) + block("text")); // pt.dtb: beside storage.cfg
  await xentsOk(home, ["create", cfg]);
  const con = new CliConsole(home, "storage");
  const s = new ConsoleSession(con);
  try {
    await s.waitForShell(BOOT_MS);
    const id = Number((await xentsOk(home, ["domid", "storage"])).trim());
    assert.deepEqual((await devices()).map((d) => [d.name, d.owner]), [["pt-vda", id]], "the device is the domU's");
    assert.equal((await s.run("cat /sys/block/vda/size")).trim(), String(8 * 2048), "the guest sees an 8 MiB disk");
    assert.equal((await s.run(`dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c ${MARK.length}`)).trim(), MARK);
    await s.run("echo written-by-the-domU | dd of=/dev/vda bs=512 seek=8 conv=sync,fsync 2>/dev/null; echo done");

    // a domain holding a machine device cannot be saved (its state is in the machine)
    const sv = await xentsCli(home, ["save", "storage", join(home, "storage.save")]);
    assert.notEqual(sv.code, 0);
    assert.match(sv.stderr, /has machine devices passed through.*cannot be saved or migrated/);
  } finally {
    con.close();
  }
  const got = Buffer.alloc(19);
  const fd = openSync(disk, "r");
  readSync(fd, got, 0, got.length, 8 * 512);
  closeSync(fd);
  assert.equal(got.toString(), "written-by-the-domU", "the domU's write reached the image");

  await xentsOk(home, ["destroy", "storage"]);
  const after = await devices();
  assert.deepEqual(after.map((d) => [d.name, d.owner]), [["pt-vda", null]], "destroying the domU gives the device back");
  assert.equal(after[0].stats.dma_faults, 0);
  assert.ok(after[0].stats.notifies > 0, "the guest drove the device");
  assert.equal(await xentsOk(home, ["assignable-list"]), "/virtio_mmio@a000000\n");
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { hypervisor: { audit_now: string[]; internal_errors: number; iommu: { translations: number; faults: number } } };
  assert.deepEqual(st.hypervisor.audit_now, []);
  assert.equal(st.hypervisor.internal_errors, 0);
  assert.ok(st.hypervisor.iommu.translations > 0);
  assert.equal(st.hypervisor.iommu.faults, 0);
});
