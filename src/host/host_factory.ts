// How the tools get a machine: the hypervisor, the core and Domain-0's
// kernel side put together (host.ts), with the taps only the machine can
// give (UART bytes, retired instructions, the hypervisor's health).

import type { HostFactory, MachineDomain, HypervisorHealth } from "../tools/cmd_demo.js";
import { Host } from "./host.js";
import { LinuxDom0Host } from "./linux_dom0_host.js";
import type { Hypervisor } from "../xen/hypervisor.js";
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
        health: () => health(host.hv),
      };
    },
    bootLinux(opts) {
      const host = new LinuxDom0Host({ ramBytes: opts.ramMiB * (1 << 20), deterministic: opts.deterministic, audit: process.env.XENTS_AUDIT === "1", log, dom0: opts.dom0 });
      const hv = host.hv;
      return {
        run: (done) => host.run(done),
        halted: () => host.halted,
        restarts: () => host.restarts,
        serial: (out, pull) => { host.serialOut = out; host.serialIn = pull; },
        inputReady: () => host.pumpInput(),
        domains: () => [...hv.domains.values()].sort((a, b) => a.id - b.id).map((d): MachineDomain => ({
          id: d.id, pages: d.totPages(), onlineVcpus: d.onlineVcpus(),
          state: [d.vcpus.some((v) => v.runstate === 0) ? "r" : "-", d.vcpus.every((v) => !v.online || v.blocked()) ? "b" : "-", d.paused() ? "p" : "-",
            d.shutdown ? "s" : "-", d.shutdown?.reason === 3 ? "c" : "-", d.dying ? "d" : "-"].join(""),
          cpuTimeNs: Number(d.vcpus.reduce((t, v) => t + v.cpuTimeNs, 0n)),
        })),
        memory: () => ({ totalMiB: hv.frames.nframes >> 8, freeMiB: hv.frames.freeCount >> 8, nrCpus: 1 }),
        dmesg: (clear) => { const t = hv.conring.text(); if (clear) hv.conring.read(hv.conring.size, 0, false, true); return t; },
        health: () => health(hv),
      };
    },
  };
}

function health(hv: Hypervisor): HypervisorHealth {
  return { internal_errors: hv.stats.internalErrors, audits: hv.stats.audits, audit_failures: hv.stats.auditFailures, audit_now: auditMemory(hv) };
}
