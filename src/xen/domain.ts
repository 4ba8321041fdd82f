// A domain: its vCPUs, memory (p2m and page accounting), event channels,
// grant table, virtual devices (vGIC, vpl011) and life-cycle state. The
// hypervisor (hypervisor.ts) creates, schedules and destroys domains; the
// per-hypercall code acts on them.

import type { Core } from "../cpu/cpu.js";
import { SR } from "../cpu/cpu.js";
import type { FrameAllocator } from "./frames.js";
import { OWNER_XEN, OutOfFrames, KIND_RAM, KIND_SHARED } from "./frames.js";
import { P2m, VTCR_VALUE, P2M_MAX_GFN } from "./p2m.js";
import { Vcpu } from "./vcpu.js";
import { Vgic } from "./vgic.js";
import { MmioBus } from "./mmio.js";
import { EventChannels, EventHost } from "./event_channel.js";
import { GrantTable, GrantDomain, DEFAULT_MAX_MAPTRACK_FRAMES } from "./grant_table.js";
import type { Vpl011 } from "./vpl011.js";
import { shared_info, vcpu_info, HVM_NR_PARAMS, XEN_E } from "./public/xen.js";
import {
  GUEST_GICD_BASE, GUEST_GICV3_GICD_SIZE, GUEST_GICV3_GICR0_BASE, GUEST_GICV3_GICR0_SIZE, GUEST_EVTCHN_PPI,
  GUEST_TIMER_VIRT_PPI,
} from "./public/arch_arm.js";

// HCR_EL2 for guests: stage 2 on, virtual IRQ/FIQ/SError routing, trap SMC
const HCR_GUEST = (1n << 0n) | (1n << 3n) | (1n << 4n) | (1n << 5n) | (1n << 19n);
const CNTHCTL_EL1PCTEN = 1n; // the physical counter is readable; the physical timer traps

export interface DomainConfig {
  id: number;
  privileged: boolean;
  maxVcpus: number;
  maxEvtchnPort: number;
  maxGrantFrames: number;
  maxMaptrackFrames?: number;
  nrSpis: number;
  handle: Uint8Array; // 16-byte UUID
  cpuless?: boolean; // the control domain in TypeScript: events go to a callback, not a vCPU
}

export interface DomainServices {
  core: Core;
  frames: FrameAllocator;
  lookup(id: number): Domain | undefined;
  kick(d: Domain, vcpu: number): void; // an interrupt or event is pending for this vCPU
  counterNow(): bigint;
  onUpcall(d: Domain, vcpu: number): void; // control domain without a CPU: deliver events
  iommuFlush(d: Domain): void; // its devices' cached translations must go (the p2m lost or narrowed a mapping)
}

export type ShutdownState = { reason: number } | null;

export class Domain implements EventHost, GrantDomain {
  readonly id: number;
  readonly privileged: boolean;
  readonly vcpus: Vcpu[] = [];
  readonly p2m: P2m;
  readonly evtchn: EventChannels;
  readonly gnttab: GrantTable;
  readonly vgic: Vgic;
  readonly mmio = new MmioBus();
  vpl011: Vpl011 | null = null;
  readonly hvmParams: bigint[] = new Array(HVM_NR_PARAMS).fill(0n);
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly sharedInfoFrame: number;
  sharedInfoGfn: bigint | null = null;
  maxPages = 0n;
  maxVcpus: number;
  pauseCount = 1; // domains are created paused
  shutdown: ShutdownState = null;
  shutdownCode = -1;
  dying = false;
  handle: Uint8Array;
  timeOffsetSeconds = 0n;
  weight = 256;
  cap = 0;
  vmAssist = 0n;
  logDirtyFaults = 0;
  hypercalls = 0; // made by its vCPUs
  readonly unmappedFrames: number[] = []; // increase_reservation pages not in the p2m
  readonly console: number[] = []; // console_io output not yet flushed as a line
  // Machine frames and interrupts it may be given (XEN_DOMCTL_iomem_permission, irq_permission)
  readonly iomemCaps = new Set<number>();
  readonly irqCaps = new Set<number>();

