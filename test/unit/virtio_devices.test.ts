// The machine's virtio-mmio devices against a driver played by the test, in
// bus memory of its own: feature negotiation and queue setup as Linux's
// virtio_mmio does them, block reads, writes, flushes and the device id
// against a host file, network frames both ways, and what a broken or
// hostile driver gets: I/O errors for buffers its owner cannot reach (the
// device goes on), a reset request for a looping chain or a runaway index,
// nothing written outside the owner's memory, and the queue working again
// after the reset.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, openSync, readSync, writeSync, closeSync, ftruncateSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DmaSpace } from "../../src/hw/dma.js";
import { VirtioMmioDevice, STATUS, VIRTIO_F_VERSION_1 } from "../../src/hw/virtio_mmio.js";
import { VirtioBlk } from "../../src/hw/virtio_blk.js";
import { VirtioNet } from "../../src/hw/virtio_net.js";
import { RawImage } from "../../src/tools/backends/raw_image.js";

const MEM = 1 << 20; // the owner's memory: bus addresses [0, 1 MiB)
class BusMemory implements DmaSpace {
  readonly bytes = new Uint8Array(MEM);
  faults = 0;
  page(addr: number, _write: boolean): Uint8Array | null {
    if (addr < 0 || addr + 4096 > MEM) { this.faults++; return null; }
    return this.bytes.subarray(addr, addr + 4096);
  }
}

const R = { FEAT: 0x10, FEAT_SEL: 0x14, DFEAT: 0x20, DFEAT_SEL: 0x24, QSEL: 0x30, QMAX: 0x34, QNUM: 0x38, QREADY: 0x44, NOTIFY: 0x50, ISR: 0x60, ACK: 0x64, STATUS: 0x70, DESC: 0x80, AVAIL: 0x90, USED: 0xa0 };
const QN = 16;

