// A domain's event channels: the port table (allocation, binding, closing,
// sending, VIRQs) over the delivery ABI the guest chose, the 2-level bitmaps
// (event_2l.ts) or the FIFO queues (event_fifo.ts), behind EventPortOps as
// Xen's evtchn_port_ops.

import { XEN_E } from "./public/xen.js";
import { EVTCHNSTAT, EVTCHN_2L_NR_CHANNELS, EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_MAX_QUEUES, EVTCHN_FIFO_PRIORITY_DEFAULT, NR_VIRQS, VIRQ } from "./public/event_channel.js";
import type { SavedEventChannels } from "./public/domain_context.js";
import type { EventPortOps } from "./event_port_ops.js";
import { Event2L } from "./event_2l.js";
import { EventFifo } from "./event_fifo.js";

import type { Channel, ChannelState, EventHost } from "./event_port_ops.js";
export type { Channel, ChannelState, EventHost } from "./event_port_ops.js";

// What save/restore carries of a domain's event channels: the ports, and the
// FIFO ABI's registrations by guest frame (the pages themselves are guest memory).
export type EventChannelsState = SavedEventChannels;

const E = XEN_E;

// VIRQs of the domain as a whole (xen/common/event_channel.c virq_is_global:
// all but TIMER, DEBUG, XENOPROF and XENPMU, which are per vCPU and stay
// where bound): bound on vCPU 0, delivered to whichever vCPU bind_vcpu chose.
const PER_VCPU_VIRQS = new Set<number>([VIRQ.TIMER, VIRQ.DEBUG, VIRQ.XENOPROF, VIRQ.XENPMU]);
const GLOBAL_VIRQS = { has: (virq: number): boolean => !PER_VCPU_VIRQS.has(virq) };
// The vCPU whose table holds a VIRQ port.
const virqVcpu = (c: Channel): number => (GLOBAL_VIRQS.has(c.virq) ? 0 : c.notifyVcpu);

export class EventChannels {
  readonly ports: Channel[] = [];
  private ops: EventPortOps;
  readonly virqPorts: number[][] = []; // [vcpu][virq] -> port

  constructor(readonly host: EventHost, public maxPort: number) {
    this.ops = new Event2L(host);
    this.ports.push(this.blank("reserved")); // port 0 is never allocated
  }

  get abi(): "2l" | "fifo" { return this.ops.abi; }

  // Interdomain channels are saved as unbound towards their peer: the peer's
  // port numbers mean nothing on another host, so the peer binds again.
  saveState(): EventChannelsState {
    return {
      abi: this.abi,
      ports: this.ports.map((c) => (c.state === "interdomain" ? { ...c, state: "unbound" as ChannelState, remotePort: 0 } : { ...c })),
      ...(this.ops instanceof EventFifo ? this.ops.save() : { fifo: [], arrayGfns: [], pendingCarry: [] }),
    };
  }
  // What must hold of a saved table for this domain with `nrVcpus` vCPUs,
  // checked before anything changes. An error text or null.
  checkState(s: EventChannelsState, nrVcpus: number): string | null {
    if (s.ports.length > this.limitFor(s.abi)) return `${s.ports.length} event channel ports exceed this domain's limit`;
    for (let p = 0; p < s.ports.length; p++) {
      const c = s.ports[p];
      // a saved table has no live links to other domains: peers bind again
      if (!["free", "reserved", "unbound", "virq", "ipi"].includes(c.state)) return `port ${p}: state '${c.state}' cannot be restored`;
      if (!(c.notifyVcpu >= 0 && c.notifyVcpu < nrVcpus)) return `port ${p}: no vCPU ${c.notifyVcpu}`;
      if (!(c.priority >= 0 && c.priority < EVTCHN_FIFO_MAX_QUEUES)) return `port ${p}: priority ${c.priority} out of range`;
      if (c.state === "virq" && !(c.virq >= 0 && c.virq < NR_VIRQS)) return `port ${p}: no VIRQ ${c.virq}`;
      if (!(c.remoteDom >= 0 && c.remoteDom <= 0x7FFF)) return `port ${p}: bad remote domain`;
    }
    return s.abi === "fifo" ? EventFifo.check(s, nrVcpus) : (s.fifo.length || s.arrayGfns.length || s.pendingCarry.length ? "FIFO state with the 2-level ABI" : null);
  }
  // A checked table (checkState) into a fresh one, once the vCPUs exist and
  // the guest's frames are in place. Throws if a FIFO page cannot be pinned
  // (checkState's caller makes sure they are the domain's RAM).
  loadState(s: EventChannelsState): void {
    this.ports.length = 0;
    for (const c of s.ports) this.ports.push({ ...c });
    this.virqPorts.length = 0;
    for (let p = 1; p < this.ports.length; p++) {
      const c = this.ports[p];
      if (c.state === "virq") (this.virqPorts[virqVcpu(c)] ??= [])[c.virq] = p;
    }
    this.teardownFifo();
    if (s.abi === "fifo") {
      const fifo = new EventFifo(this.host);
      this.ops = fifo;
      const e = fifo.load(s);
      if (e) throw new Error(`event channels: ${e}`);
    }
  }
  private limitFor(abi: "2l" | "fifo"): number { return Math.min(abi === "2l" ? EVTCHN_2L_NR_CHANNELS : EVTCHN_FIFO_NR_CHANNELS, this.maxPort + 1); }

