// The host's metrics for Prometheus (GET /metrics, text exposition format),
// with prom-client, the client Prometheus's own documentation lists for
// Node.js: each scrape takes one snapshot of the host (the daemon's
// `MetricsSnapshot`, read from the same books `host status` shows) and every
// metric is collected from it. Monotonic figures are counters (their
// values are the backends' and the hypervisor's own totals), the rest
// gauges; a domain's series carry its name and id.

import type { Registry, Gauge, Counter } from "prom-client";
import { lazyPackage } from "../lazy_package.js";

const promClient = lazyPackage<typeof import("prom-client")>("prom-client");

export interface MetricsSnapshot {
  domains: { name: string; id: number; cpuSeconds: number; memoryMiB: number; vcpus: number; eventChannels: number; grantMappings: number }[];
  vbds: { domain: string; id: number; devid: number; requests: number; errors: number; sectorsRead: number; sectorsWritten: number; flushes: number }[];
  vifs: { domain: string; id: number; handle: number; txPackets: number; txBytes: number; rxPackets: number; rxBytes: number; txErrors: number; rxDropped: number }[];
  host: {
    freeFrames: number; totalFrames: number; grantMappings: number; foreignPages: number;
    migrationsOut: number; migrationsOutFailed: number; migrationsIn: number;
    daemonBugs: number; hypervisorErrors: number; iommuFaults: number;
  };
}

type Labels = Record<string, string | number>;

export class HostMetrics {
  readonly registry: Registry = new (promClient().Registry)();
  private snap: MetricsSnapshot | null = null;
  readonly contentType = this.registry.contentType;

  constructor(private readonly snapshot: () => MetricsSnapshot) {
    const dom = ["domain", "domid"] as const, dev = ["domain", "domid", "device"] as const;
    const s = (): MetricsSnapshot => (this.snap ??= this.snapshot());
    // a gauge or counter whose values are read from the snapshot at each scrape
    const metric = <L extends string>(kind: "gauge" | "counter", name: string, help: string, labelNames: readonly L[], values: (m: MetricsSnapshot) => [Labels, number][]): void => {
      const collect = function (this: Gauge<L> | Counter<L>): void {
        this.reset();
        for (const [labels, v] of values(s())) {
          if (this instanceof promClient().Gauge) this.set(labels as Record<L, string | number>, v); else this.inc(labels as Record<L, string | number>, v);
        }
      };
      const o = { name, help, labelNames: [...labelNames], registers: [this.registry], collect };
      const { Gauge, Counter } = promClient();
      if (kind === "gauge") new Gauge<L>(o); else new Counter<L>(o);
    };
    const byDomain = (f: (d: MetricsSnapshot["domains"][number]) => number) => (m: MetricsSnapshot): [Labels, number][] => m.domains.map((d) => [{ domain: d.name, domid: d.id }, f(d)]);
    metric("counter", "xents_domain_cpu_seconds_total", "CPU time the domain's vCPUs have run", dom, byDomain((d) => d.cpuSeconds));
    metric("gauge", "xents_domain_memory_bytes", "the domain's memory", dom, byDomain((d) => d.memoryMiB * 1048576));
    metric("gauge", "xents_domain_vcpus", "the domain's online vCPUs", dom, byDomain((d) => d.vcpus));
    metric("gauge", "xents_domain_event_channels", "event channels the domain has open", dom, byDomain((d) => d.eventChannels));
    metric("gauge", "xents_domain_grant_mappings", "the domain's pages Domain-0's backends hold by grant mappings", dom, byDomain((d) => d.grantMappings));
    const vbd = (f: (d: MetricsSnapshot["vbds"][number]) => number) => (m: MetricsSnapshot): [Labels, number][] => m.vbds.map((d) => [{ domain: d.domain, domid: d.id, device: d.devid }, f(d)]);
    metric("counter", "xents_vbd_requests_total", "block requests the domain's disk served", dev, vbd((d) => d.requests));
    metric("counter", "xents_vbd_errors_total", "block requests answered with an error", dev, vbd((d) => d.errors));
    metric("counter", "xents_vbd_read_bytes_total", "bytes read from the disk", dev, vbd((d) => d.sectorsRead * 512));
    metric("counter", "xents_vbd_written_bytes_total", "bytes written to the disk", dev, vbd((d) => d.sectorsWritten * 512));
    metric("counter", "xents_vbd_flushes_total", "cache flushes of the disk", dev, vbd((d) => d.flushes));
    const vif = (f: (d: MetricsSnapshot["vifs"][number]) => number) => (m: MetricsSnapshot): [Labels, number][] => m.vifs.map((d) => [{ domain: d.domain, domid: d.id, device: d.handle }, f(d)]);
    metric("counter", "xents_vif_transmitted_packets_total", "frames the domain sent", dev, vif((d) => d.txPackets));
    metric("counter", "xents_vif_transmitted_bytes_total", "bytes the domain sent", dev, vif((d) => d.txBytes));
    metric("counter", "xents_vif_received_packets_total", "frames delivered to the domain", dev, vif((d) => d.rxPackets));
    metric("counter", "xents_vif_received_bytes_total", "bytes delivered to the domain", dev, vif((d) => d.rxBytes));
    metric("counter", "xents_vif_transmit_errors_total", "frames the domain sent that were refused", dev, vif((d) => d.txErrors));
    metric("counter", "xents_vif_receive_dropped_total", "frames for the domain dropped (its ring full)", dev, vif((d) => d.rxDropped));
    const host = (f: (h: MetricsSnapshot["host"]) => number) => (m: MetricsSnapshot): [Labels, number][] => [[{}, f(m.host)]];
    metric("gauge", "xents_host_frames_free", "machine frames free", [], host((h) => h.freeFrames));
    metric("gauge", "xents_host_frames", "machine frames in all", [], host((h) => h.totalFrames));
    metric("gauge", "xents_host_grant_mappings", "grant mappings Domain-0's backends hold", [], host((h) => h.grantMappings));
    metric("gauge", "xents_host_foreign_pages", "other domains' pages Domain-0 has mapped", [], host((h) => h.foreignPages));
    metric("counter", "xents_host_migrations_total", "live migrations of this host's domains, by result, and those it received",
      ["direction", "result"], (m) => [[{ direction: "out", result: "ok" }, m.host.migrationsOut], [{ direction: "out", result: "failed" }, m.host.migrationsOutFailed], [{ direction: "in", result: "ok" }, m.host.migrationsIn]]);
    metric("counter", "xents_host_errors_total", "errors by source: the daemon's own bugs, the hypervisor's internal errors, SMMU faults",
      ["source"], (m) => [[{ source: "daemon" }, m.host.daemonBugs], [{ source: "hypervisor" }, m.host.hypervisorErrors], [{ source: "iommu" }, m.host.iommuFaults]]);
  }

  // One domain's disk and vif counters (its page's charts) and the grant
  // mappings of its pages.
  deviceCounters(domid: number): { vbds: MetricsSnapshot["vbds"]; vifs: MetricsSnapshot["vifs"]; grantMappings: number } {
    const m = this.snapshot();
    return { vbds: m.vbds.filter((d) => d.id === domid), vifs: m.vifs.filter((d) => d.id === domid), grantMappings: m.domains.find((d) => d.id === domid)?.grantMappings ?? 0 };
  }

  async text(): Promise<string> {
    this.snap = null;
    try { return await this.registry.metrics(); } finally { this.snap = null; }
  }
}
