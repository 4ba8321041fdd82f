// ring.h's back end (back_ring.ts), played against a frontend written
// here: requests copied out whole (also across a page boundary of a
// multi-page ring), responses pushed with the notify rule, the final check
// asking for the next request's event, a ring taken over mid-life, and a
// producer that ran past the ring seen as such.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BackRing } from "../../src/tools/backends/back_ring.js";
import { RING_HDR, RING_ENTRIES_OFFSET } from "../../src/xen/public/io/ring.js";

const ENTRY = 112; // blkif's: 36 entries end across the first page boundary of a two-page ring
function pages(n: number): { pages: Uint8Array[]; hdr: DataView; put(i: number, fill: number): void; at(i: number): number[] } {
  const buf = new Uint8Array(4096 * n);
  const ps = Array.from({ length: n }, (_, k) => buf.subarray(k * 4096, (k + 1) * 4096));
  const hdr = new DataView(buf.buffer, 0, 4096);
  return {
    pages: ps, hdr,
    put: (i, fill) => buf.fill(fill, RING_ENTRIES_OFFSET + i * ENTRY, RING_ENTRIES_OFFSET + (i + 1) * ENTRY),
    at: (i) => [...buf.subarray(RING_ENTRIES_OFFSET + i * ENTRY, RING_ENTRIES_OFFSET + (i + 1) * ENTRY)],
  };
}

test("back ring: requests across a page boundary, responses and the notify rule, the final check", () => {
  const f = pages(2);
  const r = new BackRing(f.pages, ENTRY);
  assert.equal(r.size, 64, "(8192 - 64) / 112 = 72, rounded down to a power of two");
  // entry 36 spans bytes 4096-16 .. 4096+96: straddles the boundary
  const straddle = Math.floor((4096 - RING_ENTRIES_OFFSET) / ENTRY);
  for (let i = 0; i <= straddle; i++) f.put(i, i + 1);
  f.hdr.setUint32(RING_HDR.req_prod, straddle + 1, true);
  f.hdr.setUint32(RING_HDR.rsp_event, 1, true); // the frontend wants to hear of the first response
  const req = new Uint8Array(ENTRY);
  assert.equal(r.unconsumed(r.requestProducer()), straddle + 1);
  for (let i = 0; i <= straddle; i++) {
    r.copyRequest(req);
    assert.ok(req.every((b) => b === i + 1), `request ${i} whole`);
    // answer in place, as blkback does (a shorter response: its first bytes only)
    r.writeResponse(new Uint8Array(16).fill(0xA0 + (i & 15)));
  }
  assert.deepEqual(f.at(straddle).slice(0, 16), new Array(16).fill(0xA0 + (straddle & 15)), "the straddling slot got its response");
  assert.deepEqual(f.at(straddle).slice(16), new Array(ENTRY - 16).fill(straddle + 1), "and only its first bytes");
  assert.equal(r.pushResponses(), true, "rsp_event 1 lies in (0, 37]");
  assert.equal(f.hdr.getUint32(RING_HDR.rsp_prod, true), straddle + 1);
  assert.equal(r.pushResponses(), false, "nothing new to push");
  assert.equal(r.finalCheckForRequests(), false);
  assert.equal(f.hdr.getUint32(RING_HDR.req_event, true), straddle + 2, "the next request will be notified");
  // the frontend asked to hear only from response 100 on
  f.hdr.setUint32(RING_HDR.rsp_event, 100, true);
  f.put(straddle + 1, 9);
  f.hdr.setUint32(RING_HDR.req_prod, straddle + 2, true);
  assert.equal(r.finalCheckForRequests(), true);
  r.copyRequest(req);
  r.writeResponse(new Uint8Array(16));
  assert.equal(r.pushResponses(), false, "rsp_event 100 is not passed");
});

test("back ring: a ring in use carries on from the published responses; wrap-around and a producer past the ring", () => {
  const f = pages(1);
  const start = 0xFFFFFFF0; // the indexes wrap during this test
  f.hdr.setUint32(RING_HDR.rsp_prod, start, true);
  f.hdr.setUint32(RING_HDR.req_prod, start, true);
  const r = new BackRing(f.pages, ENTRY);
  assert.equal(r.size, 32);
  assert.equal(r.reqCons, start);
  assert.equal(r.rspProdPvt, start);
  f.hdr.setUint32(RING_HDR.req_prod, (start + 32) >>> 0, true);
  assert.equal(r.unconsumed(r.requestProducer()), 32, "a full ring is not an overrun");
  const req = new Uint8Array(ENTRY);
  for (let i = 0; i < 32; i++) { r.copyRequest(req); r.writeResponse(req.subarray(0, 8)); }
  assert.equal(r.reqCons, (start + 32) >>> 0);
  f.hdr.setUint32(RING_HDR.rsp_event, (start + 1) >>> 0, true);
  assert.equal(r.pushResponses(), true);
  f.hdr.setUint32(RING_HDR.req_prod, (start + 32 + 33) >>> 0, true);
  assert.ok(r.unconsumed(r.requestProducer()) > r.size, "33 unconsumed on a 32-entry ring: the frontend broke the protocol");
  r.awaitRequests(3);
  assert.equal(f.hdr.getUint32(RING_HDR.req_event, true), (start + 35) >>> 0);
});
