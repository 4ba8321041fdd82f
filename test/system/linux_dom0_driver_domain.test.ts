// A driver domain under a Linux Domain-0, all of it Debian's: xl in
// Domain-0 creates the storage driver domain (driver_domain = 1, the
// machine's disk passed through with dtdev, iomem, irqs and a partial
// device tree) and then a domU whose disk names it as backend; libxl writes
// the backend under the driver domain, whose xl devd runs the block script,
// and whose xen-blkback serves the domU over grants and an event channel
// between two domUs. The domU's flushed write is in the machine's disk
// image. The same driver domain has the machine's second NIC too, and its
// xen-netback serves the domU's vif: the domU pings a peer on that NIC's
// wire. Destroying both leaves the devices free and the memory audit clean.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, copyFileSync, rmSync, openSync, readSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { VirtioBlk } from "../../src/hw/virtio_blk.js";
import { fetchDriverDomainImages } from "../../src/tools/dom0_image.js";
import { auditMemory } from "../../src/xen/audit.js";
import { passthroughDtb } from "../helpers/passthrough_dtb.js";
import { startLinuxDom0 } from "../helpers/linux_dom0.js";
import { diskImage } from "../helpers/guest_files.js";
import { PingClient } from "../../src/tools/net/ping_client.js";
import { enterDomU, leaveDomU } from "../helpers/xl_console.js";

const BOOT_MS = 300_000;
const MARK = "machine-disk-for-the-driver-domain";
const WRITTEN = "the-domU-wrote-this-through-the-driver-domain";

