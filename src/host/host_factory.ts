// How the tools get a machine: the hypervisor, the core and Domain-0's
// kernel side put together (host.ts), with the taps only the machine can
// give (UART bytes, retired instructions, the hypervisor's health).

import type { HostFactory } from "../tools/cmd_demo.js";
import { Host } from "./host.js";
import { MAX_RAM_MIB } from "../cpu/cpu.js";
import { auditMemory } from "../xen/audit.js";
import { Dom0 } from "../tools/dom0.js";

export function makeHostFactory(log: (line: string) => void = (l) => process.stderr.write(`(XEN) ${l}\n`)): HostFactory {
  return {
    maxRamMiB: MAX_RAM_MIB,
    boot(opts) {
      // XENTS_AUDIT=1: the memory audit after every hypercall (slow; a debug option)
      const host = new Host({ ramBytes: opts.ramMiB * (1 << 20), deterministic: opts.deterministic, audit: process.env.XENTS_AUDIT === "1", log });
      const dom0 = new Dom0(host.privcmd);
      return {
        dom0,
        run: (done) => host.run(done),
        setVuartSink: (f) => { host.hv.events.onVuartOutput = (d, b) => f(d.id, b); },
        instructions: (domid) => Number(host.hv.domains.get(domid)?.vcpus.reduce((s, v) => s + v.instructions, 0n) ?? 0n),
        health: () => ({ internal_errors: host.hv.stats.internalErrors, audits: host.hv.stats.audits, audit_failures: host.hv.stats.auditFailures, audit_now: auditMemory(host.hv) }),
      };
    },
  };
}