  constructor(readonly cfg: DomainConfig, readonly svc: DomainServices, vmid: number) {
    this.id = cfg.id;
    this.privileged = cfg.privileged;
    this.maxVcpus = cfg.maxVcpus;
    this.handle = cfg.handle;
    this.bytes = svc.core.bytes;
    this.view = svc.core.view;
    this.p2m = new P2m(svc.frames, cfg.id, vmid, () => this.flushTlbs(), !cfg.privileged);
    this.sharedInfoFrame = svc.frames.alloc(OWNER_XEN, KIND_SHARED);
    this.initSharedInfo();
    this.evtchn = new EventChannels(this, cfg.maxEvtchnPort);
    this.gnttab = new GrantTable(svc.frames, cfg.maxGrantFrames, cfg.maxMaptrackFrames ?? DEFAULT_MAX_MAPTRACK_FRAMES, (gfn) => this.p2m.markDirty(gfn));
    this.vgic = new Vgic(cfg.nrSpis, { kick: (v) => svc.kick(this, v) });
    this.mmio.add({
      name: "gicd", base: GUEST_GICD_BASE, size: GUEST_GICV3_GICD_SIZE,
      read: (v, off, size) => this.vgic.distRead(v, off, size),
      write: (v, off, size, val) => this.vgic.distWrite(v, off, size, val),
    });
    this.mmio.add({
      name: "gicr", base: GUEST_GICV3_GICR0_BASE, size: GUEST_GICV3_GICR0_SIZE,
      read: (_v, off, size) => this.vgic.redistRead(off, size),
      write: (_v, off, size, val) => this.vgic.redistWrite(off, size, val),
    });
  }

  private initSharedInfo(): void {
    const h = this.svc.frames.hostOf(this.sharedInfoFrame);
    // all event channels start masked (as Xen does for a new domain)
    const m = h + shared_info.fields.evtchn_mask.offset;
    this.bytes.fill(0xFF, m, m + shared_info.fields.evtchn_mask.size);
  }

  // ---- vCPUs
  createVcpus(n: number): void {
    for (let i = this.vcpus.length; i < n; i++) {
      const st = this.svc.core.createVcpu();
      const v = new Vcpu(this.id, i, st);
      st.setSys(SR.HCR, HCR_GUEST);
      st.setSys(SR.VTTBR, this.p2m.vttbr());
      st.setSys(SR.VTCR, VTCR_VALUE);
      st.setSys(SR.VMPIDR, v.mpidr());
      st.setSys(SR.CNTHCTL, CNTHCTL_EL1PCTEN);
      v.gic = this.vgic.addCpu(i, v.mpidr(), st);
      v.gic.levelHooks.set(GUEST_TIMER_VIRT_PPI, () => this.timerLine(v));
      v.gic.levelHooks.set(GUEST_EVTCHN_PPI, () => this.upcallPending(i));
      this.vcpus.push(v);
    }
  }

  // The virtual timer's output: enabled, not masked, and CVAL reached.
  timerLine(v: Vcpu): boolean {
    const ctl = v.state.sys(SR.CNTV_CTL);
    if ((ctl & 3n) !== 1n) return false;
    const vcount = BigInt.asUintN(64, this.svc.counterNow() - v.state.sys(SR.CNTVOFF));
    return BigInt.asIntN(64, vcount - v.state.sys(SR.CNTV_CVAL)) >= 0n;
  }
  // Counter value at which a vCPU's timer fires, or null. The offset is a
  // u64 (a restored guest's counter may be ahead of this host's), so the sum
  // wraps as the hardware's does.
  timerDeadline(v: Vcpu): bigint | null {
    const ctl = v.state.sys(SR.CNTV_CTL);
    if ((ctl & 3n) !== 1n) return null;
    return BigInt.asUintN(64, v.state.sys(SR.CNTV_CVAL) + v.state.sys(SR.CNTVOFF));
  }

  flushTlbs(): void {
    for (const v of this.vcpus) v.state.flushTlb();
    this.svc.iommuFlush(this);
  }

  nrVcpus(): number { return this.vcpus.length; }
  onlineVcpus(): number { return this.vcpus.filter((v) => v.online).length; }
  paused(): boolean { return this.pauseCount > 0; }
  runnable(v: Vcpu): boolean { return v.online && !v.blocked() && !this.paused() && this.shutdown === null && !this.dying; }

  // ---- memory
  totPages(): number { return this.svc.frames.countOf(this.id); }

  // Give the domain a fresh zeroed page at gfn (populate_physmap).
  populate(gfn: number): boolean {
    if (this.p2m.has(gfn)) return true; // already there: Xen leaves it
    if (this.totPages() >= Number(this.maxPages)) return false;
    let f: number;
    try { f = this.svc.frames.alloc(this.id, KIND_RAM); } catch (e) { if (e instanceof OutOfFrames) return false; throw e; }
    if (this.p2m.set(gfn, { frame: f, type: "ram" }) < 0) { this.svc.frames.free(f); return false; }
    return true;
  }

  // The same for n pages from gfn at once (a populate_physmap extent), all
  // or nothing: false, with nothing populated, if the limit, the heap or the
  // p2m pool cannot cover every page not yet there.
  populateRange(gfn: number, n: number): boolean {
    const fa = this.svc.frames;
    return this.p2m.setRam(gfn, n, (k) => {
      if (this.totPages() + k > Number(this.maxPages) || fa.freeCount < k) return null;
      return fa.allocMany(this.id, KIND_RAM, k);
    }) === 0;
  }

