// Remus replication's stream (docs/ARCHITECTURE.md, "Remus"): the save
// stream's records (save_stream.ts) on the migration link, with " REMUS" in
// the handshake, and four more records.
//
// Primary -> backup:
//   REMUS (JSON header: the domain's name and uuid, interval, timeout,
//   fail-over policy and arbiter, the disks),
//   DISK* (the disks' contents, non-zero blocks), then the first checkpoint
//   as a migration sends it: DOMAIN, KERNEL, [RAMDISK], PAGES*, DISK* (the
//   writes made while the disks were copied), CONTEXT, XENSTORE, END.
//   Then, every interval: CHECKPOINT (u64 epoch), PAGES*, DISK*, CONTEXT,
//   XENSTORE, END (u64 pages in this checkpoint). STOP (JSON reason) ends
//   protection: the backup discards its copy.
// Backup -> primary (lines): "READY <domid>" once the first checkpoint is
//   whole, "ACK <epoch>" once a checkpoint is whole and applied, "STOPPED",
//   or "ERR <why>".
//
// A DISK payload: u32 devid, u32 op (0 write, 1 discard), u64 offset,
// u64 length, and for a write the `length` bytes.

import * as v from "valibot";
import { StreamError } from "../save_stream.js";

export const DISK_WRITE = 0, DISK_DISCARD = 1;
const DISK_HEADER = 24;
export const DISK_CHUNK = 1 << 20; // the largest write one DISK record carries

const Header = v.object({
  version: v.literal(1),
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/)),
  intervalMs: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(60_000)),
  timeoutMs: v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(600_000)),
  uuid: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)),
  failover: v.picklist(["auto", "manual"]),
  arbiter: v.nullable(v.pipe(v.string(), v.maxLength(512))), // etcd://host:port (arbiter.ts), or none
  disks: v.pipe(v.array(v.object({
    devid: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xFFFFF)),
    vdev: v.pipe(v.string(), v.regex(/^[a-z0-9]{1,16}$/)),
    bytes: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 50)),
  })), v.maxLength(64)),
});
export type RemusHeader = v.InferOutput<typeof Header>;

export function checkHeader(payload: Uint8Array): RemusHeader {
  let j: unknown;
  try { j = JSON.parse(Buffer.from(payload).toString("utf8")); } catch { throw new StreamError("the REMUS record is not valid JSON"); }
  const r = v.safeParse(Header, j);
  if (!r.success) throw new StreamError(`the REMUS record's ${v.getDotPath(r.issues[0]) ?? "content"} ${r.issues[0].message}`);
  if (new Set(r.output.disks.map((d) => d.devid)).size !== r.output.disks.length) throw new StreamError("the REMUS record names a disk twice");
  return r.output;
}

export interface DiskOp { devid: number; op: number; offset: number; length: number; data: Uint8Array | null }

export function encodeDisk(devid: number, op: number, offset: number, length: number, data?: Uint8Array): Uint8Array {
  const rec = new Uint8Array(DISK_HEADER + (op === DISK_WRITE ? length : 0));
  const dv = new DataView(rec.buffer);
  dv.setUint32(0, devid, true);
  dv.setUint32(4, op, true);
  dv.setBigUint64(8, BigInt(offset), true);
  dv.setBigUint64(16, BigInt(length), true);
  if (op === DISK_WRITE && data) rec.set(data.subarray(0, length), DISK_HEADER);
  return rec;
}

export function decodeDisk(payload: Uint8Array): DiskOp {
  if (payload.length < DISK_HEADER) throw new StreamError("a DISK record is too short");
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const devid = dv.getUint32(0, true), op = dv.getUint32(4, true);
  const offset = dv.getBigUint64(8, true), length = dv.getBigUint64(16, true);
  if (op !== DISK_WRITE && op !== DISK_DISCARD) throw new StreamError(`a DISK record has op ${op}`);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER) || length > BigInt(Number.MAX_SAFE_INTEGER)) throw new StreamError("a DISK record's range is out of bounds");
  if (op === DISK_WRITE && payload.length !== DISK_HEADER + Number(length)) throw new StreamError("a DISK write's length does not match its data");
  if (op === DISK_DISCARD && payload.length !== DISK_HEADER) throw new StreamError("a DISK discard carries data");
  return { devid, op, offset: Number(offset), length: Number(length), data: op === DISK_WRITE ? payload.subarray(DISK_HEADER) : null };
}

export function readU64(payload: Uint8Array, what: string): number {
  if (payload.length !== 8) throw new StreamError(`the ${what} record is not 8 bytes`);
  const n = new DataView(payload.buffer, payload.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new StreamError(`the ${what} record's number is out of range`);
  return Number(n);
}
