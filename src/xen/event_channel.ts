// A domain's event channels: the port table and both delivery ABIs a guest
// may choose, the 2-level bitmaps in shared_info and the FIFO queues in
// guest-provided event arrays (xen/common/event_2l.c and event_fifo.c
// describe the semantics; this is a fresh implementation of them).

import { XEN_E } from "./public/xen.js";
import {
  EVTCHNSTAT, EVTCHN_2L_NR_CHANNELS, EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_PENDING, EVTCHN_FIFO_MASKED,
  EVTCHN_FIFO_LINKED, EVTCHN_FIFO_BUSY, EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_MAX_QUEUES, EVTCHN_FIFO_PRIORITY_DEFAULT,
  EVTCHN_FIFO_EVENT_WORDS_PER_PAGE, NR_VIRQS, VIRQ, evtchn_fifo_control_block,
} from "./public/event_channel.js";
import { shared_info, vcpu_info } from "./public/xen.js";
import type { SavedEventChannels } from "./public/domain_context.js";

export type ChannelState = "free" | "reserved" | "unbound" | "interdomain" | "virq" | "ipi";

export interface Channel {
  state: ChannelState;
  remoteDom: number; // unbound: who may bind; interdomain: the peer
  remotePort: number;
  virq: number;
  notifyVcpu: number;
  priority: number; // FIFO queue
}

// What the event channel code needs from its domain.
export interface EventHost {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  noteWrite(hostOff: number, len: number): void; // written other than by the guest's CPU
  nrVcpus(): number;
  sharedInfoHost(): number; // wasm offset of shared_info
  vcpuInfoHost(vcpu: number): number; // wasm offset of the vCPU's vcpu_info, or -1
  // Pin a page of the domain's own RAM the event code keeps writing to
  // (FIFO control blocks and event arrays): its frame, or -1.
  pinPage(gfn: bigint): number;
  unpinPage(frame: number): void;
  frameHost(frame: number): number; // wasm offset of a frame
  markEventsPending(vcpu: number): void; // set evtchn_upcall_pending and raise the upcall
  lookupDomain(domid: number): EventHost | undefined;
  eventChannels(): EventChannels;
  portPending(port: number): void; // for SCHEDOP_poll waiters
}

interface FifoVcpu { controlFrame: number; controlHost: number; controlGfn: bigint; controlOffset: number; heads: number[]; tails: number[]; }

// What save/restore carries of a domain's event channels: the ports, and the
// FIFO ABI's registrations by guest frame (the pages themselves are guest memory).
export type EventChannelsState = SavedEventChannels;

const E = XEN_E;
const PENDING_OFF = shared_info.fields.evtchn_pending.offset;
const MASK_OFF = shared_info.fields.evtchn_mask.offset;
const SEL_OFF = vcpu_info.fields.evtchn_pending_sel.offset;
const READY_OFF = evtchn_fifo_control_block.fields.ready.offset;
const HEAD_OFF = evtchn_fifo_control_block.fields.head.offset;

// VIRQs of the domain as a whole (xen/common/event_channel.c virq_is_global:
// all but TIMER, DEBUG, XENOPROF and XENPMU, which are per vCPU and stay
// where bound): bound on vCPU 0, delivered to whichever vCPU bind_vcpu chose.
const PER_VCPU_VIRQS = new Set<number>([VIRQ.TIMER, VIRQ.DEBUG, VIRQ.XENOPROF, VIRQ.XENPMU]);
const GLOBAL_VIRQS = { has: (virq: number): boolean => !PER_VCPU_VIRQS.has(virq) };
// The vCPU whose table holds a VIRQ port.
const virqVcpu = (c: Channel): number => (GLOBAL_VIRQS.has(c.virq) ? 0 : c.notifyVcpu);

export class EventChannels {
  readonly ports: Channel[] = [];
  abi: "2l" | "fifo" = "2l";
  private fifoVcpus: (FifoVcpu | undefined)[] = [];
  private fifoArrays: number[] = []; // host offsets of event array pages
  private fifoArrayFrames: number[] = []; // their frames, pinned
  private fifoArrayGfns: bigint[] = [];
  readonly virqPorts: number[][] = []; // [vcpu][virq] -> port

  constructor(readonly host: EventHost, public maxPort: number) {
    this.ports.push(this.blank("reserved")); // port 0 is never allocated
  }

