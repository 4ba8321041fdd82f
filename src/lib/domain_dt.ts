// The device tree an Arm Xen domain boots with: /chosen, the vCPUs with
// PSCI, its memory banks, the GICv3 and timer Xen emulates for it, the
// /hypervisor node (grant-table space, extended regions, the event-channel
// PPI), if asked the SBSA UART, and the domain's virtio-mmio devices.
// libxl writes this for a domU (tools/libs/light/libxl_arm.c); Xen writes
// its equivalent for Domain-0 (xen/arch/arm/domain_build.c), which on xents
// differs in the root's model and /chosen, and in that the machine's
// devices Domain-0 drives are virtio-mmio ones, described as libxl
// describes a domain's.

import { randomBytes } from "node:crypto";
import { FdtBuilder } from "./fdt.js";
import type { FdtNode } from "./fdt_reader.js";
import {
  GUEST_RAM0_BASE, GUEST_RAM0_SIZE, GUEST_RAM1_BASE, GUEST_GICD_BASE, GUEST_GICV3_GICD_SIZE,
  GUEST_GICV3_GICR0_BASE, GUEST_GICV3_GICR0_SIZE, GUEST_GNTTAB_BASE, GUEST_GNTTAB_SIZE, GUEST_PL011_BASE,
  GUEST_PL011_SIZE, GUEST_PHANDLE_GIC, GUEST_TIMER_PHYS_S_PPI, GUEST_TIMER_PHYS_NS_PPI, GUEST_TIMER_VIRT_PPI,
  GUEST_EVTCHN_PPI, GUEST_VPL011_SPI,
} from "../xen/public/arch_arm.js";
import { alignUp } from "./arm64_image.js";

const MiB = 1n << 20n;

export interface DomainDtConfig {
  model: string;
  compatible: string[];
  bootargs: string;
  vcpus: number;
  bank0: bigint; // bytes of RAM at GUEST_RAM0_BASE
  bank1: bigint; // bytes at GUEST_RAM1_BASE
  initrd: [bigint, bigint] | null; // start, end
  vuart?: boolean;
  // virtio-mmio devices, as libxl describes a domain's (make_virtio_mmio_node)
  virtio?: { base: bigint; size: bigint; spi: number }[];
  // /chosen/rng-seed (64 bytes); random unless given (a replayable run gives one)
  rngSeed?: Uint8Array;
  // nodes copied from a partial device tree (xl.cfg device_tree: its
  // /passthrough and /aliases, as libxl copies them)
  copied?: FdtNode[];
}

export function makeDomainDeviceTree(cfg: DomainDtConfig): Uint8Array {
  const f = new FdtBuilder();
  f.beginNode("");
  f.str("model", cfg.model).str("compatible", ...cfg.compatible);
  f.u32("interrupt-parent", GUEST_PHANDLE_GIC).u32("#address-cells", 2).u32("#size-cells", 2);

  f.beginNode("chosen");
  f.str("bootargs", cfg.bootargs);
  // Entropy for the guest's RNG, as QEMU and boot loaders give it. On
  // hardware Linux gathers it from interrupt and timer jitter; on an
  // emulated CPU there is too little, its crng never becomes ready, and
  // every get_random call then re-extracts the input pool (blake2s): we
  // measured 35-50% of a guest's time there during a TCP transfer.
  f.prop("rng-seed", cfg.rngSeed ?? new Uint8Array(randomBytes(64)));
  if (cfg.initrd) f.u64("linux,initrd-start", cfg.initrd[0]).u64("linux,initrd-end", cfg.initrd[1]);
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

  f.beginNode(`memory@${GUEST_RAM0_BASE.toString(16)}`).str("device_type", "memory").reg("reg", [GUEST_RAM0_BASE, cfg.bank0]).endNode();
  if (cfg.bank1 > 0n) f.beginNode(`memory@${GUEST_RAM1_BASE.toString(16)}`).str("device_type", "memory").reg("reg", [GUEST_RAM1_BASE, cfg.bank1]).endNode();

  f.beginNode(`interrupt-controller@${GUEST_GICD_BASE.toString(16)}`).str("compatible", "arm,gic-v3")
    .u32("#interrupt-cells", 3).u32("#address-cells", 0).empty("interrupt-controller")
    .reg("reg", [GUEST_GICD_BASE, GUEST_GICV3_GICD_SIZE], [GUEST_GICV3_GICR0_BASE, GUEST_GICV3_GICR0_SIZE])
    .u32("phandle", GUEST_PHANDLE_GIC).u32("linux,phandle", GUEST_PHANDLE_GIC).endNode();

  const ppi = (intid: number): number[] => [1, intid - 16, 0xF08];
  f.beginNode("timer").str("compatible", "arm,armv8-timer")
    .u32("interrupts", ...ppi(GUEST_TIMER_PHYS_S_PPI), ...ppi(GUEST_TIMER_PHYS_NS_PPI), ...ppi(GUEST_TIMER_VIRT_PPI))
    .u32("interrupt-parent", GUEST_PHANDLE_GIC).endNode();

  // grant table space, then the extended regions: unpopulated guest-physical space in each bank
  const regs: [bigint, bigint][] = [[GUEST_GNTTAB_BASE, GUEST_GNTTAB_SIZE]];
  const ext0 = alignUp(GUEST_RAM0_BASE + cfg.bank0, 2n * MiB);
  if (GUEST_RAM0_BASE + GUEST_RAM0_SIZE - ext0 >= 64n * MiB) regs.push([ext0, GUEST_RAM0_BASE + GUEST_RAM0_SIZE - ext0]);
  const ext1 = alignUp(GUEST_RAM1_BASE + cfg.bank1, 2n * MiB);
  const ipaEnd = 1n << 40n;
  if (ipaEnd - ext1 >= 64n * MiB) regs.push([ext1, ipaEnd - ext1]);
  f.beginNode("hypervisor").str("compatible", "xen,xen-4.17", "xen,xen").reg("reg", ...regs)
    .u32("interrupts", ...ppi(GUEST_EVTCHN_PPI)).u32("interrupt-parent", GUEST_PHANDLE_GIC).endNode();

  if (cfg.vuart) {
    f.beginNode("sbsa-pl011").str("compatible", "arm,sbsa-uart").reg("reg", [GUEST_PL011_BASE, GUEST_PL011_SIZE])
      .u32("interrupts", 0, GUEST_VPL011_SPI - 32, 0xF04).u32("interrupt-parent", GUEST_PHANDLE_GIC)
      .u32("current-speed", 115200).endNode();
  }
  for (const v of cfg.virtio ?? []) {
    // level-high: the line stays up until InterruptACK clears the status (virtio-mmio 4.2.2)
    f.beginNode(`virtio_mmio@${v.base.toString(16)}`).str("compatible", "virtio,mmio").reg("reg", [v.base, v.size])
      .u32("interrupts", 0, v.spi - 32, 4).u32("interrupt-parent", GUEST_PHANDLE_GIC).empty("dma-coherent").endNode();
  }
  for (const n of cfg.copied ?? []) f.node(n);
  f.endNode();
  return f.finish();
}
