// The Arm domain builder (libxl/libxenguest's job): creates a domain through
// domctl, populates its RAM and the magic pages, loads an arm64 Image, a
// device tree and an initrd the way Xen's toolstack places them, allocates
// the xenstore and console event channels, sets the HVM parameters and
// vCPU 0's entry state.

import type { Xc } from "./xc/xc.js";
import { parseArm64Image as parseImage, placeBootImages, BootImageError, DTB_RESERVE } from "../lib/arm64_image.js";
import { makeDomainDeviceTree } from "../lib/domain_dt.js";
import { parseFdt, fdtChild, type FdtNode } from "../lib/fdt_reader.js";
import { irqPermission, bindPtSpiIrq, iomemPermission, memoryMapping, assignDtDevice } from "./xc/passthrough.js";
import {
  GUEST_RAM0_BASE, GUEST_RAM0_SIZE, GUEST_RAM1_BASE, GUEST_RAM1_SIZE, GUEST_EVTCHN_PPI, PSR_GUEST64_INIT,
  SCTLR_GUEST_INIT, MAGIC_CONSOLE_PFN, MAGIC_XENSTORE_PFN, MAGIC_VUART_PFN, NR_MAGIC_PAGES, GUEST_MAGIC_BASE,
} from "../xen/public/arch_arm.js";
import { HVM_PARAM } from "../xen/public/xen.js";
import { createHash } from "node:crypto";
import { BootImageFileError, imageBytes, imageSize, readImage, type BootImage } from "./boot_image.js";

export interface BuildConfig {
  name: string;
  memoryMiB: number;
  vcpus: number;
  kernel: BootImage; // arm64 Image
  ramdisk?: BootImage;
  cmdline: string;
  vuart?: boolean; // an emulated SBSA UART (vpl011)
  backendDomid?: number; // the domain running xenstored and the console backend
  handle?: Uint8Array;
  rngSeed?: Uint8Array; // the guest's /chosen/rng-seed (random unless given)
  passthrough?: Passthrough;
  domid?: number; // the id to build under (a driver domain coming back to the guests it served); the hypervisor's choice if absent
}

// Machine devices given to the guest, as xl.cfg's dtdev, iomem, irqs and
// device_tree give them (libxl: permission, mapping and binding for each
// page and SPI, the devices assigned behind the SMMU, the partial device
// tree's /passthrough and /aliases copied into the guest's).
export interface Passthrough {
  dtdev: string[];
  iomem: { mfn: number; pages: number; gfn: number }[];
  irqs: number[];
  deviceTree?: Uint8Array;
}

export interface BuiltDomain {
  domid: number;
  storePort: number;
  consolePort: number;
  storeGfn: bigint;
  consoleGfn: bigint;
  memoryKiB: number;
  dtb: Uint8Array;
}

export class BuildError extends Error {}

const MiB = 1n << 20n;

// (The header is the image's first 64 bytes: a file's are read for it.)
export function parseArm64Image(k: BootImage): ReturnType<typeof parseImage> {
  try { return parseImage(imageBytes(k, 64), imageSize(k)); } catch (e) {
    if (e instanceof BootImageError || e instanceof BootImageFileError) throw new BuildError(e.message);
    throw e;
  }
}

// The stage-2 table pool libxl 4.17 gives an Arm guest (its default
// shadow_memkb): 1 MiB per vCPU, a page per MiB of RAM, and 128 MiB's worth
// for regions beyond RAM. KiB.
export function pagingMemoryKiB(maxmemKiB: number, vcpus: number): bigint {
  return BigInt(4 * (256 * vcpus + Math.floor(maxmemKiB / 1024) + 128));
}

