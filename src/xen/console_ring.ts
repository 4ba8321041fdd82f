// The hypervisor's console ring (Xen's conring): everything the hypervisor
// prints and what guests write with console_io, kept in a fixed ring that
// `xl dmesg` reads with XEN_SYSCTL_readconsole. Producer and consumer are
// free-running 32-bit counters, as in xen/drivers/char/console.c; when the
// producer overruns, the oldest bytes are gone.

export const CONRING_SIZE = 64 * 1024; // Xen's default is 16 KiB; xents keeps more

export class ConsoleRing {
  private readonly ring: Uint8Array;
  private prod = 0; // u32, free running
  private cons = 0; // oldest byte still kept (moves on overrun and on clear)

  constructor(readonly size = CONRING_SIZE) {
    if (size & (size - 1)) throw new Error("the console ring size must be a power of two");
    this.ring = new Uint8Array(size);
  }

  write(bytes: Uint8Array): void {
    for (const b of bytes) {
      this.ring[this.prod & (this.size - 1)] = b;
      this.prod = (this.prod + 1) >>> 0;
    }
    if (((this.prod - this.cons) >>> 0) > this.size) this.cons = (this.prod - this.size) >>> 0;
  }
  writeLine(line: string): void { this.write(Buffer.from(line + "\n")); }

  // read_console_ring(): up to max bytes from the oldest kept, or from
  // `index` when incremental and still within the ring; `clear` forgets what
  // was read. Returns the bytes and the index to continue from.
  read(max: number, index: number, incremental: boolean, clear: boolean): { bytes: Uint8Array; index: number } {
    let c = this.cons;
    const p = this.prod;
    if (incremental && (c <= p ? c < index && index <= p : c < index || index <= p)) c = index >>> 0;
    const n = Math.min(max, (p - c) >>> 0);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.ring[(c + i) & (this.size - 1)];
    c = (c + n) >>> 0;
    if (clear) this.cons = ((p - c) >>> 0) > this.size ? (p - this.size) >>> 0 : c;
    return { bytes: out, index: c };
  }

  text(): string { return Buffer.from(this.read(this.size, 0, false, false).bytes).toString("utf8"); }
}
