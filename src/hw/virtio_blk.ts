// A virtio block device (virtio 1.1, 5.2) over a host store (an image
// file): one request queue; reads, writes, flushes and the device id. Data
// moves between the store and the driver's buffers page by page with no
// copy in between; a buffer the owner cannot reach fails that request with
// an I/O error (the rest of the queue goes on), as a DMA fault behind an
// IOMMU does. A write the driver is told is done has reached the host file;
// a flush is fdatasync.

import { VirtioMmioDevice } from "./virtio_mmio.js";
import { VirtqueueError } from "./virtqueue.js";

export const VIRTIO_ID_BLOCK = 2;
const F_SEG_MAX = 1n << 2n, F_RO = 1n << 5n, F_BLK_SIZE = 1n << 6n, F_FLUSH = 1n << 9n;
const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8;
const S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
const SECTOR = 512;
const QUEUE_SIZE = 256;
const ID_BYTES = 20;

// What backs the disk: the host's image file (tools' DiskImage fits).
export interface BlockStore {
  readonly bytes: number;
  readonly readonly: boolean;
  read(offset: number, into: Uint8Array): void;
  write(offset: number, from: Uint8Array): void;
  flush(): void;
}

export interface BlkStats { reads: number; writes: number; flushes: number; readBytes: number; writeBytes: number; ioErrors: number; dmaFaults: number; }

export class VirtioBlk extends VirtioMmioDevice {
  readonly kind = "virtio-blk";
  readonly deviceId = VIRTIO_ID_BLOCK;
  protected readonly deviceFeatures: bigint;
  blk: BlkStats = { reads: 0, writes: 0, flushes: 0, readBytes: 0, writeBytes: 0, ioErrors: 0, dmaFaults: 0 };
  private readonly cfg = new Uint8Array(24);
  private readonly hdr = new Uint8Array(16);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private readonly id: Uint8Array;

  constructor(name: string, readonly store: BlockStore, serial: string) {
    super(name, [QUEUE_SIZE]);
    this.deviceFeatures = F_SEG_MAX | F_BLK_SIZE | F_FLUSH | (store.readonly ? F_RO : 0n);
    const v = new DataView(this.cfg.buffer);
    v.setBigUint64(0, BigInt(Math.floor(store.bytes / SECTOR)), true); // capacity in 512-byte sectors
    v.setUint32(12, QUEUE_SIZE - 2, true); // seg_max: a request's data descriptors, besides header and status
    v.setUint32(20, SECTOR, true); // blk_size
    this.id = new Uint8Array(ID_BYTES);
    this.id.set(new TextEncoder().encode(serial).subarray(0, ID_BYTES));
  }

  protected config(): Uint8Array { return this.cfg; }
  protected resetDevice(): void { /* requests complete synchronously: nothing in flight */ }

  protected process(): void {
    const q = this.queues[0];
    let done = 0;
    while (q.pop()) {
      const written = this.request();
      q.push(q.head, written);
      done++;
    }
    if (done) this.usedBuffers(q);
  }

  // One request: header, data, status. Returns the bytes written into the chain.
  private request(): number {
    const q = this.queues[0];
    if (q.readLen < this.hdr.length || q.writeLen < 1) throw new VirtqueueError("a request without its header or status byte");
    const statusAt = q.writeLen - 1;
    let status = S_OK, written = 0;
    if (!q.walk(false, 0, this.hdr.length, (p, off, n, at) => { this.hdr.set(p.subarray(off, off + n), at); return true; })) {
      status = S_IOERR;
      this.blk.dmaFaults++;
    } else {
      const type = this.hdrView.getUint32(0, true);
      const offset = Number(this.hdrView.getBigUint64(8, true)) * SECTOR;
      switch (type) {
        case T_IN: {
          const len = q.writeLen - 1;
          status = this.rw(offset, len, true);
          if (status === S_OK) { this.blk.reads++; this.blk.readBytes += len; written = len; }
          break;
        }
        case T_OUT: {
          const len = q.readLen - this.hdr.length;
          status = this.rw(offset, len, false);
          if (status === S_OK) { this.blk.writes++; this.blk.writeBytes += len; }
          break;
        }
        case T_FLUSH:
          try { this.store.flush(); this.blk.flushes++; } catch { status = S_IOERR; }
          break;
        case T_GET_ID: {
          const len = Math.min(q.writeLen - 1, ID_BYTES);
          if (q.walk(true, 0, len, (p, off, n, at) => { p.set(this.id.subarray(at, at + n), off); return true; })) written = len;
          else { status = S_IOERR; this.blk.dmaFaults++; }
          break;
        }
        default: status = S_UNSUPP;
      }
    }
    if (status === S_IOERR) this.blk.ioErrors++;
    const ok = q.walk(true, statusAt, 1, (p, off) => { p[off] = status; return true; });
    if (!ok) throw new VirtqueueError("the status byte is not the owner's to write");
    return written + 1;
  }

  // Moves `len` bytes between the disk at `offset` and the chain's data buffers.
  private rw(offset: number, len: number, read: boolean): number {
    if (len % SECTOR || offset + len > this.store.bytes) return S_IOERR;
    if (!read && this.store.readonly) return S_IOERR;
    const start = read ? 0 : this.hdr.length;
    try {
      const ok = this.queues[0].walk(read, start, len, (p, off, n, at) => {
        if (read) this.store.read(offset + at, p.subarray(off, off + n));
        else this.store.write(offset + at, p.subarray(off, off + n));
        return true;
      });
      if (!ok) { this.blk.dmaFaults++; return S_IOERR; }
    } catch {
      return S_IOERR; // the host file failed (EIO, ENOSPC): the driver sees an I/O error
    }
    return S_OK;
  }
}