export function buildDomain(xc: Xc, cfg: BuildConfig): BuiltDomain {
  if (!Number.isInteger(cfg.memoryMiB) || cfg.memoryMiB < 16) throw new BuildError("memory must be at least 16 MiB");
  if (!Number.isInteger(cfg.vcpus) || cfg.vcpus < 1 || cfg.vcpus > 128) throw new BuildError("vcpus must be between 1 and 128");
  const hdr = parseArm64Image(cfg.kernel);
  const backend = cfg.backendDomid ?? 0;
  const mem = BigInt(cfg.memoryMiB) * MiB;
  const bank0 = mem < GUEST_RAM0_SIZE ? mem : GUEST_RAM0_SIZE;
  const bank1 = mem - bank0;
  if (bank1 > GUEST_RAM1_SIZE) throw new BuildError("memory too large");

  let layout: ReturnType<typeof placeBootImages>;
  const rdSize = cfg.ramdisk ? imageSize(cfg.ramdisk) : 0;
  try { layout = placeBootImages(GUEST_RAM0_BASE, bank0, hdr, rdSize); } catch (e) {
    if (e instanceof BootImageError) throw new BuildError(e.message);
    throw e;
  }
  const { kernel: kernStart, dtb: dtbAddr, initrd: rdAddr } = layout;

  const pt = cfg.passthrough;
  let copied: FdtNode[] = [];
  if (pt?.deviceTree) {
    let tree: FdtNode;
    try { tree = parseFdt(pt.deviceTree); } catch (e) { throw new BuildError(`device_tree: ${(e as Error).message}`); }
    copied = ["passthrough", "aliases"].map((n) => fdtChild(tree, n)).filter((n): n is FdtNode => n !== undefined);
    if (!fdtChild(tree, "passthrough")) throw new BuildError("device_tree: the partial device tree has no /passthrough node");
  }
  // as libxl: enough SPIs for the highest one passed through
  const nrSpis = Math.max(32, ...(pt?.irqs ?? []).map((i) => i - 32 + 1));
  const domid = xc.createDomain({ maxVcpus: cfg.vcpus, handle: cfg.handle, nrSpis, domid: cfg.domid });
  try {
    if (pt) givePassthrough(xc, domid, pt);
    xc.setPagingMempool(domid, pagingMemoryKiB(cfg.memoryMiB * 1024, cfg.vcpus) * 1024n);
    xc.maxVcpus(domid, cfg.vcpus);
    const memKiB = Number(mem / 1024n);
    xc.maxMem(domid, BigInt(memKiB + 1024 + NR_MAGIC_PAGES * 4));
    // RAM in 2 MiB extents where aligned
    populate(xc, domid, GUEST_RAM0_BASE, bank0);
    if (bank1 > 0n) populate(xc, domid, GUEST_RAM1_BASE, bank1);
    const magic = Array.from({ length: NR_MAGIC_PAGES }, (_, i) => (GUEST_MAGIC_BASE >> 12n) + BigInt(i));
    if (xc.populatePhysmap(domid, magic) !== magic.length) throw new BuildError("could not populate the magic pages");

    const dtb = makeDeviceTree(cfg, bank0, bank1, cfg.ramdisk ? [rdAddr, rdAddr + BigInt(rdSize)] : null, copied);
    if (BigInt(dtb.length) > DTB_RESERVE) throw new BuildError("device tree too large");
    writeGuest(xc, domid, kernStart, cfg.kernel);
    writeGuest(xc, domid, dtbAddr, dtb);
    if (cfg.ramdisk) writeGuest(xc, domid, rdAddr, cfg.ramdisk);

    const storePort = xc.evtchnAllocUnbound(domid, backend);
    const consolePort = xc.evtchnAllocUnbound(domid, backend);
    xc.hvmSetParam(domid, HVM_PARAM.STORE_PFN, MAGIC_XENSTORE_PFN);
    xc.hvmSetParam(domid, HVM_PARAM.STORE_EVTCHN, BigInt(storePort));
    xc.hvmSetParam(domid, HVM_PARAM.CONSOLE_PFN, MAGIC_CONSOLE_PFN);
    xc.hvmSetParam(domid, HVM_PARAM.CONSOLE_EVTCHN, BigInt(consolePort));
    // PPI 31, level-low, type PPI (2) << 56
    xc.hvmSetParam(domid, HVM_PARAM.CALLBACK_IRQ, (2n << 56n) | (2n << 8n) | BigInt(GUEST_EVTCHN_PPI));
    if (cfg.vuart) xc.vuartInit(domid, MAGIC_VUART_PFN, backend);

    xc.setVcpuContext(domid, 0, {
      x: [dtbAddr, ...new Array(30).fill(0n)], pc: kernStart, cpsr: PSR_GUEST64_INIT, spEl0: 0n, spEl1: 0n,
      elrEl1: 0n, spsrEl1: 0n, sctlr: SCTLR_GUEST_INIT, tcr: 0n, ttbr0: 0n, ttbr1: 0n, online: true,
    });
    return { domid, storePort, consolePort, storeGfn: MAGIC_XENSTORE_PFN, consoleGfn: MAGIC_CONSOLE_PFN, memoryKiB: memKiB, dtb };
  } catch (e) {
    try { xc.destroyDomain(domid); } catch { /* already gone */ }
    throw e;
  }
}