test("under a Linux Domain-0, Debian's xl makes a driver domain that serves a domU's disk and network with xen-blkback, xen-netback and xl devd", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xents-dom0drv-"));
  // Domain-0's own disk carries the driver domain's initramfs (ext4, made on the host)
  const files = join(dir, "files");
  mkdirSync(files);
  copyFileSync(fetchDriverDomainImages().initrd, join(files, "driver-initrd.gz"));
  const filesImg = join(dir, "files.img");
  diskImage(filesImg, 32, { ext4: false });
  execFileSync("mkfs.ext4", ["-q", "-F", "-b", "4096", "-d", files, filesImg]);
  const ptImg = diskImage(join(dir, "pt.img"), 8, { ext4: false, head: Buffer.from(MARK) });
  const { host, s, stop } = startLinuxDom0({ ramMiB: 1200, dom0MiB: 512, disks: [{ path: filesImg, format: "raw", readonly: true }], assignable: [{ path: ptImg, format: "raw", readonly: false }],
    nics: ["uncabled"] });
  const pt = host.hv.devices.machine().find((m) => m.dev.name === "pt-vda")!;
  const ptNic = host.hv.devices.machine().find((m) => m.dev.name === "pt-eth0")!;
  const dtb = passthroughDtb(pt, ptNic);
  // on the NIC's wire, where Domain-0 cannot reach: someone to ping
  const peer = new PingClient(new Uint8Array([0x02, 0x78, 0x6e, 0x74, 0x73, 0x7f]), "10.80.0.1");
  peer.attach(host.ptNics[0].wire);
  try {
    await s.waitForShell(BOOT_MS);
    await s.run("mount -o ro /dev/vda /mnt");
    await s.run(`echo ${dtb.toString("base64")} | base64 -d > /etc/xen/pt.dtb`);
    await s.run(`printf '%s\\n' 'name = "storage"' 'memory = 192' 'vcpus = 1' 'kernel = "/var/lib/xents/vmlinuz"' 'ramdisk = "/mnt/driver-initrd.gz"' `
      + `'extra = "console=hvc0"' 'acpi = 0' 'driver_domain = 1' 'dtdev = [ "${pt.path}", "${ptNic.path}" ]' `
      + `'iomem = [ "${pt.mfn.toString(16)},1@${pt.mfn.toString(16)}", "${ptNic.mfn.toString(16)},1@${ptNic.mfn.toString(16)}" ]' `
      + `'irqs = [ ${pt.irq}, ${ptNic.irq} ]' 'device_tree = "/etc/xen/pt.dtb"' > /etc/xen/storage.cfg`);
    const made = await s.run("xl create /etc/xen/storage.cfg 2>&1; echo rc=$?", 180_000);
    t.diagnostic(made.trim());
    assert.match(made, /rc=0/);
    const sid = Number((await s.run("xl domid storage")).trim());
    await enterDomU(s, "storage", BOOT_MS, /xents-driver: driver domain up[\s\S]*driver:\/# /);
    await s.run("dmesg -n 1");
    assert.match(await s.run("ps"), /xl devd --pidfile=\/run\/xldevd.pid/);
    assert.equal((await s.run("cat /sys/block/vda/size")).trim(), String(8 * 2048), "the machine disk is the driver domain's vda");
    assert.match(await s.run("ls /sys/class/net/xenbr0/brif"), /eth0/, "the machine's second NIC is the driver domain's eth0, on its xenbr0");
    await leaveDomU(s);

    // the domU of Domain-0's example configuration, its disk from the driver domain
    await s.run(`sed -e 's/^name = .*/name = "guest"/' -e "s#^disk = .*#disk = [ 'backend=storage, vdev=xvda, target=/dev/vda' ]#" `
      + `-e "s#^vif = .*#vif = [ 'backend=storage, bridge=xenbr0' ]#" /etc/xen/domu.cfg > /etc/xen/guest.cfg`);
    const made2 = await s.run("xl create /etc/xen/guest.cfg 2>&1; echo rc=$?", 180_000);
    t.diagnostic(made2.trim());
    assert.match(made2, /rc=0/);
    const gid = Number((await s.run("xl domid guest")).trim());
    const be = `/local/domain/${sid}/backend/vbd/${gid}/51712`;
    await enterDomU(s, "guest", BOOT_MS);
    await s.run("dmesg -n 1");
    assert.equal((await s.run(`dd if=/dev/xvda bs=512 count=1 2>/dev/null | head -c ${MARK.length}`)).trim(), MARK);
    assert.match(await s.run(`echo ${WRITTEN} | dd of=/dev/xvda bs=512 seek=8 conv=sync,fsync 2>&1`), /1\+0 records out/);
    await s.run("ip addr add 10.80.0.2/24 dev eth0 && ip link set eth0 up");
    assert.match(await s.run("ping -c 3 -W 3 10.80.0.1", 60_000), /3 packets transmitted, 3 packets received/, "the domU reaches the wire through the driver domain's netback and bridge");
    await leaveDomU(s);
    assert.ok(peer.stats.echoReplies >= 3, JSON.stringify(peer.stats));
    const got = Buffer.alloc(WRITTEN.length);
    const fd = openSync(ptImg, "r");
    readSync(fd, got, 0, got.length, 8 * 512);
    closeSync(fd);
    assert.equal(got.toString(), WRITTEN, "the domU's flushed write is in the machine's disk image");

    // libxl put the backend under the driver domain; devd's block script and blkback filled it in
    assert.match(await s.run("xl block-list guest"), new RegExp(`^51712\\s+${sid}\\s+${gid}\\s+4\\s+\\d+\\s+\\d+\\s+${be}$`, "m"));
    assert.equal((await s.run(`xenstore-read ${be}/params ${be}/physical-device-path ${be}/hotplug-status`)).trim().split("\n").join(" "), "/dev/vda /dev/vda connected");
    assert.match(await s.run("xl network-list guest"), new RegExp(`^0\\s+${sid}\\s+00:16:3e:[0-9a-f:]+\\s+\\d+\\s+4\\s`, "m"), "the vif's backend is the driver domain");
    assert.equal((await s.run(`xenstore-read /local/domain/${sid}/backend/vif/${gid}/0/hotplug-status`)).trim(), "connected");

    assert.match(await s.run("xl destroy guest 2>&1; echo rc=$?", 120_000), /rc=0/);
    await enterDomU(s, "storage", 60_000, /driver:\/# /);
    for (let t0 = Date.now(); (await s.run("ls /sys/bus/xen-backend/devices")).trim() !== "";) {
      assert.ok(Date.now() - t0 < 60_000, "the driver domain's blkback device went away with the guest");
      await new Promise((r) => setTimeout(r, 500));
    }
    await leaveDomU(s);
    assert.match(await s.run("xl destroy storage 2>&1; echo rc=$?", 120_000), /rc=0/);
    assert.equal(pt.owner, null, "the machine disk is free again");
    assert.equal(ptNic.owner, null, "and so is the NIC");
    assert.equal(host.hv.devices.faults(ptNic.dev.name)?.total ?? 0, 0);
    assert.equal(host.hv.devices.faults(pt.dev.name)?.total ?? 0, 0, "no DMA fault");
    assert.ok(pt.dev instanceof VirtioBlk && pt.dev.stats.notifies > 0, "the driver domain drove the device");
    assert.deepEqual(auditMemory(host.hv), []);
    assert.equal(host.hv.stats.internalErrors, 0);
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
