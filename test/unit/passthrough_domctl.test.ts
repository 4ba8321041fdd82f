// The passthrough domctls (src/xen/hypercall/passthrough.ts) as libxc
// makes them (src/tools/xc/passthrough.ts): permission first, then the
// register page mapped and the SPI bound, the device assigned by its
// device-tree path; every refusal with Xen's error code, and a device that
// changes hands keeps nothing of its old owner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { XenError } from "../../src/tools/xc/xc.js";
import { VirtioBlk } from "../../src/hw/virtio_blk.js";
import { RawImage } from "../../src/tools/backends/raw_image.js";
import { diskImage } from "../helpers/guest_files.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { irqPermission, iomemPermission, memoryMapping, bindPtSpiIrq, assignDtDevice, deassignDtDevice, testAssignDtDevice } from "../../src/tools/xc/passthrough.js";
import { MACHINE_DEVICE_BASE, MACHINE_DEVICE_IRQ0 } from "../../src/xen/device_assign.js";
import { XEN_E } from "../../src/xen/public/xen.js";
import { buildDomain, BuildError } from "../../src/tools/domain_builder.js";
import { FdtBuilder } from "../../src/lib/fdt.js";
import { parseFdt, fdtChild } from "../../src/lib/fdt_reader.js";
import { guestImage } from "../helpers/guest_programs.js";
import { DOMCTL, xen_domctl_memory_mapping } from "../../src/xen/public/domctl.js";
import { StructBuf } from "../../src/xen/public/layout.js";

const PATH = `/virtio_mmio@${MACHINE_DEVICE_BASE.toString(16)}`;
const MFN = BigInt(MACHINE_DEVICE_BASE / 4096);
const IRQ = MACHINE_DEVICE_IRQ0;
const GFN = 0xa000n;

const errno = (f: () => void): number => {
  try { f(); } catch (e) { if (e instanceof XenError) return e.errno; throw e; }
  return 0;
};

function setup() {
  const log: string[] = [];
  const host = new Host({ ramBytes: 128 << 20, deterministic: true, log: (l) => log.push(l) });
  const dom0 = new Dom0(host.privcmd);
  const xc = dom0.xc;
  const img = diskImage(join(mkdtempSync(join(tmpdir(), "xents-ptd-")), "d.img"), 1, { ext4: false });
  const dev = new VirtioBlk("pt-vda", new RawImage(img, false), "x");
  host.hv.devices.add(dev);
  const mk = (): number => xc.createDomain({ maxVcpus: 1, nrSpis: IRQ - 32 + 1 });
  return { host, xc, dev, mk, log, hv: host.hv };
}

test("passthrough: permission, mapping, binding and assignment, each refused as Xen refuses it", () => {
  const { xc, dev, mk, hv, log } = setup();
  const a = mk(), b = mk();
  const da = hv.domains.get(a)!;
  assert.equal(errno(() => testAssignDtDevice(xc, PATH)), 0, "free: assignable");

  // the target's permissions, recorded (mapping and binding check the caller's, as Xen does: Domain-0 has them all)
  irqPermission(xc, a, IRQ, true);
  iomemPermission(xc, a, MFN, 1n, true);
  assert.ok(da.irqCaps.has(IRQ) && da.iomemCaps.has(Number(MFN)));
  irqPermission(xc, a, IRQ, false);
  assert.ok(!da.irqCaps.has(IRQ));
  irqPermission(xc, a, IRQ, true);
  // what Xen on Arm does not do, or the machine has not got
  assert.equal(errno(() => bindPtSpiIrq(xc, a, IRQ, IRQ + 1)), XEN_E.EINVAL, "SPIs are mapped 1:1");
  iomemPermission(xc, a, MFN + 100n, 1n, true);
  assert.equal(errno(() => memoryMapping(xc, a, GFN, MFN + 100n, 1n, true)), XEN_E.EINVAL, "no device at that page");
  const raw = (n: bigint): void => { xc.domctl("memory_mapping", DOMCTL.memory_mapping, a, new StructBuf(xen_domctl_memory_mapping).set("first_gfn", GFN).set("first_mfn", MFN).set("nr_mfns", n).set("add_mapping", 1).bytes); };
  assert.equal(errno(() => raw(0n)), XEN_E.EINVAL, "no pages");
  assert.equal(errno(() => raw(65n)), XEN_E.E2BIG, "more pages than one call takes");
  assert.equal(errno(() => assignDtDevice(xc, a, "/nowhere@0")), XEN_E.EINVAL);
  assert.match(log.join("\n"), /no device at "\/nowhere@0"/);
  assert.equal(errno(() => irqPermission(xc, a, 20, true)), XEN_E.EINVAL, "a PPI is not passed through");

  // the three steps
  memoryMapping(xc, a, GFN, MFN, 1n, true);
  bindPtSpiIrq(xc, a, IRQ, IRQ);
  assignDtDevice(xc, a, PATH);
  assert.equal(errno(() => testAssignDtDevice(xc, PATH)), XEN_E.EBUSY, "taken");
  assert.equal(hv.devices.owner("pt-vda"), da);
  const region = da.mmio.find(GFN << 12n);
  assert.ok(region, "the register page is at the gfn");
  assert.equal(region.read(0, 0, 4), 0x74726976n, "virtio-mmio's magic through the mapping");
  assert.equal(region.read(0, 0x800, 4), 0n, "beyond the registers: zero");
  dev.setIrq(true);
  assert.equal(da.vgic.irq(0, IRQ)!.level, true, "the device's line drives the domain's SPI");
  dev.setIrq(false);

  // another domain gets nothing of it while a has it (Domain-0 may ask; the device is a's)
  irqPermission(xc, b, IRQ, true);
  iomemPermission(xc, b, MFN, 1n, true);
  assert.equal(errno(() => assignDtDevice(xc, b, PATH)), XEN_E.EBUSY);
  assert.equal(errno(() => memoryMapping(xc, b, GFN, MFN, 1n, true)), XEN_E.EPERM);
  assert.equal(errno(() => bindPtSpiIrq(xc, b, IRQ, IRQ)), XEN_E.EPERM);
  assert.equal(errno(() => deassignDtDevice(xc, b, PATH)), XEN_E.EINVAL, "only the owner's assignment can be undone");

  // de-assigned: stopped, unmapped, unbound, its DMA aborting
  dev.write(0x70, 4, 1);
  deassignDtDevice(xc, a, PATH);
  assert.equal(hv.devices.owner("pt-vda"), null);
  assert.equal(da.mmio.find(GFN << 12n), undefined, "the mapping went with it");
  assert.equal(dev.status, 0, "reset");
  dev.setIrq(true);
  assert.equal(da.vgic.irq(0, IRQ)!.level, false, "the line drives nothing of a's");
  assert.equal(dev.dma.page(0x40000000, false), null);

  // b may have it now; destroying b gives it back
  memoryMapping(xc, b, GFN, MFN, 1n, true);
  bindPtSpiIrq(xc, b, IRQ, IRQ);
  assignDtDevice(xc, b, PATH);
  xc.destroyDomain(b);
  assert.equal(hv.devices.owner("pt-vda"), null);
  assert.equal(errno(() => testAssignDtDevice(xc, PATH)), 0);
  xc.destroyDomain(a);
  assert.equal(hv.stats.internalErrors, 0);
});

