// The partial device tree (xl.cfg's device_tree) that describes one of the
// machine's virtio-mmio devices (one or more) to the guest they are passed
// through to: a /passthrough simple-bus with each device's register page (mapped 1:1) and
// its SPI on the guest's GIC (phandle 65000, GUEST_PHANDLE_GIC), as Xen's
// docs/misc/arm/passthrough.txt describes. The README's pt.dts is the same
// tree for the first device.

import { FdtBuilder } from "../lib/fdt.js";

export function virtioPassthroughTree(...devs: { address: number; irq: number }[]): Uint8Array {
  const b = new FdtBuilder().beginNode("").u32("#address-cells", 2).u32("#size-cells", 2);
  b.beginNode("passthrough").str("compatible", "simple-bus").empty("ranges").u32("#address-cells", 2).u32("#size-cells", 2);
  for (const dev of devs) {
    b.beginNode(`virtio@${dev.address.toString(16)}`).str("compatible", "virtio,mmio").reg("reg", [BigInt(dev.address), 0x200n])
      .u32("interrupts", 0, dev.irq - 32, 4).u32("interrupt-parent", 65000).empty("dma-coherent").endNode();
  }
  return b.endNode().endNode().finish();
}
