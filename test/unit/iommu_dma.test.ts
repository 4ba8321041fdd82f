// A device passed through to an unprivileged domain (a driver domain) does
// DMA only through the SMMU's stage-2 context for that domain
// (src/hw/smmuv3.ts, src/xen/iommu_smmuv3.ts). The driver domain points the
// device's buffers and rings at every kind of address it should not reach:
// another guest's RAM (by its machine address and as if it were an IPA),
// hypervisor memory (the SMMU's own stream table, stage-2 tables,
// shared_info), memory it has not got, the GIC, beyond the IPA space. Every
// such access faults, is logged and counted against the device, and touches
// nothing; nothing of the victim reaches the disk; the device still works
// afterwards. A page the driver domain gives back is out of its device's
// reach at once (the SMMU's cached translation is invalidated), and
// log-dirty is refused while the device is assigned.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { buildDomain } from "../../src/tools/domain_builder.js";
import { VirtioBlk } from "../../src/hw/virtio_blk.js";
import { RawImage } from "../../src/tools/backends/raw_image.js";
import { auditMemory } from "../../src/xen/audit.js";
import { XenError } from "../../src/tools/xc/xc.js";
import { XEN_DOMCTL_SHADOW_OP } from "../../src/xen/public/domctl.js";
import { GUEST_RAM0_BASE, GUEST_VIRTIO_MMIO_BASE, GUEST_VIRTIO_MMIO_SPI_FIRST, GUEST_GICD_BASE } from "../../src/xen/public/arch_arm.js";
import { guestImage } from "../helpers/guest_programs.js";
import { diskImage } from "../helpers/guest_files.js";
import { VirtioBlkDriver, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from "../helpers/virtio_blk_driver.js";

const CANARY = 0xC5;

test("a driver domain's device reaches only the driver domain's memory: hostile buffers and rings fault, touch nothing, and the device keeps working", () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-iommu-"));
  const path = join(dir, "d.img");
  diskImage(path, 1, { ext4: false, head: Buffer.alloc(512, 0x77) });
  const img = new RawImage(path, false);
  const log: string[] = [];
  const host = new Host({ ramBytes: 192 << 20, deterministic: true, audit: true, log: (l) => log.push(l) });
  const hv = host.hv;
  const dom0 = new Dom0(host.privcmd);
  try {
    const dev = new VirtioBlk("vda", img, "x");
    hv.devices.add(dev);
    const kernel = guestImage("steady", { ROUNDS: 1 });
    const drvDom = buildDomain(dom0.xc, { name: "storage", memoryMiB: 32, vcpus: 1, kernel, cmdline: "" });
    const victimDom = buildDomain(dom0.xc, { name: "victim", memoryMiB: 16, vcpus: 1, kernel, cmdline: "" });
    const dd = hv.domains.get(drvDom.domid)!, victim = hv.domains.get(victimDom.domid)!;
    const a = hv.devices.assign("vda", dd, GUEST_VIRTIO_MMIO_BASE, GUEST_VIRTIO_MMIO_SPI_FIRST);
    assert.ok(hv.hasAssignedDevices(dd) && !hv.hasAssignedDevices(victim));

    // the victim's pages: all canary
    const vgfns = [...victim.p2m.entries()].map(([g]) => g).filter((g) => victim.p2m.get(g)!.type === "ram").slice(0, 64);
    for (const g of vgfns) { const h = victim.p2m.hostAddr(BigInt(g) << 12n, true); hv.core.bytes.fill(CANARY, h, h + 4096); }
    const frameBytes = (f: number): Uint8Array => hv.core.bytes.slice(hv.frames.hostOf(f), hv.frames.hostOf(f) + 4096);
    // the stream table and command queue (the event queue is the SMMU's to write)
    const hvFrames = [...hv.iommu.tableFrames().slice(0, 2), victim.p2m.root, victim.p2m.root + 1, dd.p2m.root, victim.sharedInfoFrame, dd.sharedInfoFrame];
    const victimPa = (g: number): bigint => hv.frames.paOf(victim.p2m.get(g)!.frame);
    const hostile: [string, bigint][] = [
      ["the victim's RAM by its machine address", victimPa(vgfns[0])],
      ["another victim page by machine address", victimPa(vgfns[40])],
      ["the SMMU's stream table", hv.frames.paOf(hv.iommu.tableFrames()[0])],
      ["the SMMU's command queue", hv.frames.paOf(hv.iommu.tableFrames()[1])],
      ["the victim's stage-2 root", hv.frames.paOf(victim.p2m.root)],
      ["its own stage-2 root", hv.frames.paOf(dd.p2m.root)],
      ["the victim's shared_info", hv.frames.paOf(victim.sharedInfoFrame)],
      ["memory it has not got", GUEST_RAM0_BASE + (200n << 20n)],
      ["the GIC's registers", GUEST_GICD_BASE],
      ["beyond the IPA space", (1n << 40n) + 0x1000n],
      ["the top of the bus", 0xFFFF_F000n],
    ];
    const before = hvFrames.map(frameBytes);

    const drv = new VirtioBlkDriver(dd, a, GUEST_RAM0_BASE + 0x1000000n);
    assert.ok(drv.setup());
    const good = GUEST_RAM0_BASE + 0x1100000n;
    assert.equal(drv.request(VIRTIO_BLK_T_IN, good), 0, "a good read works");
    assert.ok(new Uint8Array(dd.bytes.buffer, dd.p2m.hostAddr(good, false), 512).every((b) => b === 0x77));

    let bad = 0;
    for (const [what, target] of hostile) {
      assert.equal(drv.request(VIRTIO_BLK_T_IN, target), 1, `a read into ${what} is an I/O error`);
      assert.equal(drv.request(VIRTIO_BLK_T_OUT, target, 512, 8n), 1, `a write from ${what} is an I/O error`);
      bad += 2;
    }
    // rings in places the driver domain cannot reach: the device asks for a reset
    for (const [what, target] of hostile.slice(0, 8)) {
      for (const ring of ["desc", "avail", "used"] as const) {
        const ok = drv.setup({ [ring]: target });
        const r = ok ? drv.request(VIRTIO_BLK_T_IN, good) : -1;
        assert.equal(r, -1, `a ${ring} ring at ${what} gets no service`);
        assert.ok(drv.needsReset(), `the device wants a reset after a ${ring} ring at ${what}`);
        bad++;
      }
    }
    assert.ok(drv.setup(), "after a reset the device takes a good queue");

    const faults = hv.devices.faults("vda")!;
    assert.ok(faults.total >= bad - 2 * 4, `every hostile access faulted (${faults.total} faults for ${bad} hostile requests)`);
    assert.ok((faults.byType.get("translation fault") ?? 0) > 0);
    assert.match(log.join("\n"), new RegExp(`d${dd.id}: DMA fault: vda wrote 0x[0-9a-f]+: translation fault`));
    assert.match(log.join("\n"), new RegExp(`d${dd.id}: DMA fault: vda read 0x[0-9a-f]+: translation fault`));
    assert.match(log.join("\n"), /further faults of it are counted, not logged/);

    // nothing moved: the victim, the hypervisor's structures, the disk
    for (const g of vgfns) { const h = victim.p2m.hostAddr(BigInt(g) << 12n, false); assert.ok(hv.core.bytes.subarray(h, h + 4096).every((b) => b === CANARY), `victim gfn 0x${g.toString(16)} unchanged`); }
    hvFrames.forEach((f, i) => assert.deepEqual(frameBytes(f), before[i], `hypervisor frame ${f} unchanged`));
    const disk = Buffer.alloc(512);
    const rfd = openSync(path, "r");
    readSync(rfd, disk, 0, 512, 8 * 512);
    closeSync(rfd);
    assert.ok(!disk.includes(CANARY), "no byte of the victim reached the disk");

    // and the device works: a write then a read back
    dd.bytes.fill(0x3C, dd.p2m.hostAddr(good, true), dd.p2m.hostAddr(good, true) + 512);
    assert.equal(drv.request(VIRTIO_BLK_T_OUT, good, 512, 16n), 0);
    const back = good + 0x1000n;
    assert.equal(drv.request(VIRTIO_BLK_T_IN, back, 512, 16n), 0);
    assert.ok(new Uint8Array(dd.bytes.buffer, dd.p2m.hostAddr(back, false), 512).every((b) => b === 0x3C));

    // a page given back is out of the device's reach at once, though the SMMU had it cached
    const gone = GUEST_RAM0_BASE + 0x1200000n;
    assert.equal(drv.request(VIRTIO_BLK_T_IN, gone), 0);
    const frame = dd.p2m.get(Number(gone >> 12n))!.frame;
    assert.equal(dd.removeGfn(Number(gone >> 12n)), 0);
    const before2 = hv.devices.faults("vda")!.total;
    hv.core.bytes.fill(0xEE, hv.frames.hostOf(frame), hv.frames.hostOf(frame) + 4096);
    assert.equal(drv.request(VIRTIO_BLK_T_IN, gone), 1, "a read into the page given back is an I/O error");
    assert.ok(hv.frames.hostOf(frame) >= 0 && hv.core.bytes.subarray(hv.frames.hostOf(frame), hv.frames.hostOf(frame) + 4096).every((b) => b === 0xEE), "the freed frame is untouched");
    assert.equal(hv.devices.faults("vda")!.total, before2 + 1);

    // log-dirty would break the device's DMA writes: refused
    assert.throws(() => dom0.xc.shadowOp(dd.id, XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY), (e: unknown) => e instanceof XenError && e.errno === 22);
    assert.match(log.join("\n"), /log-dirty refused: it has devices assigned/);
    assert.equal(dd.p2m.logDirty, false);

    assert.deepEqual(auditMemory(hv), []);
    assert.equal(hv.stats.internalErrors, 0, log.join("\n"));
    // destroying the driver domain stops the device and aborts its stream
    dom0.xc.destroyDomain(dd.id);
    assert.equal(hv.devices.assignment("vda"), undefined);
    assert.equal(dev.dma.page(Number(good), false), null);
    assert.equal(hv.hasAssignedDevices(dd), false);
    dom0.xc.destroyDomain(victim.id);
    assert.deepEqual(auditMemory(hv), []);
  } finally {
    img.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("VMIDs are never shared by live domains (the SMMU tags cached translations with them)", () => {
  const host = new Host({ ramBytes: 256 << 20, deterministic: true, log: () => {} });
  {
    const hv = host.hv;
    const mk = (id: number) => hv.createDomain({ id, privileged: false, maxVcpus: 1, maxEvtchnPort: 63, maxGrantFrames: 1, nrSpis: 32, handle: new Uint8Array(16) });
    const keep = mk(1);
    for (let i = 0; i < 600; i++) {
      const d = mk(2);
      assert.notEqual(d.p2m.vmid, keep.p2m.vmid, `creation ${i} got the live domain's VMID ${keep.p2m.vmid}`);
      assert.notEqual(d.p2m.vmid, hv.domains.get(0)!.p2m.vmid);
      hv.destroy(d);
    }
  }
});