  // Remove whatever is at gfn (remove_from_physmap, or to make room): the
  // domain's own page is given up, a foreign mapping's reference dropped, a
  // shared page unmapped. A grant mapping is only ever removed by
  // GNTTABOP_unmap_grant_ref, with its maptrack entry: -EBUSY here.
  removeGfn(gfn: number): number {
    const e = this.p2m.get(gfn);
    if (!e) return -XEN_E.ENOENT;
    if (e.type === "grant" || e.type === "grant_ro") return -XEN_E.EBUSY;
    this.p2m.remove(gfn);
    if (e.type === "ram") this.svc.frames.free(e.frame);
    else if (e.type === "xen") {
      this.sharedGfns.delete(e.frame);
      if (this.sharedInfoGfn === BigInt(gfn)) this.sharedInfoGfn = null;
    }
    return 0;
  }

  // Map a hypervisor page (shared_info, a grant-table frame) at gfn. As
  // Xen 4.17 on Arm: a page already mapped elsewhere must be unmapped first
  // (-EBUSY); mapping it again where it is changes nothing.
  mapXenFrame(gfn: number, frame: number): number {
    const at = this.sharedGfns.get(frame);
    if (at === gfn) return 0;
    if (at !== undefined) return -XEN_E.EBUSY;
    if (this.p2m.get(gfn)) { const r = this.removeGfn(gfn); if (r < 0) return r; }
    const r = this.p2m.set(gfn, { frame, type: "xen" });
    if (r < 0) return r;
    this.sharedGfns.set(frame, gfn);
    if (frame === this.sharedInfoFrame) this.sharedInfoGfn = BigInt(gfn);
    return 0;
  }
  // Where each hypervisor page of this domain is mapped (frame -> gfn).
  readonly sharedGfns = new Map<number, number>();

  // Teardown: every mapping at once; the domain's own pages are given up.
  unmapAll(): void {
    const own: number[] = []; // a RAM frame of its own is at one gfn only: no path maps it twice
    for (const [, e] of this.p2m.entries()) if (e.type === "ram") own.push(e.frame);
    this.p2m.removeAll();
    this.sharedGfns.clear();
    this.sharedInfoGfn = null;
    for (const f of own) this.svc.frames.free(f);
  }

  // A page of the domain's own RAM the hypervisor keeps using across calls
  // (FIFO control block and event arrays, vcpu_info): it is pinned with a
  // reference, so it stays this frame even if the guest gives the gfn up.
  // Returns the frame, or -1 if gfn is not the domain's own RAM.
  pinPage(gfn: bigint): number {
    if (gfn < 0n || gfn >= BigInt(P2M_MAX_GFN)) return -1;
    const e = this.p2m.get(Number(gfn));
    if (!e || e.type !== "ram") return -1;
    if (!this.svc.frames.get(e.frame)) return -1;
    this.pins++;
    return e.frame;
  }
  unpinPage(frame: number): void { this.pins--; this.svc.frames.put(frame); }
  // The gfns of the pages it pins: the hypervisor writes them (event links,
  // pending bits) with no stage-2 fault for log-dirty to see.
  pinnedGfns(): number[] {
    const out = this.evtchn.pinnedGfns();
    for (const v of this.vcpus) if (v.vcpuInfo) out.push(Number(v.vcpuInfo.gfn));
    return out;
  }
  pins = 0; // pinned references held (the audit counts them)
  frameHost(frame: number): number { return this.svc.frames.hostOf(frame); }
  // Machine memory written other than by a vCPU: translated code there goes.
  noteWrite(hostOff: number, len: number): void { this.svc.frames.core.noteWrite(hostOff, len); }


  // ---- event delivery (EventHost)
  sharedInfoHost(): number { return this.svc.frames.hostOf(this.sharedInfoFrame); }
  vcpuInfoHost(vcpu: number): number {
    const v = this.vcpus[vcpu];
    if (!v) return -1;
    if (v.vcpuInfo) return this.svc.frames.hostOf(v.vcpuInfo.frame) + v.vcpuInfo.offset;
    return vcpu === 0 ? this.sharedInfoHost() : -1; // the legacy slot
  }
  upcallPending(vcpu: number): boolean {
    const h = this.vcpuInfoHost(vcpu);
    return h >= 0 && this.bytes[h + vcpu_info.fields.evtchn_upcall_pending.offset] !== 0;
  }
  markEventsPending(vcpu: number): void {
    const h = this.vcpuInfoHost(vcpu);
    if (h < 0) return;
    const o = h + vcpu_info.fields.evtchn_upcall_pending.offset;
    if (this.bytes[o]) return;
    this.bytes[o] = 1;
    if (this.cfg.cpuless) this.svc.onUpcall(this, vcpu);
    else this.svc.kick(this, vcpu);
  }
  lookupDomain(domid: number): Domain | undefined { return this.svc.lookup(domid); }
  eventChannels(): EventChannels { return this.evtchn; }
  portPending(port: number): void {
    for (const v of this.vcpus) if (v.block === "poll" && v.pollPorts.includes(port)) this.svc.kick(this, v.id);
  }
}
