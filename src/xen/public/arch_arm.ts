// xen/include/public/arch-arm.h: the guest memory map, interrupt numbers,
// initial register state and vcpu_guest_context (AArch64).

import { struct, registered } from "./layout.js";

export const GUEST_GICD_BASE = 0x03001000n;
export const GUEST_GICV3_GICD_SIZE = 0x10000n;
export const GUEST_GICV3_GICR0_BASE = 0x03020000n;
export const GUEST_GICV3_GICR0_SIZE = 0x01000000n;
export const GUEST_GICV3_RDIST_STRIDE = 0x20000n; // 128 KiB: RD frame + SGI frame
export const GUEST_PL011_BASE = 0x22000000n;
export const GUEST_PL011_SIZE = 0x1000n;
export const GUEST_GNTTAB_BASE = 0x38000000n;
export const GUEST_GNTTAB_SIZE = 0x01000000n;
export const GUEST_MAGIC_BASE = 0x39000000n;
export const GUEST_MAGIC_SIZE = 0x01000000n;
export const GUEST_RAM0_BASE = 0x40000000n;
export const GUEST_RAM0_SIZE = 0xC0000000n;
export const GUEST_RAM1_BASE = 0x0200000000n;
export const GUEST_RAM1_SIZE = 0xFE00000000n;
export const GUEST_MAX_VCPUS = 128;

export const GUEST_TIMER_VIRT_PPI = 27;
export const GUEST_TIMER_PHYS_S_PPI = 29;
export const GUEST_TIMER_PHYS_NS_PPI = 30;
export const GUEST_EVTCHN_PPI = 31;
export const GUEST_VPL011_SPI = 32;
export const GUEST_PHANDLE_GIC = 65000;

export const PSR_GUEST64_INIT = 0x1C5n; // EL1h, A, I, F masked
export const SCTLR_GUEST_INIT = 0x00C50078n;

// toolstack magic pages (tools/libs/guest/xg_dom_arm.c)
export const MAGIC_CONSOLE_PFN = 0x39000n;
export const MAGIC_XENSTORE_PFN = 0x39001n;
export const MAGIC_MEMACCESS_PFN = 0x39002n;
export const MAGIC_VUART_PFN = 0x39003n;
export const NR_MAGIC_PAGES = 4;

export const XEN_DOMCTL_CONFIG_GIC = { NATIVE: 0, V2: 1, V3: 2 } as const;

// struct vcpu_guest_core_regs (AArch64 view of the union)
export const vcpu_guest_core_regs = registered(struct("vcpu_guest_core_regs", 312, {
  x0: [0, "u64"], x30: [240, "u64"], sp_usr: [104, "u64"], pc64: [248, "u64"], cpsr: [256, "u64"],
  spsr_el1: [264, "u64"], sp_el0: [288, "u64"], sp_el1: [296, "u64"], elr_el1: [304, "u64"],
}));
export const vcpu_guest_context = registered(struct("vcpu_guest_context", 352, {
  flags: [0, "u32"], user_regs: [8, "bytes", 312], sctlr: [320, "u64"], ttbcr: [328, "u64"], ttbr0: [336, "u64"], ttbr1: [344, "u64"],
}));
export const VGCF_online = 1 << 0;

// virtio-mmio devices (libxl places each VIRTIO_MMIO_DEV_SIZE apart from the base, one SPI each)
export const GUEST_VIRTIO_MMIO_BASE = 0x02000000n;
export const GUEST_VIRTIO_MMIO_SIZE = 0x00100000n;
export const GUEST_VIRTIO_MMIO_SPI_FIRST = 33;
export const GUEST_VIRTIO_MMIO_SPI_LAST = 43;
