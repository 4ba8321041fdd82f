// blkback: the block backend in the control domain, for Linux's
// xen-blkfront. It follows the xenbus handshake of io/blkif.h (InitWait with
// the features, Connected once the frontend's rings are mapped), and serves
// the rings: read, write, flush, discard, indirect segments, persistent
// grants, several queues and multi-page rings. Every request is copied out
// of the shared ring before it is checked, so a frontend that rewrites it
// afterwards changes nothing; a frontend that breaks the ring protocol is
// disconnected and the other devices carry on.

import { GrantMapping, GrantStatusError } from "../xc/gnttab.js";
import { BackendDriver, BackendEnv } from "./backend_driver.js";
import { XenbusBackend } from "./xenbus_backend.js";
import {
  BLKIF_OP, BLKIF_RSP, BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, SEGS_PER_INDIRECT_FRAME,
  BLKIF_RING_ENTRY, BLKIF_SECTOR, VDISK, blkif_request, blkif_request_discard, blkif_request_indirect, blkif_response,
} from "../../xen/public/io/blkif.js";
import { BackRing } from "./back_ring.js";
import { DiskImage, RawImage, DiskImageError } from "./raw_image.js";
import { Qcow2Image } from "./qcow2.js";

export const BLKBACK_MAX_INDIRECT_SEGMENTS = 256;
export const BLKBACK_MAX_RING_PAGE_ORDER = 4;
export const BLKBACK_MAX_QUEUES = 4;
export const BLKBACK_MAX_PERSISTENT_GRANTS = 1056; // per queue, as Linux's blkback
const BACKEND_ROOT = "/local/domain/0/backend/vbd";
const PAGE = 4096;
const SECTORS_PER_PAGE = PAGE / BLKIF_SECTOR;


// What replication (Remus, src/tools/remus) sees of a domain's disks: every
// write and discard, once it has reached the image, before the guest is
// told it is done.
export interface WriteTap {
  write(devid: number, offset: number, data: Uint8Array): void;
  discard(devid: number, offset: number, length: number): void;
}

export function openDiskImage(path: string, format: string, readonly: boolean): DiskImage {
  if (format === "raw") return new RawImage(path, readonly);
  if (format === "qcow2") return new Qcow2Image(path, readonly);
  throw new DiskImageError(`disk format '${format}' is not supported`);
}

// ---- one queue: a shared ring, its event channel, its persistent grants
class BlkRing {
  private readonly maps: GrantMapping[] = [];
  private readonly ring: BackRing;
  private port = -1;
  broken = false;
  private readonly persistent = new Map<number, GrantMapping>(); // gref -> mapping
  // per-request scratch, reused (the hot path allocates nothing per request)
  private readonly req = new Uint8Array(BLKIF_RING_ENTRY);
  private readonly reqView = new DataView(this.req.buffer);
  private readonly rsp = new Uint8Array(blkif_response.size);
  private readonly rspView = new DataView(this.rsp.buffer);
  private readonly segGref = new Uint32Array(BLKBACK_MAX_INDIRECT_SEGMENTS);
  private readonly segFirst = new Uint8Array(BLKBACK_MAX_INDIRECT_SEGMENTS);
  private readonly segLast = new Uint8Array(BLKBACK_MAX_INDIRECT_SEGMENTS);
  private readonly segMap: (GrantMapping | null)[] = new Array<GrantMapping | null>(BLKBACK_MAX_INDIRECT_SEGMENTS).fill(null);
  private readonly segTransient: boolean[] = new Array<boolean>(BLKBACK_MAX_INDIRECT_SEGMENTS).fill(false);
  stats = { requests: 0, errors: 0, sectorsRead: 0, sectorsWritten: 0, flushes: 0, discards: 0 };

