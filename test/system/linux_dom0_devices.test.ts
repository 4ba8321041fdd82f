// A Linux Domain-0 drives the machine's devices with its own drivers
// (issue 13): a virtio-mmio disk backed by a host image file (vda) and a
// virtio-mmio NIC (eth0) on the machine's wire, joined to xenbr0 as a Xen
// host's eth0 is. Domain-0 reads what the host wrote into the image and
// writes what the host then finds there; a host on the wire pings it. A
// domU whose disk is Domain-0's vda (phy:/dev/vda: Linux's xen-blkback
// hands the domU's granted pages to virtio-blk, whose DMA goes through
// Domain-0's stage-2 to the domU's frames) reads and writes the same image,
// and answers pings from the wire through Domain-0's bridge. xl vcpu-list,
// dmesg and mem-set (the domU's balloon gives the memory back) work on it,
// `xl destroy` ends it; no DMA fault, no device error, and the memory audit
// is clean. The same domU also gets a machine disk Domain-0 does not have
// (--assignable-disk), passed through by Debian's own xl from dtdev, iomem,
// irqs and a partial device tree: the hypervisor's passthrough domctls as
// libxl makes them; the domU reads it as /dev/vda with its own virtio
// drivers, and `xl destroy` gives the device back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, openSync, readSync, writeSync, closeSync, ftruncateSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VirtioBlk } from "../../src/hw/virtio_blk.js";
import { PingClient } from "../../src/tools/net/ping_client.js";
import { auditMemory } from "../../src/xen/audit.js";
import { passthroughDtb } from "../helpers/passthrough_dtb.js";
import { startLinuxDom0 } from "../helpers/linux_dom0.js";
import { enterDomU, leaveDomU } from "../helpers/xl_console.js";

const BOOT_MS = 300_000;
const SECTOR = 512;
const MARK_HOST = 2048, MARK_DOM0 = 4096, MARK_DOMU = 6144; // sectors

function readAt(path: string, sector: number, n: number): string {
  const fd = openSync(path, "r");
  try { const b = Buffer.alloc(n); readSync(fd, b, 0, n, sector * SECTOR); return b.toString("latin1"); } finally { closeSync(fd); }
}

// Pings (the first ones resolve the target's MAC by ARP) until `n` replies
// came back, or a minute passed: the number of replies.
async function pingFrom(client: PingClient, n: number): Promise<number> {
  const before = client.replies.length, t0 = Date.now();
  while (client.replies.length - before < n && Date.now() - t0 < 60_000) {
    client.ping();
    await new Promise((r) => setTimeout(r, 500));
  }
  return client.replies.length - before;
}

