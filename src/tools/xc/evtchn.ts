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
  upcall(): void {
    if (this.inUpcall) return;
    this.inUpcall = true;
    try {
      const vi = this.vi(), si = this.si();
      while (vi.getUint8(UPCALL) !== 0) {
        vi.setUint8(UPCALL, 0);
        const sel = vi.getBigUint64(SEL, true);
        vi.setBigUint64(SEL, 0n, true);
        for (let w = 0; w < 64; w++) {
          if (((sel >> BigInt(w)) & 1n) === 0n) continue;
          const pa = PENDING + w * 8;
          const bits = si.getBigUint64(pa, true) & ~si.getBigUint64(MASK + w * 8, true);
          if (bits === 0n) continue;
          si.setBigUint64(pa, si.getBigUint64(pa, true) & ~bits, true);
          for (let b = 0; b < 64; b++) {
            if (((bits >> BigInt(b)) & 1n) === 0n) continue;
            const port = w * 64 + b;
            this.handlers.get(port)?.(port);
          }
        }
      }
    } finally {
      this.inUpcall = false;
    }
  }
}