  constructor(private readonly dev: BlkDevice, refs: number[], remotePort: number) {
    const env = dev.env;
    try {
      for (const r of refs) this.maps.push(env.gnt.map(dev.domid, r, false));
    } catch (e) {
      for (const m of this.maps) env.gnt.unmap(m);
      throw e;
    }
    this.ring = new BackRing(this.maps.map((m) => m.page), BLKIF_RING_ENTRY);
    try {
      this.port = env.evtchn.bindInterdomain(dev.domid, remotePort, () => this.process());
    } catch (e) {
      for (const m of this.maps) env.gnt.unmap(m);
      this.maps.length = 0;
      throw e;
    }
  }

  process(): void {
    if (this.broken || this.port < 0) return;
    const ring = this.ring;
    let notify = false;
    do {
      const rp = ring.requestProducer();
      if (ring.unconsumed(rp) > ring.size) {
        this.fail(`the frontend's request producer (${rp}) ran ${ring.unconsumed(rp)} entries past the consumer on a ${ring.size}-entry ring`);
        return;
      }
      // every request is answered before the next is read, so the response
      // side can never overflow (RING_REQUEST_CONS_OVERFLOW cannot trigger)
      while (ring.reqCons !== rp) {
        ring.copyRequest(this.req);
        this.handle();
        if (this.broken || this.port < 0) return;
      }
      if (ring.pushResponses()) notify = true;
    } while (ring.finalCheckForRequests());
    if (notify) this.dev.env.evtchn.notify(this.port);
  }

  private fail(why: string): void {
    this.broken = true;
    this.dev.fatal(why);
  }

  private respond(id: bigint, op: number, status: number): void {
    this.rspView.setBigUint64(blkif_response.fields.id.offset, id, true);
    this.rspView.setUint8(blkif_response.fields.operation.offset, op);
    this.rspView.setInt16(blkif_response.fields.status.offset, status, true);
    this.ring.writeResponse(this.rsp);
    this.stats.requests++;
    if (status !== BLKIF_RSP.okay) this.stats.errors++;
  }

