// The partial device tree for some of the machine's devices, given their
// page numbers and SPIs (as the machine's device table has them).

import { virtioPassthroughTree } from "../../src/tools/passthrough_tree.js";

export function passthroughDtb(...devs: { mfn: number; irq: number }[]): Buffer {
  return Buffer.from(virtioPassthroughTree(...devs.map((d) => ({ address: d.mfn * 4096, irq: d.irq }))));
}
