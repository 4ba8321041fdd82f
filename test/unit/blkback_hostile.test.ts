// Hostile frontends against blkback. The test plays the frontend of two
// paused domains itself: it writes their grant entries, ring pages and
// requests into their memory and signals their event channels, as a guest
// kernel would. One frontend is well behaved; the other sends bad grant
// references, sectors out of range, too many segments, unknown operations,
// and finally runs its producer index past the ring. The bad requests get
// error responses, the broken ring is disconnected, the other frontend is
// served throughout, and its data is intact.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Toolstack } from "../../src/tools/toolstack.js";
import { parseDiskSpec } from "../../src/tools/disk_spec.js";
import { guestImage } from "../helpers/guest_programs.js";
import type { Domain } from "../../src/xen/domain.js";
import { BLKIF_OP, BLKIF_RSP, BLKIF_RING_ENTRY } from "../../src/xen/public/io/blkif.js";
import { RING_HDR, RING_ENTRIES_OFFSET, ringSize } from "../../src/xen/public/io/ring.js";
import { XenbusState } from "../../src/xen/public/io/xenbus.js";
import { startHost } from "../helpers/host.js";
import { GuestPages, RAM_GFN } from "../helpers/guest_pages.js";
import type { Host } from "../../src/host/host.js";

const RING_SIZE = ringSize(BLKIF_RING_ENTRY);
const DISK_BYTES = 1 << 20;

// A frontend driven from outside the guest: its pages are written through
// the hypervisor's view of its memory.
class Frontend extends GuestPages {
  private readonly ringGfn: number;
  private readonly dataGfn: number;
  private reqProd = 0;
  private rspCons = 0;
  readonly port: number;
  constructor(h: Host, readonly ts: Toolstack, d: Domain, devid: number) {
    super(h, d);
    this.ringGfn = RAM_GFN + 64;
    this.dataGfn = RAM_GFN + 65;
    this.grant(8, this.ringGfn, false);
    this.grant(9, this.dataGfn, false);
    this.port = ts.dom0.xc.evtchnAllocUnbound(d.id, 0);
    const fe = `/local/domain/${d.id}/device/vbd/${devid}`;
    ts.xsWrite(`${fe}/ring-ref`, "8");
    ts.xsWrite(`${fe}/event-channel`, String(this.port));
    ts.xsWrite(`${fe}/protocol`, "arm-abi");
    ts.xsWrite(`${fe}/state`, String(XenbusState.Initialised));
  }
  data(): Uint8Array { return this.bytes(this.dataGfn); }
  // Queue a read/write of sectors [first,last] of the data page at `sector`.
  rw(id: number, op: number, sector: number, segs: { gref: number; first: number; last: number }[]): void {
    const r = this.mem(this.ringGfn);
    const o = RING_ENTRIES_OFFSET + (this.reqProd % RING_SIZE) * BLKIF_RING_ENTRY;
    for (let i = 0; i < BLKIF_RING_ENTRY; i++) r.setUint8(o + i, 0);
    r.setUint8(o, op);
    r.setUint8(o + 1, segs.length);
    r.setBigUint64(o + 8, BigInt(id), true);
    r.setBigUint64(o + 16, BigInt(sector), true);
    segs.forEach((s, i) => { r.setUint32(o + 24 + i * 8, s.gref, true); r.setUint8(o + 28 + i * 8, s.first); r.setUint8(o + 29 + i * 8, s.last); });
    this.reqProd++;
  }
  push(prodOverride?: number): void {
    this.mem(this.ringGfn).setUint32(RING_HDR.req_prod, prodOverride ?? this.reqProd, true);
    this.d.evtchn.send(this.port);
  }
  responses(): Map<number, { op: number; status: number }> {
    const r = this.mem(this.ringGfn);
    const out = new Map<number, { op: number; status: number }>();
    const prod = r.getUint32(RING_HDR.rsp_prod, true);
    for (; this.rspCons !== prod; this.rspCons++) {
      const o = RING_ENTRIES_OFFSET + (this.rspCons % RING_SIZE) * BLKIF_RING_ENTRY;
      out.set(Number(r.getBigUint64(o, true)), { op: r.getUint8(o + 8), status: r.getInt16(o + 10, true) });
    }
    return out;
  }
}