  // Interdomain channels are saved as unbound towards their peer: the peer's
  // port numbers mean nothing on another host, so the peer binds again.
  saveState(): EventChannelsState {
    return {
      abi: this.abi,
      ports: this.ports.map((c) => (c.state === "interdomain" ? { ...c, state: "unbound" as ChannelState, remotePort: 0 } : { ...c })),
      fifo: this.fifoVcpus.map((f) => (f ? { controlGfn: f.controlGfn.toString(), controlOffset: f.controlOffset, heads: [...f.heads], tails: [...f.tails] } : null)),
      arrayGfns: this.fifoArrayGfns.map((g) => g.toString()),
      pendingCarry: [...this.pendingCarry],
    };
  }
  // Into a fresh table; guest frames must already be in place. Returns an error text or null.
  loadState(s: EventChannelsState): string | null {
    if (s.abi !== "2l" && s.abi !== "fifo") return "unknown event channel ABI";
    if (s.ports.length > this.limitFor(s.abi)) return `${s.ports.length} event channel ports exceed this domain's limit`;
    for (let p = 0; p < s.ports.length; p++) {
      const c = s.ports[p];
      // a saved table has no live links to other domains: peers bind again
      if (!["free", "reserved", "unbound", "virq", "ipi"].includes(c.state)) return `port ${p}: state '${c.state}' cannot be restored`;
      if (!(c.notifyVcpu >= 0 && c.notifyVcpu < this.host.nrVcpus())) return `port ${p}: no vCPU ${c.notifyVcpu}`;
      if (!(c.priority >= 0 && c.priority < EVTCHN_FIFO_MAX_QUEUES)) return `port ${p}: priority ${c.priority} out of range`;
      if (c.state === "virq" && !(c.virq >= 0 && c.virq < NR_VIRQS)) return `port ${p}: no VIRQ ${c.virq}`;
      if (!(c.remoteDom >= 0 && c.remoteDom <= 0x7FFF)) return `port ${p}: bad remote domain`;
    }
    if (s.fifo.length > this.host.nrVcpus()) return `FIFO state for ${s.fifo.length} vCPUs`;
    if (s.arrayGfns.length * EVTCHN_FIFO_EVENT_WORDS_PER_PAGE > EVTCHN_FIFO_NR_CHANNELS) return `${s.arrayGfns.length} FIFO event array pages`;
    this.ports.length = 0;
    for (const c of s.ports) this.ports.push({ ...c });
    this.virqPorts.length = 0;
    for (let p = 1; p < this.ports.length; p++) {
      const c = this.ports[p];
      if (c.state === "virq") (this.virqPorts[virqVcpu(c)] ??= [])[c.virq] = p;
    }
    this.teardownFifo();
    this.abi = s.abi;
    for (let v = 0; v < s.fifo.length; v++) {
      const f = s.fifo[v];
      if (!f) continue;
      if (!(Number.isInteger(f.controlOffset) && f.controlOffset >= 0 && f.controlOffset <= 4096 - evtchn_fifo_control_block.size)) return `FIFO control block of vCPU ${v}: bad offset`;
      const frame = this.host.pinPage(BigInt(f.controlGfn));
      if (frame < 0) return `FIFO control block of vCPU ${v} is not in the domain's memory`;
      this.fifoVcpus[v] = { controlFrame: frame, controlHost: this.host.frameHost(frame) + f.controlOffset, controlGfn: BigInt(f.controlGfn), controlOffset: f.controlOffset, heads: [...f.heads], tails: [...f.tails] };
    }
    for (const g of s.arrayGfns) {
      const frame = this.host.pinPage(BigInt(g));
      if (frame < 0) return "a FIFO event array page is not in the domain's memory";
      this.fifoArrays.push(this.host.frameHost(frame));
      this.fifoArrayFrames.push(frame);
      this.fifoArrayGfns.push(BigInt(g));
    }
    this.pendingCarry = [...s.pendingCarry];
    return null;
  }
  private limitFor(abi: "2l" | "fifo"): number { return Math.min(abi === "2l" ? EVTCHN_2L_NR_CHANNELS : EVTCHN_FIFO_NR_CHANNELS, this.maxPort + 1); }

  private blank(state: ChannelState): Channel {
    return { state, remoteDom: 0, remotePort: 0, virq: 0, notifyVcpu: 0, priority: EVTCHN_FIFO_PRIORITY_DEFAULT };
  }

  private limit(): number { return this.limitFor(this.abi); }

  valid(port: number): boolean { return port > 0 && port < this.ports.length && this.ports[port].state !== "free" && this.ports[port].state !== "reserved"; }
  get(port: number): Channel | undefined { return this.valid(port) ? this.ports[port] : undefined; }
  inUse(): number { return this.ports.filter((c) => c.state !== "free" && c.state !== "reserved").length; }

  // Lowest free port, or -errno.
  alloc(): number {
    for (let p = 1; p < this.ports.length; p++) {
      if (this.ports[p].state === "free") {
        this.ports[p] = this.blank("free");
        this.resetPortBits(p);
        return p;
      }
    }
    const p = this.ports.length;
    if (p >= this.limit()) return -E.ENOSPC;
    this.ports.push(this.blank("free"));
    this.resetPortBits(p);
    return p;
  }