  private handle(): void {
    const r = this.reqView;
    const op = r.getUint8(blkif_request.fields.operation.offset);
    const id = r.getBigUint64(blkif_request.fields.id.offset, true);
    const dev = this.dev;
    switch (op) {
      case BLKIF_OP.read:
      case BLKIF_OP.write: {
        const n = r.getUint8(blkif_request.fields.nr_segments.offset);
        if (n === 0 || n > BLKIF_MAX_SEGMENTS_PER_REQUEST) { this.respond(id, op, BLKIF_RSP.error); return; }
        const segs = blkif_request.fields.seg.offset;
        for (let i = 0; i < n; i++) {
          this.segGref[i] = r.getUint32(segs + i * 8, true);
          this.segFirst[i] = r.getUint8(segs + i * 8 + 4);
          this.segLast[i] = r.getUint8(segs + i * 8 + 5);
        }
        this.respond(id, op, this.readWrite(op, r.getBigUint64(blkif_request.fields.sector_number.offset, true), n));
        return;
      }
      case BLKIF_OP.indirect: {
        const iop = r.getUint8(blkif_request_indirect.fields.indirect_op.offset);
        const n = r.getUint16(blkif_request_indirect.fields.nr_segments.offset, true);
        const rid = r.getBigUint64(blkif_request_indirect.fields.id.offset, true);
        const respOp = iop === BLKIF_OP.read || iop === BLKIF_OP.write ? iop : op;
        if (respOp === op || n === 0 || n > BLKBACK_MAX_INDIRECT_SEGMENTS) { this.respond(rid, respOp, BLKIF_RSP.error); return; }
        const pages = Math.ceil(n / SEGS_PER_INDIRECT_FRAME);
        if (pages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST) { this.respond(rid, respOp, BLKIF_RSP.error); return; }
        const grefs = blkif_request_indirect.fields.indirect_grefs.offset;
        for (let p = 0; p < pages; p++) {
          let m: GrantMapping;
          try { m = dev.env.gnt.map(dev.domid, r.getUint32(grefs + p * 4, true), true); } catch (e) {
            if (e instanceof GrantStatusError) { this.respond(rid, respOp, BLKIF_RSP.error); return; }
            throw e;
          }
          // copy the segment descriptors out before looking at them
          const pv = new DataView(m.page.buffer, m.page.byteOffset, PAGE);
          for (let i = p * SEGS_PER_INDIRECT_FRAME; i < Math.min(n, (p + 1) * SEGS_PER_INDIRECT_FRAME); i++) {
            const o = (i % SEGS_PER_INDIRECT_FRAME) * 8;
            this.segGref[i] = pv.getUint32(o, true);
            this.segFirst[i] = pv.getUint8(o + 4);
            this.segLast[i] = pv.getUint8(o + 5);
          }
          dev.env.gnt.unmap(m);
        }
        this.respond(rid, respOp, this.readWrite(respOp, r.getBigUint64(blkif_request_indirect.fields.sector_number.offset, true), n));
        return;
      }
      case BLKIF_OP.flush_diskcache: {
        // Once a flush has failed, no later one may say okay: Linux reports a
        // failed write-back to fsync once and then forgets it, so a later
        // fdatasync can succeed although writes acknowledged before the
        // failure never reached the disk.
        if (!dev.image || dev.flushFailed) { this.respond(id, op, BLKIF_RSP.error); return; }
        try { dev.image.flush(); this.stats.flushes++; this.respond(id, op, BLKIF_RSP.okay); } catch (e) {
          dev.flushFailed = true;
          dev.env.log(`blkback d${dev.domid}/${dev.devid}: flush failed: ${(e as Error).message}; every later flush of this device fails too`);
          this.respond(id, op, BLKIF_RSP.error);
        }
        return;
      }
      case BLKIF_OP.discard: {
        const img = dev.image;
        const sector = r.getBigUint64(blkif_request_discard.fields.sector_number.offset, true);
        const count = r.getBigUint64(blkif_request_discard.fields.nr_sectors.offset, true);
        if (!img || !dev.discard || img.readonly) { this.respond(id, op, BLKIF_RSP.eopnotsupp); return; }
        if (sector + count > dev.sectors || sector + count < sector) { this.respond(id, op, BLKIF_RSP.error); return; }
        try {
          img.discard(Number(sector) * BLKIF_SECTOR, Number(count) * BLKIF_SECTOR);
          dev.taps.get(dev.domid)?.discard(dev.devid, Number(sector) * BLKIF_SECTOR, Number(count) * BLKIF_SECTOR);
          this.stats.discards++;
          this.respond(id, op, BLKIF_RSP.okay);
        } catch (e) {
          dev.env.log(`blkback d${dev.domid}/${dev.devid}: discard failed: ${(e as Error).message}`);
          this.respond(id, op, BLKIF_RSP.error);
        }
        return;
      }
      default:
        // write barriers are not offered; anything else is not a request
        this.respond(id, op, op === BLKIF_OP.write_barrier ? BLKIF_RSP.eopnotsupp : BLKIF_RSP.error);
    }
  }

