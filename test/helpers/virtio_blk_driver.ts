// A virtio-blk driver as a domain that owns the device would run it: the
// device's registers through the owner's MMIO region (as its loads and
// stores trap), one split queue of 8 in the owner's RAM, requests whose
// buffers are any bus address the test picks (a bus address is an IPA of
// the owner). Every request is processed when the queue is notified.

import assert from "node:assert/strict";
import type { Domain } from "../../src/xen/domain.js";
import type { Assignment } from "../../src/xen/device_assign.js";
import { STATUS, VIRTIO_F_VERSION_1 } from "../../src/hw/virtio_mmio.js";

export const VIRTIO_BLK_T_IN = 0, VIRTIO_BLK_T_OUT = 1;
const QUEUE = 8;

export class VirtioBlkDriver {
  private availIdx = 0;
  private nextDesc = 0;
  readonly desc: bigint;
  readonly avail: bigint;
  readonly used: bigint;
  private readonly bufs: bigint;

  // `ring`: 64 KiB of the owner's RAM for the queue and request headers.
  constructor(private readonly owner: Domain, private readonly a: Assignment, ring: bigint) {
    this.desc = ring;
    this.avail = ring + 0x1000n;
    this.used = ring + 0x2000n;
    this.bufs = ring + 0x4000n;
  }

  reg(off: number, v?: number): number {
    if (v === undefined) return Number(this.a.region.read(0, off, 4));
    this.a.region.write(0, off, 4, BigInt(v));
    return 0;
  }

  // The owner's memory at an IPA (the driver's own view of its RAM).
  mem(ipa: bigint, write = true): DataView {
    const h = this.owner.p2m.hostAddr(ipa, write);
    assert.ok(h >= 0, `the owner has RAM at 0x${ipa.toString(16)}`);
    return new DataView(this.owner.bytes.buffer, h, 4096 - Number(ipa & 0xFFFn));
  }

  // Reset, features, queue 0 at the given areas (default: the driver's own).
  setup(areas: { desc?: bigint; avail?: bigint; used?: bigint } = {}): boolean {
    this.availIdx = 0;
    this.nextDesc = 0;
    this.reg(0x70, 0);
    // fresh rings, as a driver allocates them: nothing left over is made available
    for (const area of [this.desc, this.avail, this.used]) new Uint8Array(this.mem(area).buffer, this.mem(area).byteOffset, 4096).fill(0);
    this.reg(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
    this.reg(0x24, 1);
    this.reg(0x20, Number(VIRTIO_F_VERSION_1 >> 32n));
    this.reg(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
    this.reg(0x30, 0);
    this.reg(0x38, QUEUE);
    const lohi = (off: number, v: bigint): void => { this.reg(off, Number(v & 0xFFFFFFFFn)); this.reg(off + 4, Number(v >> 32n)); };
    lohi(0x80, areas.desc ?? this.desc);
    lohi(0x90, areas.avail ?? this.avail);
    lohi(0xa0, areas.used ?? this.used);
    this.reg(0x44, 1);
    this.reg(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK);
    return (this.reg(0x70) & STATUS.DRIVER_OK) !== 0 && !this.needsReset();
  }

  needsReset(): boolean { return (this.reg(0x70) & STATUS.NEEDS_RESET) !== 0; }

  // One request of `len` bytes at sector 0 with its data buffer at `target`
  // (device-writable for a read). Returns the status byte, or -1 when the
  // device did not complete it (it asked for a reset).
  request(type: number, target: bigint, len = 512, sector = 0n): number {
    const hdr = this.bufs + BigInt(this.availIdx % QUEUE) * 64n, status = hdr + 32n;
    const h = this.mem(hdr);
    h.setUint32(0, type, true);
    h.setUint32(4, 0, true);
    h.setBigUint64(8, sector, true);
    this.mem(status).setUint8(0, 0xff);
    const chain: [bigint, number, number][] = [[hdr, 16, 0], [target, len, type === VIRTIO_BLK_T_IN ? 2 : 0], [status, 1, 2]];
    const head = this.nextDesc;
    chain.forEach(([addr, n, flags], i) => {
      const dv = this.mem(this.desc + BigInt(16 * ((head + i) % QUEUE)));
      dv.setBigUint64(0, addr, true);
      dv.setUint32(8, n, true);
      dv.setUint16(12, flags | (i < 2 ? 1 : 0), true);
      dv.setUint16(14, (head + i + 1) % QUEUE, true);
    });
    this.nextDesc = (this.nextDesc + 3) % QUEUE;
    this.mem(this.avail + 4n + BigInt(2 * (this.availIdx % QUEUE))).setUint16(0, head, true);
    this.availIdx++;
    this.mem(this.avail).setUint16(2, this.availIdx, true);
    this.reg(0x50, 0);
    if (this.mem(this.used, false).getUint16(2, true) !== (this.availIdx & 0xffff)) return -1;
    return this.mem(status, false).getUint8(0);
  }
}