  // A freshly allocated port starts not pending (2L) or masked-clear (FIFO keeps the guest's MASKED).
  private resetPortBits(port: number): void {
    if (this.abi === "2l") {
      const si = this.host.sharedInfoHost();
      const w = si + PENDING_OFF + (port >> 6) * 8;
      this.host.view.setBigUint64(w, this.host.view.getBigUint64(w, true) & ~(1n << BigInt(port & 63)), true);
    } else {
      const h = this.fifoWordHost(port);
      if (h) this.host.view.setUint32(h, this.host.view.getUint32(h, true) & ~((1 << EVTCHN_FIFO_PENDING) | (1 << EVTCHN_FIFO_LINKED) | EVTCHN_FIFO_LINK_MASK), true);
    }
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
  // The FIFO ABI's pages are unpinned (reset, teardown).
  teardownFifo(): void {
    for (const f of this.fifoVcpus) if (f) this.host.unpinPage(f.controlFrame);
    for (const f of this.fifoArrayFrames) this.host.unpinPage(f);
    this.fifoVcpus = [];
    this.fifoArrays = [];
    this.fifoArrayFrames = [];
    this.fifoArrayGfns = [];
    this.pendingCarry = [];
    this.abi = "2l";
  }
  // For the audit: the frames this table holds pinned.
  pinnedFrames(): number[] {
    const out: number[] = [];
    for (const f of this.fifoVcpus) if (f) out.push(f.controlFrame);
    out.push(...this.fifoArrayFrames);
    return out;
  }

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
    if (this.abi === "2l") this.setPending2l(port, c.notifyVcpu);
    else this.setPendingFifo(port, c);
    this.host.portPending(port);
  }

  isPending(port: number): boolean {
    if (this.abi === "2l") {
      const si = this.host.sharedInfoHost();
      return ((this.host.view.getBigUint64(si + PENDING_OFF + (port >> 6) * 8, true) >> BigInt(port & 63)) & 1n) === 1n;
    }
    const h = this.fifoWordHost(port);
    return h ? ((this.host.view.getUint32(h, true) >>> EVTCHN_FIFO_PENDING) & 1) === 1 : false;
  }

  private testAndSet64(addr: number, bit: number): boolean {
    const v = this.host.view.getBigUint64(addr, true);
    const m = 1n << BigInt(bit);
    if (v & m) return true;
    this.host.view.setBigUint64(addr, v | m, true);
    return false;
  }

  private setPending2l(port: number, vcpu: number): void {
    const si = this.host.sharedInfoHost();
    const word = port >> 6, bit = port & 63;
    if (this.testAndSet64(si + PENDING_OFF + word * 8, bit)) return;
    const masked = ((this.host.view.getBigUint64(si + MASK_OFF + word * 8, true) >> BigInt(bit)) & 1n) === 1n;
    if (masked) return;
    const vi = this.host.vcpuInfoHost(vcpu);
    if (vi < 0) return;
    if (!this.testAndSet64(vi + SEL_OFF, word)) this.host.markEventsPending(vcpu);
  }

  unmask(port: number): number {
    const c = this.get(port);
    if (!c) return -E.EINVAL;
    if (this.abi === "2l") {
      const si = this.host.sharedInfoHost();
      const word = port >> 6, bit = BigInt(port & 63);
      const ma = si + MASK_OFF + word * 8;
      const m = this.host.view.getBigUint64(ma, true);
      if (m & (1n << bit)) this.host.view.setBigUint64(ma, m & ~(1n << bit), true);
      const pending = ((this.host.view.getBigUint64(si + PENDING_OFF + word * 8, true) >> bit) & 1n) === 1n;
      const vi = this.host.vcpuInfoHost(c.notifyVcpu);
      if (pending && vi >= 0 && !this.testAndSet64(vi + SEL_OFF, word)) this.host.markEventsPending(c.notifyVcpu);
      return 0;
    }
    // FIFO: the guest leaves MASKED set when the event is pending and asks us to clear it and relink
    const h = this.fifoWordHost(port);
    if (!h) return 0;
    const w = this.host.view.getUint32(h, true) & ~(1 << EVTCHN_FIFO_MASKED);
    this.host.view.setUint32(h, w >>> 0, true);
    if ((w >>> EVTCHN_FIFO_PENDING) & 1) this.setPendingFifo(port, c, true);
    return 0;
  }

