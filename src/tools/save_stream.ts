// The save/restore stream (docs/ARCHITECTURE.md, "Save and restore"):
//   header:  "XENTSSAV" (8 bytes), version u32, reserved u32
//   records: type u32, length u32, crc32 u32 of the payload, payload, zero
//            padding to 8 bytes
// in this order: DOMAIN (JSON), KERNEL, RAMDISK (optional), CONTEXT (the
// hypervisor's JSON), PAGES (u32 count, u32 pad, count u64 gfns, the pages)
// any number of times, XENSTORE (JSON), END (u64 pages written). All
// integers little-endian. A reader checks every length and checksum before
// it acts on a record, and rejects a stream that ends before END.

import { closeSync, openSync, readSync, writeSync, fsyncSync } from "node:fs";
import { crc32 } from "node:zlib";

export const STREAM_MAGIC = "XENTSSAV";
export const STREAM_VERSION = 1;
// DISK, CHECKPOINT, REMUS, STOP and SWITCH are Remus replication's (remus/protocol.ts), never in a saved file.
export const REC = { DOMAIN: 1, KERNEL: 2, RAMDISK: 3, CONTEXT: 4, PAGES: 5, XENSTORE: 6, END: 7, DISK: 8, CHECKPOINT: 9, REMUS: 10, STOP: 11, SWITCH: 12 } as const;
export const REC_NAMES: Record<number, string> = Object.fromEntries(Object.entries(REC).map(([k, v]) => [v, k]));
export const MAX_RECORD = 256 << 20;

export class StreamError extends Error {}

export interface StreamSink { write(b: Uint8Array): void; }

export class StreamWriter {
  constructor(private readonly sink: StreamSink) {
    const h = Buffer.alloc(16);
    h.write(STREAM_MAGIC, 0, "latin1");
    h.writeUInt32LE(STREAM_VERSION, 8);
    sink.write(h);
  }
  record(type: number, payload: Uint8Array): void {
    const h = Buffer.alloc(12);
    h.writeUInt32LE(type, 0);
    h.writeUInt32LE(payload.length, 4);
    h.writeUInt32LE(crc32(payload), 8);
    this.sink.write(h);
    this.sink.write(payload);
    const pad = (8 - ((12 + payload.length) % 8)) % 8;
    if (pad) this.sink.write(new Uint8Array(pad));
  }
  json(type: number, v: unknown): void { this.record(type, new Uint8Array(Buffer.from(JSON.stringify(v)))); }
}

export interface StreamSource { read(n: number): Uint8Array; } // fewer bytes than asked: end of stream

export class StreamReader {
  constructor(private readonly src: StreamSource) {
    const h = src.read(16);
    if (h.length < 16 || Buffer.from(h.subarray(0, 8)).toString("latin1") !== STREAM_MAGIC) throw new StreamError("not a xents save stream");
    const v = Buffer.from(h).readUInt32LE(8);
    if (v !== STREAM_VERSION) throw new StreamError(`save stream version ${v} is not supported (this xents reads version ${STREAM_VERSION})`);
  }
  // The next record, checked; `expect` lists the types allowed here.
  next(expect: number[]): { type: number; payload: Uint8Array } {
    const h = this.src.read(12);
    if (h.length < 12) throw new StreamError(`the stream ends early (expected ${expect.map((t) => REC_NAMES[t]).join(" or ")})`);
    const b = Buffer.from(h);
    const type = b.readUInt32LE(0), len = b.readUInt32LE(4), sum = b.readUInt32LE(8);
    if (!expect.includes(type)) throw new StreamError(`unexpected record ${REC_NAMES[type] ?? type} (expected ${expect.map((t) => REC_NAMES[t]).join(" or ")})`);
    if (len > MAX_RECORD) throw new StreamError(`record ${REC_NAMES[type]} claims ${len} bytes`);
    const payload = this.src.read(len);
    if (payload.length < len) throw new StreamError(`the stream ends inside a ${REC_NAMES[type]} record`);
    if (crc32(payload) !== sum) throw new StreamError(`checksum mismatch in a ${REC_NAMES[type]} record (the stream is corrupt)`);
    const pad = (8 - ((12 + len) % 8)) % 8;
    if (pad && this.src.read(pad).length < pad) throw new StreamError("the stream ends in padding");
    return { type, payload };
  }
  json<T>(expect: number): T {
    const r = this.next([expect]);
    try { return JSON.parse(Buffer.from(r.payload).toString("utf8")) as T; } catch { throw new StreamError(`${REC_NAMES[expect]} record is not valid JSON`); }
  }
}

