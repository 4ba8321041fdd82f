// `xents fuzz dma`: a virtio-blk device passed through to a driver domain
// (through the real domctls, behind the SMMU), driven by that domain with
// random and hostile descriptors, rings and registers: buffers and rings at
// another guest's machine addresses, at hypervisor structures (the SMMU's
// stream table and command queue, stage-2 roots, shared_info), at memory
// the domain has not got or gave back a moment ago, beyond the IPA space;
// lengths, flags and indexes of every kind. Between them come good
// requests whose answers are checked against the disk. Nothing of the
// victim, the hypervisor's structures or the disk outside what the driver
// wrote may change; every exception that escapes the device is a host
// exception; at the end the device goes back unowned and every frame is back.

import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Host } from "../host.js";
import { Dom0 } from "../../tools/dom0.js";
import { VirtioBlk } from "../../hw/virtio_blk.js";
import { STATUS, VIRTIO_F_VERSION_1 } from "../../hw/virtio_mmio.js";
import { openDiskImage } from "../../tools/backends/blkback.js";
import { passDevice } from "../../tools/xc/passthrough.js";
import { auditMemory } from "../../xen/audit.js";
import { GUEST_RAM0_BASE, GUEST_GICD_BASE } from "../../xen/public/arch_arm.js";
import { PlayedGuest, RAM0_GFN } from "./played_guest.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";
import type { MmioRegion } from "../../xen/mmio.js";

export interface DmaFuzzOptions { iterations: number; seed: number }

export interface DmaFuzzReport extends FuzzFigures {
  target: "dma";
  faults_logged: number; // SMMU faults counted against the device
  good_requests: number; // checked requests that completed
  wrong_answers: number; // a good request answered wrongly or not at all
  resets: number; // times the device asked for one and got it
  pages_given_back: number;
}

const DISK_BYTES = 1 << 20;
const DRIVER_PAGES = 512; // 2 MiB
const RING = GUEST_RAM0_BASE + 0x40000n; // the driver's queue (desc, avail, used) and request headers
const BUF = GUEST_RAM0_BASE + 0x80000n; // its good buffers
const PT_GFN = 0xa000n;
const QSIZE = 8;

