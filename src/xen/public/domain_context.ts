// The domain context of XEN_DOMCTL_gethvmcontext / sethvmcontext as xents
// defines it (Xen on Arm has no HVM save records): a versioned JSON
// document. Tools read only `ram` (which frames to copy) and `maxPages`;
// the rest is the hypervisor's to interpret (src/xen/domain_context.ts).

export type SavedBlockReason = "none" | "wfi" | "block" | "poll";
export interface SavedIrq { enabled: boolean; latch: boolean; active: boolean; level: boolean; priority: number; edge: boolean; group1: boolean; route: string; }
export interface SavedVgic { ctlr: number; spis: SavedIrq[]; cpus: { waker: number; irqs: SavedIrq[] }[]; }
export type SavedChannelState = "free" | "reserved" | "unbound" | "interdomain" | "virq" | "ipi";
export interface SavedChannel { state: SavedChannelState; remoteDom: number; remotePort: number; virq: number; notifyVcpu: number; priority: number; }
export interface SavedEventChannels {
  abi: "2l" | "fifo";
  ports: SavedChannel[];
  fifo: ({ controlGfn: string; controlOffset: number; heads: number[]; tails: number[] } | null)[];
  arrayGfns: string[];
  pendingCarry: number[];
}

export const CONTEXT_FORMAT = "xents-domain-context";
export const CONTEXT_VERSION = 1;

export interface VcpuContext {
  online: boolean; block: SavedBlockReason; pollPorts: number[]; vcount: string; pollIn: string;
  vcpuInfo: { gfn: string; offset: number } | null; runstateVa: string | null; regs: string;
}
export interface DomainContext {
  format: typeof CONTEXT_FORMAT; version: number;
  maxPages: string; vmAssist: string; timeOffsetSeconds: string; weight: number; cap: number;
  hvmParams: string[]; sharedInfo: string;
  ram: [number, number][]; // runs of [first gfn, count]
  xenMaps: { gfn: number; what: "shared_info" | "grant"; index: number }[];
  grantFrames: string[];
  vcpus: VcpuContext[];
  vgic: SavedVgic; evtchn: SavedEventChannels;
}

