// A virtio device on the MMIO transport, version 2 (virtio 1.1, 4.2): the
// register block a driver programs (features, status, queue setup, notify,
// interrupt status and acknowledge, the device's configuration space) and
// one interrupt line, high while any interrupt status bit is set. The
// device model (block, network) processes its queues when the driver
// notifies; its buffers are reached only through the DMA space its owner
// gives it. A driver that breaks the rules makes the device ask for a
// reset (DEVICE_NEEDS_RESET and a configuration interrupt), as the spec
// describes, and the device touches nothing more until it gets one.

import type { DmaSpace } from "./dma.js";
import { NO_DMA } from "./dma.js";
import { Virtqueue, VirtqueueError } from "./virtqueue.js";
import type { PlatformDevice } from "./platform_device.js";

export const VIRTIO_MMIO_SIZE = 0x200; // as libxl lays devices out (VIRTIO_MMIO_DEV_SIZE)
const MAGIC = 0x74726976; // "virt"
const VENDOR = 0x73746e78; // "xnts"
export const VIRTIO_F_VERSION_1 = 1n << 32n;

export const STATUS = { ACKNOWLEDGE: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, NEEDS_RESET: 0x40, FAILED: 0x80 } as const;
export const INT_USED = 1, INT_CONFIG = 2;

const REG = {
  MAGIC: 0x000, VERSION: 0x004, DEVICE_ID: 0x008, VENDOR_ID: 0x00c, DEVICE_FEATURES: 0x010, DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020, DRIVER_FEATURES_SEL: 0x024, QUEUE_SEL: 0x030, QUEUE_NUM_MAX: 0x034, QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044, QUEUE_NOTIFY: 0x050, INTERRUPT_STATUS: 0x060, INTERRUPT_ACK: 0x064, STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080, QUEUE_DESC_HIGH: 0x084, QUEUE_DRIVER_LOW: 0x090, QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0, QUEUE_DEVICE_HIGH: 0x0a4, SHM_SEL: 0x0ac, SHM_LEN_LOW: 0x0b0, SHM_LEN_HIGH: 0x0b4,
  SHM_BASE_LOW: 0x0b8, SHM_BASE_HIGH: 0x0bc, CONFIG_GENERATION: 0x0fc, CONFIG: 0x100,
} as const;

const lo = (v: number): number => v % 0x100000000;
const withLow = (cur: number, v: number): number => Math.floor(cur / 0x100000000) * 0x100000000 + v;
const withHigh = (cur: number, v: number): number => (v & 0xFFFFF) * 0x100000000 + lo(cur); // bus addresses are below 2^52

export interface VirtioStats { notifies: number; interrupts: number; errors: number; resets: number; }

export abstract class VirtioMmioDevice implements PlatformDevice {
  abstract readonly deviceId: number;
  abstract readonly kind: string;
  readonly mmioSize = VIRTIO_MMIO_SIZE;
  // The device's own feature bits (VERSION_1 is the transport's).
  protected abstract readonly deviceFeatures: bigint;
  readonly queues: Virtqueue[];
  // set by the device's owner: where its DMA goes, and its interrupt line
  dma: DmaSpace = NO_DMA;
  setIrq: (level: boolean) => void = () => {};
  // why the device last asked for a reset (for the owner's log)
  onError: (message: string) => void = () => {};
  status = 0;
  driverFeatures = 0n;
  interruptStatus = 0;
  stats: VirtioStats = { notifies: 0, interrupts: 0, errors: 0, resets: 0 };
  private devFeatSel = 0;
  private drvFeatSel = 0;
  private queueSel = 0;
  private configGeneration = 0;

  constructor(readonly name: string, queueSizes: number[]) {
    this.queues = queueSizes.map((n) => new Virtqueue(n, () => this.dma));
  }

  // The configuration space (device-specific layout, little-endian).
  protected abstract config(): Uint8Array;
  protected configWrite(_off: number, _size: number, _value: number): void { /* read-only unless the device says */ }
  // Buffers were made available on queue `q` (or the driver just became ready).
  protected abstract process(q: number): void;
  // The device's own state back to power-on (its queues are the transport's).
  protected abstract resetDevice(): void;

  features(): bigint { return this.deviceFeatures | VIRTIO_F_VERSION_1; }
  get running(): boolean { return (this.status & (STATUS.DRIVER_OK | STATUS.NEEDS_RESET)) === STATUS.DRIVER_OK; }

  read(off: number, size: number): number {
    if (off >= REG.CONFIG) {
      const c = this.config(), o = off - REG.CONFIG;
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = v * 256 + (o + i < c.length ? c[o + i] : 0);
      return v;
    }
    if (size !== 4) return 0; // the registers are 32-bit
    const q = this.queues[this.queueSel];
    switch (off) {
      case REG.MAGIC: return MAGIC;
      case REG.VERSION: return 2;
      case REG.DEVICE_ID: return this.deviceId;
      case REG.VENDOR_ID: return VENDOR;
      case REG.DEVICE_FEATURES: return this.devFeatSel > 1 ? 0 : Number((this.features() >> BigInt(32 * this.devFeatSel)) & 0xFFFFFFFFn);
      case REG.QUEUE_NUM_MAX: return q ? q.maxSize : 0;
      case REG.QUEUE_READY: return q?.ready ? 1 : 0;
      case REG.INTERRUPT_STATUS: return this.interruptStatus;
      case REG.STATUS: return this.status;
      case REG.SHM_LEN_LOW: case REG.SHM_LEN_HIGH: return 0xFFFFFFFF; // no shared memory regions: length -1
      case REG.CONFIG_GENERATION: return this.configGeneration;
      case REG.QUEUE_DESC_LOW: return q ? lo(q.desc) >>> 0 : 0;
      case REG.QUEUE_DESC_HIGH: return q ? Math.floor(q.desc / 0x100000000) : 0;
      case REG.QUEUE_DRIVER_LOW: return q ? lo(q.avail) >>> 0 : 0;
      case REG.QUEUE_DRIVER_HIGH: return q ? Math.floor(q.avail / 0x100000000) : 0;
      case REG.QUEUE_DEVICE_LOW: return q ? lo(q.used) >>> 0 : 0;
      case REG.QUEUE_DEVICE_HIGH: return q ? Math.floor(q.used / 0x100000000) : 0;
      default: return 0;
    }
  }

