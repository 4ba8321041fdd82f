// Domain-0 built by the hypervisor, as Xen's create_dom0/construct_dom0 do
// (xen/arch/arm/domain_build.c) when the control domain is an operating
// system of its own (a Linux kernel) rather than xents' TypeScript tools:
// a privileged domain 0 with its vCPUs, dom0_mem of RAM, the kernel, the
// initrd and a device tree loaded the way the boot protocol wants them
// (Documentation/arm64/booting.rst), vCPU 0 at the kernel's entry with x0
// pointing at the device tree, the event-channel upcall PPI set, unpaused.
//
// Where xents differs from Xen, by choice: Domain-0 is not mapped 1:1
// (xents reports XENFEAT_not_direct_mapped, so Linux does DMA on IPAs and
// needs no swiotlb-xen: its devices' DMA goes through its stage-2, see
// device_assign.ts); its RAM and device tree therefore follow the guest
// layout of public/arch-arm.h, as a domU's do, and the machine's devices it
// drives (virtio-mmio disks and NICs) sit where libxl puts a domain's
// virtio devices.

import type { Hypervisor } from "./hypervisor.js";
import type { Domain } from "./domain.js";
import { GuestAccess } from "./guest_access.js";
import { SR } from "../cpu/cpu.js";
import { DEFAULT_MAX_MAPTRACK_FRAMES } from "./grant_table.js";
import { HVM_PARAM } from "./public/xen.js";
import {
  GUEST_RAM0_BASE, GUEST_RAM0_SIZE, GUEST_RAM1_BASE, GUEST_RAM1_SIZE, GUEST_EVTCHN_PPI, GUEST_MAX_VCPUS,
  PSR_GUEST64_INIT, SCTLR_GUEST_INIT, GUEST_VIRTIO_MMIO_BASE, GUEST_VIRTIO_MMIO_SIZE, GUEST_VIRTIO_MMIO_SPI_FIRST,
  GUEST_VIRTIO_MMIO_SPI_LAST,
} from "./public/arch_arm.js";
import { parseArm64Image, placeBootImages, DTB_RESERVE, BootImageError } from "../lib/arm64_image.js";
import { makeDomainDeviceTree } from "../lib/domain_dt.js";

export const DOM0_DEFAULT_MIB = 512; // Xen's default when no dom0_mem= is given (with a warning)
// Xen's gnttab_dom0_frames(): opt_max_grant_frames (64), bounded by the
// size of Xen's text, which on arm64 is larger.
export const DOM0_GRANT_FRAMES = 64;
const EVTCHN_FIFO_MAX_PORT = (1 << 17) - 1; // max_evtchn_port = -1: everything FIFO can name
const DOM0_NR_SPIS = 32; // SPIs 32-63: the virtio-mmio lines (33-43) and room to spare

export interface Dom0Config {
  kernel: Uint8Array; // arm64 Image
  initrd?: Uint8Array;
  cmdline: string; // Xen's dom0 bootargs (xen,dom0-bootargs)
  memMiB: number; // dom0_mem
  vcpus: number; // dom0_max_vcpus
  devices?: string[]; // the machine's devices Domain-0 drives (hv.devices names), in slot order
}

export class Dom0BuildError extends Error {}

const MiB = 1n << 20n;