// A u64 payload: END's count of pages written, CHECKPOINT's epoch.
export function u64Record(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

// A PAGES payload: u32 count, u32 pad, count u64 gfns, the pages.
export function encodePages(gfns: bigint[], page: (k: number) => Uint8Array): Uint8Array {
  const n = gfns.length;
  const rec = new Uint8Array(8 + n * 8 + n * 4096);
  const dv = new DataView(rec.buffer);
  dv.setUint32(0, n, true);
  gfns.forEach((g, k) => dv.setBigUint64(8 + k * 8, g, true));
  for (let k = 0; k < n; k++) rec.set(page(k), 8 + n * 8 + k * 4096);
  return rec;
}
export function decodePages(payload: Uint8Array): { gfns: bigint[]; page(k: number): Uint8Array } {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const n = payload.length >= 8 ? dv.getUint32(0, true) : -1;
  if (n < 0 || payload.length !== 8 + n * 8 + n * 4096) throw new StreamError("a PAGES record has the wrong length");
  const gfns = Array.from({ length: n }, (_, k) => dv.getBigUint64(8 + k * 8, true));
  return { gfns, page: (k) => payload.subarray(8 + n * 8 + k * 4096, 8 + n * 8 + (k + 1) * 4096) };
}

// The same records arriving in pieces (a migration socket): push() what
// came (kept until its records are out: not to be reused, as a socket's
// chunks are not), get back the complete records, checked as StreamReader
// checks them.
export class RecordParser {
  // What came and is not yet a record, in the pieces it came in: joined only
  // when a record's header or a whole record is there, so a record of a
  // megabyte arriving in many pieces is copied once, not once per piece.
  private chunks: Uint8Array[] = [];
  private have = 0;
  private headerSeen = false;
  private next: { type: number; len: number; sum: number; total: number } | null = null; // the record being waited for
  push(chunk: Uint8Array): { type: number; payload: Uint8Array }[] {
    if (chunk.length) { this.chunks.push(chunk); this.have += chunk.length; }
    const out: { type: number; payload: Uint8Array }[] = [];
    if (!this.headerSeen) {
      if (this.have < 16) return out;
      const b = this.joined();
      if (b.subarray(0, 8).toString("latin1") !== STREAM_MAGIC) throw new StreamError("not a xents save stream");
      const v = b.readUInt32LE(8);
      if (v !== STREAM_VERSION) throw new StreamError(`save stream version ${v} is not supported (this xents reads version ${STREAM_VERSION})`);
      this.drop(16);
      this.headerSeen = true;
    }
    for (;;) {
      if (!this.next) {
        if (this.have < 12) return out;
        const b = this.joined();
        const type = b.readUInt32LE(0), len = b.readUInt32LE(4), sum = b.readUInt32LE(8);
        if (!REC_NAMES[type]) throw new StreamError(`unknown record type ${type}`);
        if (len > MAX_RECORD) throw new StreamError(`record ${REC_NAMES[type]} claims ${len} bytes`);
        this.next = { type, len, sum, total: 12 + len + ((8 - ((12 + len) % 8)) % 8) };
      }
      const r = this.next;
      if (this.have < r.total) return out;
      const payload = new Uint8Array(this.joined().subarray(12, 12 + r.len));
      if (crc32(payload) !== r.sum) throw new StreamError(`checksum mismatch in a ${REC_NAMES[r.type]} record (the stream is corrupt)`);
      out.push({ type: r.type, payload });
      this.drop(r.total);
      this.next = null;
    }
  }
  private joined(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.have)];
    const c = this.chunks[0];
    return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  }
  private drop(n: number): void {
    const rest = this.joined().subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
  }
}

// Files as sinks and sources.
export function fileSink(path: string): StreamSink & { close(): void } {
  const fd = openSync(path, "w", 0o600);
  return { write: (b) => { let o = 0; while (o < b.length) o += writeSync(fd, b, o); }, close: () => { fsyncSync(fd); closeSync(fd); } };
}
export function fileSource(path: string): StreamSource & { close(): void } {
  const fd = openSync(path, "r");
  return {
    read: (n) => {
      const b = new Uint8Array(n);
      let o = 0;
      while (o < n) { const r = readSync(fd, b, o, n - o, null); if (r === 0) break; o += r; }
      return o === n ? b : b.subarray(0, o);
    },
    close: () => closeSync(fd),
  };
}
