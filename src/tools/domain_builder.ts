// The Arm domain builder (libxl/libxenguest's job): creates a domain through
// domctl, populates its RAM and the magic pages, loads an arm64 Image, a
// device tree and an initrd the way Xen's toolstack places them, allocates
// the xenstore and console event channels, sets the HVM parameters and
// vCPU 0's entry state.

import type { Xc } from "./xc/xc.js";
import { FdtBuilder } from "./fdt.js";
import { randomBytes } from "node:crypto";
import {
  GUEST_RAM0_BASE, GUEST_RAM0_SIZE, GUEST_RAM1_BASE, GUEST_RAM1_SIZE, GUEST_GICD_BASE, GUEST_GICV3_GICD_SIZE,
  GUEST_GICV3_GICR0_BASE, GUEST_GICV3_GICR0_SIZE, GUEST_GNTTAB_BASE, GUEST_GNTTAB_SIZE, GUEST_PL011_BASE,
  GUEST_PL011_SIZE, GUEST_PHANDLE_GIC, GUEST_TIMER_PHYS_S_PPI, GUEST_TIMER_PHYS_NS_PPI, GUEST_TIMER_VIRT_PPI,
  GUEST_EVTCHN_PPI, GUEST_VPL011_SPI, PSR_GUEST64_INIT, SCTLR_GUEST_INIT, MAGIC_CONSOLE_PFN, MAGIC_XENSTORE_PFN,
  MAGIC_VUART_PFN, NR_MAGIC_PAGES, GUEST_MAGIC_BASE,
} from "../xen/public/arch_arm.js";
import { HVM_PARAM } from "../xen/public/xen.js";

export interface BuildConfig {
  name: string;
  memoryMiB: number;
  vcpus: number;
  kernel: Uint8Array; // arm64 Image
  ramdisk?: Uint8Array;
  cmdline: string;
  vuart?: boolean; // an emulated SBSA UART (vpl011)
  backendDomid?: number; // the domain running xenstored and the console backend
  handle?: Uint8Array;
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
const PAGE = 4096n;
const IMAGE_MAGIC = 0x644d5241; // "ARM\x64"

export interface ImageHeader { textOffset: bigint; imageSize: bigint; }

export function parseArm64Image(k: Uint8Array): ImageHeader {
  if (k.length < 64) throw new BuildError("kernel is too small to be an arm64 Image");
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  if (dv.getUint32(56, true) !== IMAGE_MAGIC) {
    if (k[0] === 0x1f && k[1] === 0x8b) throw new BuildError("kernel is gzip-compressed: give the uncompressed arm64 Image");
    throw new BuildError("kernel is not an arm64 Image (no ARM\\x64 magic at offset 56)");
  }
  let textOffset = dv.getBigUint64(8, true);
  let imageSize = dv.getBigUint64(16, true);
  if (imageSize === 0n) { textOffset = 0x80000n; imageSize = BigInt(k.length); } // pre-3.17 header
  if (imageSize < BigInt(k.length)) imageSize = BigInt(k.length);
  return { textOffset, imageSize };
}

const align = (v: bigint, a: bigint): bigint => (v + a - 1n) & ~(a - 1n);

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

  // Layout: kernel at RAM base + text_offset; DTB and initrd at 128 MiB if they fit, else as high as possible.
  const kernStart = GUEST_RAM0_BASE + hdr.textOffset;
  const kernEnd = kernStart + hdr.imageSize;
  const dtbReserve = 2n * MiB;
  const rdSize = align(BigInt(cfg.ramdisk?.length ?? 0), PAGE);
  const modSize = dtbReserve + rdSize;
  const ramEnd = GUEST_RAM0_BASE + bank0;
  let modBase: bigint;
  if (ramEnd >= GUEST_RAM0_BASE + 128n * MiB + modSize && kernEnd < GUEST_RAM0_BASE + 128n * MiB) modBase = GUEST_RAM0_BASE + 128n * MiB;
  else if (ramEnd - modSize > kernEnd) modBase = (ramEnd - modSize) & ~(2n * MiB - 1n);
  else throw new BuildError(`kernel (${hdr.imageSize} bytes) and initrd (${rdSize} bytes) do not fit in ${cfg.memoryMiB} MiB`);
  const dtbAddr = modBase;
  const rdAddr = modBase + dtbReserve;

