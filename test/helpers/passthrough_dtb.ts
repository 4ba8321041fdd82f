// The partial device tree for one of the machine's devices, given its page
// number and SPI (as the machine's device table has them).

import { virtioPassthroughTree } from "../../src/tools/passthrough_tree.js";

export function passthroughDtb(dev: { mfn: number; irq: number }): Buffer {
  return Buffer.from(virtioPassthroughTree({ address: dev.mfn * 4096, irq: dev.irq }));
}
