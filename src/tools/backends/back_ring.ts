// The back end of a shared ring, as Xen's io/ring.h BACK_RING: the private
// request consumer and response producer, requests copied out of the shared
// pages before anything looks at them (the frontend may change them at any
// moment), responses written at the private producer and published with
// RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, and RING_FINAL_CHECK_FOR_REQUESTS.
// Rings of one page (netif) or several (blkif with ring-page-order) alike.
// Nothing here allocates per request.

import { RING_HDR, RING_ENTRIES_OFFSET, ringSize, needNotify } from "../../xen/public/io/ring.js";

const PAGE = 4096;

export class BackRing {
  readonly size: number; // entries, a power of two
  reqCons = 0;
  rspProdPvt = 0;
  private readonly hdr: DataView;

  // pages: the ring's pages in order, as mapped from the frontend's grants.
  constructor(private readonly pages: Uint8Array[], private readonly entryBytes: number) {
    this.size = ringSize(entryBytes, PAGE * pages.length);
    const p = pages[0];
    this.hdr = new DataView(p.buffer, p.byteOffset, PAGE);
  }

  // A ring that was in use before (a restored or migrated guest) carries on:
  // every request consumed then was answered, so both indexes start at the
  // published response producer (0 on a fresh ring).
  resume(): void { this.reqCons = this.rspProdPvt = this.hdr.getUint32(RING_HDR.rsp_prod, true); }

  // The frontend's request producer now.
  reqProd(): number { return this.hdr.getUint32(RING_HDR.req_prod, true); }
  // Requests published and not yet consumed, counted up to prod; more than
  // the ring holds means a frontend that lies (the caller cuts it off).
  unconsumed(prod: number): number { return (prod - this.reqCons) >>> 0; }

  // Copies the entry at ring index i (any index; taken modulo the size).
  read(i: number, out: Uint8Array): void { this.copy(this.offset(i), out, true); }
  // The next request into `out`; the consumer moves on.
  takeRequest(out: Uint8Array): void {
    this.read(this.reqCons, out);
    this.reqCons = (this.reqCons + 1) >>> 0;
  }
  // Skips a request whose slot is answered without being read (netif's
  // extra-info response takes a buffer's slot).
  skipRequest(): void { this.reqCons = (this.reqCons + 1) >>> 0; }
  // `data` as the next response (the private producer moves on).
  putResponse(data: Uint8Array): void {
    this.copy(this.offset(this.rspProdPvt), data, false);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
  }

  // RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish, and whether the frontend asked to be told.
  pushResponses(): boolean {
    const old = this.hdr.getUint32(RING_HDR.rsp_prod, true);
    if (old === this.rspProdPvt) return false;
    this.hdr.setUint32(RING_HDR.rsp_prod, this.rspProdPvt, true);
    return needNotify(old, this.rspProdPvt, this.hdr.getUint32(RING_HDR.rsp_event, true));
  }

  // RING_FINAL_CHECK_FOR_REQUESTS: true if requests are waiting; otherwise
  // the frontend is asked to notify on the next one (and checked once more).
  moreRequests(): boolean {
    if (this.reqProd() !== this.reqCons) return true;
    this.requestEventAfter(1);
    return this.reqProd() !== this.reqCons;
  }
  // Be notified when `n` more requests than consumed have been published.
  requestEventAfter(n: number): void { this.hdr.setUint32(RING_HDR.req_event, (this.reqCons + n) >>> 0, true); }

  private offset(i: number): number { return RING_ENTRIES_OFFSET + (i & (this.size - 1)) * this.entryBytes; }

  // Ring bytes at `off` from the start of the shared ring (may cross pages).
  private copy(off: number, buf: Uint8Array, fromRing: boolean): void {
    for (let done = 0; done < buf.length;) {
      const pg = this.pages[(off + done) >> 12], o = (off + done) & (PAGE - 1);
      const n = Math.min(buf.length - done, PAGE - o);
      if (fromRing) buf.set(pg.subarray(o, o + n), done);
      else pg.set(buf.subarray(done, done + n), o);
      done += n;
    }
  }
}