// A driver for one device: rings at fixed places, buffers from a bump allocator.
class Driver {
  readonly mem = new BusMemory();
  readonly dv = new DataView(this.mem.bytes.buffer);
  irq = false;
  private next = 0x40000;
  private readonly avail = new Map<number, number>();
  private readonly usedSeen = new Map<number, number>();
  private freeDesc = new Map<number, number>();
  constructor(readonly dev: VirtioMmioDevice) {
    dev.dma = this.mem;
    dev.setIrq = (l) => { this.irq = l; };
  }
  ring(q: number): { desc: number; avail: number; used: number } { return { desc: 0x1000 + q * 0x4000, avail: 0x2000 + q * 0x4000, used: 0x3000 + q * 0x4000 }; }
  // as virtio_mmio's probe and virtio's core do it
  init(accept: bigint): boolean {
    const d = this.dev;
    d.write(R.STATUS, 4, 0);
    d.write(R.STATUS, 4, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
    let offered = 0n;
    for (const sel of [0, 1]) { d.write(R.FEAT_SEL, 4, sel); offered |= BigInt(d.read(R.FEAT, 4)) << BigInt(32 * sel); }
    const want = offered & accept;
    for (const sel of [0, 1]) { d.write(R.DFEAT_SEL, 4, sel); d.write(R.DFEAT, 4, Number((want >> BigInt(32 * sel)) & 0xFFFFFFFFn)); }
    d.write(R.STATUS, 4, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
    if (!(d.read(R.STATUS, 4) & STATUS.FEATURES_OK)) return false;
    for (let q = 0; q < d.queues.length; q++) {
      d.write(R.QSEL, 4, q);
      assert.ok(d.read(R.QMAX, 4) >= QN);
      d.write(R.QNUM, 4, QN);
      const r = this.ring(q);
      this.mem.bytes.fill(0, r.desc, r.used + 0x1000); // fresh rings, as a driver allocates them
      d.write(R.DESC, 4, r.desc); d.write(R.DESC + 4, 4, 0);
      d.write(R.AVAIL, 4, r.avail); d.write(R.AVAIL + 4, 4, 0);
      d.write(R.USED, 4, r.used); d.write(R.USED + 4, 4, 0);
      d.write(R.QREADY, 4, 1);
      this.avail.set(q, 0); this.usedSeen.set(q, 0); this.freeDesc.set(q, 0);
    }
    d.write(R.STATUS, 4, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK);
    return true;
  }
  alloc(n: number): number { const a = this.next; this.next += (n + 15) & ~15; return a; }
  // Makes a chain of [addr, len, writable] buffers available on q; returns its head.
  offer(q: number, bufs: [number, number, boolean][], notify = true): number {
    const r = this.ring(q);
    const first = this.freeDesc.get(q)!;
    bufs.forEach(([addr, len, w], i) => {
      const at = r.desc + 16 * ((first + i) % QN);
      this.dv.setBigUint64(at, BigInt(addr), true);
      this.dv.setUint32(at + 8, len, true);
      this.dv.setUint16(at + 12, (i < bufs.length - 1 ? 1 : 0) | (w ? 2 : 0), true);
      this.dv.setUint16(at + 14, (first + i + 1) % QN, true);
    });
    this.freeDesc.set(q, (first + bufs.length) % QN);
    const idx = this.avail.get(q)!;
    this.dv.setUint16(r.avail + 4 + 2 * (idx % QN), first, true);
    this.avail.set(q, (idx + 1) & 0xFFFF);
    this.dv.setUint16(r.avail + 2, (idx + 1) & 0xFFFF, true);
    if (notify) this.dev.write(R.NOTIFY, 4, q);
    return first;
  }
  // Used entries since the last look: [head, len].
  used(q: number): [number, number][] {
    const r = this.ring(q);
    const out: [number, number][] = [];
    let seen = this.usedSeen.get(q)!;
    const idx = this.dv.getUint16(r.used + 2, true);
    while (seen !== idx) {
      const e = r.used + 4 + 8 * (seen % QN);
      out.push([this.dv.getUint32(e, true), this.dv.getUint32(e + 4, true)]);
      seen = (seen + 1) & 0xFFFF;
    }
    this.usedSeen.set(q, seen);
    return out;
  }
  ackInterrupt(): number { const s = this.dev.read(R.ISR, 4); this.dev.write(R.ACK, 4, s); return s; }
}

function blkRequest(drv: Driver, type: number, sector: number, data: [number, number, boolean][]): { head: number; status: number } {
  const hdr = drv.alloc(16), status = drv.alloc(1);
  drv.dv.setUint32(hdr, type, true);
  drv.dv.setBigUint64(hdr + 8, BigInt(sector), true);
  drv.mem.bytes[status] = 0xEE;
  const head = drv.offer(0, [[hdr, 16, false], ...data, [status, 1, true]]);
  return { head, status };
}

function withImage(mib: number, f: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "xents-virtio-"));
  const path = join(dir, "d.img");
  const fd = openSync(path, "w");
  ftruncateSync(fd, mib << 20);
  writeSync(fd, Buffer.from("sector-eight"), 0, 12, 8 * 512);
  closeSync(fd);
  try { f(path); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test("virtio-blk: negotiation, reads, writes, flush and the id against a host file", () => withImage(1, (path) => {
  const img = new RawImage(path, false);
  const dev = new VirtioBlk("vda", img, "xents-vda");
  const drv = new Driver(dev);
  assert.equal(dev.read(0, 4), 0x74726976);
  assert.equal(dev.read(4, 4), 2);
  assert.equal(dev.read(8, 4), 2);
  assert.equal(drv.init((1n << 9n) | (1n << 2n) | (1n << 6n) | VIRTIO_F_VERSION_1), true);
  assert.equal(dev.read(0x100, 4), 2048, "capacity: 2048 sectors (low word)");
  assert.equal(dev.read(0x104, 4), 0);

  // read sector 8 into a buffer that crosses a page boundary
  const buf = 0x40FF0;
  const rd = blkRequest(drv, 0, 8, [[buf, 512, true]]);
  assert.deepEqual(drv.used(0), [[rd.head, 513]]);
  assert.equal(drv.mem.bytes[rd.status], 0);
  assert.equal(Buffer.from(drv.mem.bytes.subarray(buf, buf + 12)).toString(), "sector-eight");
  assert.equal(drv.irq, true);
  assert.equal(drv.ackInterrupt(), 1);
  assert.equal(drv.irq, false, "the line drops once the driver acknowledges");

  // write two sectors from two buffers, flush, and the file has them
  const a = drv.alloc(512), b = drv.alloc(512);
  drv.mem.bytes.fill(0x41, a, a + 512); drv.mem.bytes.fill(0x42, b, b + 512);
  const wr = blkRequest(drv, 1, 100, [[a, 512, false], [b, 512, false]]);
  const fl = blkRequest(drv, 4, 0, []);
  assert.deepEqual(drv.used(0), [[wr.head, 1], [fl.head, 1]]);
  assert.equal(drv.mem.bytes[wr.status], 0);
  assert.equal(drv.mem.bytes[fl.status], 0);
  const fd = openSync(path, "r"), got = Buffer.alloc(1024);
  readSync(fd, got, 0, 1024, 100 * 512);
  closeSync(fd);
  assert.ok(got.subarray(0, 512).every((x) => x === 0x41) && got.subarray(512).every((x) => x === 0x42));
  assert.equal(dev.blk.flushes, 1);

  // the device id, an unknown request, and I/O past the end
  const id = drv.alloc(20);
  const gi = blkRequest(drv, 8, 0, [[id, 20, true]]);
  const un = blkRequest(drv, 99, 0, []);
  const past = blkRequest(drv, 0, 2048, [[drv.alloc(512), 512, true]]);
  const odd = blkRequest(drv, 1, 0, [[a, 100, false]]);
  assert.deepEqual(drv.used(0).map(([h]) => h), [gi.head, un.head, past.head, odd.head]);
  assert.equal(Buffer.from(drv.mem.bytes.subarray(id, id + 9)).toString(), "xents-vda");
  assert.deepEqual([drv.mem.bytes[gi.status], drv.mem.bytes[un.status], drv.mem.bytes[past.status], drv.mem.bytes[odd.status]], [0, 2, 1, 1]);
  assert.equal(dev.stats.errors, 0);
  img.close();
}));

test("virtio-blk: a buffer the owner cannot reach fails that request only; a loop, a runaway index or a bad queue asks for a reset, and the queue works after it", () => withImage(1, (path) => {
  const img = new RawImage(path, false);
  const dev = new VirtioBlk("vda", img, "x");
  const drv = new Driver(dev);
  const errors: string[] = [];
  dev.onError = (m) => errors.push(m);
  assert.ok(drv.init(VIRTIO_F_VERSION_1));
  // a read into memory past the owner's: I/O error, nothing written anywhere, the next request is served
  const bad = blkRequest(drv, 0, 8, [[MEM - 256, 512, true]]);
  const good = blkRequest(drv, 0, 8, [[drv.alloc(512), 512, true]]);
  assert.deepEqual(drv.used(0), [[bad.head, 1], [good.head, 513]]);
  assert.equal(drv.mem.bytes[bad.status], 1);
  assert.equal(drv.mem.bytes[good.status], 0);
  assert.ok(drv.mem.faults > 0);
  assert.equal(dev.blk.dmaFaults, 1);
  // a write from memory the owner cannot reach leaves the file alone
  const w = blkRequest(drv, 1, 8, [[0xFFFFF000000, 512, false]]);
  assert.equal(drv.used(0)[0][0], w.head);
  assert.equal(drv.mem.bytes[w.status], 1);
  const fd = openSync(path, "r"), sec = Buffer.alloc(12);
  readSync(fd, sec, 0, 12, 8 * 512);
  closeSync(fd);
  assert.equal(sec.toString(), "sector-eight");

  // a descriptor chain that loops (its second descriptor points at itself): the device stops and asks for a reset
  const hdr = drv.alloc(16);
  const r = drv.ring(0);
  const self = drv.offer(0, [[hdr, 16, false], [hdr, 16, false]], false);
  drv.dv.setUint16(r.desc + 16 * ((self + 1) % QN) + 12, 1, true); // NEXT
  drv.dv.setUint16(r.desc + 16 * ((self + 1) % QN) + 14, (self + 1) % QN, true);
  drv.ackInterrupt();
  dev.write(0x50, 4, 0);
  assert.ok(dev.read(0x70, 4) & STATUS.NEEDS_RESET, "a looping chain asks for a reset");
  assert.match(errors.join("\n"), /the descriptor chain loops/);
  assert.equal(drv.ackInterrupt() & 2, 2, "a configuration interrupt says so");
  // nothing more is processed until the reset
  const ignored = blkRequest(drv, 0, 8, [[drv.alloc(512), 512, true]]);
  void ignored;
  assert.deepEqual(drv.used(0), []);

  // reset and start again: the queue works
  assert.ok(drv.init(VIRTIO_F_VERSION_1));
  assert.equal(dev.read(0x70, 4) & STATUS.NEEDS_RESET, 0);
  const again = blkRequest(drv, 0, 8, [[drv.alloc(512), 512, true]]);
  assert.deepEqual(drv.used(0), [[again.head, 513]]);

  // an available index far ahead of the device
  drv.dv.setUint16(drv.ring(0).avail + 2, 0x8000, true);
  dev.write(0x50, 4, 0);
  assert.ok(dev.read(0x70, 4) & STATUS.NEEDS_RESET, "a runaway available index asks for a reset");

  // a queue size that is not a power of two, a misaligned ring
  dev.write(0x70, 4, 0);
  dev.write(0x70, 4, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
  dev.write(0x30, 4, 0);
  dev.write(0x38, 4, 12);
  dev.write(0x44, 4, 1);
  assert.equal(dev.read(0x44, 4), 0, "the queue is not ready");
  assert.ok(dev.read(0x70, 4) & STATUS.NEEDS_RESET);
  assert.equal(dev.stats.errors >= 3, true);
  img.close();
}));

test("virtio: features the device did not offer, or a driver without VERSION_1, are refused at FEATURES_OK", () => withImage(1, (path) => {
  const img = new RawImage(path, true);
  const dev = new VirtioBlk("vda", img, "x");
  const drv = new Driver(dev);
  assert.equal(drv.init(0n), false, "legacy driver (no VERSION_1)");
  dev.write(0x70, 4, 0);
  dev.write(0x70, 4, 3);
  dev.write(0x24, 4, 0); dev.write(0x20, 4, 1 << 30); // a bit the device never offered
  dev.write(0x24, 4, 1); dev.write(0x20, 4, 1);
  dev.write(0x70, 4, 3 | STATUS.FEATURES_OK);
  assert.equal(dev.read(0x70, 4) & STATUS.FEATURES_OK, 0);
  // a read-only image says so, and writes to it fail
  assert.ok(drv.init((1n << 5n) | VIRTIO_F_VERSION_1));
  const w = blkRequest(drv, 1, 0, [[drv.alloc(512), 512, false]]);
  assert.equal(drv.used(0)[0][0], w.head);
  assert.equal(drv.mem.bytes[w.status], 1);
  img.close();
}));

test("virtio-net: frames out and in with the 12-byte header, a bounded backlog while the driver has no buffers", () => {
  const mac = new Uint8Array([2, 1, 2, 3, 4, 5]);
  const dev = new VirtioNet("eth0", mac);
  const drv = new Driver(dev);
  const sent: Uint8Array[] = [];
  dev.onTransmit = (f) => sent.push(f);
  assert.ok(drv.init((1n << 5n) | (1n << 16n) | VIRTIO_F_VERSION_1));
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => dev.read(0x100 + i, 1)), [...mac]);
  assert.equal(dev.read(0x106, 2), 1, "link up");
  assert.equal(dev.read(0x70, 2), 0, "registers are 32-bit: a narrower read gives 0");
  dev.write(0x70, 1, 0);
  assert.notEqual(dev.read(0x70, 4), 0, "and a narrower write does nothing (no reset)");

  // transmit: header and frame in two descriptors
  const hdr = drv.alloc(12), frame = drv.alloc(60);
  for (let i = 0; i < 60; i++) drv.mem.bytes[frame + i] = i;
  const head = drv.offer(1, [[hdr, 12, false], [frame, 60, false]]);
  assert.deepEqual(drv.used(1), [[head, 0]]);
  assert.equal(sent.length, 1);
  assert.deepEqual([...sent[0]], Array.from({ length: 60 }, (_, i) => i));
  // a runt (shorter than an Ethernet header) is dropped, its buffer given back
  const runt = drv.offer(1, [[hdr, 12, false], [frame, 10, false]]);
  assert.deepEqual(drv.used(1), [[runt, 0]]);
  assert.equal(sent.length, 1);
  assert.equal(dev.net.dropped, 1);
  dev.net.dropped = 0;

  // receive before any buffer: kept; then delivered when buffers come
  const f1 = new Uint8Array(64).fill(7), f2 = new Uint8Array(1514).fill(9);
  dev.receive(f1);
  dev.receive(f2);
  dev.receive(new Uint8Array(1600)); // too big for a plain NIC: dropped
  assert.equal(dev.net.dropped, 1);
  const rx1 = drv.alloc(1526), rx2 = drv.alloc(1526);
  const h1 = drv.offer(0, [[rx1, 1526, true]]);
  const h2 = drv.offer(0, [[rx2, 1526, true]]);
  assert.deepEqual(drv.used(0), [[h1, 12 + 64], [h2, 12 + 1514]]);
  assert.equal(drv.dv.getUint16(rx1 + 10, true), 1, "num_buffers");
  assert.ok(drv.mem.bytes.subarray(rx1 + 12, rx1 + 12 + 64).every((x) => x === 7));
  assert.ok(drv.mem.bytes.subarray(rx2 + 12, rx2 + 12 + 1514).every((x) => x === 9));

  // with no buffers the backlog holds 256 frames and drops the rest
  for (let i = 0; i < 300; i++) dev.receive(f1);
  assert.equal(dev.net.dropped, 1 + 44);
  // a receive buffer the owner cannot reach: the frame is dropped, the buffer returned empty
  const hb = drv.offer(0, [[MEM + 4096, 1526, true]]);
  assert.deepEqual(drv.used(0), [[hb, 0]]);
  assert.equal(dev.net.dmaFaults, 1);
  // a reset empties the backlog
  dev.write(0x70, 4, 0);
  assert.ok(drv.init((1n << 5n) | VIRTIO_F_VERSION_1));
  drv.offer(0, [[rx1, 1526, true]]);
  assert.deepEqual(drv.used(0), []);
});
