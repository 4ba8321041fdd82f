// A virtio network device (virtio 1.1, 5.1): a receive and a transmit
// queue, a MAC address and a link that is up; plain Ethernet frames (no
// offloads offered), each behind the 12-byte virtio_net_hdr. What the
// driver transmits goes to `onTransmit` (the wire: a bridge port, a TAP);
// what arrives from the wire fills the driver's receive buffers, waiting in
// a bounded backlog when there are none (beyond it frames are dropped, as a
// NIC with a full FIFO drops them).

import { VirtioMmioDevice } from "./virtio_mmio.js";

export const VIRTIO_ID_NET = 1;
const F_MAC = 1n << 5n, F_STATUS = 1n << 16n;
const LINK_UP = 1;
const HDR = 12; // virtio_net_hdr with num_buffers (VERSION_1)
const RX = 0, TX = 1;
const QUEUE_SIZE = 256;
export const NET_MTU = 1500;
const MAX_FRAME = NET_MTU + 18; // Ethernet header and a VLAN tag
const BACKLOG_FRAMES = 256;

export interface NetStats { txFrames: number; rxFrames: number; txBytes: number; rxBytes: number; dropped: number; dmaFaults: number; }

export class VirtioNet extends VirtioMmioDevice {
  readonly kind = "virtio-net";
  readonly deviceId = VIRTIO_ID_NET;
  protected readonly deviceFeatures = F_MAC | F_STATUS;
  net: NetStats = { txFrames: 0, rxFrames: 0, txBytes: 0, rxBytes: 0, dropped: 0, dmaFaults: 0 };
  onTransmit: (frame: Uint8Array) => void = () => {};
  private readonly cfg = new Uint8Array(8);
  private readonly backlog: Uint8Array[] = [];
  private readonly rxHdr = new Uint8Array(HDR);

  constructor(name: string, readonly mac: Uint8Array) {
    super(name, [QUEUE_SIZE, QUEUE_SIZE]);
    if (mac.length !== 6) throw new Error("a MAC address is 6 bytes");
    this.cfg.set(mac, 0);
    this.cfg[6] = LINK_UP;
    this.rxHdr[10] = 1; // num_buffers: one buffer per frame (no MRG_RXBUF)
  }

  protected config(): Uint8Array { return this.cfg; }
  protected resetDevice(): void { this.backlog.length = 0; }

  protected process(q: number): void {
    if (q === TX) this.transmit();
    else this.fillReceive();
  }

  private transmit(): void {
    const q = this.queues[TX];
    let done = 0;
    while (q.pop()) {
      done++;
      const len = q.readLen - HDR;
      if (len < 14 || len > MAX_FRAME) { this.net.dropped++; q.push(q.head, 0); continue; }
      const frame = new Uint8Array(len); // the wire may keep it (a queue, a backlog): its own copy
      const ok = q.walk(false, HDR, len, (p, off, n, at) => { frame.set(p.subarray(off, off + n), at); return true; });
      q.push(q.head, 0);
      if (!ok) { this.net.dmaFaults++; this.net.dropped++; continue; }
      this.net.txFrames++;
      this.net.txBytes += len;
      this.onTransmit(frame);
    }
    if (done) this.usedBuffers(q);
  }

  // A frame from the wire.
  receive(frame: Uint8Array): void {
    if (!this.running || frame.length < 14 || frame.length > MAX_FRAME) { this.net.dropped++; return; }
    this.guard("receive queue", () => {
      if (this.backlog.length === 0 && this.deliver(frame)) { this.usedBuffers(this.queues[RX]); return; }
      if (this.backlog.length >= BACKLOG_FRAMES) { this.net.dropped++; return; }
      this.backlog.push(frame.slice());
    });
  }

  private fillReceive(): void {
    let n = 0;
    while (this.backlog.length && this.deliver(this.backlog[0])) { this.backlog.shift(); n++; }
    if (n) this.usedBuffers(this.queues[RX]);
  }

  // Into the next receive buffer; false when the driver has none.
  private deliver(frame: Uint8Array): boolean {
    const q = this.queues[RX];
    if (!q.ready || !q.pop()) return false;
    if (q.writeLen < HDR + frame.length) { this.net.dropped++; q.push(q.head, 0); return true; }
    const ok = q.walk(true, 0, HDR, (p, off, n, at) => { p.set(this.rxHdr.subarray(at, at + n), off); return true; }) &&
      q.walk(true, HDR, frame.length, (p, off, n, at) => { p.set(frame.subarray(at, at + n), off); return true; });
    if (!ok) { this.net.dmaFaults++; this.net.dropped++; q.push(q.head, 0); return true; }
    q.push(q.head, HDR + frame.length);
    this.net.rxFrames++;
    this.net.rxBytes += frame.length;
    return true;
  }
}
