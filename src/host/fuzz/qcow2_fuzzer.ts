// `xents fuzz qcow2`: a real qcow2 image (made by qemu-img, its clusters
// written through blkback's own qcow2 code), then damaged copies — header
// fields, L1 and L2 entries, refcount tables and blocks, header extensions,
// backing-file names (themselves, each other, anything), cut short — opened
// and read, written and discarded as blkback would. Each copy must be
// refused with a DiskImageError or work; any other exception is a host
// exception, and every file descriptor must be closed again (leaks).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Qcow2Image } from "../../tools/backends/qcow2.js";
import { DiskImageError } from "../../tools/backends/raw_image.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";

export interface Qcow2FuzzOptions { iterations: number; seed: number }

export interface Qcow2FuzzReport extends FuzzFigures {
  target: "qcow2";
  opened: number; // damaged images that still opened
  refused: number;
  operations: number; // reads, writes and discards on the ones that opened
}

const SIZE = 8 << 20;
const openFds = (): number => readdirSync("/proc/self/fd").length;

export function fuzzQcow2(o: Qcow2FuzzOptions): Qcow2FuzzReport {
  const tally = new FuzzTally<Qcow2FuzzReport>("qcow2", o, { opened: 0, refused: 0, operations: 0 });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  const dir = mkdtempSync(join(tmpdir(), "xents-fuzz-qcow2-"));
  try {
    // the image every copy is made from: qemu-img's, with data written by our code
    const basePath = join(dir, "base.qcow2");
    try { execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", basePath, String(SIZE)]); } catch (e) { throw new Error(`the qcow2 fuzzer needs qemu-img (Debian package qemu-utils): ${(e as Error).message}`); }
    const backingPath = join(dir, "backing.raw");
    writeFileSync(backingPath, new Uint8Array(SIZE).fill(0x42));
    const w = new Qcow2Image(basePath, false);
    for (let i = 0; i < 40; i++) w.write(rng.int(SIZE / 512 - 16) * 512, new Uint8Array(512 * (1 + rng.int(16))).fill(i));
    w.close();
    const base = new Uint8Array(readFileSync(basePath));
    const be = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const clusterBits = be(base).getUint32(20);
    const l1Off = Number(be(base).getBigUint64(40)), rtOff = Number(be(base).getBigUint64(48));
    const fds0 = openFds();

    const damage = (): { bytes: Uint8Array; how: string } => {
      const b = new Uint8Array(base);
      const dv = be(b);
      const u64 = (): bigint => rng.pick([0n, 1n, 512n, BigInt(b.length), BigInt(b.length) + 65536n, (1n << 62n), (1n << 64n) - 1n, 0x80000000_00000000n | 0x10000n, BigInt(rng.u32()) << 9n]);
      const u32 = (): number => rng.pick([0, 1, 9, 16, 21, 22, 64, 0x7FFFFFFF, 0xFFFFFFFF, rng.u32()]);
      switch (rng.int(9)) {
        case 0: { // a header field
          const f = rng.pick<[number, 4 | 8, string]>([[4, 4, "version"], [8, 8, "backing offset"], [16, 4, "backing size"], [20, 4, "cluster_bits"], [24, 8, "size"],
            [32, 4, "crypt"], [36, 4, "l1_size"], [40, 8, "l1 offset"], [48, 8, "refcount table offset"], [56, 4, "refcount table clusters"],
            [60, 4, "snapshots"], [72, 8, "incompatible features"], [96, 4, "refcount_order"], [100, 4, "header_length"]]);
          if (f[1] === 4) dv.setUint32(f[0], u32()); else dv.setBigUint64(f[0], u64());
          return { bytes: b, how: `header ${f[2]}` };
        }
        case 1: dv.setBigUint64(l1Off + 8 * rng.int(4), u64()); return { bytes: b, how: "L1 entry" };
        case 2: { // an L2 entry (the first L2 table the L1 names)
          const l2 = Number(dv.getBigUint64(l1Off) & 0x00FFFFFFFFFFFE00n);
          if (l2) dv.setBigUint64(l2 + 8 * rng.int(1 << (clusterBits - 3)), u64());
          return { bytes: b, how: "L2 entry" };
        }
        case 3: dv.setBigUint64(rtOff + 8 * rng.int(4), u64()); return { bytes: b, how: "refcount table" };
        case 4: { // a refcount block
          const rb = Number(dv.getBigUint64(rtOff));
          if (rb) dv.setUint16(rb + 2 * rng.int(64), rng.pick([0, 1, 2, 0xFFFF]));
          return { bytes: b, how: "refcount block" };
        }
        case 5: { // a header extension right after the header
          const at = 104;
          dv.setUint32(at, rng.pick([0xE2792ACA, 0x6803F857, 0x23852875, rng.u32()])); dv.setUint32(at + 4, u32());
          return { bytes: b, how: "header extension" };
        }
        case 6: { // a backing file: a real one, itself, a loop, nothing
          const name = rng.pick(["backing.raw", "self.qcow2", "base.qcow2", "/nonexistent", "/dev/zero", ".", "x".repeat(300)]);
          const enc = Buffer.from(name);
          const at = 1024;
          b.set(enc, at);
          dv.setBigUint64(8, BigInt(at)); dv.setUint32(16, rng.chance(0.9) ? enc.length : u32());
          return { bytes: b, how: `backing ${name.slice(0, 12)}` };
        }
        case 7: return { bytes: b.subarray(0, rng.int(b.length)), how: "cut short" };
        default: for (let i = 1 + rng.int(16); i > 0; i--) b[rng.int(b.length)] ^= 1 << rng.int(8); return { bytes: b, how: "bits" };
      }
    };

    for (let it = 0; it < o.iterations; it++) {
      const d = damage();
      const path = join(dir, "self.qcow2");
      writeFileSync(path, d.bytes);
      let img: Qcow2Image | null = null;
      let result: string;
      try {
        img = new Qcow2Image(path, rng.chance(0.3));
        r.opened++;
        for (let k = 0; k < 8; k++) {
          const off = rng.chance(0.8) ? rng.int(img.bytes / 512) * 512 : rng.int(Math.max(1, img.bytes));
          const len = Math.min(rng.pick([512, 4096, 65536, 1 << 20]), Math.max(0, img.bytes - off));
          r.operations++;
          switch (rng.int(3)) {
            case 0: img.read(off, new Uint8Array(len)); break;
            case 1: img.write(off, new Uint8Array(len).fill(k)); break;
            default: img.discard(off, len);
          }
        }
        result = "worked";
      } catch (e) {
        if (!(e instanceof DiskImageError)) tally.exception(d.how, e);
        else r.refused++;
        result = (e as Error).message.replace(dir, "").replace(/\d+/g, "N").slice(0, 70);
      } finally {
        try { img?.close(); } catch (e) { tally.exception(`${d.how}: close`, e); }
      }
      tally.result(`${d.how} -> ${result}`);
      const fds = openFds();
      if (fds !== fds0) tally.leak(`${d.how} (${result}): ${fds - fds0} file descriptors left open`);
    }
    r.accounting_ok = openFds() === fds0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tally.finish();
}
