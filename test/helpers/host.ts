// A whole host in the test process: the machine, Domain-0 and its
// toolstack, with the run loop going until done() is awaited.

import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";

export interface TestHost { host: Host; dom0: Dom0; ts: Toolstack; done(): Promise<void>; }

// The hypervisor's log stays quiet but for what a failing test needs to be
// understood: a crashed domain, an internal error, a DMA fault.
const WORTH_SEEING = /crash|internal error|DMA fault|needs a reset/i;

export function startHost(ramMiB: number): TestHost {
  const host = new Host({ ramBytes: ramMiB << 20, log: (l) => { if (WORTH_SEEING.test(l)) process.stderr.write(`(XEN) ${l}\n`); } });
  const dom0 = new Dom0(host.privcmd);
  const ts = new Toolstack(dom0);
  let stop = false;
  const loop = host.run(() => stop);
  return { host, dom0, ts, done: async () => { stop = true; await loop; } };
}