export function fuzzDma(o: DmaFuzzOptions): DmaFuzzReport {
  const tally = new FuzzTally<DmaFuzzReport>("dma", o, { faults_logged: 0, good_requests: 0, wrong_answers: 0, resets: 0, pages_given_back: 0 });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  const dir = mkdtempSync(join(tmpdir(), "xents-fuzz-dma-"));
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const hv = host.hv;
  const xc = new Dom0(host.privcmd).xc;
  const free0 = hv.frames.freeCount;
  const imgPath = join(dir, "disk.img");
  writeFileSync(imgPath, new Uint8Array(0));
  truncateSync(imgPath, DISK_BYTES);
  const disk = openDiskImage(imgPath, "raw", false);
  try {
    const dev = new VirtioBlk("pt-vda", disk, "fuzz");
    const m = hv.devices.add(dev);
    const drv = PlayedGuest.create(hv, { id: 1, pages: DRIVER_PAGES, maxPages: DRIVER_PAGES });
    const victim = PlayedGuest.create(hv, { id: 2, pages: 64 });
    const d = drv.d;
    passDevice(xc, d.id, m, PT_GFN);
    const regs = d.mmio.find(PT_GFN << 12n) as MmioRegion;

    // what must not change
    const hash = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
    const frameBytes = (f: number): Uint8Array => hv.core.bytes.subarray(hv.frames.hostOf(f), hv.frames.hostOf(f) + 4096);
    for (let i = 0; i < 64; i++) victim.page(RAM0_GFN + i)!.fill(0xC5 ^ i);
    const guarded = [...victim.d.p2m.entries()].map(([, e]) => e.frame)
      .concat(hv.iommu.tableFrames().slice(0, 1), [victim.d.p2m.root, victim.d.p2m.root + 1, d.p2m.root, d.p2m.root + 1, victim.d.sharedInfoFrame, d.sharedInfoFrame]);
    const before = guarded.map((f) => hash(frameBytes(f)));

    const victimPa = (): bigint => hv.frames.paOf(victim.d.p2m.get(RAM0_GFN + rng.int(64))!.frame);
    const hostile = (): bigint => hostileOrOwn(false);
    // An address: the driver's own RAM (anywhere, its rings included) only when `own` may be
    const hostileOrOwn = (own: boolean): bigint => {
      switch (rng.int(own ? 8 : 7)) {
        case 0: return victimPa() + BigInt(rng.int(4096));
        case 1: return hv.frames.paOf(rng.pick(guarded));
        case 2: return GUEST_RAM0_BASE + BigInt(DRIVER_PAGES + rng.int(4096)) * 4096n; // memory it has not got
        case 3: return GUEST_GICD_BASE + BigInt(rng.int(0x10000));
        case 4: return (1n << 40n) + BigInt(rng.u32());
        case 5: return BigInt(rng.u32()) * 4096n + BigInt(rng.int(4096));
        case 6: return (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
        default: return GUEST_RAM0_BASE + BigInt(rng.int(DRIVER_PAGES * 4096)); // its own, anywhere (its rings included)
      }
    };
    const reg = (off: number, v?: number): number => {
      if (v === undefined) return Number(regs.read(0, off, 4));
      regs.write(0, off, 4, BigInt(v >>> 0));
      return 0;
    };
    const mem = (ipa: bigint): DataView => {
      const p = drv.page(Number(ipa >> 12n));
      if (!p) throw new Error(`the driver has no page at 0x${ipa.toString(16)}`);
      return new DataView(p.buffer, p.byteOffset + Number(ipa & 0xFFFn), 4096 - Number(ipa & 0xFFFn));
    };
    let availIdx = 0, head = 0;
    let scrambled = false; // the queue's indexes or registers were thrown about: a driver would reset
    const setup = (desc = RING, avail = RING + 0x1000n, used = RING + 0x2000n): void => {
      reg(0x70, 0);
      r.resets++;
      for (const a of [RING, RING + 0x1000n, RING + 0x2000n]) drv.page(Number(a >> 12n))?.fill(0);
      availIdx = 0; head = 0; scrambled = false;
      reg(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
      reg(0x24, 1); reg(0x20, Number(VIRTIO_F_VERSION_1 >> 32n));
      reg(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
      reg(0x30, 0); reg(0x38, QSIZE);
      for (const [off, a] of [[0x80, desc], [0x90, avail], [0xa0, used]] as [number, bigint][]) { reg(off, Number(a & 0xFFFFFFFFn)); reg(off + 4, Number((a >> 32n) & 0xFFFFFFFFn)); }
      reg(0x44, 1);
      reg(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK);
    };
    // A chain of descriptors in the driver's table, made available and notified.
    const submit = (chain: [bigint, number, number][]): void => {
      const h = head;
      chain.forEach(([addr, len, flags], i) => {
        const dv = mem(RING + BigInt(16 * ((h + i) % QSIZE)));
        dv.setBigUint64(0, BigInt.asUintN(64, addr), true); dv.setUint32(8, len >>> 0, true);
        dv.setUint16(12, (flags | (i < chain.length - 1 ? 1 : 0)) & 0xffff, true); dv.setUint16(14, (h + i + 1) % QSIZE, true);
      });
      head = (head + chain.length) % QSIZE;
      mem(RING + 0x1000n + 4n + BigInt(2 * (availIdx % QSIZE))).setUint16(0, h, true);
      availIdx = (availIdx + 1) & 0xffff;
      mem(RING + 0x1000n).setUint16(2, availIdx, true);
      reg(0x50, 0);
    };
    // A queue the driver can use: as it was after a well-formed request with
    // a bad buffer (the device goes on), set up again after anything else.
    const ready = (): void => { if (scrambled || reg(0x70) & STATUS.NEEDS_RESET || !(reg(0x70) & STATUS.DRIVER_OK)) setup(); };
    // A good request, checked: a write of random bytes or a read compared with the shadow.
    const good = (): string => {
      ready();
      const sector = rng.int(DISK_BYTES / 512 - 8), len = 512 * (1 + rng.int(8));
      const write = rng.chance(0.5);
      const hdr = RING + 0x3000n, status = hdr + 32n;
      mem(hdr).setUint32(0, write ? 1 : 0, true); mem(hdr).setUint32(4, 0, true); mem(hdr).setBigUint64(8, BigInt(sector), true);
      mem(status).setUint8(0, 0xff);
      const buf = new Uint8Array(drv.page(Number(BUF >> 12n))!.buffer, drv.page(Number(BUF >> 12n))!.byteOffset, 4096);
      if (write) for (let i = 0; i < len; i++) buf[i] = rng.int(256);
      const usedBefore = mem(RING + 0x2000n).getUint16(2, true);
      submit([[hdr, 16, 0], [BUF, len, write ? 0 : 2], [status, 1, 2]]);
      const done = mem(RING + 0x2000n).getUint16(2, true) !== usedBefore;
      const st = mem(status).getUint8(0);
      if (!done || st !== 0) { r.wrong_answers++; tally.note(`good ${write ? "write" : "read"} of ${len} at sector ${sector}: ${done ? `status ${st}` : "not completed"}`); return "good: failed"; }
      const onDisk = new Uint8Array(len);
      disk.read(sector * 512, onDisk);
      if (hash(buf.subarray(0, len)) !== hash(onDisk)) { r.wrong_answers++; tally.note(`good ${write ? "write" : "read"} at sector ${sector}: the data and the disk differ`); return "good: wrong data"; }
      r.good_requests++;
      return `good ${write ? "write" : "read"}`;
    };

    setup();
    for (let it = 0; it < o.iterations; it++) {
      let what: string;
      try {
        switch (rng.int(7)) {
          case 0: case 1: what = good(); break;
          case 2: { // a request whose data buffer is hostile
            ready();
            const hdr = RING + 0x3000n;
            const write = rng.chance(0.5);
            mem(hdr).setUint32(0, write ? 1 : 0, true); mem(hdr).setBigUint64(8, BigInt(rng.int(DISK_BYTES / 512 - 8)), true);
            mem(hdr + 32n).setUint8(0, 0xff);
            const usedBefore = mem(RING + 0x2000n).getUint16(2, true);
            const len = rng.pick([512, 4096]);
            submit([[hdr, 16, 0], [hostile(), len, write ? 0 : 2], [hdr + 32n, 1, 2]]);
            // a buffer not the driver's: an I/O error and the queue goes on, or
            // (an address past the bus's 2^53) a malformed chain and a reset asked for
            const st = mem(hdr + 32n).getUint8(0);
            const answered = mem(RING + 0x2000n).getUint16(2, true) !== usedBefore;
            if (answered ? st !== 1 : !(reg(0x70) & STATUS.NEEDS_RESET)) { r.wrong_answers++; tally.note(`a ${write ? "write from" : "read into"} a buffer not the driver's got ${answered ? `status ${st}` : "no answer and no reset asked for"}`); }
            what = "hostile buffer";
            break;
          }
          case 3: { // a chain of anything
            ready();
            const n = 1 + rng.int(QSIZE + 2);
            submit(Array.from({ length: n }, () => [rng.chance(0.5) ? hostileOrOwn(true) : RING + 0x3000n, rng.pick([0, 1, 16, 512, 4096, 0xFFFFFFFF, rng.u32()]), rng.int(8)] as [bigint, number, number]));
            if (rng.chance(0.3)) { mem(RING + 0x1000n).setUint16(2, rng.int(0x10000), true); reg(0x50, 0); }
            scrambled = true;
            what = "random chain";
            break;
          }
          case 4: { // rings somewhere hostile
            const which = rng.int(3);
            const a = [RING, RING + 0x1000n, RING + 0x2000n];
            a[which] = hostileOrOwn(true) & ~0xFn;
            setup(a[0], a[1], a[2]);
            if (!(reg(0x70) & STATUS.NEEDS_RESET)) { mem(RING + 0x1000n).setUint16(2, 1 + rng.int(8), true); reg(0x50, 0); }
            scrambled = true;
            what = `hostile ${["desc", "avail", "used"][which]} ring`;
            break;
          }
          case 5: { // any register, any value
            reg(rng.int(0x80) * 4, rng.u32());
            scrambled = true;
            what = "register";
            break;
          }
          default: { // a page given back while the device may have it cached, then used as a buffer
            const gfn = RAM0_GFN + 0x100 + rng.int(DRIVER_PAGES - 0x100);
            if (!d.p2m.get(gfn)) { what = "give back: gone"; break; }
            ready();
            const hdr = RING + 0x3000n;
            mem(hdr).setUint32(0, 0, true); mem(hdr).setBigUint64(8, 0n, true);
            submit([[hdr, 16, 0], [BigInt(gfn) << 12n, 512, 2], [hdr + 32n, 1, 2]]); // cached now
            drv.reservation("decrease", [gfn]);
            r.pages_given_back++;
            mem(hdr + 32n).setUint8(0, 0xff);
            submit([[hdr, 16, 0], [BigInt(gfn) << 12n, 512, 2], [hdr + 32n, 1, 2]]);
            const st = mem(hdr + 32n).getUint8(0);
            if (st !== 1) { r.wrong_answers++; tally.note(`a read into gfn 0x${gfn.toString(16)}, given back, got status ${st}, not an I/O error`); }
            what = "give back";
          }
        }
      } catch (e) {
        tally.exception(`iteration ${it}`, e);
        what = "exception";
      }
      tally.result(what);
      if (it % 97 === 0 || it === o.iterations - 1) {
        guarded.forEach((f, i) => { if (hash(frameBytes(f)) !== before[i]) tally.leak(`frame ${f} changed at iteration ${it}`); });
        const audit = auditMemory(hv);
        if (audit.length) { r.audit_failures++; tally.note(`audit at ${it}: ${audit[0]}`); }
      }
    }
    // the disk holds nothing of the victim (its pages are 0xC5 ^ i throughout)
    const back = new Uint8Array(DISK_BYTES);
    disk.read(0, back);
    for (let at = 0; at < DISK_BYTES; at += 512) {
      const v = back[at];
      if ((v ^ 0xC5) < 64 && back.subarray(at, at + 512).every((b) => b === v)) { r.wrong_answers++; tally.note(`the disk's sector ${at / 512} holds a victim page's bytes`); break; }
    }
    r.faults_logged = hv.devices.faults("pt-vda")?.total ?? 0;
    xc.destroyDomain(d.id);
    xc.destroyDomain(victim.d.id);
    if (hv.devices.owner("pt-vda") !== null) tally.leak("the device still has an owner");
    if (dev.dma.page(Number(GUEST_RAM0_BASE), false) !== null) tally.leak("the device's DMA still reaches memory");
    const audit = auditMemory(hv);
    if (audit.length) { r.audit_failures++; tally.note(`final audit: ${audit[0]}`); }
    if (hv.frames.freeCount !== free0) tally.leak(`${free0 - hv.frames.freeCount} frames not back`);
    r.accounting_ok = hv.frames.freeCount === free0 && hv.domains.size === 1 && hv.stats.internalErrors === 0;
  } finally {
    disk.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return tally.finish();
}
