// What the toolstack knows of a guest: its configuration, what building it
// produced, its console and where it is in its life cycle. The toolstack
// (toolstack.ts) and its save and restore helpers share these.

import type { BuildConfig, BuiltDomain } from "./domain_builder.js";
import type { GuestConsole } from "./console_backend.js";
import type { SavedWatch } from "./xenstore/xenstored.js";
import type { DiskSpec } from "./disk_spec.js";
import type { VifSpec } from "./vif_spec.js";

export type ExitAction = "destroy" | "restart" | "preserve";

export interface GuestConfig extends BuildConfig {
  onPoweroff?: ExitAction;
  onReboot?: ExitAction;
  onCrash?: ExitAction;
  paused?: boolean;
  disks?: DiskSpec[];
  vifs?: VifSpec[];
  driverDomain?: boolean; // xl.cfg's driver_domain
}

export interface Guest {
  domid: number;
  name: string;
  uuid: string;
  config: GuestConfig;
  built: BuiltDomain;
  console: GuestConsole;
  state: "running" | "shutdown" | "destroyed";
  shutdownReason: string | null;
  startedAt: number;
}

// A guest with machine devices passed through cannot be saved or migrated:
// the device's state is in the machine, not in the guest's memory (Xen
// refuses it as well).
export function passedThrough(g: Guest): string | null {
  const pt = g.config.passthrough;
  if (!pt || (!pt.dtdev.length && !pt.iomem.length && !pt.irqs.length)) return null;
  return `${g.name} has machine devices passed through (${[...pt.dtdev, ...pt.irqs.map((i) => `irq ${i}`)].join(", ") || "iomem"}): it cannot be saved or migrated`;
}

export interface DiskInfo {
  vdev: string; devid: number; target: string; mode: string; backendId: number; beState: number; feState: number; evtch: number; ringRef: number; backend: string;
}

export interface SavedXenstore { nodes: { path: string; value: string; perms: string[] }[]; watches: SavedWatch[]; }
