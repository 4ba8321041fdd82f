// The last round of a live copy and the domain's context are of one moment
// (MemoryCopy.stop): with the domain paused, its backends still write its
// pages between turns of the event loop (a frame arriving, an event raised),
// and the pages sent last must not be older than the context sent after
// them. Here a stand-in backend writes a counter into one page every
// millisecond and the context records the counter; the copy waits for a
// slow link between batches. A migration's last round used to go out in
// batches that gave way to the event loop, with the context taken after:
// the destination got a FIFO event queue's tail from the context without
// the links the copied pages should have held, and the guest's network
// stopped for good (bench migrate, busy, 4 runs in 4).
import { test } from "node:test";
import assert from "node:assert/strict";
import { bookedHost } from "../helpers/host.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { MemoryCopy } from "../../src/tools/memory_copy.js";
import { StreamWriter, StreamReader, REC, decodePages } from "../../src/tools/save_stream.js";

test("the pages of a live copy's last round and the context it ends with are of one moment", async () => {
  const a = bookedHost();
  const g = a.ts.create({ name: "copied", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  const d = a.host.hv.domains.get(g.domid)!;
  // a write as a backend's through its mapping: the page is logged dirty
  const write = (gfn: number, v: number): void => {
    const h = d.p2m.hostAddr(BigInt(gfn) << 12n, true);
    assert.ok(h >= 0);
    new DataView(d.bytes.buffer, d.bytes.byteOffset + h, 4).setUint32(0, v, true);
  };
  const P = RAM0_GFN + 50;
  const chunks: Buffer[] = [];
  const w = new StreamWriter({ write: (b) => { chunks.push(Buffer.from(b)); } });
  // a link whose buffer is full after every batch: the copy waits a turn for it
  const mem = new MemoryCopy(a.ts.dom0.xc, g.domid, w, () => new Promise<void>((r) => setTimeout(r, 2)));
  let n = 0;
  // the backend: the counter in page P, and 300 more pages each time, so
  // that the last round is more than one batch
  const backend = setInterval(() => {
    n++;
    write(P, n);
    for (let k = 0; k < 300; k++) write(RAM0_GFN + 1000 + k, n);
  }, 1);
  let contextN = -1, lastRound = -1;
  try {
    mem.begin(true);
    await mem.live({ maxRounds: 1, progress: (p) => { if (p.phase === "stopcopy") lastRound = p.dirty; } }, () => { contextN = n; });
  } finally {
    clearInterval(backend);
    mem.stopLogDirty();
    mem.release();
  }
  assert.ok(lastRound > 256, `the last round: ${lastRound} pages, more than one batch`);
  assert.ok(contextN > 0, `the backend ran during the copy (${contextN})`);
  // P as the stream last carried it
  const all = Buffer.concat(chunks);
  let off = 0;
  const r = new StreamReader({ read: (k) => { const b = all.subarray(off, off + k); off += b.length; return b; } });
  let lastP = -1;
  while (off < all.length) {
    const rec = r.next([REC.PAGES]);
    const pages = decodePages(rec.payload);
    pages.gfns.forEach((gfn, k) => { if (Number(gfn) === P) lastP = new DataView(pages.page(k).buffer, pages.page(k).byteOffset, 4).getUint32(0, true); });
  }
  assert.equal(lastP, contextN, "the last copy of the page is the one the context was taken with");
  a.ts.destroy(g.domid);
});
