// A guest's xenstore connection: the xenstore_domain_interface page (two
// 1 KiB byte rings) mapped from the guest, and its event channel. Requests
// are streamed out of req[]; replies and watch events go into rsp[] as the
// guest makes room. Index corruption, or a message over the protocol's
// limit, cuts the connection off and says why in the ring's error field,
// as Xen's xenstored does.

import type { Xc, ForeignMapping } from "../xc/xc.js";
import type { EventChannels } from "../xc/evtchn.js";
import type { Transport } from "./xenstored.js";
import { QUOTA } from "./xenstored.js";
import { XSRING, XENSTORE_RING_SIZE, XENSTORE_ERROR } from "../../xen/public/io/xs_wire.js";

export class DomainRing implements Transport {
  private readonly map: ForeignMapping;
  private port: number;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private closed = false;
  private holdUntilRequest = false; // see resumed()
  onInput: (data: Uint8Array) => void = () => {};
  onDead: (reason: string) => void = () => {};

  constructor(xc: Xc, private readonly evtchn: EventChannels, readonly domid: number, gfn: bigint, remotePort: number) {
    this.map = xc.mapForeign(domid, [gfn]);
    try {
      this.port = evtchn.bindInterdomain(domid, remotePort, () => this.service());
    } catch (e) { this.map.unmap(); throw e; }
  }

  // The guest resumes from a suspend with new event channels (the
  // toolstack reset them), and Linux's xb_init_comms then discards the
  // responses it had not read. Taken back while the guest is paused, and
  // nothing written until its first request after the resume, they reach
  // it after all: it reads on from where it stopped, mid-message or not.
  resumed(remotePort: number): void {
    if (this.closed) return;
    const unread = this.unread("rsp");
    if (!unread) return;
    if (unread.length > 0) {
      this.out.unshift(unread);
      this.outBytes += unread.length;
      this.dv().setUint32(XSRING.rsp_prod, this.dv().getUint32(XSRING.rsp_cons, true), true);
    }
    this.holdUntilRequest = true;
    this.evtchn.close(this.port);
    this.port = this.evtchn.bindInterdomain(this.domid, remotePort, () => this.service());
  }

  // The bytes between one ring's consumer and producer, or null (and the
  // connection cut off) if its indexes are corrupt.
  private unread(ring: "req" | "rsp"): Uint8Array | null {
    const dv = this.dv(), page = this.map.page(0);
    const c = dv.getUint32(XSRING[`${ring}_cons`], true), p = dv.getUint32(XSRING[`${ring}_prod`], true);
    const n = (p - c) >>> 0;
    if (n > XENSTORE_RING_SIZE) { this.fail(`${ring === "req" ? "request" : "response"} ring indexes ${c}/${p} are corrupt`); return null; }
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = page[XSRING[ring] + ((c + i) & (XENSTORE_RING_SIZE - 1))];
    return data;
  }

  private dv(): DataView { const p = this.map.page(0); return new DataView(p.buffer, p.byteOffset, 4096); }

  send(msg: Uint8Array): void {
    if (this.closed) return;
    this.out.push(msg);
    this.outBytes += msg.length;
    if (this.outBytes > QUOTA.outputQueueBytes) { this.fail("the guest does not read its xenstore replies"); return; }
    this.service();
  }

  private fail(reason: string): void { this.close(reason, XENSTORE_ERROR.RINGIDX); }

  service(): void {
    if (this.closed) return;
    const page = this.map.page(0);
    const dv = this.dv();
    let notify = false;
    // requests
    const data = this.unread("req");
    if (!data) return;
    if (data.length > 0) {
      dv.setUint32(XSRING.req_cons, (dv.getUint32(XSRING.req_cons, true) + data.length) >>> 0, true);
      notify = true;
      this.holdUntilRequest = false;
      this.onInput(data);
      if (this.closed) return;
    }
    // replies
    if (this.holdUntilRequest) { if (notify) this.evtchn.notify(this.port); return; }
    const sc = dv.getUint32(XSRING.rsp_cons, true);
    let sp = dv.getUint32(XSRING.rsp_prod, true);
    const used = (sp - sc) >>> 0;
    if (used > XENSTORE_RING_SIZE) { this.fail(`response ring indexes ${sc}/${sp} are corrupt`); return; }
    let space = XENSTORE_RING_SIZE - used;
    while (this.out.length && space > 0) {
      const m = this.out[0];
      const n = Math.min(space, m.length);
      for (let i = 0; i < n; i++) page[XSRING.rsp + ((sp + i) & (XENSTORE_RING_SIZE - 1))] = m[i];
      sp = (sp + n) >>> 0;
      space -= n;
      this.outBytes -= n;
      if (n === m.length) this.out.shift(); else this.out[0] = m.subarray(n);
      notify = true;
    }
    dv.setUint32(XSRING.rsp_prod, sp, true);
    if (notify) this.evtchn.notify(this.port);
  }

  close(reason: string, error?: number): void {
    if (this.closed) return;
    // cut off for breaking the protocol: the guest can tell from its page
    if (error !== undefined) {
      this.dv().setUint32(XSRING.error, error, true);
      this.onDead(reason);
    }
    this.closed = true;
    this.evtchn.close(this.port);
    this.map.unmap();
  }
}