export function constructDom0(hv: Hypervisor, cfg: Dom0Config): Domain {
  if (hv.domains.has(0)) throw new Dom0BuildError("domain 0 exists");
  if (!Number.isInteger(cfg.vcpus) || cfg.vcpus < 1 || cfg.vcpus > GUEST_MAX_VCPUS) throw new Dom0BuildError(`dom0_max_vcpus must be 1 to ${GUEST_MAX_VCPUS}`);
  if (!Number.isInteger(cfg.memMiB) || cfg.memMiB < 32) throw new Dom0BuildError("dom0_mem must be at least 32 MiB");
  const mem = BigInt(cfg.memMiB) * MiB;
  const bank0 = mem < GUEST_RAM0_SIZE ? mem : GUEST_RAM0_SIZE;
  const bank1 = mem - bank0;
  if (bank1 > GUEST_RAM1_SIZE) throw new Dom0BuildError("dom0_mem is larger than the guest memory map");
  const pages = Number(mem >> 12n);
  if (pages + 64 > hv.frames.freeCount) throw new Dom0BuildError(`dom0_mem=${cfg.memMiB}M does not fit in the machine's ${hv.frames.freeCount >> 8} MiB of free memory`);
  let layout: ReturnType<typeof placeBootImages>;
  try {
    layout = placeBootImages(GUEST_RAM0_BASE, bank0, parseArm64Image(cfg.kernel), cfg.initrd?.length ?? 0);
  } catch (e) {
    if (e instanceof BootImageError) throw new Dom0BuildError(e.message);
    throw e;
  }

  const d = hv.createDomain({
    id: 0, privileged: true, maxVcpus: cfg.vcpus, maxEvtchnPort: EVTCHN_FIFO_MAX_PORT, maxGrantFrames: DOM0_GRANT_FRAMES,
    maxMaptrackFrames: DEFAULT_MAX_MAPTRACK_FRAMES, nrSpis: DOM0_NR_SPIS, handle: new Uint8Array(16),
  });
  try {
    d.createVcpus(cfg.vcpus);
    d.maxPages = BigInt(pages);
    populate(d, GUEST_RAM0_BASE, bank0);
    populate(d, GUEST_RAM1_BASE, bank1);
    const virtio = assignDevices(hv, d, cfg.devices ?? []);
    const dtb = makeDomainDeviceTree({ virtio,
      model: "xents", compatible: ["xents,virt"], bootargs: cfg.cmdline, vcpus: cfg.vcpus, bank0, bank1,
      initrd: cfg.initrd ? [layout.initrd, layout.initrd + BigInt(cfg.initrd.length)] : null,
    });
    if (BigInt(dtb.length) > DTB_RESERVE) throw new Dom0BuildError("device tree too large");
    const v0 = d.vcpus[0];
    const st = v0.state;
    st.setSys(SR.SCTLR, SCTLR_GUEST_INIT); // MMU off: the loads below address guest-physical memory
    const g = new GuestAccess(d, v0);
    if (!g.write(layout.kernel, cfg.kernel) || !g.write(layout.dtb, dtb) || (cfg.initrd && !g.write(layout.initrd, cfg.initrd))) {
      throw new Dom0BuildError("could not load the kernel, device tree and initrd into Domain-0's memory");
    }
    // Xen's evtchn_allocate: upcalls on the event-channel PPI, level-triggered, active low
    d.hvmParams[HVM_PARAM.CALLBACK_IRQ] = (2n << 56n) | (2n << 8n) | BigInt(GUEST_EVTCHN_PPI);
    for (let i = 0; i < 31; i++) st.setX(i, 0n);
    st.setX(0, layout.dtb);
    st.pc = layout.kernel;
    st.pstate = PSR_GUEST64_INIT;
    st.flushTlb();
    v0.online = true;
    hv.log(`*** LOADING DOMAIN 0 *** ${cfg.memMiB} MiB, ${cfg.vcpus} vCPU${cfg.vcpus > 1 ? "s" : ""}, kernel ${cfg.kernel.length} bytes at 0x${layout.kernel.toString(16)}, initrd ${cfg.initrd?.length ?? 0} bytes, device tree at 0x${layout.dtb.toString(16)}`);
    hv.unpause(d);
    return d;
  } catch (e) {
    hv.destroy(d);
    throw e;
  }
}

// Each device in its own slot of the virtio-mmio window, one SPI each, as
// libxl lays out a domain's virtio devices.
const SLOT = 0x200n;
function assignDevices(hv: Hypervisor, d: Domain, names: string[]): { base: bigint; size: bigint; spi: number }[] {
  const slots = Math.min(Number(GUEST_VIRTIO_MMIO_SIZE / SLOT), GUEST_VIRTIO_MMIO_SPI_LAST - GUEST_VIRTIO_MMIO_SPI_FIRST + 1);
  if (names.length > slots) throw new Dom0BuildError(`Domain-0 can take at most ${slots} devices`);
  return names.map((name, i) => {
    const dev = hv.devices.get(name);
    if (!dev) throw new Dom0BuildError(`the machine has no device named ${name}`);
    if (BigInt(dev.mmioSize) > SLOT) throw new Dom0BuildError(`${name}'s registers do not fit a slot`);
    const a = hv.devices.assign(name, d, GUEST_VIRTIO_MMIO_BASE + BigInt(i) * SLOT, GUEST_VIRTIO_MMIO_SPI_FIRST + i);
    return { base: a.base, size: SLOT, spi: a.spi };
  });
}

function populate(d: Domain, base: bigint, bytes: bigint): void {
  const first = Number(base >> 12n), n = Number(bytes >> 12n);
  for (let i = 0; i < n; i++) if (!d.populate(first + i)) throw new Dom0BuildError("out of memory populating Domain-0");
}
