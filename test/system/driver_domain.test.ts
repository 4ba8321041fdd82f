// A storage driver domain as the README's "Driver domains" shows it (its
// commands, the passthrough keys and the disk line are read from the
// README): a Linux domU is given the machine's disk behind the SMMU, boots
// the driver domain's file system (Debian's xl devd, hotplug scripts and
// xen-blkback), and serves another Linux domU's xvda from its /dev/vda.
// The toolstack writes the backend under the driver domain; xl devd runs
// the block script, Linux's blkback connects to the guest's blkfront over
// grants and an event channel between the two domUs, and what the guest
// writes and flushes is in the machine's disk image. The driver domain
// cannot see or touch other domains through the toolstack's interfaces.
// The driver domain is destroyed under the running guest and started
// again: a write issued meanwhile waits and completes, and no acknowledged
// write is lost. Destroying the guest takes its backend away in the driver
// domain.
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
import { initrdWithPrograms } from "../../src/tools/initrd_programs.js";

const home = mkdtempSync(join(tmpdir(), "xents-drv-"));
const disk = join(home, "storage.img");
const other = join(home, "dom0-served.img");
const MARK = "xents-driver-domain-sector-0";
const WRITTEN = "written-by-the-guest-through-the-driver-domain";
const BOOT_MS = 300_000;

before(async () => {
  diskImage(disk, 16, { ext4: false, head: Buffer.from(MARK) });
  diskImage(other, 4, { ext4: false });
  assert.deepEqual(readmeBlock("Driver domains", "sh").trim().split("\n"), [
    "npx xents images --driver-domain", "npx xents create storage.cfg", "npx xents create guest.cfg", "npx xents block-list guest",
  ], "the README's lines are the ones this test runs");
  await xentsOk(home, ["host", "start", "--assignable-disk", disk], 60_000);
});

after(async () => {
  await xentsCli(home, ["host", "stop"], 60_000);
  rmSync(home, { recursive: true, force: true });
});