  private blank(state: ChannelState): Channel {
    return { state, remoteDom: 0, remotePort: 0, virq: 0, notifyVcpu: 0, priority: EVTCHN_FIFO_PRIORITY_DEFAULT };
  }

  private limit(): number { return Math.min(this.ops.maxPorts, this.maxPort + 1); }

  valid(port: number): boolean { return port > 0 && port < this.ports.length && this.ports[port].state !== "free" && this.ports[port].state !== "reserved"; }
  get(port: number): Channel | undefined { return this.valid(port) ? this.ports[port] : undefined; }
  inUse(): number { return this.ports.filter((c) => c.state !== "free" && c.state !== "reserved").length; }

  // Lowest free port, or -errno.
  alloc(): number {
    for (let p = 1; p < this.ports.length; p++) {
      if (this.ports[p].state === "free") {
        this.ports[p] = this.blank("free");
        this.ops.init(p);
        return p;
      }
    }
    const p = this.ports.length;
    if (p >= this.limit()) return -E.ENOSPC;
    this.ports.push(this.blank("free"));
    this.ops.init(p);
    return p;
  }

  allocUnbound(remoteDom: number): number {
    const p = this.alloc();
    if (p < 0) return p;
    Object.assign(this.ports[p], { state: "unbound", remoteDom });
    return p;
  }

  bindInterdomain(remote: EventChannels, remotePort: number): number {
    const rc = remote.get(remotePort);
    if (!rc || rc.state !== "unbound" || rc.remoteDom !== this.host.id) return -E.EINVAL;
    const p = this.alloc();
    if (p < 0) return p;
    Object.assign(this.ports[p], { state: "interdomain", remoteDom: remote.host.id, remotePort });
    Object.assign(rc, { state: "interdomain", remoteDom: this.host.id, remotePort: p });
    // Like Xen: the newly bound local port is made pending so a waiting peer is noticed.
    this.setPending(p);
    return p;
  }

  bindVirq(virq: number, vcpu: number): number {
    if (virq < 0 || virq >= NR_VIRQS) return -E.EINVAL;
    if (GLOBAL_VIRQS.has(virq) && vcpu !== 0) return -E.EINVAL; // as Xen: a global VIRQ is bound on vCPU 0 (bind_vcpu moves it)
    if (vcpu < 0 || vcpu >= this.host.nrVcpus()) return -E.ENOENT;
    this.virqPorts[vcpu] ??= [];
    if (this.virqPorts[vcpu][virq]) return -E.EEXIST;
    const p = this.alloc();
    if (p < 0) return p;
    Object.assign(this.ports[p], { state: "virq", virq, notifyVcpu: vcpu });
    this.virqPorts[vcpu][virq] = p;
    return p;
  }

  bindIpi(vcpu: number): number {
    if (vcpu < 0 || vcpu >= this.host.nrVcpus()) return -E.ENOENT;
    const p = this.alloc();
    if (p < 0) return p;
    Object.assign(this.ports[p], { state: "ipi", notifyVcpu: vcpu });
    return p;
  }

  close(port: number): number {
    const c = this.get(port);
    if (!c) return -E.EINVAL;
    if (c.state === "interdomain") {
      const rd = this.host.lookupDomain(c.remoteDom);
      const rc = rd?.eventChannels().get(c.remotePort);
      if (rc && rc.state === "interdomain" && rc.remoteDom === this.host.id && rc.remotePort === port) {
        Object.assign(rc, { state: "unbound", remoteDom: this.host.id, remotePort: 0 });
      }
    }
    if (c.state === "virq") this.virqPorts[virqVcpu(c)][c.virq] = 0;
    this.ports[port] = this.blank("free");
    return 0;
  }

  closeAll(): void { for (let p = 1; p < this.ports.length; p++) if (this.valid(p)) this.close(p); }

