// The FIFO event channel ABI (the semantics of Xen's event_fifo.c): one
// 32-bit event word per port in guest-provided event array pages, and per
// vCPU a control block with a queue head per priority and a READY bitmap.
// Pending events are linked onto their priority's queue; the guest walks
// the queues from HEAD and unlinks as it consumes.

import { XEN_E } from "./public/xen.js";
import {
  EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_PENDING, EVTCHN_FIFO_MASKED, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_BUSY,
  EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_MAX_QUEUES, EVTCHN_FIFO_EVENT_WORDS_PER_PAGE, evtchn_fifo_control_block,
} from "./public/event_channel.js";
import type { SavedEventChannels } from "./public/domain_context.js";
import type { EventPortOps, Channel, EventHost } from "./event_port_ops.js";

const E = XEN_E;
const READY_OFF = evtchn_fifo_control_block.fields.ready.offset;
const HEAD_OFF = evtchn_fifo_control_block.fields.head.offset;

interface FifoVcpu { controlFrame: number; controlHost: number; controlGfn: bigint; controlOffset: number; heads: number[]; tails: number[]; }

export type SavedFifo = Pick<SavedEventChannels, "fifo" | "arrayGfns" | "pendingCarry">;

export class EventFifo implements EventPortOps {
  readonly abi = "fifo" as const;
  readonly maxPorts = EVTCHN_FIFO_NR_CHANNELS;
  private vcpus: (FifoVcpu | undefined)[] = [];
  private arrays: number[] = []; // host offsets of event array pages
  private arrayFrames: number[] = []; // their frames, pinned
  private arrayGfns: bigint[] = [];
  // Ports pending before their event word existed (pending under the 2-level
  // ABI at the switch, or raised before the guest added the array page).
  private carry: number[] = [];

  constructor(private readonly host: EventHost) {}

  private wordHost(port: number): number {
    const page = Math.floor(port / EVTCHN_FIFO_EVENT_WORDS_PER_PAGE);
    const h = this.arrays[page];
    return h === undefined ? 0 : h + (port % EVTCHN_FIFO_EVENT_WORDS_PER_PAGE) * 4;
  }

  // EVTCHNOP_init_control for one vCPU: 0 or -errno.
  initControl(vcpu: number, controlGfn: bigint, offset: number): number {
    if (vcpu < 0 || vcpu >= this.host.nrVcpus()) return -E.ENOENT;
    if (offset & 7 || offset > 4096 - evtchn_fifo_control_block.size) return -E.EINVAL;
    if (this.vcpus[vcpu]) return -E.EINVAL;
    const frame = this.host.pinPage(controlGfn);
    if (frame < 0) return -E.EINVAL;
    const controlHost = this.host.frameHost(frame) + offset;
    this.host.bytes.fill(0, controlHost, controlHost + evtchn_fifo_control_block.size);
    this.host.noteWrite(controlHost, evtchn_fifo_control_block.size);
    this.vcpus[vcpu] = { controlFrame: frame, controlHost, controlGfn, controlOffset: offset, heads: new Array(EVTCHN_FIFO_MAX_QUEUES).fill(0), tails: new Array(EVTCHN_FIFO_MAX_QUEUES).fill(0) };
    return 0;
  }

  // Events pending under the 2-level ABI when the guest switched.
  carryOver(ports: number[]): void { this.carry = [...ports]; }

  // EVTCHNOP_expand_array: 0 or -errno. Then takeRaisable() gives the carried
  // ports whose words now exist.
  expandArray(arrayGfn: bigint): number {
    if ((this.arrays.length + 1) * EVTCHN_FIFO_EVENT_WORDS_PER_PAGE > EVTCHN_FIFO_NR_CHANNELS) return -E.ENOSPC;
    const frame = this.host.pinPage(arrayGfn);
    if (frame < 0) return -E.EINVAL;
    this.arrays.push(this.host.frameHost(frame));
    this.arrayFrames.push(frame);
    this.arrayGfns.push(arrayGfn);
    return 0;
  }
  takeRaisable(): number[] {
    const now = this.carry.filter((p) => this.wordHost(p) !== 0);
    this.carry = this.carry.filter((p) => this.wordHost(p) === 0);
    return now;
  }

  init(port: number): void {
    const h = this.wordHost(port);
    if (h) this.host.view.setUint32(h, this.host.view.getUint32(h, true) & ~((1 << EVTCHN_FIFO_PENDING) | (1 << EVTCHN_FIFO_LINKED) | EVTCHN_FIFO_LINK_MASK), true);
  }

  isPending(port: number): boolean {
    const h = this.wordHost(port);
    return h ? ((this.host.view.getUint32(h, true) >>> EVTCHN_FIFO_PENDING) & 1) === 1 : false;
  }