  const domid = xc.createDomain({ maxVcpus: cfg.vcpus, handle: cfg.handle });
  try {
    xc.setPagingMempool(domid, pagingMemoryKiB(cfg.memoryMiB * 1024, cfg.vcpus) * 1024n);
    xc.maxVcpus(domid, cfg.vcpus);
    const memKiB = Number(mem / 1024n);
    xc.maxMem(domid, BigInt(memKiB + 1024 + NR_MAGIC_PAGES * 4));
    // RAM in 2 MiB extents where aligned
    populate(xc, domid, GUEST_RAM0_BASE, bank0);
    if (bank1 > 0n) populate(xc, domid, GUEST_RAM1_BASE, bank1);
    const magic = Array.from({ length: NR_MAGIC_PAGES }, (_, i) => (GUEST_MAGIC_BASE >> 12n) + BigInt(i));
    if (xc.populatePhysmap(domid, magic) !== magic.length) throw new BuildError("could not populate the magic pages");

    const dtb = makeDeviceTree(cfg, bank0, bank1, cfg.ramdisk ? [rdAddr, rdAddr + BigInt(cfg.ramdisk.length)] : null);
    if (BigInt(dtb.length) > dtbReserve) throw new BuildError("device tree too large");
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

// Copy bytes into the guest through foreign mappings, a chunk at a time.
export function writeGuest(xc: Xc, domid: number, gpa: bigint, data: Uint8Array): void {
  const CHUNK = 1024; // pages
  let done = 0;
  while (done < data.length) {
    const a = gpa + BigInt(done);
    const firstGfn = a >> 12n;
    const off = Number(a & 0xFFFn);
    const n = Math.min(data.length - done, CHUNK * 4096 - off);
    const pages = Math.ceil((off + n) / 4096);
    const m = xc.mapForeign(domid, Array.from({ length: pages }, (_, i) => firstGfn + BigInt(i)));
    try { m.write(off, data.subarray(done, done + n)); } finally { m.unmap(); }
    done += n;
  }
}

// The device tree libxl builds for an Arm domU (tools/libs/light/libxl_arm.c).
export function makeDeviceTree(cfg: BuildConfig, bank0: bigint, bank1: bigint, initrd: [bigint, bigint] | null): Uint8Array {
  const f = new FdtBuilder();
  const irq = (type: number, num: number, flags: number): number[] => [type, num, flags];
  f.beginNode("");
  f.str("model", "XENVM-4.17").str("compatible", "xen,xenvm-4.17", "xen,xenvm");
  f.u32("interrupt-parent", GUEST_PHANDLE_GIC).u32("#address-cells", 2).u32("#size-cells", 2);

  f.beginNode("chosen");
  f.str("bootargs", cfg.cmdline);
  // Entropy for the guest's RNG, as QEMU and boot loaders give it. On
  // hardware Linux gathers it from interrupt and timer jitter; on an
  // emulated CPU there is too little, its crng never becomes ready, and
  // every get_random call then re-extracts the input pool (blake2s): we
  // measured 35-50% of a guest's time there during a TCP transfer.
  f.prop("rng-seed", new Uint8Array(randomBytes(64)));
  if (initrd) f.u64("linux,initrd-start", initrd[0]).u64("linux,initrd-end", initrd[1]);
  f.endNode();

  f.beginNode("cpus").u32("#address-cells", 1).u32("#size-cells", 0);
  for (let i = 0; i < cfg.vcpus; i++) {
    const aff = (i & 0xF) | (((i >> 4) & 0xFF) << 8);
    f.beginNode(`cpu@${aff.toString(16)}`).str("device_type", "cpu").str("compatible", "arm,armv8")
      .str("enable-method", "psci").u32("reg", aff).endNode();
  }
  f.endNode();

  f.beginNode("psci").str("compatible", "arm,psci-1.0", "arm,psci-0.2", "arm,psci").str("method", "hvc")
    .u32("cpu_off", 1).u32("cpu_on", 2).endNode();

  f.beginNode(`memory@${GUEST_RAM0_BASE.toString(16)}`).str("device_type", "memory").reg("reg", [GUEST_RAM0_BASE, bank0]).endNode();
  if (bank1 > 0n) f.beginNode(`memory@${GUEST_RAM1_BASE.toString(16)}`).str("device_type", "memory").reg("reg", [GUEST_RAM1_BASE, bank1]).endNode();

  f.beginNode(`interrupt-controller@${GUEST_GICD_BASE.toString(16)}`).str("compatible", "arm,gic-v3")
    .u32("#interrupt-cells", 3).u32("#address-cells", 0).empty("interrupt-controller")
    .reg("reg", [GUEST_GICD_BASE, GUEST_GICV3_GICD_SIZE], [GUEST_GICV3_GICR0_BASE, GUEST_GICV3_GICR0_SIZE])
    .u32("phandle", GUEST_PHANDLE_GIC).u32("linux,phandle", GUEST_PHANDLE_GIC).endNode();

  const ppi = (intid: number): number[] => irq(1, intid - 16, 0xF08);
  f.beginNode("timer").str("compatible", "arm,armv8-timer")
    .u32("interrupts", ...ppi(GUEST_TIMER_PHYS_S_PPI), ...ppi(GUEST_TIMER_PHYS_NS_PPI), ...ppi(GUEST_TIMER_VIRT_PPI))
    .u32("interrupt-parent", GUEST_PHANDLE_GIC).endNode();

  // grant table space, then the extended regions: unpopulated guest-physical space in each bank
  const regs: [bigint, bigint][] = [[GUEST_GNTTAB_BASE, GUEST_GNTTAB_SIZE]];
  const ext0 = align(GUEST_RAM0_BASE + bank0, 2n * MiB);
  if (GUEST_RAM0_BASE + GUEST_RAM0_SIZE - ext0 >= 64n * MiB) regs.push([ext0, GUEST_RAM0_BASE + GUEST_RAM0_SIZE - ext0]);
  const ext1 = align(GUEST_RAM1_BASE + bank1, 2n * MiB);
  const ipaEnd = 1n << 40n;
  if (ipaEnd - ext1 >= 64n * MiB) regs.push([ext1, ipaEnd - ext1]);
  f.beginNode("hypervisor").str("compatible", "xen,xen-4.17", "xen,xen").reg("reg", ...regs)
    .u32("interrupts", ...ppi(GUEST_EVTCHN_PPI)).u32("interrupt-parent", GUEST_PHANDLE_GIC).endNode();

  if (cfg.vuart) {
    f.beginNode("sbsa-pl011").str("compatible", "arm,sbsa-uart").reg("reg", [GUEST_PL011_BASE, GUEST_PL011_SIZE])
      .u32("interrupts", 0, GUEST_VPL011_SPI - 32, 0xF04).u32("interrupt-parent", GUEST_PHANDLE_GIC)
      .u32("current-speed", 115200).endNode();
  }
  f.endNode();
  return f.finish();
}