  // The segments in segGref/segFirst/segLast[0..n): check, map, transfer.
  private readWrite(op: number, sector: bigint, n: number): number {
    const dev = this.dev;
    const img = dev.image;
    if (!img) return BLKIF_RSP.error;
    const write = op === BLKIF_OP.write;
    if (write && img.readonly) return BLKIF_RSP.error;
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (this.segFirst[i] > this.segLast[i] || this.segLast[i] >= SECTORS_PER_PAGE) return BLKIF_RSP.error;
      total += this.segLast[i] - this.segFirst[i] + 1;
    }
    if (sector + BigInt(total) > dev.sectors) return BLKIF_RSP.error;
    let status: number = BLKIF_RSP.okay;
    let mapped = 0;
    try {
      for (; mapped < n; mapped++) {
        const g = this.segGref[mapped];
        let m = dev.persistent ? this.persistent.get(g) : undefined;
        this.segTransient[mapped] = false;
        if (!m) {
          // persistent grants are granted writable by contract (blkif.h note 8)
          m = dev.env.gnt.map(dev.domid, g, dev.persistent ? false : write);
          if (dev.persistent && this.persistent.size < BLKBACK_MAX_PERSISTENT_GRANTS) this.persistent.set(g, m);
          else this.segTransient[mapped] = true;
        }
        this.segMap[mapped] = m;
      }
      let pos = Number(sector) * BLKIF_SECTOR;
      const tap = write ? dev.taps.get(dev.domid) : undefined;
      for (let i = 0; i < n; i++) {
        const buf = this.segMap[i]!.page.subarray(this.segFirst[i] * BLKIF_SECTOR, (this.segLast[i] + 1) * BLKIF_SECTOR);
        if (write) { img.write(pos, buf); tap?.write(dev.devid, pos, buf); } else img.read(pos, buf);
        pos += buf.length;
      }
      if (write) this.stats.sectorsWritten += total; else this.stats.sectorsRead += total;
    } catch (e) {
      if (!(e instanceof GrantStatusError)) dev.env.log(`blkback d${dev.domid}/${dev.devid}: ${write ? "write" : "read"} at sector ${sector} failed: ${(e as Error).message}`);
      status = BLKIF_RSP.error;
    } finally {
      for (let i = 0; i < mapped; i++) {
        if (this.segTransient[i]) dev.env.gnt.unmap(this.segMap[i]!);
        this.segMap[i] = null;
      }
    }
    return status;
  }

  close(): void {
    const env = this.dev.env;
    if (this.port >= 0) env.evtchn.close(this.port);
    this.port = -1;
    for (const m of this.persistent.values()) env.gnt.unmap(m);
    this.persistent.clear();
    for (const m of this.maps) env.gnt.unmap(m);
    this.maps.length = 0;
  }
}

// ---- one virtual block device
export class BlkDevice extends XenbusBackend {
  image: DiskImage | null = null;
  taps: ReadonlyMap<number, WriteTap> = new Map(); // the driver's, by domain
  flushFailed = false; // sticky until the device is made again (see the flush op)
  sectors = 0n;
  persistent = false;
  discard = false;
  private rings: BlkRing[] = [];
  protected readonly label = `blkback d${this.domid}/${this.devid}`;

  protected prepare(): void {
    const xs = this.env.xs;
    this.image = openDiskImage(xs.read(`${this.be}/params`) ?? "", xs.read(`${this.be}/format`) ?? "raw", (xs.read(`${this.be}/mode`) ?? "w") !== "w");
    this.sectors = BigInt(Math.floor(this.image.bytes / BLKIF_SECTOR));
    this.discard = xs.read(`${this.be}/discard-enable`) !== "0" && !this.image.readonly;
    xs.write(`${this.be}/feature-flush-cache`, "1");
    xs.write(`${this.be}/feature-barrier`, "0");
    xs.write(`${this.be}/feature-discard`, this.discard ? "1" : "0");
    if (this.discard) {
      xs.write(`${this.be}/discard-granularity`, String(PAGE));
      xs.write(`${this.be}/discard-alignment`, "0");
      xs.write(`${this.be}/discard-secure`, "0");
    }
    xs.write(`${this.be}/feature-persistent`, "1");
    xs.write(`${this.be}/feature-max-indirect-segments`, String(BLKBACK_MAX_INDIRECT_SEGMENTS));
    xs.write(`${this.be}/max-ring-page-order`, String(BLKBACK_MAX_RING_PAGE_ORDER));
    xs.write(`${this.be}/multi-queue-max-queues`, String(BLKBACK_MAX_QUEUES));
  }

  protected override canRestart(): boolean { return this.image !== null; }
  protected holdsRings(): boolean { return this.rings.length > 0; }

