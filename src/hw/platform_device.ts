// A device of the machine as its owner sees it: a register window to map
// into a domain's address space, one interrupt line, DMA through whatever
// address space the owner gives it, and a reset that stops it (no DMA, line
// low). The hypervisor owns every such device and assigns it to a domain
// (src/xen/device_assign.ts); nothing else touches it.

import type { DmaSpace } from "./dma.js";

export interface PlatformDevice {
  readonly name: string; // unique on the machine, e.g. "vda", "eth0"
  readonly kind: string; // what a listing shows: "virtio-blk", "virtio-net"
  readonly mmioSize: number;
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
  dma: DmaSpace;
  setIrq: (level: boolean) => void;
  onError: (message: string) => void;
  reset(): void;
}
