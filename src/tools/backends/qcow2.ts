// qcow2 disk images (QEMU's docs/interop/qcow2.txt), versions 2 and 3:
// two-level cluster tables, refcounts, backing files (raw or qcow2), zero
// clusters, compressed clusters (read), and allocation on write. New clusters
// are appended at the end of the file; their refcount is written before the
// L2 entry that points at them, so a crash can leak a cluster but never
// make two entries share one. Images with internal snapshots, encryption,
// an external data file, extended L2 entries or a dirty/corrupt flag are
// refused with an explanation rather than half supported.

import { openSync, closeSync, fstatSync, readSync, writeSync, fdatasyncSync, realpathSync, constants } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { inflateRawSync } from "node:zlib";
import { DiskImage, DiskImageError, RawImage } from "./raw_image.js";

const MAGIC = 0x514649FB; // "QFI\xfb"
const OFFSET_MASK = 0x00FFFFFFFFFFFE00n; // bits 9..55
const COPIED = 1n << 63n;
const COMPRESSED = 1n << 62n;
const ZERO = 1n;
const EXT_END = 0, EXT_BACKING_FORMAT = 0xE2792ACA;
const INCOMPAT_NAMES = ["dirty", "corrupt", "external data file", "compression type", "extended L2 entries"];

export class Qcow2Image implements DiskImage {
  private fd: number;
  readonly bytes: number;
  private readonly clusterBits: number;
  private readonly clusterSize: number;
  private readonly l2Entries: number;
  private readonly l1: BigUint64Array; // host-order copy of the L1 table
  private readonly l1Offset: number;
  private readonly refcountTableOffset: number;
  private readonly refcountTable: BigUint64Array;
  private readonly refcountBits: number;
  private readonly l2Cache = new Map<number, BigUint64Array>(); // L2 table offset -> entries (host order)
  private fileEnd: number; // cluster-aligned end where new clusters go
  private readonly backing: DiskImage | null;
  private readonly version: number;
  private readonly cbuf: Uint8Array; // one cluster of scratch

