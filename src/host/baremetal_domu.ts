// Runs a bare-metal arm64 Image as a Xen domU with an emulated SBSA UART
// (vpl011) on a fresh host with deterministic time, and returns what it
// printed: the conformance tests run the same programs on QEMU's virt
// machine and compare.

import { Host } from "./host.js";
import { Dom0 } from "../tools/dom0.js";
import { buildDomain } from "../tools/domain_builder.js";
import { SHUTDOWN_NAMES } from "../xen/public/xen.js";

export interface BareMetalResult { console: string; reason: string; instructions: bigint; }

export async function runBareMetalDomU(image: Uint8Array, opts: { timeoutInstructions: bigint; vcpus?: number; memoryMiB?: number }): Promise<BareMetalResult> {
  const host = new Host({ ramBytes: 256 << 20, deterministic: true, log: () => {} });
  const dom0 = new Dom0(host.privcmd);
  const b = buildDomain(dom0.xc, { name: "baremetal", memoryMiB: opts.memoryMiB ?? 64, vcpus: opts.vcpus ?? 1, kernel: image, cmdline: "", vuart: true });
  const out: number[] = [];
  host.hv.events.onVuartOutput = (d, byte) => { if (d.id === b.domid) out.push(byte); };
  dom0.xc.unpause(b.domid);
  const d = host.hv.domains.get(b.domid)!;
  const instret = (): bigint => d.vcpus.reduce((s, v) => s + v.instructions, 0n);
  await host.run(() => d.shutdown !== null || instret() > opts.timeoutInstructions);
  const reason = d.shutdown ? (SHUTDOWN_NAMES[d.shutdown.reason] ?? String(d.shutdown.reason)) : "timeout";
  return { console: Buffer.from(out).toString("latin1"), reason, instructions: instret() };
}
