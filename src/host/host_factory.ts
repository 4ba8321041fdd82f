// How the tools get a machine: the hypervisor, the core and Domain-0's
// kernel side put together (host.ts), with the taps only the machine can
// give (UART bytes, retired instructions, the hypervisor's health).

import type { HostFactory, MachineDomain, HypervisorHealth, MachineDeviceInfo, CoreProfile } from "../tools/cmd_demo.js";
import { SR } from "../cpu/cpu.js";
import { VirtioMmioDevice } from "../hw/virtio_mmio.js";
import { VirtioBlk } from "../hw/virtio_blk.js";
import { VirtioNet } from "../hw/virtio_net.js";
import { TapPort } from "../tools/net/tap_port.js";
import { Host } from "./host.js";
import { LinuxDom0Host } from "./linux_dom0_host.js";
import { addAssignableDisks } from "./assignable_disks.js";
import { addAssignableNics, cableAssignableNics } from "./assignable_nics.js";
import type { Hypervisor } from "../xen/hypervisor.js";
import { MAX_RAM_MIB } from "../cpu/cpu.js";
import { auditMemory } from "../xen/audit.js";
import { Dom0 } from "../tools/dom0.js";
import { jitOptionsFromEnv, type JitOptions } from "../cpu/jit/jit.js";

export function makeHostFactory(log: (line: string) => void = (l) => process.stderr.write(`(XEN) ${l}\n`)): HostFactory {
  return {
    maxRamMiB: MAX_RAM_MIB,
    boot(opts) {
      // XENTS_AUDIT=1: the memory audit after every hypercall (slow; a debug option)
      const host = new Host({ ramBytes: opts.ramMiB * (1 << 20), deterministic: opts.deterministic, audit: process.env.XENTS_AUDIT === "1", log, jit: jitChoice(opts.noJit) });
      addAssignableDisks(host.hv, opts.assignable ?? []);
      const ptNics = addAssignableNics(host.hv, opts.assignableNics ?? []);
      const dom0 = new Dom0(host.privcmd);
      return {
        dom0,
        run: (done) => host.run(done),
        setVuartSink: (f) => { host.hv.events.onVuartOutput = (d, b) => f(d.id, b); },
        instructions: (domid) => Number(host.hv.domains.get(domid)?.vcpus.reduce((s, v) => s + v.instructions, 0n) ?? 0n),
        health: () => health(host.hv),
        profile: () => profile(host.hv),
        devices: () => devices(host.hv),
        cableAssignableNics: async () => { await cableAssignableNics(ptNics, log); },
      };
    },
    bootLinux(opts) {
      const { disks, tap, ...dom0 } = opts.dom0;
      const jit = jitChoice(opts.noJit);
      void tap; // cabled by attachTap, once the caller can wait for it
      const host = new LinuxDom0Host({ ramBytes: opts.ramMiB * (1 << 20), deterministic: opts.deterministic, audit: process.env.XENTS_AUDIT === "1", log, dom0, disks, jit, assignable: opts.assignable, assignableNics: opts.assignableNics });
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
        devices: () => devices(hv),
        attachTap: async (ifname) => { await TapPort.open(host.wire, ifname, log); },
        cableAssignableNics: () => host.cableAssignableNics(log),
      };
    },
  };
}

function profile(hv: Hypervisor): CoreProfile {
  let instructions = 0, tlbMisses = 0, tlbFlushes = 0, tlbFullFlushes = 0;
  for (const d of hv.domains.values()) {
    for (const v of d.vcpus) {
      instructions += Number(v.instructions);
      tlbMisses += Number(v.state.sys(SR.TLB_MISSES));
      tlbFlushes += Number(v.state.sys(SR.TLB_FLUSHES));
      tlbFullFlushes += Number(v.state.sys(SR.TLB_FULL_FLUSHES));
    }
  }
  return { instructions, tlbMisses, tlbFlushes, tlbFullFlushes, exits: Object.fromEntries(hv.stats.exits), coreS: hv.stats.coreMs / 1000, jit: hv.core.jitStats() };
}

function devices(hv: Hypervisor): MachineDeviceInfo[] {
  return hv.devices.machine().map((m): MachineDeviceInfo => {
    const dev = m.dev;
    const extra = dev instanceof VirtioBlk ? dev.blk : dev instanceof VirtioNet ? dev.net : {};
    return {
      name: dev.name, kind: dev.kind, path: m.path, address: m.mfn * 4096, irq: m.irq, owner: m.owner?.id ?? null,
      stats: { ...(dev instanceof VirtioMmioDevice ? dev.stats : {}), ...extra, dma_faults: hv.devices.faults(dev.name)?.total ?? 0 },
    };
  });
}

function health(hv: Hypervisor): HypervisorHealth {
  const s = hv.smmu.stats;
  return {
    internal_errors: hv.stats.internalErrors, audits: hv.stats.audits, audit_failures: hv.stats.auditFailures, audit_now: auditMemory(hv), translation: hv.core.jit.options.enabled,
    iommu: { translations: s.translations, iotlb_hits: s.iotlb_hits, faults: s.faults, events_lost: s.events_lost, command_errors: s.command_errors },
  };
}

// `--no-jit`: the environment's settings with translation off; otherwise the environment's.
function jitChoice(noJit: boolean | undefined): JitOptions | undefined {
  return noJit ? { ...jitOptionsFromEnv(), enabled: false } : undefined;
}
