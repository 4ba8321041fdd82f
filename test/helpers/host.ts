// A whole host in the test process: the machine, Domain-0 and its
// toolstack, with the run loop going until done() is awaited.

import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";

export interface TestHost { host: Host; dom0: Dom0; ts: Toolstack; done(): Promise<void>; }

export function startHost(ramMiB: number): TestHost {
  const host = new Host({ ramBytes: ramMiB << 20, log: () => {} });
  const dom0 = new Dom0(host.privcmd);
  const ts = new Toolstack(dom0);
  let stop = false;
  const loop = host.run(() => stop);
  return { host, dom0, ts, done: async () => { stop = true; await loop; } };
}