  write(off: number, size: number, value: number): void {
    if (off >= REG.CONFIG) { this.configWrite(off - REG.CONFIG, size, value); return; }
    if (size !== 4) return;
    const v = value >>> 0;
    const q = this.queues[this.queueSel];
    // queue setup is for a queue that is not running (4.2.3.2)
    const setup = (f: (q: Virtqueue) => void): void => { if (q && !q.ready) f(q); };
    switch (off) {
      case REG.DEVICE_FEATURES_SEL: this.devFeatSel = v; break;
      case REG.DRIVER_FEATURES_SEL: this.drvFeatSel = v; break;
      case REG.DRIVER_FEATURES:
        if (this.drvFeatSel <= 1 && !(this.status & STATUS.FEATURES_OK)) {
          const shift = BigInt(32 * this.drvFeatSel);
          this.driverFeatures = (this.driverFeatures & ~(0xFFFFFFFFn << shift)) | (BigInt(v) << shift);
        }
        break;
      case REG.QUEUE_SEL: this.queueSel = v; break;
      case REG.QUEUE_NUM: setup((x) => { x.num = v; }); break;
      case REG.QUEUE_DESC_LOW: setup((x) => { x.desc = withLow(x.desc, v); }); break;
      case REG.QUEUE_DESC_HIGH: setup((x) => { x.desc = withHigh(x.desc, v); }); break;
      case REG.QUEUE_DRIVER_LOW: setup((x) => { x.avail = withLow(x.avail, v); }); break;
      case REG.QUEUE_DRIVER_HIGH: setup((x) => { x.avail = withHigh(x.avail, v); }); break;
      case REG.QUEUE_DEVICE_LOW: setup((x) => { x.used = withLow(x.used, v); }); break;
      case REG.QUEUE_DEVICE_HIGH: setup((x) => { x.used = withHigh(x.used, v); }); break;
      case REG.QUEUE_READY:
        if (!q) break;
        if (v & 1) {
          if (q.ready) break;
          const bad = q.check();
          if (bad) { this.fail(`queue ${this.queueSel}: ${bad}`); break; }
          q.ready = true;
          q.lastAvail = 0;
          q.usedIdx = 0;
        } else q.ready = false;
        break;
      case REG.QUEUE_NOTIFY:
        this.stats.notifies++;
        if (v < this.queues.length) this.kick(v);
        break;
      case REG.INTERRUPT_ACK:
        this.interruptStatus &= ~v;
        this.setIrq(this.interruptStatus !== 0);
        break;
      case REG.STATUS: this.writeStatus(v & 0xFF); break;
      default: break;
    }
  }

  private writeStatus(v: number): void {
    if (v === 0) { this.reset(); return; }
    if ((v & STATUS.FEATURES_OK) && !(this.status & STATUS.FEATURES_OK)) {
      // refused (the bit stays clear, as 3.1.1 has the driver check) unless
      // every bit is one the device offered and VERSION_1 is among them
      const ok = (this.driverFeatures & ~this.features()) === 0n && (this.driverFeatures & VIRTIO_F_VERSION_1) !== 0n;
      if (!ok) v &= ~STATUS.FEATURES_OK;
    }
    const wasRunning = this.running;
    this.status = (v & ~STATUS.NEEDS_RESET) | (this.status & STATUS.NEEDS_RESET);
    if (!wasRunning && this.running) for (let i = 0; i < this.queues.length; i++) this.kick(i);
  }

  // Back to power-on: no DMA in flight, no interrupt, queues forgotten.
  reset(): void {
    this.stats.resets++;
    this.status = 0;
    this.driverFeatures = 0n;
    this.devFeatSel = 0; this.drvFeatSel = 0; this.queueSel = 0;
    for (const q of this.queues) q.reset();
    this.resetDevice();
    this.interruptStatus = 0;
    this.setIrq(false);
  }

  // The driver made buffers available on queue `q`.
  protected kick(q: number): void {
    if (!this.running || !this.queues[q]?.ready) return;
    this.guard(`queue ${q}`, () => this.process(q));
  }

  // Runs queue work; a driver's broken ring makes the device ask for a reset.
  protected guard(what: string, work: () => void): void {
    try {
      work();
    } catch (e) {
      if (!(e instanceof VirtqueueError)) throw e;
      this.fail(`${what}: ${e.message}`);
    }
  }

  // Used buffers on `q`: interrupt unless the driver asked for none.
  protected usedBuffers(q: Virtqueue): void {
    if (q.wantsInterrupt()) this.interrupt(INT_USED);
  }

  protected interrupt(bits: number): void {
    this.stats.interrupts++;
    this.interruptStatus |= bits;
    this.setIrq(true);
  }

  protected configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    this.interrupt(INT_CONFIG);
  }

  // The driver broke the rules: the device stops and asks for a reset.
  protected fail(message: string): void {
    this.stats.errors++;
    this.onError(`${this.name}: ${message}; the device needs a reset`);
    if (this.status & STATUS.NEEDS_RESET) return;
    this.status |= STATUS.NEEDS_RESET;
    this.configChanged();
  }
}
