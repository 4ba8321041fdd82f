// Console input for the hardware domain (Xen's serial_rx_ring in
// xen/drivers/char/console.c): characters typed on the host's console land
// in a 128-byte ring; when it is full they are dropped, as a UART's FIFO
// would. Domain-0 is told by VIRQ_CONSOLE on every character, full or not
// (so its reader never stalls), and takes them with CONSOLEIO_read. This is
// what a Linux Domain-0's hvc0 reads (drivers/tty/hvc/hvc_xen.c).

export const SERIAL_RX_SIZE = 128;

export class SerialRx {
  private readonly ring = new Uint8Array(SERIAL_RX_SIZE);
  private prod = 0; // free running
  private cons = 0;
  dropped = 0;

  // Returns how many of the bytes were kept.
  push(bytes: Uint8Array): number {
    let kept = 0;
    for (const b of bytes) {
      if (this.prod - this.cons === SERIAL_RX_SIZE) { this.dropped++; continue; }
      this.ring[this.prod++ % SERIAL_RX_SIZE] = b;
      kept++;
    }
    return kept;
  }
  get pending(): number { return this.prod - this.cons; }
  // Up to `max` bytes, oldest first, without taking them.
  peek(max: number): Uint8Array {
    const n = Math.min(max, this.prod - this.cons);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.ring[(this.cons + i) % SERIAL_RX_SIZE];
    return out;
  }
  consume(n: number): void { this.cons += Math.min(n, this.prod - this.cons); }
}
