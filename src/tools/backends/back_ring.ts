// The back end of a shared ring (xen/include/public/io/ring.h), once for
// every backend: the private request consumer and response producer,
// requests copied out of the ring before anyone looks at them (a frontend
// that rewrites a slot afterwards changes nothing), responses written and
// pushed with RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, and
// RING_FINAL_CHECK_FOR_REQUESTS. A ring may span several pages (blkif's
// ring-page-order); entries may then straddle a page boundary. Nothing here
// allocates per request.

import { RING_HDR, RING_ENTRIES_OFFSET, ringSize, needNotify } from "../../xen/public/io/ring.js";

const PAGE = 4096;

export class BackRing {
  reqCons = 0;
  rspProdPvt = 0;
  readonly size: number; // entries, a power of two
  private readonly hdr: DataView;

  // `pages`: the ring's pages as mapped, in order.
  constructor(private readonly pages: readonly Uint8Array[], readonly entrySize: number) {
    this.size = ringSize(entrySize, PAGE * pages.length);
    this.hdr = new DataView(pages[0].buffer, pages[0].byteOffset, PAGE);
    // A ring that was in use before (a restored or migrated guest) carries
    // on: every request consumed then was answered, so both indexes start
    // at the published response producer (0 on a fresh ring).
    this.reqCons = this.rspProdPvt = this.hdr.getUint32(RING_HDR.rsp_prod, true);
  }

  // The frontend's request producer as it is now.
  requestProducer(): number { return this.hdr.getUint32(RING_HDR.req_prod, true); }
  // Requests published up to `prod` and not consumed yet. More than `size`
  // means the frontend broke the protocol (its producer ran past the ring).
  unconsumed(prod: number): number { return (prod - this.reqCons) >>> 0; }

  // The request at the consumer, copied into `out` (entrySize bytes at most), and consumed.
  copyRequest(out: Uint8Array): void {
    this.copy(this.reqCons, out, false);
    this.reqCons = (this.reqCons + 1) >>> 0;
  }
  // A request consumed without being read (its slot carries a response that is not its own).
  skipRequest(): void { this.reqCons = (this.reqCons + 1) >>> 0; }

  // `rsp` into the next response slot (its first rsp.length bytes).
  writeResponse(rsp: Uint8Array): void {
    this.copy(this.rspProdPvt, rsp, true);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
  }

  // RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes the responses written;
  // true when the frontend asked to be notified of them.
  pushResponses(): boolean {
    const old = this.hdr.getUint32(RING_HDR.rsp_prod, true);
    if (old === this.rspProdPvt) return false;
    this.hdr.setUint32(RING_HDR.rsp_prod, this.rspProdPvt, true);
    return needNotify(old, this.rspProdPvt, this.hdr.getUint32(RING_HDR.rsp_event, true));
  }

  // RING_FINAL_CHECK_FOR_REQUESTS: true when there are requests to consume;
  // when there are none, the frontend is asked to notify the next one.
  finalCheckForRequests(): boolean {
    if (this.requestProducer() !== this.reqCons) return true;
    this.hdr.setUint32(RING_HDR.req_event, (this.reqCons + 1) >>> 0, true);
    return this.requestProducer() !== this.reqCons;
  }

  // Asks to be notified once `n` requests past the consumer are published
  // (a backend waiting for enough of the frontend's buffers).
  awaitRequests(n: number): void { this.hdr.setUint32(RING_HDR.req_event, (this.reqCons + n) >>> 0, true); }

  private copy(index: number, buf: Uint8Array, toRing: boolean): void {
    const off = RING_ENTRIES_OFFSET + (index & (this.size - 1)) * this.entrySize;
    let page = this.pages[off >> 12], o = off & (PAGE - 1);
    for (let i = 0; i < buf.length; i++, o++) {
      if (o === PAGE) { page = this.pages[(off + i) >> 12]; o = 0; }
      if (toRing) page[o] = buf[i];
      else buf[i] = page[o];
    }
  }
}