test("blkback answers hostile frontends with errors, cuts off a broken ring, and keeps serving the other guest", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-blkh-"));
  const th = startHost(256);
  const { host, ts } = th;
  const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20)); };
  try {
    const free0 = host.hv.frames.freeCount;
    const make = (name: string): { f: Frontend; img: string } => {
      const img = join(dir, `${name}.img`);
      const pattern = new Uint8Array(DISK_BYTES);
      for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + name.length) & 0xFF;
      writeFileSync(img, pattern);
      const g = ts.create({ name, memoryMiB: 16, vcpus: 1, kernel: guestImage("steady", { ROUNDS: 1 }), cmdline: "", paused: true,
        disks: [parseDiskSpec(`${img},raw,xvda,rw`)] });
      return { f: new Frontend(host, ts, host.hv.domains.get(g.domid)!, 51712), img };
    };
    const good = make("good"), bad = make("bad");
    await settle();
    for (const x of [good, bad]) assert.equal(ts.xsRead(`/local/domain/0/backend/vbd/${x.f.d.id}/51712/state`), String(XenbusState.Connected));

    // the good guest reads sector 8..15 (bytes 4096..8191) and writes sector 0..7
    const gf = good.f;
    gf.rw(1, BLKIF_OP.read, 8, [{ gref: 9, first: 0, last: 7 }]);
    gf.push();
    await settle();
    assert.deepEqual(gf.responses().get(1), { op: BLKIF_OP.read, status: BLKIF_RSP.okay });
    const expect = readFileSync(good.img).subarray(4096, 8192);
    assert.deepEqual(Buffer.from(gf.data()), Buffer.from(expect), "the read brought the disk's bytes");

    // the hostile one
    const bf = bad.f;
    bf.rw(10, BLKIF_OP.read, 0, [{ gref: 4000, first: 0, last: 7 }]); // not a grant
    bf.rw(11, BLKIF_OP.read, 0, [{ gref: 7, first: 0, last: 7 }]); // an empty entry
    bf.rw(12, BLKIF_OP.read, DISK_BYTES / 512 - 4, [{ gref: 9, first: 0, last: 7 }]); // runs off the end
    bf.rw(13, BLKIF_OP.write, 0, Array.from({ length: 11 }, () => ({ gref: 9, first: 0, last: 7 }))); // fine: 11 segments
    bf.rw(14, BLKIF_OP.read, 0, [{ gref: 9, first: 5, last: 2 }]); // first > last
    bf.rw(15, BLKIF_OP.read, 0, [{ gref: 9, first: 0, last: 8 }]); // past the page
    bf.rw(16, 99, 0, []); // no such operation
    bf.rw(17, BLKIF_OP.write_barrier, 0, []); // not offered
    bf.rw(18, BLKIF_OP.read, 0, []); // no segments
    bf.push();
    await settle();
    const r = bf.responses();
    for (const id of [10, 11, 12, 14, 15, 16, 18]) assert.equal(r.get(id)?.status, BLKIF_RSP.error, `request ${id}`);
    assert.equal(r.get(13)?.status, BLKIF_RSP.okay);
    assert.equal(r.get(17)?.status, BLKIF_RSP.eopnotsupp);
    // a request with 12 segments in an 11-slot request: nr_segments says 12
    bf.rw(19, BLKIF_OP.read, 0, Array.from({ length: 11 }, () => ({ gref: 9, first: 0, last: 0 })));
    const ring = bf.mem(RAM_GFN + 64);
    ring.setUint8(RING_ENTRIES_OFFSET + ((bf["reqProd"] - 1) % RING_SIZE) * BLKIF_RING_ENTRY + 1, 12);
    bf.push();
    await settle();
    assert.equal(bf.responses().get(19)?.status, BLKIF_RSP.error);

    // the producer runs past the ring: the backend stops serving this ring
    bf.push(bf["reqProd"] + RING_SIZE + 5);
    await settle();
    const beBad = `/local/domain/0/backend/vbd/${bf.d.id}/51712`;
    assert.equal(ts.xsRead(`${beBad}/state`), String(XenbusState.Closing));
    assert.match(ts.xsRead(`${beBad}/error`) ?? "", /ran .* past the consumer/);

    // the good guest is still served and its disk is intact
    gf.data().fill(0xA5);
    gf.rw(2, BLKIF_OP.write, 16, [{ gref: 9, first: 0, last: 7 }]);
    gf.rw(3, BLKIF_OP.flush_diskcache, 0, []);
    gf.push();
    await settle();
    const gr = gf.responses();
    assert.equal(gr.get(2)?.status, BLKIF_RSP.okay);
    assert.equal(gr.get(3)?.status, BLKIF_RSP.okay);
    const disk = readFileSync(good.img);
    assert.ok(disk.subarray(8192, 12288).every((b) => b === 0xA5), "the write landed");
    for (let i = 0; i < 8192; i++) assert.equal(disk[i], (i * 7 + 4) & 0xFF, `byte ${i} of the good disk changed`);
    for (let i = 12288; i < DISK_BYTES; i += 511) assert.equal(disk[i], (i * 7 + 4) & 0xFF, `byte ${i} of the good disk changed`);

    for (const x of [good, bad]) ts.destroy(x.f.d.id);
    assert.equal(ts.gnt.mapped, 0, "no grant stays mapped");
    assert.equal(ts.blkback.devices.size, 0);
    assert.equal(host.hv.frames.freeCount, free0, "every frame is back");
  } finally {
    await th.done();
    rmSync(dir, { recursive: true, force: true });
  }
});