  // ---- FIFO ABI
  private fifoWordHost(port: number): number {
    const page = Math.floor(port / EVTCHN_FIFO_EVENT_WORDS_PER_PAGE);
    const h = this.fifoArrays[page];
    return h === undefined ? 0 : h + (port % EVTCHN_FIFO_EVENT_WORDS_PER_PAGE) * 4;
  }

  initControl(vcpu: number, controlGfn: bigint, offset: number): number {
    if (vcpu < 0 || vcpu >= this.host.nrVcpus()) return -E.ENOENT;
    if (offset & 7 || offset > 4096 - evtchn_fifo_control_block.size) return -E.EINVAL;
    if (this.fifoVcpus[vcpu]) return -E.EINVAL;
    const frame = this.host.pinPage(controlGfn);
    if (frame < 0) return -E.EINVAL;
    const controlHost = this.host.frameHost(frame) + offset;
    this.host.bytes.fill(0, controlHost, controlHost + evtchn_fifo_control_block.size);
    this.host.noteWrite(controlHost, evtchn_fifo_control_block.size);
    this.fifoVcpus[vcpu] = { controlFrame: frame, controlHost, controlGfn, controlOffset: offset, heads: new Array(EVTCHN_FIFO_MAX_QUEUES).fill(0), tails: new Array(EVTCHN_FIFO_MAX_QUEUES).fill(0) };
    if (this.abi === "2l") this.switchToFifo();
    return 0;
  }

  // Ports already bound keep their state; pending 2L events are carried over.
  private switchToFifo(): void {
    const pending: number[] = [];
    for (let p = 1; p < this.ports.length; p++) if (this.valid(p) && this.isPending(p)) pending.push(p);
    this.abi = "fifo";
    this.pendingCarry = pending;
  }
  private pendingCarry: number[] = [];

  expandArray(arrayGfn: bigint): number {
    if (this.abi !== "fifo") return -E.EINVAL;
    if ((this.fifoArrays.length + 1) * EVTCHN_FIFO_EVENT_WORDS_PER_PAGE > EVTCHN_FIFO_NR_CHANNELS) return -E.ENOSPC;
    const frame = this.host.pinPage(arrayGfn);
    if (frame < 0) return -E.EINVAL;
    this.fifoArrays.push(this.host.frameHost(frame));
    this.fifoArrayFrames.push(frame);
    this.fifoArrayGfns.push(arrayGfn);
    // events that were pending before the switch are raised once their words exist
    const carry = this.pendingCarry;
    this.pendingCarry = [];
    for (const p of carry) { if (this.fifoWordHost(p)) this.setPending(p); else this.pendingCarry.push(p); }
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

  private setPendingFifo(port: number, c: Channel, fromUnmask = false): void {
    const h = this.fifoWordHost(port);
    if (!h) { if (!this.pendingCarry.includes(port)) this.pendingCarry.push(port); return; } // raised when its page arrives
    const view = this.host.view;
    let w = view.getUint32(h, true);
    if (!fromUnmask) { w |= 1 << EVTCHN_FIFO_PENDING; view.setUint32(h, w >>> 0, true); }
    if ((w >>> EVTCHN_FIFO_MASKED) & 1 || (w >>> EVTCHN_FIFO_LINKED) & 1) return;
    const v = this.fifoVcpus[c.notifyVcpu];
    if (!v) return;
    w |= 1 << EVTCHN_FIFO_LINKED;
    view.setUint32(h, w >>> 0, true);
    // A queue whose tail is this (consumed, hence unlinked) port is empty:
    // forget that tail, or the port would be linked to itself below, HEAD
    // left stale and the event lost for good (event_fifo.c: old_q->tail = 0).
    for (const fv of this.fifoVcpus) if (fv) for (let i = 0; i < fv.tails.length; i++) if (fv.tails[i] === port) fv.tails[i] = 0;
    const q = c.priority;
    let linked = false;
    const tail = v.tails[q];
    if (tail) {
      const th = this.fifoWordHost(tail);
      if (th) {
        const tw = view.getUint32(th, true);
        // link only if the guest has not consumed the old tail yet
        if ((tw >>> EVTCHN_FIFO_LINKED) & 1) {
          view.setUint32(th, ((tw & ~EVTCHN_FIFO_LINK_MASK & ~(1 << EVTCHN_FIFO_BUSY)) | port) >>> 0, true);
          linked = true;
        }
      }
    }
    if (!linked) view.setUint32(v.controlHost + HEAD_OFF + q * 4, port, true);
    v.tails[q] = port;
    const ready = view.getUint32(v.controlHost + READY_OFF, true);
    if (!((ready >>> q) & 1)) {
      view.setUint32(v.controlHost + READY_OFF, (ready | (1 << q)) >>> 0, true);
      this.host.markEventsPending(c.notifyVcpu);
    }
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