test("Domain-0 drives a virtio disk and NIC; a domU's disk is Domain-0's vda and its network goes out through Domain-0's eth0", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xents-dom0dev-"));
  const img = join(dir, "disk.img");
  const fd = openSync(img, "w");
  ftruncateSync(fd, 64 << 20);
  writeSync(fd, Buffer.from("the-host-wrote-this-here"), 0, 24, MARK_HOST * SECTOR);
  closeSync(fd);
  const ptImg = join(dir, "pt.img");
  const pfd = openSync(ptImg, "w");
  ftruncateSync(pfd, 4 << 20);
  writeSync(pfd, Buffer.from("passed-through-disk"), 0, 19, 0);
  closeSync(pfd);
  const { host, s, stop } = startLinuxDom0({ ramMiB: 800, dom0MiB: 512, disks: [{ path: img, format: "raw", readonly: false }], assignable: [{ path: ptImg, format: "raw", readonly: false }] });
  const pt = host.hv.devices.machine().find((m) => m.dev.name === "pt-vda")!;
  assert.equal(pt.owner, null, "the assignable disk is nobody's");
  // its partial device tree, compiled here and typed into Domain-0 as base64
  const dtb = passthroughDtb(pt);
  const wire = new PingClient(new Uint8Array([0x02, 0, 0, 0, 0, 0xc8]), "192.168.100.200", "192.168.100.1");
  wire.attach(host.wire);
  try {
    await s.waitForShell(BOOT_MS);

    // the disk: its size, what the host wrote, and a write the host finds
    assert.match(await s.run("cat /sys/block/vda/size"), /^131072$/m, "the 64 MiB image");
    assert.equal((await s.run(`dd if=/dev/vda bs=512 skip=${MARK_HOST} count=1 2>/dev/null | head -c 24`)).trim(), "the-host-wrote-this-here");
    await s.run(`printf dom0-wrote-this | dd of=/dev/vda bs=512 seek=${MARK_DOM0} conv=fsync 2>/dev/null`);
    assert.equal(readAt(img, MARK_DOM0, 15), "dom0-wrote-this");
    const vda = host.disks[0];
    assert.ok(vda.blk.flushes > 0, "conv=fsync reached the device as a flush");

    // the NIC: on xenbr0, answering a host on the wire both ways
    assert.equal((await s.run("cat /sys/class/net/eth0/address")).trim(), "02:78:6e:74:73:01");
    assert.match(await s.run("ls /sys/class/net/xenbr0/brif"), /eth0/);
    assert.ok(await pingFrom(wire, 3) >= 3, "Domain-0 answers pings from the wire");
    assert.match(await s.run("ping -c 2 -W 2 192.168.100.200", 60_000), /2 packets transmitted, 2 packets received/);

    // a domU on Domain-0's own disk, its vif on xenbr0
    await s.run(`sed -e 's/^name = .*/name = "vd"/' -e "s#^disk = .*#disk = [ 'phy:/dev/vda,xvda,w' ]#" /etc/xen/domu.cfg > /etc/xen/vd.cfg`);
    // and the machine disk, passed through as xl.cfg(5) has it on Arm
    await s.run(`echo ${dtb.toString("base64")} | base64 -d > /etc/xen/pt.dtb`);
    await s.run(`printf '%s\\n' 'dtdev = [ "${pt.path}" ]' 'iomem = [ "${pt.mfn.toString(16)},1@${pt.mfn.toString(16)}" ]' 'irqs = [ ${pt.irq} ]' 'device_tree = "/etc/xen/pt.dtb"' >> /etc/xen/vd.cfg`);
    const created = await s.run("xl create /etc/xen/vd.cfg 2>&1; echo rc=$?", 180_000);
    t.diagnostic(created.trim());
    assert.match(created, /rc=0/);
    await enterDomU(s, "vd", BOOT_MS);
    await s.run("dmesg -n 1");
    assert.match(await s.run("cat /sys/block/xvda/size"), /^131072$/m);
    assert.equal((await s.run(`dd if=/dev/xvda bs=512 skip=${MARK_HOST} count=1 2>/dev/null | head -c 24`)).trim(), "the-host-wrote-this-here");
    assert.equal((await s.run(`dd if=/dev/xvda bs=512 skip=${MARK_DOM0} count=1 2>/dev/null | head -c 15`)).trim(), "dom0-wrote-this");
    await s.run(`printf domu-wrote-this | dd of=/dev/xvda bs=512 seek=${MARK_DOMU} conv=fsync 2>/dev/null`);
    // the passed-through disk, driven by the domU's own virtio_blk
    assert.match(await s.run("cat /sys/block/vda/size"), /^8192$/m, "the 4 MiB machine disk is the domU's vda");
    assert.equal((await s.run("dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 19")).trim(), "passed-through-disk");
    await s.run("ip link set eth0 up && ip addr add 192.168.100.2/24 dev eth0");
    await leaveDomU(s);
    assert.equal(readAt(img, MARK_DOMU, 15), "domu-wrote-this", "the domU's write went through blkback and virtio-blk into the host's file");
    const toDomU = new PingClient(new Uint8Array([0x02, 0, 0, 0, 0, 0xc9]), "192.168.100.201", "192.168.100.2");
    toDomU.attach(host.wire);
    assert.ok(await pingFrom(toDomU, 3) >= 3, "the domU answers pings from the wire, through Domain-0's eth0 and xenbr0");
    toDomU.detach();

    // the rest of a Xen user's everyday xl, on this domU
    assert.match(await s.run("xl vcpu-list vd"), /^vd\s+\d+\s+0\s+0\s+\S+\s+[\d.]+\s/m, "one vCPU, on CPU 0");
    assert.match(await s.run("xl dmesg | tail -n 40"), /assigned virtio-net eth0|LOADING DOMAIN 0|d\d+: /, "the hypervisor's console ring");
    const listed = async (): Promise<number> => Number(/^vd\s+\d+\s+(\d+)\s/m.exec(await s.run("xl list vd"))?.[1] ?? 0);
    assert.ok(await listed() >= 127, "the domU has its 128 MiB");
    // (the domU has little to spare: its kernel and initramfs live in its 128 MiB)
    assert.match(await s.run("xl mem-set vd 120m 2>&1; echo rc=$?"), /rc=0/);
    const t1 = Date.now();
    let mem = await listed();
    while (mem > 121 && Date.now() - t1 < 120_000) { await new Promise((r) => setTimeout(r, 2000)); mem = await listed(); }
    let why = "";
    if (mem > 121) { // what the domU's kernel says about it
      await enterDomU(s, "vd", 60_000);
      why = await s.run("dmesg | grep -i -E 'balloon|xen|bug|oops' | tail -n 20; cat /sys/devices/system/xen_memory/xen_memory0/info/current_kb /sys/devices/system/xen_memory/xen_memory0/target_kb");
      await leaveDomU(s);
    }
    assert.ok(mem > 0 && mem <= 121, `the domU's balloon gave memory back: xl list says ${mem} MiB\n${why}`);

    assert.match(await s.run("xl destroy vd 2>&1; echo rc=$?", 60_000), /rc=0/);
    assert.doesNotMatch(await s.run("xl list"), /^vd\s/m);
    assert.equal(host.hv.domains.size, 1, "only Domain-0 is left");
    for (const dev of host.hv.devices.list()) {
      if (dev.name === "pt-vda") continue;
      const a = host.hv.devices.assignment(dev.name);
      assert.equal(a?.domain.id, 0, `${dev.name} belongs to Domain-0`);
      assert.equal(host.hv.devices.faults(dev.name)?.total, 0, `${dev.name}: no DMA fault`);
    }
    assert.equal(pt.owner, null, "xl destroy gave the passed-through disk back");
    assert.ok(pt.dev instanceof VirtioBlk && pt.dev.stats.notifies > 0, "the domU drove it");
    assert.equal(host.hv.smmu.stats.faults, 0, "no DMA fault anywhere");
    assert.equal(vda.stats.errors, 0);
    assert.equal(vda.blk.ioErrors, 0);
    assert.ok(host.nic.net.rxFrames > 0 && host.nic.net.txFrames > 0);
    assert.deepEqual(auditMemory(host.hv), [], "the memory audit is clean");
    assert.equal(host.hv.stats.internalErrors, 0);
  } finally {
    wire.detach();
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
