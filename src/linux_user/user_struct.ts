// Structures the kernel writes into user memory (stat, termios, timespec...),
// built little-endian as arm64 Linux lays them out.

// A little-endian structure being built for user memory.
export class Out {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u16(o: number, v: number): this { this.dv.setUint16(o, v, true); return this; }
  u32(o: number, v: number): this { this.dv.setUint32(o, v >>> 0, true); return this; }
  i32(o: number, v: number): this { this.dv.setInt32(o, v, true); return this; }
  u64(o: number, v: bigint | number): this { this.dv.setBigUint64(o, BigInt.asUintN(64, BigInt(v)), true); return this; }
}
