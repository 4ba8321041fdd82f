// A whole host in the test process: the machine, Domain-0 and its
// toolstack, with the run loop going until done() is awaited.

import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import type { Hypervisor } from "../../src/xen/hypervisor.js";
import { ConsoleSession } from "./linux_guest.js";

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
  // a console that times out says what the hypervisor thinks of every domain
  const diag = (): string => describeDomains(host.hv);
  ConsoleSession.diagnostics.add(diag);
  return { host, dom0, ts, done: async () => { stop = true; ConsoleSession.diagnostics.delete(diag); await loop; } };
}

// Each domain's state as the scheduler sees it: enough to tell a guest
// that hangs (blocked with no wake-up coming) from one that is slow.
export function describeDomains(hv: Hypervisor): string {
  const now = hv.clock.now();
  const lines = [`hypervisor: counter ${now}, ${hv.stats.internalErrors} internal errors, ${hv.stats.slices} slices`];
  for (const d of hv.domains.values()) {
    const flags = [d.paused() ? "paused" : "", d.shutdown ? `shutdown(${d.shutdown.reason})` : "", d.dying ? "dying" : ""].filter(Boolean).join(" ");
    lines.push(`d${d.id}${flags ? ` ${flags}` : ""}: upcall pending ${d.vcpus.map((_, i) => d.upcallPending(i)).join(",")}`);
    for (const v of d.vcpus) {
      const t = d.timerDeadline(v);
      lines.push(`  vcpu${v.id}: online ${v.online} runstate ${v.runstate} block ${v.block} pc 0x${v.state.pc.toString(16)} instructions ${v.instructions} timer ${t === null ? "off" : `${t - now} ticks ahead`} irq-deliverable ${v.state.irqPending()}`);
    }
  }
  return lines.join("\n");
}

// A host that never runs its guests (no run loop), deterministic, with its
// books: what a guest leaves behind shows as a change in them. For tests of
// whole-domain moves (migration, Remus) between two such hosts.
export interface BookedHost { host: Host; ts: Toolstack; books(): string }
export function bookedHost(ramMiB = 96, log?: (line: string) => void): BookedHost {
  const host = new Host({ ramBytes: ramMiB << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd), log);
  const hv = host.hv;
  return { host, ts, books: () => JSON.stringify({ free: hv.frames.freeCount, domains: hv.domains.size, guests: ts.guests.size, nodes: ts.xenstored.store.size(), grants: ts.gnt.mapped }) };
}