  // EVTCHNOP_reset: every port closed and, as Xen's evtchn_reset, back to
  // the 2-level ABI with the FIFO pages let go.
  reset(): void {
    this.closeAll();
    this.teardownFifo();
  }
  // Back to the 2-level ABI, the FIFO ABI's pages unpinned (reset, teardown).
  teardownFifo(): void {
    this.ops.teardown();
    this.ops = new Event2L(this.host);
  }
  // For the audit: the frames this table holds pinned.
  pinnedFrames(): number[] { return this.ops.pinnedFrames(); }
  pinnedGfns(): number[] { return this.ops.pinnedGfns(); }

  send(port: number): number {
    const c = this.get(port);
    if (!c) return -E.EINVAL;
    switch (c.state) {
      case "interdomain": {
        const rd = this.host.lookupDomain(c.remoteDom);
        rd?.eventChannels().setPending(c.remotePort);
        return 0;
      }
      case "ipi": this.setPending(port); return 0;
      case "unbound": return 0; // nobody listens yet: dropped
      default: return -E.EINVAL;
    }
  }

  raiseVirq(virq: number, vcpu = 0): void {
    const p = this.virqPorts[GLOBAL_VIRQS.has(virq) ? 0 : vcpu]?.[virq];
    if (p) this.setPending(p);
  }

  bindVcpu(port: number, vcpu: number): number {
    const c = this.get(port);
    if (!c) return -E.EINVAL;
    if (vcpu < 0 || vcpu >= this.host.nrVcpus()) return -E.ENOENT;
    // a per-vCPU VIRQ stays where it is bound (Xen's evtchn_bind_vcpu)
    if (c.state !== "interdomain" && c.state !== "unbound" && !(c.state === "virq" && GLOBAL_VIRQS.has(c.virq))) return -E.EINVAL;
    c.notifyVcpu = vcpu;
    return 0;
  }

  // ---- delivery
  setPending(port: number): void {
    const c = this.get(port);
    if (!c) return;
    this.ops.setPending(port, c);
    this.host.portPending(port);
  }

  isPending(port: number): boolean { return this.ops.isPending(port); }

  unmask(port: number): number {
    const c = this.get(port);
    if (!c) return -E.EINVAL;
    this.ops.unmask(port, c);
    return 0;
  }

  // ---- FIFO ABI registration
  // The first vCPU's control block switches the domain to the FIFO ABI;
  // bound ports keep their state and 2-level pending events are carried over.
  initControl(vcpu: number, controlGfn: bigint, offset: number): number {
    const fifo = this.ops instanceof EventFifo ? this.ops : new EventFifo(this.host);
    const r = fifo.initControl(vcpu, controlGfn, offset);
    if (r < 0 || fifo === this.ops) return r;
    const pending: number[] = [];
    for (let p = 1; p < this.ports.length; p++) if (this.valid(p) && this.isPending(p)) pending.push(p);
    fifo.carryOver(pending);
    this.ops = fifo;
    return 0;
  }

  expandArray(arrayGfn: bigint): number {
    if (!(this.ops instanceof EventFifo)) return -E.EINVAL;
    const r = this.ops.expandArray(arrayGfn);
    if (r < 0) return r;
    // events that were pending before their words existed are raised now
    for (const p of this.ops.takeRaisable()) this.setPending(p);
    return 0;
  }

  setPriority(port: number, priority: number): number {
    const c = this.get(port);
    if (!c) return -E.EINVAL;
    if (this.abi !== "fifo") return -E.ENOSYS;
    if (priority < 0 || priority >= EVTCHN_FIFO_MAX_QUEUES) return -E.EINVAL;
    c.priority = priority;
    return 0;
  }

  // EVTCHNSTAT for EVTCHNOP_status
  status(port: number): { status: number; vcpu: number; u0: number; u1: number } {
    const c = port > 0 && port < this.ports.length ? this.ports[port] : undefined;
    if (!c || c.state === "free" || c.state === "reserved") return { status: EVTCHNSTAT.closed, vcpu: 0, u0: 0, u1: 0 };
    switch (c.state) {
      case "unbound": return { status: EVTCHNSTAT.unbound, vcpu: c.notifyVcpu, u0: c.remoteDom, u1: 0 };
      case "interdomain": return { status: EVTCHNSTAT.interdomain, vcpu: c.notifyVcpu, u0: c.remoteDom, u1: c.remotePort };
      case "virq": return { status: EVTCHNSTAT.virq, vcpu: c.notifyVcpu, u0: c.virq, u1: 0 };
      default: return { status: EVTCHNSTAT.ipi, vcpu: c.notifyVcpu, u0: 0, u1: 0 };
    }
  }
}
