// The back end of a shared ring (src/tools/backends/back_ring.ts) against
// io/ring.h's rules, with the frontend played by hand on plain pages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BackRing } from "../src/tools/backends/back_ring.js";
import { RING_HDR, RING_ENTRIES_OFFSET } from "../src/xen/public/io/ring.js";

const ENTRY = 112; // blkif's entry size: entries straddle page boundaries on a multi-page ring

function pages(n: number): { pages: Uint8Array[]; hdr: DataView; entry(i: number, size: number): Uint8Array } {
  const buf = new Uint8Array(n * 4096);
  const ps = Array.from({ length: n }, (_, k) => buf.subarray(k * 4096, (k + 1) * 4096));
  const hdr = new DataView(buf.buffer, 0, 4096);
  return { pages: ps, hdr, entry: (i, size) => buf.subarray(RING_ENTRIES_OFFSET + (i % size) * ENTRY, RING_ENTRIES_OFFSET + (i % size) * ENTRY + ENTRY) };
}

test("a four-page ring: requests straddling pages are copied out whole, responses written back whole, indexes wrap", () => {
  const p = pages(4);
  const ring = new BackRing(p.pages, ENTRY);
  assert.equal(ring.size, 128, "(4 x 4096 - 64) / 112 rounded down to a power of two");
  // start near the u32 wrap, as a long-lived ring would be
  const start = 0xFFFFFFF0;
  p.hdr.setUint32(RING_HDR.rsp_prod, start, true);
  ring.resume();
  assert.equal(ring.reqCons, start);
  const out = new Uint8Array(ENTRY);
  for (let k = 0; k < 200; k++) {
    const i = (start + k) >>> 0;
    p.entry(i, ring.size).fill(k & 0xFF);
    p.hdr.setUint32(RING_HDR.req_prod, (i + 1) >>> 0, true);
    assert.equal(ring.unconsumed(ring.reqProd()), 1);
    ring.takeRequest(out);
    assert.ok(out.every((b) => b === (k & 0xFF)), `request ${k} copied whole`);
    const rsp = new Uint8Array(16).fill((k + 1) & 0xFF);
    ring.putResponse(rsp);
    assert.ok(p.entry(i, ring.size).subarray(0, 16).every((b) => b === ((k + 1) & 0xFF)), `response ${k} written whole`);
  }
  assert.equal(ring.reqCons, (start + 200) >>> 0);
});

test("responses are published with the notify check; the final check asks for the next request's event", () => {
  const p = pages(1);
  const ring = new BackRing(p.pages, ENTRY);
  ring.resume();
  const rsp = new Uint8Array(16);
  assert.equal(ring.pushResponses(), false, "nothing to publish");
  p.hdr.setUint32(RING_HDR.rsp_event, 1, true); // the frontend waits for the first response
  ring.putResponse(rsp);
  assert.equal(ring.pushResponses(), true);
  assert.equal(p.hdr.getUint32(RING_HDR.rsp_prod, true), 1);
  ring.putResponse(rsp);
  assert.equal(ring.pushResponses(), false, "rsp_event 1 is behind: the frontend is not waiting");
  assert.equal(p.hdr.getUint32(RING_HDR.rsp_prod, true), 2);
  // no request waiting: req_event is set to the next one
  assert.equal(ring.moreRequests(), false);
  assert.equal(p.hdr.getUint32(RING_HDR.req_event, true), ring.reqCons + 1);
  // one waiting: true, and it is there to take
  p.hdr.setUint32(RING_HDR.req_prod, 1, true);
  assert.equal(ring.moreRequests(), true);
  ring.requestEventAfter(5);
  assert.equal(p.hdr.getUint32(RING_HDR.req_event, true), 5);
});

test("a producer further ahead than the ring holds is seen as such (the caller cuts the frontend off)", () => {
  const p = pages(1);
  const ring = new BackRing(p.pages, ENTRY);
  ring.resume();
  p.hdr.setUint32(RING_HDR.req_prod, ring.size + 1, true);
  assert.ok(ring.unconsumed(ring.reqProd()) > ring.size);
  p.hdr.setUint32(RING_HDR.req_prod, 0xFFFFFFFF, true); // "behind" the consumer is far ahead in u32 terms
  assert.ok(ring.unconsumed(ring.reqProd()) > ring.size);
});
