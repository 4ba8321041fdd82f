// The partial device tree (xl.cfg's device_tree) describing one of the
// machine's virtio-mmio devices to the guest it is passed through to, as
// Xen's docs/misc/arm/passthrough.txt has it (65000: the guest GIC's
// phandle), compiled by dtc.

import { execFileSync } from "node:child_process";

export function passthroughDtb(dev: { mfn: number; irq: number }): Buffer {
  const addr = (dev.mfn * 4096).toString(16);
  const dts = `/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>;\n  passthrough { compatible = "simple-bus"; ranges; #address-cells = <2>; #size-cells = <2>;\n`
    + `    virtio@${addr} { compatible = "virtio,mmio"; reg = <0x0 0x${addr} 0x0 0x200>; interrupts = <0 ${dev.irq - 32} 4>; interrupt-parent = <65000>; dma-coherent; };\n  };\n};\n`;
  return execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb", "-"], { input: dts });
}