test("passthrough: mappings made before assignment go when another domain is given the device", () => {
  const { xc, mk, hv } = setup();
  const a = mk(), b = mk();
  for (const d of [a, b]) { iomemPermission(xc, d, MFN, 1n, true); irqPermission(xc, d, IRQ, true); }
  memoryMapping(xc, a, GFN, MFN, 1n, true);
  bindPtSpiIrq(xc, a, IRQ, IRQ);
  assignDtDevice(xc, b, PATH);
  assert.equal(hv.domains.get(a)!.mmio.find(GFN << 12n), undefined, "a's early mapping is gone");
  assert.equal(errno(() => bindPtSpiIrq(xc, a, IRQ, IRQ)), XEN_E.EPERM);
  memoryMapping(xc, b, GFN, MFN, 1n, true);
  assert.equal(errno(() => memoryMapping(xc, b, GFN, MFN, 1n, true)), XEN_E.EBUSY, "the same page twice");
  assert.ok(hv.domains.get(b)!.mmio.find(GFN << 12n), "a refused second mapping leaves the first");
  memoryMapping(xc, b, GFN, MFN, 1n, false);
  assert.equal(hv.domains.get(b)!.mmio.find(GFN << 12n), undefined, "removed again");
});

test("passthrough from xl.cfg's keys: the builder binds, maps and assigns, copies /passthrough into the guest's device tree, and refuses a bad device_tree leaving nothing", () => {
  const { xc, hv } = setup();
  const kernel = guestImage("steady", { ROUNDS: 1 });
  const f = new FdtBuilder();
  f.beginNode("").u32("#address-cells", 2).u32("#size-cells", 2);
  f.beginNode("passthrough").str("compatible", "simple-bus").empty("ranges");
  f.beginNode("virtio@a000000").str("compatible", "virtio,mmio").u32("interrupts", 0, IRQ - 32, 4).endNode();
  f.endNode().endNode();
  const dtb = f.finish();
  const pt = { dtdev: [PATH], iomem: [{ mfn: Number(MFN), pages: 1, gfn: Number(GFN) }], irqs: [IRQ], deviceTree: dtb };
  const domains = hv.domains.size;
  for (const [bad, re] of [[dtb.subarray(0, 30), /device_tree: .*too short/], [new FdtBuilder().beginNode("").endNode().finish(), /no \/passthrough node/]] as [Uint8Array, RegExp][]) {
    assert.throws(() => buildDomain(xc, { name: "bad", memoryMiB: 16, vcpus: 1, kernel, cmdline: "", passthrough: { ...pt, deviceTree: bad } }), (e: unknown) => e instanceof BuildError && re.test(e.message));
    assert.equal(hv.domains.size, domains, "nothing left behind");
  }
  assert.throws(() => buildDomain(xc, { name: "bad", memoryMiB: 16, vcpus: 1, kernel, cmdline: "", passthrough: { ...pt, dtdev: ["/nowhere@0"] } }), /dtdev \/nowhere@0/);
  assert.equal(hv.devices.owner("pt-vda"), null, "a build that failed gave the device back");
  const b = buildDomain(xc, { name: "ok", memoryMiB: 16, vcpus: 1, kernel, cmdline: "", passthrough: pt });
  const d = hv.domains.get(b.domid)!;
  assert.equal(hv.devices.owner("pt-vda"), d);
  assert.ok(d.mmio.find(GFN << 12n) && d.vgic.irq(0, IRQ), "mapped, and the vGIC has the SPI");
  const node = fdtChild(fdtChild(parseFdt(b.dtb), "passthrough")!, "virtio@a000000");
  assert.ok(node, "the guest's device tree has the partial tree's node");
  xc.destroyDomain(b.domid);
  assert.equal(hv.devices.owner("pt-vda"), null);
});
