// The 2-level event channel ABI (the semantics of Xen's event_2l.c): a
// pending and a mask bitmap in shared_info, and per vCPU a selector word in
// vcpu_info naming which bitmap words have something pending.

import { EVTCHN_2L_NR_CHANNELS } from "./public/event_channel.js";
import { shared_info, vcpu_info } from "./public/xen.js";
import type { EventPortOps, Channel, EventHost } from "./event_port_ops.js";

const PENDING_OFF = shared_info.fields.evtchn_pending.offset;
const MASK_OFF = shared_info.fields.evtchn_mask.offset;
const SEL_OFF = vcpu_info.fields.evtchn_pending_sel.offset;

export class Event2L implements EventPortOps {
  readonly abi = "2l" as const;
  readonly maxPorts = EVTCHN_2L_NR_CHANNELS;

  constructor(private readonly host: EventHost) {}

  private bit(off: number, port: number): boolean {
    const a = this.host.sharedInfoHost() + off + (port >> 6) * 8;
    return ((this.host.view.getBigUint64(a, true) >> BigInt(port & 63)) & 1n) === 1n;
  }

  // Sets the bit; whether it was set already.
  private testAndSet64(addr: number, bit: number): boolean {
    const v = this.host.view.getBigUint64(addr, true);
    const m = 1n << BigInt(bit);
    if (v & m) return true;
    this.host.view.setBigUint64(addr, v | m, true);
    return false;
  }

  // The port's word is pending: set its selector bit and raise the upcall.
  private notify(port: number, vcpu: number): void {
    const vi = this.host.vcpuInfoHost(vcpu);
    if (vi >= 0 && !this.testAndSet64(vi + SEL_OFF, port >> 6)) this.host.markEventsPending(vcpu);
  }

  init(port: number): void {
    const w = this.host.sharedInfoHost() + PENDING_OFF + (port >> 6) * 8;
    this.host.view.setBigUint64(w, this.host.view.getBigUint64(w, true) & ~(1n << BigInt(port & 63)), true);
  }

  setPending(port: number, c: Channel): void {
    if (this.testAndSet64(this.host.sharedInfoHost() + PENDING_OFF + (port >> 6) * 8, port & 63)) return;
    if (this.bit(MASK_OFF, port)) return;
    this.notify(port, c.notifyVcpu);
  }

  isPending(port: number): boolean { return this.bit(PENDING_OFF, port); }

  unmask(port: number, c: Channel): void {
    const ma = this.host.sharedInfoHost() + MASK_OFF + (port >> 6) * 8;
    const m = this.host.view.getBigUint64(ma, true);
    const bit = 1n << BigInt(port & 63);
    if (m & bit) this.host.view.setBigUint64(ma, m & ~bit, true);
    if (this.isPending(port)) this.notify(port, c.notifyVcpu);
  }

  pinnedFrames(): number[] { return []; }
  pinnedGfns(): number[] { return []; }
  teardown(): void { /* shared_info belongs to the domain, nothing pinned */ }
}