  // The guest leaves MASKED set while the event is pending and asks us to
  // clear it and link the event.
  unmask(port: number, c: Channel): void {
    const h = this.wordHost(port);
    if (!h) return;
    const w = this.host.view.getUint32(h, true) & ~(1 << EVTCHN_FIFO_MASKED);
    this.host.view.setUint32(h, w >>> 0, true);
    if ((w >>> EVTCHN_FIFO_PENDING) & 1) this.link(port, c, true);
  }

  setPending(port: number, c: Channel): void { this.link(port, c, false); }

  private link(port: number, c: Channel, fromUnmask: boolean): void {
    const h = this.wordHost(port);
    if (!h) { if (!this.carry.includes(port)) this.carry.push(port); return; } // raised when its page arrives
    const view = this.host.view;
    let w = view.getUint32(h, true);
    if (!fromUnmask) { w |= 1 << EVTCHN_FIFO_PENDING; view.setUint32(h, w >>> 0, true); }
    if ((w >>> EVTCHN_FIFO_MASKED) & 1 || (w >>> EVTCHN_FIFO_LINKED) & 1) return;
    const v = this.vcpus[c.notifyVcpu];
    if (!v) return;
    w |= 1 << EVTCHN_FIFO_LINKED;
    view.setUint32(h, w >>> 0, true);
    // A queue whose tail is this (consumed, hence unlinked) port is empty:
    // forget that tail, or the port would be linked to itself below, HEAD
    // left stale and the event lost for good (event_fifo.c: old_q->tail = 0).
    for (const fv of this.vcpus) if (fv) for (let i = 0; i < fv.tails.length; i++) if (fv.tails[i] === port) fv.tails[i] = 0;
    const q = c.priority;
    let linked = false;
    const tail = v.tails[q];
    if (tail) {
      const th = this.wordHost(tail);
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

  pinnedFrames(): number[] {
    const out: number[] = [];
    for (const f of this.vcpus) if (f) out.push(f.controlFrame);
    out.push(...this.arrayFrames);
    return out;
  }

  pinnedGfns(): number[] {
    const out: number[] = [];
    for (const f of this.vcpus) if (f) out.push(Number(f.controlGfn));
    for (const g of this.arrayGfns) out.push(Number(g));
    return out;
  }

  teardown(): void {
    for (const f of this.vcpus) if (f) this.host.unpinPage(f.controlFrame);
    for (const f of this.arrayFrames) this.host.unpinPage(f);
    this.vcpus = [];
    this.arrays = [];
    this.arrayFrames = [];
    this.arrayGfns = [];
    this.carry = [];
  }

  save(): SavedFifo {
    return {
      fifo: this.vcpus.map((f) => (f ? { controlGfn: f.controlGfn.toString(), controlOffset: f.controlOffset, heads: [...f.heads], tails: [...f.tails] } : null)),
      arrayGfns: this.arrayGfns.map((g) => g.toString()),
      pendingCarry: [...this.carry],
    };
  }

  // What can be checked of saved FIFO state before anything changes.
  static check(s: SavedFifo, nrVcpus: number): string | null {
    if (s.fifo.length > nrVcpus) return `FIFO state for ${s.fifo.length} vCPUs`;
    if (s.arrayGfns.length * EVTCHN_FIFO_EVENT_WORDS_PER_PAGE > EVTCHN_FIFO_NR_CHANNELS) return `${s.arrayGfns.length} FIFO event array pages`;
    for (let v = 0; v < s.fifo.length; v++) {
      const f = s.fifo[v];
      if (f && !(Number.isInteger(f.controlOffset) && f.controlOffset >= 0 && f.controlOffset <= 4096 - evtchn_fifo_control_block.size)) return `FIFO control block of vCPU ${v}: bad offset`;
    }
    return null;
  }

  // Checked state (check()) into a fresh instance; the guest's pages must be
  // in place. An error text or null.
  load(s: SavedFifo): string | null {
    for (let v = 0; v < s.fifo.length; v++) {
      const f = s.fifo[v];
      if (!f) continue;
      const frame = this.host.pinPage(BigInt(f.controlGfn));
      if (frame < 0) return `FIFO control block of vCPU ${v} is not in the domain's memory`;
      this.vcpus[v] = { controlFrame: frame, controlHost: this.host.frameHost(frame) + f.controlOffset, controlGfn: BigInt(f.controlGfn), controlOffset: f.controlOffset, heads: [...f.heads], tails: [...f.tails] };
    }
    for (const g of s.arrayGfns) {
      const frame = this.host.pinPage(BigInt(g));
      if (frame < 0) return "a FIFO event array page is not in the domain's memory";
      this.arrays.push(this.host.frameHost(frame));
      this.arrayFrames.push(frame);
      this.arrayGfns.push(BigInt(g));
    }
    this.carry = [...s.pendingCarry];
    return null;
  }
}
