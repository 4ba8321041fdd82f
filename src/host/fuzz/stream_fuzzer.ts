// `xents fuzz streams`: a real save stream of a guest, then thousands of
// damaged copies restored — cut short anywhere, bits flipped (with the
// records' checksums left wrong, or made right so the damage reaches the
// checks behind them), records dropped, doubled or swapped, and the JSON
// records' fields given values of every wrong kind. Each copy is refused
// with a clear error or restored and destroyed; after each, nothing may be
// left behind: no domain, no frame, no xenstore node, no mapping or port of
// Domain-0's, and the memory audit finds nothing. Migration streams are
// these records too (the migration receiver feeds the same RestoreSession
// once the peers have proved the shared key).

import { crc32 } from "node:zlib";
import { Host } from "../host.js";
import { Dom0 } from "../../tools/dom0.js";
import { Toolstack } from "../../tools/toolstack.js";
import { StreamError, StreamSource, REC, REC_NAMES } from "../../tools/save_stream.js";
import { auditMemory } from "../../xen/audit.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";
import { idleImage } from "./idle_image.js";

export interface StreamFuzzOptions { iterations: number; seed: number }

// host_exceptions: exceptions the restore path did not mean (TypeError and
// kin); leaks: things left behind by a refused or destroyed restore
export interface StreamFuzzReport extends FuzzFigures {
  target: "streams";
  restored: number; // damaged copies that still restored (then destroyed)
  refused: number;
}

interface Rec { type: number; payload: Uint8Array; crc: number }

function parse(stream: Uint8Array): { header: Uint8Array; recs: Rec[] } {
  const b = Buffer.from(stream);
  const recs: Rec[] = [];
  let off = 16;
  while (off + 12 <= b.length) {
    const type = b.readUInt32LE(off), len = b.readUInt32LE(off + 4), crc = b.readUInt32LE(off + 8);
    recs.push({ type, payload: new Uint8Array(b.subarray(off + 12, off + 12 + len)), crc });
    off += 12 + len + ((8 - ((12 + len) % 8)) % 8);
  }
  return { header: new Uint8Array(b.subarray(0, 16)), recs };
}
function serialize(header: Uint8Array, recs: Rec[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from(header)];
  for (const r of recs) {
    const h = Buffer.alloc(12);
    h.writeUInt32LE(r.type >>> 0, 0); h.writeUInt32LE(r.payload.length, 4); h.writeUInt32LE(r.crc >>> 0, 8);
    parts.push(h, Buffer.from(r.payload), Buffer.alloc((8 - ((12 + r.payload.length) % 8)) % 8));
  }
  return new Uint8Array(Buffer.concat(parts));
}
const memorySource = (b: Uint8Array): StreamSource => {
  let off = 0;
  return { read: (n) => { const out = b.subarray(off, Math.min(b.length, off + n)); off += out.length; return out; } };
};