  protected connectRings(): void {
    const xs = this.env.xs;
    const proto = xs.read(`${this.fe}/protocol`);
    if (proto !== null && proto !== "arm-abi") throw new Error(`unsupported ring protocol '${proto}'`);
    const nq = xs.readInt(`${this.fe}/multi-queue-num-queues`) ?? 1;
    if (nq < 1 || nq > BLKBACK_MAX_QUEUES) throw new Error(`frontend asks for ${nq} queues (at most ${BLKBACK_MAX_QUEUES})`);
    const order = xs.readInt(`${this.fe}/ring-page-order`) ?? 0;
    if (order > BLKBACK_MAX_RING_PAGE_ORDER) throw new Error(`ring-page-order ${order} exceeds ${BLKBACK_MAX_RING_PAGE_ORDER}`);
    this.persistent = xs.read(`${this.fe}/feature-persistent`) === "1";
    for (let q = 0; q < nq; q++) {
      const dir = nq === 1 ? "" : `queue-${q}/`;
      const refs: number[] = [];
      if (order === 0 && xs.read(`${this.fe}/${dir}ring-ref`) !== null) refs.push(this.frontendInt(`${dir}ring-ref`));
      else for (let i = 0; i < 1 << order; i++) refs.push(this.frontendInt(`${dir}ring-ref${i}`));
      this.rings.push(new BlkRing(this, refs, this.frontendInt(`${dir}event-channel`)));
    }
    xs.write(`${this.be}/sectors`, this.sectors.toString());
    xs.write(`${this.be}/info`, String((this.image!.readonly ? VDISK.readonly : 0) | (xs.read(`${this.be}/device-type`) === "cdrom" ? VDISK.cdrom : 0)));
    xs.write(`${this.be}/sector-size`, String(BLKIF_SECTOR));
    xs.write(`${this.be}/physical-sector-size`, String(BLKIF_SECTOR));
  }

  protected override afterConnect(): void {
    for (const r of this.rings) r.process(); // anything queued before we listened
  }

  protected release(): void {
    const rings = this.rings;
    this.rings = [];
    for (const r of rings) { r.broken = true; try { r.close(); } catch (e) { this.env.log(`${this.label}: ${(e as Error).message}`); } }
  }

  stats(): { requests: number; errors: number; sectorsRead: number; sectorsWritten: number; flushes: number; discards: number } {
    const s = { requests: 0, errors: 0, sectorsRead: 0, sectorsWritten: 0, flushes: 0, discards: 0 };
    for (const r of this.rings) for (const k of Object.keys(s) as (keyof typeof s)[]) s[k] += r.stats[k];
    return s;
  }

  // Whatever the frontend has put on the rings is served before the device
  // goes: a request queued and notified just before a forced detach (its
  // event not delivered yet) would otherwise never be answered, and Linux's
  // blkfront waits for its in-flight requests for ever (the process doing
  // the I/O hangs, and its removal with it).
  protected override drain(): void {
    for (const r of this.rings) {
      try { r.process(); } catch (e) { this.env.log(`${this.label}: draining the ring: ${(e as Error).message}`); }
    }
  }

  protected override closed(): void {
    this.image?.close();
    this.image = null;
  }
}

// ---- the driver: a device per directory under the vbd backend tree
export class BlkBack extends BackendDriver<BlkDevice> {
  // a domain's writes, also told to its tap (a device made again keeps it)
  constructor(env: BackendEnv, readonly taps = new Map<number, WriteTap>()) {
    super(env, BACKEND_ROOT, (domid, devid, be) => {
      const d = new BlkDevice(env, domid, devid, be);
      d.taps = taps;
      return d;
    });
  }
  // The disk a domain's device serves, as its guest sees it (null before
  // the device has opened it).
  image(domid: number, devid: number): DiskImage | null { return this.devices.get(`${domid}/${devid}`)?.image ?? null; }
}
