// A machine device assigned to Domain-0 (device_assign.ts): its registers
// at libxl's virtio-mmio slot, its interrupt on the slot's SPI, and its DMA
// through Domain-0's stage-2. A driver in Domain-0 that points the device at
// another domain's frame, at memory it has not got, or at a device region
// gets DMA faults and I/O errors; the other domain's canary is unchanged;
// the device goes on serving good requests. Destroying the owner stops the
// device and takes it back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { constructDom0 } from "../../src/xen/dom0_build.js";
import { VirtioBlk } from "../../src/hw/virtio_blk.js";
import { diskImage } from "../helpers/guest_files.js";
import { VirtioBlkDriver, VIRTIO_BLK_T_IN } from "../helpers/virtio_blk_driver.js";
import { RawImage } from "../../src/tools/backends/raw_image.js";
import { GUEST_RAM0_BASE, GUEST_VIRTIO_MMIO_BASE, GUEST_VIRTIO_MMIO_SPI_FIRST, GUEST_GICD_BASE } from "../../src/xen/public/arch_arm.js";

function fakeImage(bytes: number): Uint8Array {
  const k = new Uint8Array(bytes);
  const dv = new DataView(k.buffer);
  dv.setBigUint64(8, 0x200000n, true);
  dv.setBigUint64(16, BigInt(bytes), true);
  dv.setUint32(56, 0x644d5241, true);
  return k;
}

test("a device assigned to Domain-0 reaches only Domain-0's memory; DMA elsewhere faults and touches nothing; destroy takes it back stopped", () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-assign-"));
  const path = join(dir, "d.img");
  diskImage(path, 1, { ext4: false, head: Buffer.alloc(512, 0x77) });
  const img = new RawImage(path, false);
  const logs: string[] = [];
  const hv = new Hypervisor({ ramBytes: 256 << 20, deterministic: true, log: (l) => logs.push(l) });
  const dev = new VirtioBlk("vda", img, "x");
  hv.devices.add(dev);
  try {
    const d0 = constructDom0(hv, { kernel: fakeImage(1 << 20), cmdline: "", memMiB: 64, vcpus: 1, devices: ["vda"] });
    const a = hv.devices.assignment("vda")!;
    assert.equal(a.domain, d0);
    assert.equal(a.base, GUEST_VIRTIO_MMIO_BASE);
    assert.equal(a.spi, GUEST_VIRTIO_MMIO_SPI_FIRST);
    assert.equal(d0.mmio.find(GUEST_VIRTIO_MMIO_BASE)?.name, "vda");

    // a victim domain with a canary page
    const victim = hv.createDomain({ id: 5, privileged: false, maxVcpus: 1, maxEvtchnPort: 1023, maxGrantFrames: 4, nrSpis: 32, handle: new Uint8Array(16) });
    victim.createVcpus(1);
    victim.maxPages = 16n;
    const vgfn = Number(GUEST_RAM0_BASE >> 12n);
    assert.ok(victim.populate(vgfn));
    const vh = victim.p2m.hostAddr(GUEST_RAM0_BASE, true);
    hv.core.bytes.fill(0xC5, vh, vh + 4096);
    const victimPa = hv.frames.paOf(victim.p2m.get(vgfn)!.frame);

    // Domain-0's driver, through the MMIO region as its loads and stores would go
    const drv = new VirtioBlkDriver(d0, a, GUEST_RAM0_BASE + 0x3000000n); // in Domain-0's RAM (64 MiB)
    assert.ok(drv.setup());
    const read = (target: bigint): number => drv.request(VIRTIO_BLK_T_IN, target);
    const bufs = drv.desc + 0x4000n;

    const faults0 = hv.devices.faults("vda")!.total;
    // at the victim's machine address, at memory Domain-0 has not got, at the GIC's registers
    for (const target of [victimPa, GUEST_RAM0_BASE + (100n << 20n), GUEST_GICD_BASE, (1n << 40n) + 0x1000n]) {
      assert.equal(read(target), 1, `a read into 0x${target.toString(16)} is an I/O error`);
    }
    assert.ok(hv.devices.faults("vda")!.total >= faults0 + 4);
    assert.match(logs.join("\n"), /DMA fault: vda wrote 0x/);
    const vh2 = victim.p2m.hostAddr(GUEST_RAM0_BASE, false);
    assert.ok(hv.core.bytes.subarray(vh2, vh2 + 4096).every((b) => b === 0xC5), "the victim's canary is unchanged");
    // and a good one still works
    const good = bufs + 0x8000n;
    assert.equal(read(good), 0);
    assert.ok(new Uint8Array(hv.core.bytes.buffer, d0.p2m.hostAddr(good, false), 512).every((b) => b === 0x77));
    assert.equal(d0.vgic.irq(0, a.spi)!.level, true, "the interrupt line is up");

    // Domain-0 destroyed: the device is stopped, unwired and free
    hv.destroy(d0);
    assert.equal(hv.devices.assignment("vda"), undefined);
    assert.equal(dev.status, 0);
    assert.equal(dev.interruptStatus, 0);
    assert.equal(dev.dma.page(0, false), null, "no DMA space: every access faults");
    assert.equal(dev.read(0x70, 4), 0);
  } finally {
    img.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