  // `chain`: the images above this one, when it is a backing file (a
  // chain is at most MAX_BACKING_DEPTH deep and never loops).
  constructor(readonly path: string, readonly readonly: boolean, chain: readonly string[] = []) {
    try { this.fd = openSync(path, readonly ? constants.O_RDONLY : constants.O_RDWR); } catch (e) {
      throw new DiskImageError(`cannot open disk image ${path}: ${(e as Error).message}`);
    }
    try {
      const h = Buffer.alloc(112);
      const got = readSync(this.fd, h, 0, 112, 0);
      if (got < 8 || h.readUInt32BE(0) !== MAGIC) throw new DiskImageError(`${path} is not a qcow2 image`);
      this.version = h.readUInt32BE(4);
      if (got < (this.version === 3 ? 104 : 72)) throw new DiskImageError(`${path}: the qcow2 header is truncated`);
      const fileSize = fstatSync(this.fd).size;
      if (this.version !== 2 && this.version !== 3) throw new DiskImageError(`${path}: qcow2 version ${this.version} is not supported`);
      this.clusterBits = h.readUInt32BE(20);
      if (this.clusterBits < 9 || this.clusterBits > 21) throw new DiskImageError(`${path}: cluster_bits ${this.clusterBits} out of range`);
      this.clusterSize = 1 << this.clusterBits;
      this.l2Entries = this.clusterSize / 8;
      this.bytes = Number(h.readBigUInt64BE(24));
      if (h.readUInt32BE(32) !== 0) throw new DiskImageError(`${path}: encrypted qcow2 images are not supported`);
      const l1Size = h.readUInt32BE(36);
      this.l1Offset = Number(h.readBigUInt64BE(40));
      this.refcountTableOffset = Number(h.readBigUInt64BE(48));
      const rtClusters = h.readUInt32BE(56);
      if (h.readUInt32BE(60) !== 0) throw new DiskImageError(`${path}: images with internal snapshots are not supported`);
      let headerLength = 72;
      this.refcountBits = 16;
      if (this.version === 3) {
        const incompat = h.readBigUInt64BE(72);
        for (let b = 0; b < 64; b++) {
          if ((incompat >> BigInt(b)) & 1n) throw new DiskImageError(`${path}: incompatible feature '${INCOMPAT_NAMES[b] ?? `bit ${b}`}' is not supported${b === 0 ? " (repair it with qemu-img check -r all)" : ""}`);
        }
        const order = h.readUInt32BE(96);
        if (order > 6) throw new DiskImageError(`${path}: refcount_order ${order} out of range (0 to 6)`);
        this.refcountBits = 1 << order;
        headerLength = h.readUInt32BE(100);
      }
      const need = Math.ceil(this.bytes / (this.clusterSize * this.l2Entries));
      if (l1Size < need) throw new DiskImageError(`${path}: the L1 table (${l1Size} entries) is too small for ${this.bytes} bytes`);
      const inFile = (off: number, len: number): boolean => off > 0 && off % this.clusterSize === 0 && off + len <= fileSize;
      if (l1Size > 0 && !inFile(this.l1Offset, l1Size * 8)) throw new DiskImageError(`${path}: the L1 table lies outside the file (truncated or corrupt)`);
      if (!inFile(this.refcountTableOffset, rtClusters * this.clusterSize)) throw new DiskImageError(`${path}: the refcount table lies outside the file (truncated or corrupt)`);
      this.l1 = this.readTable(this.l1Offset, l1Size);
      this.refcountTable = this.readTable(this.refcountTableOffset, rtClusters * this.clusterSize / 8);
      this.cbuf = new Uint8Array(this.clusterSize);
      // the backing file and its format
      let backingFormat: string | null = null;
      for (let off = headerLength; ;) {
        const eh = Buffer.alloc(8);
        if (readSync(this.fd, eh, 0, 8, off) < 8) break;
        const type = eh.readUInt32BE(0), len = eh.readUInt32BE(4);
        if (type === EXT_END) break;
        // header extensions live in the first cluster (qcow2.txt)
        if (off + 8 + len > this.clusterSize) throw new DiskImageError(`${path}: a header extension runs past the first cluster`);
        if (type === EXT_BACKING_FORMAT) { const b = Buffer.alloc(len); readSync(this.fd, b, 0, len, off + 8); backingFormat = b.toString("utf8"); }
        off += 8 + Math.ceil(len / 8) * 8;
      }
      const bOff = Number(h.readBigUInt64BE(8)), bLen = h.readUInt32BE(16);
      if (bOff !== 0 && bLen > 0) {
        // the name is at most 1023 bytes and lies in the first cluster (qcow2.txt)
        if (bLen > 1023 || bOff + bLen > this.clusterSize) throw new DiskImageError(`${path}: the backing file name (${bLen} bytes at ${bOff}) is out of bounds`);
        const b = Buffer.alloc(bLen);
        readSync(this.fd, b, 0, bLen, bOff);
        const name = b.toString("utf8");
        if (name.includes("\0")) throw new DiskImageError(`${path}: the backing file name has a NUL byte`);
        const bpath = isAbsolute(name) ? name : resolve(dirname(path), name);
        this.backing = openBacking(bpath, backingFormat, [...chain, path]);
      } else this.backing = null;
      this.fileEnd = Math.ceil(fstatSync(this.fd).size / this.clusterSize) * this.clusterSize;
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  private readTable(off: number, n: number): BigUint64Array {
    const b = Buffer.alloc(n * 8);
    if (n) readSync(this.fd, b, 0, b.length, off);
    const t = new BigUint64Array(n);
    for (let i = 0; i < n; i++) t[i] = b.readBigUInt64BE(i * 8);
    return t;
  }
  private writeU64(off: number, v: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    writeSync(this.fd, b, 0, 8, off);
  }

  // A metadata or data cluster's offset from a table in the file: cluster
  // aligned and inside the file, or the image is corrupt (QEMU would mark it
  // so); never a read or write somewhere else.
  private cluster(off: number, what: string): number {
    if (off % this.clusterSize !== 0 || off + this.clusterSize > this.fileEnd) throw new DiskImageError(`${this.path} is corrupt: ${what} at ${off} lies outside the file or is unaligned`);
    return off;
  }

  private l2(offset: number): BigUint64Array {
    this.cluster(offset, "an L2 table");
    let t = this.l2Cache.get(offset);
    if (!t) {
      t = this.readTable(offset, this.l2Entries);
      if (this.l2Cache.size > 256) this.l2Cache.delete(this.l2Cache.keys().next().value!);
      this.l2Cache.set(offset, t);
    }
    return t;
  }

  // The L2 entry for the cluster holding `pos`, or 0n when its L2 table is absent.
  private entry(pos: number): bigint {
    const c = Math.floor(pos / this.clusterSize);
    const l1e = this.l1[Math.floor(c / this.l2Entries)] & OFFSET_MASK;
    return l1e === 0n ? 0n : this.l2(Number(l1e))[c % this.l2Entries];
  }

  read(offset: number, into: Uint8Array): void {
    for (let done = 0; done < into.length;) {
      const pos = offset + done;
      const inC = pos % this.clusterSize;
      const n = Math.min(into.length - done, this.clusterSize - inC);
      this.readInCluster(pos, inC, into.subarray(done, done + n));
      done += n;
    }
  }

  private readInCluster(pos: number, inC: number, out: Uint8Array): void {
    if (pos >= this.bytes) { out.fill(0); return; }
    const e = this.entry(pos);
    if (e & COMPRESSED) { out.set(this.decompress(e).subarray(inC, inC + out.length)); return; }
    const host = e & OFFSET_MASK;
    if (e & ZERO) { out.fill(0); return; }
    if (host === 0n) {
      if (this.backing && pos < this.backing.bytes) {
        const n = Math.min(out.length, this.backing.bytes - pos);
        this.backing.read(pos, out.subarray(0, n));
        out.fill(0, n);
      } else out.fill(0);
      return;
    }
    this.cluster(Number(host), "a data cluster");
    for (let done = 0; done < out.length;) {
      const r = readSync(this.fd, out, done, out.length - done, Number(host) + inC + done);
      if (r === 0) { out.fill(0, done); return; }
      done += r;
    }
  }

  private decompress(e: bigint): Uint8Array {
    const x = 62 - (this.clusterBits - 8);
    const off = Number(e & ((1n << BigInt(x)) - 1n));
    const sectors = Number((e >> BigInt(x)) & ((1n << BigInt(62 - x)) - 1n)) + 1;
    const len = sectors * 512 - (off & 511);
    if (len <= 0 || len > 2 * this.clusterSize || off + len > this.fileEnd) throw new DiskImageError(`${this.path} is corrupt: a compressed cluster at ${off} (${len} bytes) lies outside the file`);
    const comp = Buffer.alloc(len);
    readSync(this.fd, comp, 0, len, off);
    let raw: Buffer;
    try {
      // no more than a cluster comes out: a hostile image cannot make a small cluster inflate to gigabytes
      raw = inflateRawSync(comp, { finishFlush: 2 /* Z_SYNC_FLUSH: trailing sector padding */, maxOutputLength: this.clusterSize });
    } catch (err) {
      throw new DiskImageError(`${this.path} is corrupt: the compressed cluster at ${off} does not inflate to a cluster (${(err as Error).message})`);
    }
    const c = new Uint8Array(this.clusterSize);
    c.set(raw.subarray(0, this.clusterSize));
    return c;
  }

  write(offset: number, from: Uint8Array): void {
    if (this.readonly) throw new DiskImageError(`${this.path} is read-only`);
    if (offset + from.length > this.bytes) throw new DiskImageError(`write beyond the end of ${this.path}`);
    for (let done = 0; done < from.length;) {
      const pos = offset + done;
      const inC = pos % this.clusterSize;
      const n = Math.min(from.length - done, this.clusterSize - inC);
      const host = this.writableCluster(pos, inC === 0 && n === this.clusterSize);
      writeSync(this.fd, from, done, n, host + inC);
      done += n;
    }
  }

  // The host offset of the cluster holding `pos`, allocated (and filled with
  // its old contents unless the caller overwrites all of it) if need be.
  private writableCluster(pos: number, whole: boolean): number {
    const c = Math.floor(pos / this.clusterSize);
    const l1i = Math.floor(c / this.l2Entries), l2i = c % this.l2Entries;
    let l2off = Number(this.l1[l1i] & OFFSET_MASK);
    if (l2off === 0 || !(this.l1[l1i] & COPIED)) {
      if (l2off !== 0) throw new DiskImageError(`${this.path}: shared L2 tables (snapshots) are not supported for writing`);
      l2off = this.allocCluster();
      const z = new Uint8Array(this.clusterSize);
      writeSync(this.fd, z, 0, z.length, l2off);
      this.l2Cache.set(l2off, new BigUint64Array(this.l2Entries));
      this.l1[l1i] = BigInt(l2off) | COPIED;
      this.writeU64(this.l1Offset + l1i * 8, this.l1[l1i]);
    }
    const t = this.l2(l2off);
    const e = t[l2i];
    const host = Number(e & OFFSET_MASK);
    if (host !== 0 && !(e & COMPRESSED)) this.cluster(host, "a data cluster");
    if (host !== 0 && (e & COPIED) && !(e & COMPRESSED)) {
      if (e & ZERO) { // preallocated zero cluster: zero it, then it holds data
        if (!whole) writeSync(this.fd, new Uint8Array(this.clusterSize), 0, this.clusterSize, host);
        t[l2i] = BigInt(host) | COPIED;
        this.writeU64(l2off + l2i * 8, t[l2i]);
      }
      return host;
    }
    if (host !== 0 && !(e & COMPRESSED)) throw new DiskImageError(`${this.path}: shared clusters (snapshots) are not supported for writing`);
    // copy on write from whatever the cluster reads as now (backing file, zeros, compressed data)
    const fresh = this.allocCluster();
    if (!whole) {
      this.readInCluster(c * this.clusterSize, 0, this.cbuf);
      writeSync(this.fd, this.cbuf, 0, this.clusterSize, fresh);
    }
    if (e & COMPRESSED) this.freeCompressed(e);
    t[l2i] = BigInt(fresh) | COPIED;
    this.writeU64(l2off + l2i * 8, t[l2i]);
    return fresh;
  }

  // A new cluster at the end of the file, with its refcount set to 1.
  private allocCluster(): number {
    const off = this.fileEnd;
    this.fileEnd += this.clusterSize;
    this.setRefcount(off, 1);
    return off;
  }

  private refcountSlot(hostOff: number): { block: number; index: number } | null {
    const perBlock = this.clusterSize * 8 / this.refcountBits;
    const c = Math.floor(hostOff / this.clusterSize);
    const ti = Math.floor(c / perBlock);
    if (ti >= this.refcountTable.length) throw new DiskImageError(`${this.path}: the refcount table is full (the image would need to grow it)`);
    const block = Number(this.refcountTable[ti] & ~0x1FFn);
    return block === 0 ? null : { block: this.cluster(block, "a refcount block"), index: c % perBlock };
  }

  private setRefcount(hostOff: number, v: number): void {
    let s = this.refcountSlot(hostOff);
    if (!s) {
      // a new refcount block, placed at the end; it counts itself if it covers itself
      const perBlock = this.clusterSize * 8 / this.refcountBits;
      const ti = Math.floor(Math.floor(hostOff / this.clusterSize) / perBlock);
      const blk = this.fileEnd;
      this.fileEnd += this.clusterSize;
      writeSync(this.fd, new Uint8Array(this.clusterSize), 0, this.clusterSize, blk);
      this.refcountTable[ti] = BigInt(blk);
      this.writeU64(this.refcountTableOffset + ti * 8, BigInt(blk));
      this.setRefcount(blk, 1);
      s = this.refcountSlot(hostOff)!;
    }
    const bits = this.refcountBits;
    const bitPos = s.index * bits;
    const byte = s.block + Math.floor(bitPos / 8);
    const width = Math.max(1, bits / 8);
    const b = Buffer.alloc(width);
    readSync(this.fd, b, 0, width, byte);
    if (bits >= 8) {
      let x = BigInt(v);
      for (let i = width - 1; i >= 0; i--) { b[i] = Number(x & 0xFFn); x >>= 8n; }
    } else {
      const shift = bitPos % 8, mask = ((1 << bits) - 1) << shift;
      b[0] = (b[0] & ~mask) | ((v << shift) & mask);
    }
    writeSync(this.fd, b, 0, width, byte);
  }

  private freeCompressed(_e: bigint): void {
    // Compressed clusters share host clusters with their neighbours; their
    // refcounts are per host cluster. Dropping the reference exactly would
    // need the whole image's view, so the old data stays allocated (qemu-img
    // check reports it as a leak, never as corruption).
  }

  flush(): void { if (!this.readonly) fdatasyncSync(this.fd); }

  // Whole clusters become zero clusters (v3) or are written with zeros (v2,
  // where an unallocated cluster would show the backing file instead).
  discard(offset: number, length: number): void {
    if (this.readonly) throw new DiskImageError(`${this.path} is read-only`);
    const end = Math.min(offset + length, this.bytes);
    const z = new Uint8Array(Math.min(this.clusterSize, 1 << 20));
    for (let pos = offset; pos < end;) {
      const inC = pos % this.clusterSize;
      const n = Math.min(end - pos, this.clusterSize - inC);
      const c = Math.floor(pos / this.clusterSize);
      const l1e = this.l1[Math.floor(c / this.l2Entries)];
      if (this.version === 3 && inC === 0 && n === this.clusterSize && (l1e & COPIED)) {
        const l2off = Number(l1e & OFFSET_MASK), l2i = c % this.l2Entries;
        const t = this.l2(l2off);
        const e = t[l2i];
        if ((e & COPIED) && !(e & COMPRESSED) && (e & OFFSET_MASK) !== 0n) this.setRefcount(Number(e & OFFSET_MASK), 0);
        t[l2i] = ZERO;
        this.writeU64(l2off + l2i * 8, ZERO);
      } else if (this.entry(pos) !== 0n || this.backing) {
        for (let d = 0; d < n; d += z.length) this.write(pos + d, z.subarray(0, Math.min(z.length, n - d)));
      }
      pos += n;
    }
  }

  close(): void {
    if (this.fd >= 0) { closeSync(this.fd); this.fd = -1; }
    this.backing?.close();
  }
}

const MAX_BACKING_DEPTH = 16;

function openBacking(path: string, format: string | null, chain: readonly string[]): DiskImage {
  let real: string;
  try { real = realpathSync(path); } catch (e) { throw new DiskImageError(`cannot open backing file ${path}: ${(e as Error).message}`); }
  if (chain.some((p) => { try { return realpathSync(p) === real; } catch { return false; } })) throw new DiskImageError(`backing file ${path} is an image of its own chain (a loop)`);
  if (chain.length >= MAX_BACKING_DEPTH) throw new DiskImageError(`the backing chain of ${chain[0]} is deeper than ${MAX_BACKING_DEPTH}`);
  const fmt = format ?? sniff(path);
  if (fmt === "qcow2") return new Qcow2Image(path, true, chain);
  if (fmt === "raw") return new RawImage(path, true);
  throw new DiskImageError(`backing file ${path} has format '${fmt}', which is not supported`);
}

function sniff(path: string): string {
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY); } catch (e) { throw new DiskImageError(`cannot open backing file ${path}: ${(e as Error).message}`); }
  try {
    if (!fstatSync(fd).isFile() && !fstatSync(fd).isBlockDevice()) throw new DiskImageError(`backing file ${path} is not a file or block device`);
    const b = Buffer.alloc(4);
    try { readSync(fd, b, 0, 4, 0); } catch (e) { throw new DiskImageError(`cannot read backing file ${path}: ${(e as Error).message}`); }
    return b.readUInt32BE(0) === MAGIC ? "qcow2" : "raw";
  } finally { closeSync(fd); }
}
