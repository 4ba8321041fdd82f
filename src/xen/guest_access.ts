// copy_from_guest / copy_to_guest: hypercall arguments are guest virtual
// addresses, translated through the calling vCPU's stage-1 tables (the core
// walks them) and then the domain's p2m. A control domain without an MMU
// uses guest-physical addresses directly (SCTLR_EL1.M = 0).

import type { Domain } from "./domain.js";
import type { Vcpu } from "./vcpu.js";
import type { Layout } from "./public/layout.js";
import { StructBuf } from "./public/layout.js";

export class GuestAccess {
  constructor(readonly d: Domain, readonly v: Vcpu) {}

  private host(va: bigint, write: boolean): number {
    const ipa = this.v.state.walk(va, write);
    if (ipa === null) return -1;
    return this.d.p2m.hostAddr(ipa, write);
  }

  read(va: bigint, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    const bytes = this.d.bytes;
    let done = 0;
    while (done < len) {
      const a = va + BigInt(done);
      const h = this.host(a, false);
      if (h < 0) return null;
      const n = Math.min(len - done, 4096 - Number(a & 0xFFFn));
      out.set(bytes.subarray(h, h + n), done);
      done += n;
    }
    return out;
  }

  write(va: bigint, data: Uint8Array): boolean {
    const bytes = this.d.bytes;
    let done = 0;
    while (done < data.length) {
      const a = va + BigInt(done);
      const h = this.host(a, true);
      if (h < 0) return false;
      const n = Math.min(data.length - done, 4096 - Number(a & 0xFFFn));
      bytes.set(data.subarray(done, done + n), h);
      this.d.noteWrite(h, n);
      done += n;
    }
    return true;
  }

  readStruct<F extends string>(va: bigint, layout: Layout<F>): StructBuf<F> | null {
    const b = this.read(va, layout.size);
    return b ? new StructBuf(layout, b) : null;
  }
  writeStruct<F extends string>(va: bigint, s: StructBuf<F>): boolean { return this.write(va, s.bytes); }

  u64(va: bigint): bigint | null {
    const b = this.read(va, 8);
    return b ? new DataView(b.buffer).getBigUint64(0, true) : null;
  }
  putU64(va: bigint, v: bigint): boolean {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return this.write(va, b);
  }
  string(va: bigint, max: number): string | null {
    const b = this.read(va, max);
    if (!b) return null;
    const end = b.indexOf(0);
    return Buffer.from(b.subarray(0, end < 0 ? max : end)).toString("utf8");
  }
}