function populate(xc: Xc, domid: number, base: bigint, size: bigint): void {
  const first = base >> 12n, pages = size >> 12n;
  const big = pages / 512n;
  const extents: bigint[] = [];
  for (let i = 0n; i < big; i++) extents.push(first + i * 512n);
  if (extents.length && xc.populatePhysmap(domid, extents, 9) !== extents.length) throw new BuildError("out of memory populating the domain");
  const small: bigint[] = [];
  for (let p = big * 512n; p < pages; p++) small.push(first + p);
  if (small.length && xc.populatePhysmap(domid, small) !== small.length) throw new BuildError("out of memory populating the domain");
}

// Copy an image into the guest through foreign mappings, a chunk at a time,
// each chunk mapped over the last in one window that is unmapped once at
// the end (a remove_from_physmap per page and chunk was a third of the
// time building a domain with Debian's 32 MiB kernel). Mapping costs the
// same per page whatever the chunk; unmapping costs one hypercall per slot
// of the window, so the window is small: 256 slots against 1024 took the
// unmap of a first build from ~60 to ~13 ms. A file is read straight into
// the mapped pages (boot_image.ts).
export function writeGuest(xc: Xc, domid: number, gpa: bigint, data: BootImage): void {
  const size = imageSize(data);
  if (size === 0) return;
  const CHUNK = 256; // pages
  const w = xc.foreignWindow(Math.min(CHUNK, Math.ceil((Number(gpa & 0xFFFn) + size) / 4096)));
  const copy = (read: (dst: Uint8Array) => void): void => {
    let done = 0;
    while (done < size) {
      const a = gpa + BigInt(done);
      const firstGfn = a >> 12n;
      const off = Number(a & 0xFFFn);
      const n = Math.min(size - done, CHUNK * 4096 - off);
      const pages = Math.ceil((off + n) / 4096);
      w.map(domid, Array.from({ length: pages }, (_, i) => firstGfn + BigInt(i)));
      w.writeWith(off, n, read);
      done += n;
    }
  };
  try {
    readImage(data, copy);
  } catch (e) {
    if (e instanceof BootImageFileError) throw new BuildError(e.message);
    throw e;
  } finally {
    w.close();
  }
}

// A deterministic host's guests get an rng-seed of their name (64 bytes),
// so that a run replays exactly; others get random ones.
export function replaySeed(name: string): Uint8Array {
  const h = (i: number): Buffer => createHash("sha256").update(`xents rng-seed ${i} ${name}`).digest();
  return new Uint8Array(Buffer.concat([h(0), h(1)]));
}

// The device tree libxl builds for an Arm domU (tools/libs/light/libxl_arm.c).
export function makeDeviceTree(cfg: BuildConfig, bank0: bigint, bank1: bigint, initrd: [bigint, bigint] | null, copied: FdtNode[] = []): Uint8Array {
  return makeDomainDeviceTree({
    model: "XENVM-4.17", compatible: ["xen,xenvm-4.17", "xen,xenvm"], bootargs: cfg.cmdline, vcpus: cfg.vcpus,
    bank0, bank1, initrd, vuart: cfg.vuart, rngSeed: cfg.rngSeed, copied,
  });
}

// libxl's steps for irqs, iomem and dtdev (libxl_create.c, libxl_arm.c).
function givePassthrough(xc: Xc, domid: number, pt: Passthrough): void {
  const step = (what: string, f: () => void): void => {
    try { f(); } catch (e) { throw new BuildError(`${what}: ${(e as Error).message}`); }
  };
  for (const irq of pt.irqs) {
    step(`irq ${irq}`, () => { irqPermission(xc, domid, irq, true); bindPtSpiIrq(xc, domid, irq, irq); });
  }
  for (const r of pt.iomem) {
    step(`iomem ${r.mfn.toString(16)},${r.pages.toString(16)}@${r.gfn.toString(16)}`, () => {
      iomemPermission(xc, domid, BigInt(r.mfn), BigInt(r.pages), true);
      memoryMapping(xc, domid, BigInt(r.gfn), BigInt(r.mfn), BigInt(r.pages), true);
    });
  }
  for (const path of pt.dtdev) step(`dtdev ${path}`, () => assignDtDevice(xc, domid, path));
}
