// The control domain's event channels, as Linux's evtchn driver gives them
// to user space: bind (interdomain, unbound, VIRQ), notify, close, and a
// handler per port. Delivery uses the 2-level ABI on the domain's own
// shared_info and vcpu_info pages.

import type { Xc } from "./xc.js";
import {
  HYPERVISOR, shared_info, vcpu_info,
} from "../../xen/public/xen.js";
import {
  EVTCHNOP, evtchn_bind_interdomain, evtchn_alloc_unbound, evtchn_bind_virq, evtchn_send, evtchn_close, evtchn_unmask,
} from "../../xen/public/event_channel.js";

export type PortHandler = (port: number) => void;

const PENDING = shared_info.fields.evtchn_pending.offset;
const MASK = shared_info.fields.evtchn_mask.offset;
const UPCALL = vcpu_info.fields.evtchn_upcall_pending.offset;
const SEL = vcpu_info.fields.evtchn_pending_sel.offset;

export class EventChannels {
  private readonly handlers = new Map<number, PortHandler>();
  private inUpcall = false;

  constructor(private readonly xc: Xc, private readonly sharedInfoIpa: bigint, private readonly vcpuInfoIpa: bigint) {
    xc.pc.setUpcallHandler(() => this.upcall());
  }

  private si(): DataView { return this.xc.mem.view(this.sharedInfoIpa); }
  private vi(): DataView { return this.xc.mem.view(this.vcpuInfoIpa); }

  private attach(port: number, h: PortHandler): number {
    this.handlers.set(port, h);
    // unmask: clear our mask bit, and let Xen re-raise anything pending
    const si = this.si();
    const w = MASK + (port >> 6) * 8;
    si.setBigUint64(w, si.getBigUint64(w, true) & ~(1n << BigInt(port & 63)), true);
    this.xc.op("evtchn unmask", HYPERVISOR.event_channel_op, EVTCHNOP.unmask, evtchn_unmask, (s) => s.set("port", port));
    return port;
  }

  bindInterdomain(remoteDom: number, remotePort: number, h: PortHandler): number {
    const r = this.xc.op("bind_interdomain", HYPERVISOR.event_channel_op, EVTCHNOP.bind_interdomain, evtchn_bind_interdomain,
      (s) => s.set("remote_dom", remoteDom).set("remote_port", remotePort));
    return this.attach(r.num("local_port"), h);
  }
  allocUnbound(remoteDom: number, h: PortHandler): number {
    const r = this.xc.op("alloc_unbound", HYPERVISOR.event_channel_op, EVTCHNOP.alloc_unbound, evtchn_alloc_unbound,
      (s) => s.set("dom", 0x7FF0).set("remote_dom", remoteDom));
    return this.attach(r.num("port"), h);
  }
  bindVirq(virq: number, h: PortHandler): number {
    const r = this.xc.op("bind_virq", HYPERVISOR.event_channel_op, EVTCHNOP.bind_virq, evtchn_bind_virq,
      (s) => s.set("virq", virq).set("vcpu", 0));
    return this.attach(r.num("port"), h);
  }
  notify(port: number): void {
    this.xc.op("evtchn send", HYPERVISOR.event_channel_op, EVTCHNOP.send, evtchn_send, (s) => s.set("port", port));
  }
  close(port: number): void {
    this.handlers.delete(port);
    try {
      this.xc.op("evtchn close", HYPERVISOR.event_channel_op, EVTCHNOP.close, evtchn_close, (s) => s.set("port", port));
    } catch { /* the peer may have gone */ }
  }

  // The upcall: scan the selector and pending words, clearing what we handle.
  // Words are read as 32-bit halves and their set bits found with clz32, low
  // ports first (BigInt shifts, ~130 a word, made it ~7 us an upcall, ~17 ms
  // of a guest's boot). Nothing else writes these pages while this runs: the
  // hypervisor is on this thread.
  upcall(): void {
    if (this.inUpcall) return;
    this.inUpcall = true;
    try {
      const vi = this.vi(), si = this.si();
      while (vi.getUint8(UPCALL) !== 0) {
        vi.setUint8(UPCALL, 0);
        for (let half = 0; half < 2; half++) {
          let sel = vi.getUint32(SEL + half * 4, true);
          vi.setUint32(SEL + half * 4, 0, true);
          for (; sel !== 0; sel &= sel - 1) {
            const w = half * 32 + lowestBit(sel);
            for (let h = 0; h < 2; h++) {
              const pa = PENDING + w * 8 + h * 4;
              const pending = si.getUint32(pa, true);
              let bits = (pending & ~si.getUint32(MASK + w * 8 + h * 4, true)) >>> 0;
              if (bits === 0) continue;
              si.setUint32(pa, (pending & ~bits) >>> 0, true);
              for (; bits !== 0; bits = (bits & (bits - 1)) >>> 0) {
                const port = w * 64 + h * 32 + lowestBit(bits);
                this.handlers.get(port)?.(port);
              }
            }
          }
        }
      }
    } finally {
      this.inUpcall = false;
    }
  }
}

// The index of the lowest set bit of a non-zero 32-bit value.
function lowestBit(v: number): number { return 31 - Math.clz32(v & -v); }