export function fuzzStreams(o: StreamFuzzOptions): StreamFuzzReport {
  const tally = new FuzzTally<StreamFuzzReport>("streams", o, { restored: 0, refused: 0 });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const dom0 = new Dom0(host.privcmd);
  const ts = new Toolstack(dom0);
  const hv = host.hv;
  const books = (): string => JSON.stringify({
    free: hv.frames.freeCount, domains: hv.domains.size, guests: ts.guests.size, nodes: ts.xenstored.store.size(),
    conns: ts.xenstored.connections.size, ports: hv.domains.get(0)!.evtchn.inUse(), window: String(dom0.xc.window.inUse()), grants: ts.gnt.mapped,
  });
  const baseline = books();

  // the stream every damaged copy is made from: a 16 MiB guest, saved
  const g = ts.create({ name: "saved", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true });
  const chunks: Uint8Array[] = [];
  ts.save(g.domid, { write: (b) => chunks.push(new Uint8Array(b)) });
  const original = parse(new Uint8Array(Buffer.concat(chunks)));
  if (books() !== baseline) throw new Error("saving the guest left something behind");

  const fixCrc = (rec: Rec): Rec => ({ ...rec, crc: crc32(rec.payload) });
  // a JSON record with one field (anywhere in it) given another value
  const mutateJson = (rec: Rec): Rec => {
    let v: unknown;
    try { v = JSON.parse(Buffer.from(rec.payload).toString("utf8")); } catch { return rec; }
    const paths: (string | number)[][] = [];
    const walk = (x: unknown, p: (string | number)[]): void => {
      if (paths.length > 400) return;
      paths.push(p);
      if (Array.isArray(x)) x.slice(0, 8).forEach((e, i) => walk(e, [...p, i]));
      else if (x && typeof x === "object") for (const [k, e] of Object.entries(x)) walk(e, [...p, k]);
    };
    walk(v, []);
    const path = rng.pick(paths.slice(1));
    if (!path) return rec;
    const replacement = rng.pick<unknown>([null, -1, 0, 1e300, "", "x", "9".repeat(40), [], {}, true, 2 ** 32, "-5", [1, 2, 3], { a: 1 }]);
    let parent = v as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (rng.chance(0.15)) { if (Array.isArray(parent)) parent.splice(Number(last), 1); else delete parent[last]; } else parent[last] = replacement;
    return fixCrc({ ...rec, payload: new Uint8Array(Buffer.from(JSON.stringify(v))) });
  };
  const damage = (): { bytes: Uint8Array; how: string } => {
    const recs = original.recs.map((x) => ({ ...x }));
    let header = original.header;
    const k = rng.int(100);
    let how: string;
    if (k < 15) {
      const all = serialize(header, recs);
      const at = rng.int(all.length);
      return { bytes: all.subarray(0, at), how: "cut short" };
    } else if (k < 45) {
      const i = rng.int(recs.length);
      const p = new Uint8Array(recs[i].payload);
      const jsonish = recs[i].type === REC.DOMAIN || recs[i].type === REC.CONTEXT || recs[i].type === REC.XENSTORE;
      if (jsonish && rng.chance(0.7)) { recs[i] = mutateJson(recs[i]); how = `${REC_NAMES[recs[i].type]} field`; } else {
        for (let n = 1 + rng.int(8); n > 0 && p.length; n--) p[rng.int(p.length)] ^= 1 << rng.int(8);
        recs[i] = rng.chance(0.8) ? fixCrc({ ...recs[i], payload: p }) : { ...recs[i], payload: p };
        how = `${REC_NAMES[recs[i].type]} bits`;
      }
    } else if (k < 60) {
      const i = rng.int(recs.length);
      const op = rng.int(3);
      if (op === 0) recs.splice(i, 1);
      else if (op === 1) recs.splice(i, 0, { ...recs[i] });
      else { const j = rng.int(recs.length); [recs[i], recs[j]] = [recs[j], recs[i]]; }
      how = ["dropped", "doubled", "swapped"][op] + ` ${REC_NAMES[recs[i]?.type] ?? "?"}`;
    } else if (k < 75) {
      // a PAGES record's count and gfns
      const pi = recs.findIndex((x) => x.type === REC.PAGES);
      const p = new Uint8Array(recs[pi].payload);
      const dv = new DataView(p.buffer);
      if (rng.chance(0.3)) dv.setUint32(0, rng.pick([0, 1, 255, 257, 0xFFFFFFFF]), true);
      else dv.setBigUint64(8 + 8 * rng.int(Math.max(1, dv.getUint32(0, true))), rng.pick([0n, 1n << 40n, 0x40000n, 0x39000n, 0x38000n, (1n << 64n) - 1n]), true);
      recs[pi] = fixCrc({ ...recs[pi], payload: p });
      how = "PAGES gfns";
    } else if (k < 85) {
      const i = rng.int(recs.length);
      recs[i] = rng.chance(0.5) ? { ...recs[i], type: rng.pick([0, 8, 99, 0xFFFFFFFF, REC.END, REC.DOMAIN]) } : fixCrc({ ...recs[i], payload: recs[i].payload.subarray(0, rng.int(recs[i].payload.length + 1)) });
      how = "record type or length";
    } else if (k < 90) {
      header = new Uint8Array(header);
      header[rng.int(16)] ^= 1 << rng.int(8);
      how = "header";
    } else {
      // several of the above at once
      recs[rng.int(recs.length)] = mutateJson(recs[rng.int(recs.length)]);
      const i = rng.int(recs.length);
      recs.splice(i, 1);
      how = "several";
    }
    return { bytes: serialize(header, recs), how };
  };

  for (let it = 0; it < o.iterations; it++) {
    const d = damage();
    let result: string;
    try {
      const restored = ts.restore(memorySource(d.bytes), true);
      r.restored++;
      result = "restored";
      ts.destroy(restored.domid);
    } catch (e) {
      const err = e as Error;
      if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError) tally.exception(d.how, e);
      r.refused++;
      result = `${e instanceof StreamError ? "" : `${err.constructor.name}: `}${err.message.replace(/\d+/g, "N").slice(0, 60)}`;
    }
    tally.result(`${d.how} -> ${result}`);
    const now = books();
    if (now !== baseline) {
      tally.leak(`${d.how} (${result}) left ${now} (before ${baseline})`);
      for (const guest of [...ts.guests.values()]) { try { ts.destroy(guest.domid); } catch { /* counted already */ } }
    }
    if ((it + 1) % 16 === 0) {
      const found = auditMemory(hv);
      if (found.length) r.audit_failures++;
    }
  }
  r.accounting_ok = books() === baseline && auditMemory(hv).length === 0;
  r.host_exceptions += hv.stats.internalErrors + ts.xenstored.stats.bugs;
  return tally.finish();
}
