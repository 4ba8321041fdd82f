// Domain-0's upcall (src/tools/xc/evtchn.ts): the 2-level scan of the
// selector and the pending words hands every unmasked pending port to its
// handler once, low ports first, across 32-bit halves and words; clears what
// it handled and nothing else; and takes events raised meanwhile.

import { test } from "node:test";
import assert from "node:assert/strict";
import { EventChannels } from "../../src/tools/xc/evtchn.js";
import type { Xc } from "../../src/tools/xc/xc.js";
import { shared_info, vcpu_info } from "../../src/xen/public/xen.js";

const PENDING = shared_info.fields.evtchn_pending.offset;
const MASK = shared_info.fields.evtchn_mask.offset;
const UPCALL = vcpu_info.fields.evtchn_upcall_pending.offset;
const SEL = vcpu_info.fields.evtchn_pending_sel.offset;
const SI = 0x1000n, VI = 0x2000n;

// The two pages and the hypercalls EventChannels makes: a bind answers the
// next port asked for; unmask and the rest succeed.
function world(): { ev: EventChannels; si: DataView; vi: DataView; bind: (port: number, h: (p: number) => void) => void; upcall: () => void } {
  const si = new DataView(new ArrayBuffer(4096)), vi = new DataView(new ArrayBuffer(64));
  let next = 0;
  let upcall = (): void => {};
  const fake = {
    pc: { setUpcallHandler: (h: () => void) => { upcall = h; } },
    mem: { view: (ipa: bigint) => (ipa === SI ? si : vi) },
    op: () => ({ num: () => next }),
  };
  // (Only the members EventChannels uses: a whole Xc needs a hypervisor.)
  const ev = new EventChannels(fake as unknown as Xc, SI, VI);
  // every port masked until bound, as a fresh shared_info's are not, so that a stray bit shows
  for (let i = 0; i < 512; i++) si.setUint8(MASK + i, 0xFF);
  return { ev, si, vi, bind: (port, h) => { next = port; ev.bindVirq(0, h); }, upcall: () => upcall() };
}

function raise(w: { si: DataView; vi: DataView }, port: number): void {
  const word = port >> 6, bit = port & 63;
  const p = PENDING + word * 8 + (bit >> 5) * 4;
  w.si.setUint32(p, (w.si.getUint32(p, true) | (1 << (bit & 31))) >>> 0, true);
  const s = SEL + (word >> 5) * 4;
  w.vi.setUint32(s, (w.vi.getUint32(s, true) | (1 << (word & 31))) >>> 0, true);
  w.vi.setUint8(UPCALL, 1);
}

const isPending = (si: DataView, port: number): boolean => ((si.getUint32(PENDING + (port >> 6) * 8 + ((port & 63) >> 5) * 4, true) >>> (port & 31)) & 1) === 1;

test("every unmasked pending port reaches its handler once, low ports first, across halves and words", () => {
  const w = world();
  const ports = [4095, 2081, 127, 96, 95, 64, 63, 32, 31, 1, 0, 1984, 2047];
  const seen: number[] = [];
  for (const p of ports) w.bind(p, (q) => seen.push(q));
  for (const p of ports) raise(w, p);
  w.upcall();
  assert.deepEqual(seen, [...ports].sort((a, b) => a - b));
  for (const p of ports) assert.equal(isPending(w.si, p), false, `port ${p} cleared`);
  assert.equal(w.vi.getUint8(UPCALL), 0);
  assert.equal(w.vi.getBigUint64(SEL, true), 0n);
});

test("a masked port stays pending and unhandled; a pending port without a handler is cleared", () => {
  const w = world();
  const seen: number[] = [];
  for (const p of [5, 37, 70]) w.bind(p, (q) => seen.push(q));
  // 37 masked again after binding; 100 has no handler (and is unmasked)
  w.si.setUint8(MASK + (37 >> 3), w.si.getUint8(MASK + (37 >> 3)) | (1 << (37 & 7)));
  w.si.setUint8(MASK + (100 >> 3), w.si.getUint8(MASK + (100 >> 3)) & ~(1 << (100 & 7)));
  for (const p of [5, 37, 70, 100]) raise(w, p);
  w.upcall();
  assert.deepEqual(seen, [5, 70]);
  assert.equal(isPending(w.si, 37), true, "the masked port waits");
  assert.equal(isPending(w.si, 100), false);
});

test("an event a handler raises, in a word already scanned or not, is handled in the same upcall", () => {
  const w = world();
  const seen: number[] = [];
  w.bind(3, (q) => { seen.push(q); if (seen.length === 1) { raise(w, 2); raise(w, 3000); } });
  w.bind(2, (q) => seen.push(q));
  w.bind(3000, (q) => seen.push(q));
  raise(w, 3);
  w.upcall();
  assert.deepEqual(seen.sort((a, b) => a - b), [2, 3, 3000]);
  assert.equal(w.vi.getUint8(UPCALL), 0);
  for (const p of [2, 3, 3000]) assert.equal(isPending(w.si, p), false);
});
