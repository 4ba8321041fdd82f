// A guest's end of its xenstore ring (io/xs_wire.h), played from TypeScript
// as its kernel's xenbus driver would: requests written into the shared
// page a piece at a time as room allows, the event channel kicked, replies
// and watch events taken from the response ring and split into messages.

import type { Hypervisor } from "../../xen/hypervisor.js";
import type { Domain } from "../../xen/domain.js";
import { PlayedGuest } from "./played_guest.js";
import { XSRING, XENSTORE_RING_SIZE, XSD_SOCKMSG_SIZE } from "../../xen/public/io/xs_wire.js";
import { HYPERVISOR } from "../../xen/public/xen.js";
import { EVTCHNOP, evtchn_send } from "../../xen/public/event_channel.js";

export interface XsMessage { type: number; reqId: number; txId: number; payload: Buffer }

export class PlayedXenstoreRing {
  private readonly page: Uint8Array;
  private readonly dv: DataView;
  private readonly played: PlayedGuest;
  private buf = Buffer.alloc(0);
  private reqId = 1;
  private sink: XsMessage[] | null = null; // what request() collects

  // storeGfn/storePort: where the toolstack put the ring and its event channel
  constructor(private readonly hv: Hypervisor, d: Domain, storeGfn: bigint, private readonly port: number,
    private readonly onMessage: (m: XsMessage) => void = () => {}) {
    const h = d.p2m.hostAddr(storeGfn << 12n, true);
    if (h < 0) throw new Error(`d${d.id}: no xenstore page at gfn 0x${storeGfn.toString(16)}`);
    this.page = hv.core.bytes.subarray(h, h + 4096);
    this.dv = new DataView(this.page.buffer, this.page.byteOffset, 4096);
    this.played = new PlayedGuest(hv, d);
  }

  // xenstored gave up on this ring (the error field, as Xen's xenstored sets it)
  get cutOff(): boolean { return this.dv.getUint32(XSRING.error, true) !== 0; }
  header(field: keyof typeof XSRING): number { return this.dv.getUint32(XSRING[field], true); }
  setHeader(field: keyof typeof XSRING, v: number): void { this.dv.setUint32(XSRING[field], v >>> 0, true); }

  kick(): void {
    this.played.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.send), evtchn_send, (s) => s.set("port", this.port), 1n, 4000);
    this.hv.runFor(1); // Domain-0's upcall: xenstored services the ring
  }

  // Raw bytes into the request ring, a piece at a time as room allows;
  // false if the ring was cut off (or never drained) on the way.
  send(msg: Uint8Array): boolean {
    let off = 0;
    for (let spins = 0; off < msg.length && spins < 64; spins++) {
      const c = this.header("req_cons"), p = this.header("req_prod");
      const n = Math.min(XENSTORE_RING_SIZE - ((p - c) >>> 0), msg.length - off);
      for (let i = 0; i < n; i++) this.page[XSRING.req + ((p + i) & (XENSTORE_RING_SIZE - 1))] = msg[off + i];
      this.setHeader("req_prod", p + n);
      off += n;
      this.kick();
      this.poll();
      if (this.cutOff) return false;
    }
    return off === msg.length;
  }

  // Take what xenstored wrote to the response ring; hand on whole messages.
  poll(): void {
    const c = this.header("rsp_cons"), p = this.header("rsp_prod");
    const n = Math.min((p - c) >>> 0, XENSTORE_RING_SIZE);
    if (!n) return;
    const bytes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) bytes[i] = this.page[XSRING.rsp + ((c + i) & (XENSTORE_RING_SIZE - 1))];
    this.setHeader("rsp_cons", p);
    this.buf = Buffer.concat([this.buf, bytes]);
    while (this.buf.length >= XSD_SOCKMSG_SIZE) {
      const len = this.buf.readUInt32LE(12);
      if (this.buf.length < XSD_SOCKMSG_SIZE + len) break;
      const m = { type: this.buf.readUInt32LE(0), reqId: this.buf.readUInt32LE(4), txId: this.buf.readUInt32LE(8), payload: this.buf.subarray(XSD_SOCKMSG_SIZE, XSD_SOCKMSG_SIZE + len) };
      this.buf = this.buf.subarray(XSD_SOCKMSG_SIZE + len);
      this.sink?.push(m);
      this.onMessage(m);
    }
  }

  // One well-formed request; the messages that came back while it was sent.
  request(type: number, payload: string | Uint8Array, txId = 0): XsMessage[] {
    const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
    const h = Buffer.alloc(XSD_SOCKMSG_SIZE);
    h.writeUInt32LE(type, 0); h.writeUInt32LE(this.reqId++, 4); h.writeUInt32LE(txId, 8); h.writeUInt32LE(body.length, 12);
    const got: XsMessage[] = [];
    this.sink = got;
    try { this.send(new Uint8Array(Buffer.concat([h, body]))); } finally { this.sink = null; }
    return got;
  }
}