test("a driver domain serves a domU's disk with Linux's xen-blkback and xl devd; the guest's flushed writes reach the machine's disk", async (t) => {
  const images = await xentsOk(home, ["images", "--driver-domain"]);
  const initrd = /^initrd (\S+)$/m.exec(images)?.[1];
  assert.ok(initrd && /driver-initrd-/.test(initrd), images);
  assert.match(images, /^modules .*\bxen_blkback\b.*\bvirtio_blk\b/m);

  const dts = join(home, "pt.dts"), dtb = join(home, "pt.dtb");
  writeFileSync(dts, readmeBlock("Passing a device through", "dts"));
  execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts]);
  const storageCfg = join(home, "storage.cfg"), guestCfg = join(home, "guest.cfg");
  // the driver domain's file system with the test's grant probe added (test code stays out of the product's image)
  const probeInitrd = join(home, "driver-probe.cpio.gz");
  writeFileSync(probeInitrd, initrdWithPrograms(initrd, ["test/programs/user/gnt_probe.c"], ["-idirafter", "/usr/include"]));
  writeFileSync(storageCfg, xlCfgText({ ...linuxGuestFields("storage", 256), ramdisk: probeInitrd }) + readmeBlock("Passing a device through", "text")
    + readmeBlock("Driver domains", "text", 0));
  writeFileSync(guestCfg, xlCfgText(linuxGuestFields("guest", 160)) + readmeBlock("Driver domains", "text", 1));

  const startStorage = async (): Promise<[CliConsole, ConsoleSession, RegExpMatchArray]> => {
    await xentsOk(home, ["create", storageCfg]);
    const c = new CliConsole(home, "storage");
    const session = new ConsoleSession(c);
    session.shellReady = /xents-driver: driver domain up: xl devd serves \/local\/domain\/(\d+)\/backend[\s\S]*driver:[^\n]*# /;
    return [c, session, await session.waitForShell(BOOT_MS)];
  };
  let [sc, s, up] = await startStorage();
  let gc: CliConsole | undefined;
  try {
    const sid = Number((await xentsOk(home, ["domid", "storage"])).trim());
    assert.equal(Number(up[1]), sid, "the driver domain's own xenstore says who it is");
    assert.match(await s.run("ps"), /xl devd --pidfile=\/run\/xldevd.pid/);
    assert.doesNotMatch(await s.run("cat /proc/xen/capabilities"), /control_d/, "the driver domain is not privileged");
    assert.match(await s.run(`xenstore-write /local/domain/${sid}/libxl/probe 1 2>&1; echo rc=$?`), /^rc=0$/m, "driver_domain = 1: libxl's directory is its own");

    await xentsOk(home, ["create", guestCfg]);
    const gid = Number((await xentsOk(home, ["domid", "guest"])).trim());
    gc = new CliConsole(home, "guest");
    const g = new ConsoleSession(gc);
    await g.waitForShell(BOOT_MS);
    const be = `/local/domain/${sid}/backend/vbd/${gid}/51712`;
    assert.match(await xentsOk(home, ["block-list", "guest"]), new RegExp(`^51712\\s+${sid}\\s+${gid}\\s+4\\s+\\d+\\s+\\d+\\s+${be}$`, "m"));

    // in the driver domain: devd ran the block script, blkback connected
    assert.equal((await s.run(`xenstore-read ${be}/physical-device-path ${be}/hotplug-status ${be}/state`)).trim().split("\n").join(" "), "/dev/vda connected 4");
    assert.equal((await s.run("ls /sys/bus/xen-backend/devices")).trim(), `vbd-${gid}-51712`);

    // in the guest: the machine disk's bytes, and a write flushed through both domains
    assert.equal((await g.run("cat /sys/block/xvda/size")).trim(), String(16 * 2048));
    assert.equal((await g.run(`dd if=/dev/xvda bs=512 count=1 2>/dev/null | head -c ${MARK.length}`)).trim(), MARK);
    assert.match(await g.run(`echo ${WRITTEN} | dd of=/dev/xvda bs=512 seek=8 conv=sync,fsync 2>&1`), /1\+0 records out/);
    assert.equal(sectorOf(disk, 8, WRITTEN.length), WRITTEN, "the guest's flushed write is in the machine's disk image");

    // what the driver domain cannot do: it is not the control domain, and the guest's nodes are not its
    // (the hypervisor says EPERM; xl pause reports it but exits 0, as xl does)
    assert.match(await s.run("xl list 2>&1; echo rc=$?"), /getting domain info list: Operation not permitted[\s\S]*rc=1/, "listing domains needs privilege");
    assert.match(await s.run(`xl pause ${gid} 2>&1`), /Pausing domain: Operation not permitted/);
    assert.match(await s.run(`xenstore-read /local/domain/${gid}/name 2>&1; echo rc=$?`), /rc=[1-9]/, "the guest's own nodes");
    assert.match(await s.run(`xenstore-write ${be.replace(`/${sid}/backend/vbd/${gid}/51712`, `/${gid}/device/vbd/51712`)}/ring-ref 1 2>&1; echo rc=$?`), /rc=[1-9]/, "the guest's frontend");
    assert.equal((await g.run("dd if=/dev/xvda bs=512 count=1 2>/dev/null | head -c 5")).trim(), MARK.slice(0, 5), "the guest runs, its disk still works");

    // Separation, measured from inside the driver domain: through gntdev (the
    // hypervisor's GNTTABOP_map_grant_ref) it maps the ring the guest granted
    // it, and nothing else: not the ring of the guest's other disk, granted to
    // Domain-0; not a reference the guest never granted; not Domain-0's.
    await xentsOk(home, ["block-attach", "guest", `vdev=xvdb, target=${other}`]);
    for (let t0 = Date.now(); (await g.run("cat /sys/block/xvdb/size 2>/dev/null")).trim() !== String(4 * 2048);) {
      assert.ok(Date.now() - t0 < 60_000, "xvdb appears in the guest");
      await new Promise((r) => setTimeout(r, 500));
    }
    const rings = new Map((await xentsOk(home, ["block-list", "guest"])).trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/)).map((c) => [c[0], Number(c[5])]));
    const mine = rings.get("51712")!, dom0s = rings.get("51728")!;
    assert.ok(mine > 0 && dom0s > 0 && mine !== dom0s, JSON.stringify([...rings]));
    const probe = (await s.run(`/opt/gnt_probe ${gid}:${mine} ${gid}:${dom0s} ${gid}:${dom0s + 1000} ${gid}:100000 0:${mine}`)).trim().split("\n");
    assert.match(probe[0], new RegExp(`^${gid}:${mine} mapped [0-9a-f]{8}$`), "its own ring maps");
    for (const line of probe.slice(1)) assert.match(line, /^\d+:\d+ refused \d+$/, `refused: ${probe.join("; ")}`);
    assert.equal(probe.length, 5);
    t.diagnostic(`grant probe in the driver domain (domid:ref result errno): ${probe.join("; ")}`);
    await xentsOk(home, ["block-detach", "guest", "xvdb"]);

    // The driver domain dies under the running guest and comes back. A write
    // issued meanwhile waits (Linux's blkfront neither fails nor reconnects
    // by itself); the driver domain is built again under its old id, its
    // blkback attaches to the guest's live ring and does the waiting write.
    sc.close();
    const died = Date.now();
    await xentsOk(home, ["destroy", "storage"]);
    await g.run("(echo restart-write | dd of=/dev/xvda bs=512 seek=16 conv=sync,fsync; echo dd-done-$?) > /tmp/dd.log 2>&1 & true");
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await g.run("cat /tmp/dd.log")).trim(), "", "the write waits for its backend");
    [sc, s, up] = await startStorage();
    assert.equal(Number(up[1]), sid, "the driver domain is back under the id the guest's grants and event channels name");
    for (let t0 = Date.now(); !/dd-done-0/.test(await g.run("cat /tmp/dd.log"));) {
      assert.ok(Date.now() - t0 < 120_000, `the waiting write completes through the new driver domain: ${await g.run("cat /tmp/dd.log; dmesg | tail -5")}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    t.diagnostic(`storage driver domain restart: the write waited ${((Date.now() - died) / 1000).toFixed(1)} s from the destroy to its completion (the new driver domain's boot included)`);
    assert.equal(sectorOf(disk, 8, WRITTEN.length), WRITTEN, "the write acknowledged before the restart is there");
    assert.equal(sectorOf(disk, 16, 13), "restart-write", "the write issued during it is there");
    assert.equal((await g.run("dd if=/dev/xvda bs=512 skip=16 count=1 iflag=direct 2>/dev/null | head -c 13")).trim(), "restart-write", "and reads back through it");
    assert.equal((await s.run(`xenstore-read ${be}/state`)).trim(), "4");
    assert.match(await xentsOk(home, ["block-list", "guest"]), new RegExp(`^51712\\s+${sid}\\s+${gid}\\s+4\\s`, "m"));

    // a guest served by a driver domain cannot be saved here, and says why
    const sv = await xentsCli(home, ["save", "guest", join(home, "guest.save")]);
    assert.notEqual(sv.code, 0);
    assert.match(sv.stderr, /served by driver domain storage: it cannot be saved or migrated/);

    // destroying the guest takes its backend away in the driver domain, which lets go of its grants
    gc.close();
    gc = undefined;
    await xentsOk(home, ["destroy", "guest"]);
    for (let t0 = Date.now(); (await s.run("ls /sys/bus/xen-backend/devices")).trim() !== "";) {
      assert.ok(Date.now() - t0 < 60_000, "the driver domain's blkback device went away with the guest");
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(await s.run(`xenstore-ls /local/domain/${sid}/backend/vbd 2>&1; echo rc=$?`), /rc=0/);
    assert.doesNotMatch(await s.run(`xenstore-ls /local/domain/${sid}/backend/vbd 2>&1`), new RegExp(`\\b${gid}\\b`));
    const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as {
      hypervisor: { audit_now: string[]; internal_errors: number }; devices: { owner: number | null; stats: Record<string, number> }[];
    };
    assert.deepEqual(st.hypervisor.audit_now, []);
    assert.equal(st.hypervisor.internal_errors, 0);
    assert.deepEqual(st.devices.map((d) => [d.owner, d.stats.dma_faults]), [[sid, 0]]);
  } finally {
    gc?.close();
    sc.close();
  }
  await xentsOk(home, ["destroy", "storage"]);
  assert.equal(await xentsOk(home, ["assignable-list"]), "/virtio_mmio@a000000\n", "the machine's disk is free again");
});

function sectorOf(file: string, sector: number, length: number): string {
  const got = Buffer.alloc(length);
  const fd = openSync(file, "r");
  readSync(fd, got, 0, length, sector * 512);
  closeSync(fd);
  return got.toString();
}
