// Save streams checked record by record (the stream fuzzer found a DOMAIN
// record whose missing field became a TypeError deep in the restore), and
// streams from before watches were carried still restore.
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { StreamError, REC, RecordParser } from "../../src/tools/save_stream.js";
import { FuzzRng, parseSeed } from "../../src/host/fuzz/rng.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";

function saved(): { ts: Toolstack; host: Host; bytes: Buffer } {
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd));
  const g = ts.create({ name: "s", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true });
  const chunks: Uint8Array[] = [];
  ts.save(g.domid, { write: (b) => chunks.push(new Uint8Array(b)) });
  return { ts, host, bytes: Buffer.concat(chunks) };
}
// The stream with one JSON record rewritten (checksum made right).
function rewrite(bytes: Buffer, type: number, f: (v: Record<string, unknown>) => unknown): Buffer {
  const parts: Buffer[] = [bytes.subarray(0, 16)];
  for (let off = 16; off + 12 <= bytes.length;) {
    const t = bytes.readUInt32LE(off), len = bytes.readUInt32LE(off + 4);
    let payload = bytes.subarray(off + 12, off + 12 + len);
    if (t === type) payload = Buffer.from(JSON.stringify(f(JSON.parse(payload.toString("utf8")) as Record<string, unknown>)));
    const h = Buffer.alloc(12);
    h.writeUInt32LE(t, 0); h.writeUInt32LE(payload.length, 4); h.writeUInt32LE(crc32(payload), 8);
    parts.push(h, payload, Buffer.alloc((8 - ((12 + payload.length) % 8)) % 8));
    off += 12 + len + ((8 - ((12 + len) % 8)) % 8);
  }
  return Buffer.concat(parts);
}
const source = (b: Buffer) => { let o = 0; return { read: (n: number) => { const r = new Uint8Array(b.subarray(o, o + n)); o += r.length; return r; } }; };

test("a DOMAIN record with a field missing or of the wrong kind is refused by name, and nothing is left", () => {
  const { ts, host, bytes } = saved();
  const free = host.hv.frames.freeCount, nodes = ts.xenstored.store.size();
  const cases: [(v: Record<string, unknown>) => unknown, RegExp][] = [
    [(v) => { delete (v.built as Record<string, unknown>).storeGfn; return v; }, /store gfn is not a decimal number/],
    [(v) => ({ ...v, uuid: "x" }), /uuid is not a UUID/],
    [(v) => ({ ...v, config: { ...(v.config as object), vcpus: 0 } }), /vcpus is not a whole number/],
    [(v) => ({ ...v, config: { ...(v.config as object), disks: [{ target: "/x", format: "vmdk" }] } }), /disk is malformed/],
    [() => [], /content is not an object/],
  ];
  for (const [f, re] of cases) {
    assert.throws(() => ts.restore(source(rewrite(bytes, REC.DOMAIN, f))), (e: Error) => e instanceof StreamError && re.test(e.message));
    assert.equal(host.hv.frames.freeCount, free);
    assert.equal(ts.xenstored.store.size(), nodes);
  }
  const g = ts.restore(source(bytes), true);
  assert.equal(g.name, "s", "the stream itself restores");
});

test("a stream whose XENSTORE record is the bare list of nodes (before watches were carried) restores", () => {
  const { ts, bytes } = saved();
  const old = rewrite(bytes, REC.XENSTORE, (v) => (v as unknown as { nodes: unknown }).nodes);
  const g = ts.restore(source(old), true);
  assert.equal(ts.xsRead(`/local/domain/${g.domid}/name`), "s");
});

test("a XENSTORE record naming nodes outside the domain's own directories is refused (the stream fuzzer's finding), and Domain-0's stay as they were", () => {
  const { ts, host, bytes } = saved();
  const free = host.hv.frames.freeCount, nodes = ts.xenstored.store.size();
  for (const path of ["/local/domain/0/name", "/vm", "/local/domain/99/secret", "/tool/x", "/local/domain/0/backend/vbd/99/0"]) {
    const bad = rewrite(bytes, REC.XENSTORE, (v) => {
      const x = v as unknown as { nodes: { path: string; value: string; perms: string[] }[] };
      x.nodes.push({ path, value: Buffer.from("forged").toString("base64"), perms: ["n0"] });
      return x;
    });
    assert.throws(() => ts.restore(source(bad)), (e: Error) => e instanceof StreamError && /outside the domain's own directories/.test(e.message), path);
    assert.equal(ts.xsRead("/local/domain/0/name"), "Domain-0");
    assert.equal(host.hv.frames.freeCount, free);
    assert.equal(ts.xenstored.store.size(), nodes, `${path}: nothing written`);
  }
});

test("a stream arriving in pieces of any size (a socket's) gives the same records as read whole, and a corrupt one is refused", () => {
  const { bytes } = saved();
  const whole: { type: number; payload: Uint8Array }[] = [];
  for (let off = 16; off + 12 <= bytes.length;) {
    const len = bytes.readUInt32LE(off + 4);
    whole.push({ type: bytes.readUInt32LE(off), payload: bytes.subarray(off + 12, off + 12 + len) });
    off += 12 + len + ((8 - ((12 + len) % 8)) % 8);
  }
  assert.ok(whole.length > 4 && whole.some((r) => r.type === REC.PAGES));
  const seed = parseSeed(process.env.XENTS_SEED);
  process.stderr.write(`record parser seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  const rng = new FuzzRng(seed);
  const cuts = [1, 11, 12, 13, 4096, 65536];
  for (let round = 0; round < 8; round++) {
    const p = new RecordParser();
    const got: { type: number; payload: Uint8Array }[] = [];
    for (let off = 0; off < bytes.length;) {
      const n = round < cuts.length ? cuts[round] : 1 + rng.int(200_000);
      got.push(...p.push(bytes.subarray(off, off + n)));
      off += n;
    }
    assert.equal(got.length, whole.length, `round ${round}: every record`);
    got.forEach((r, i) => { assert.equal(r.type, whole[i].type); assert.ok(Buffer.from(r.payload).equals(Buffer.from(whole[i].payload)), `record ${i}'s payload`); });
  }
  const bad = Buffer.from(bytes);
  bad[16 + 12 + 3] ^= 1; // in the first record's payload
  assert.throws(() => { const p = new RecordParser(); for (let o = 0; o < bad.length; o += 100) p.push(bad.subarray(o, o + 100)); }, /checksum mismatch in a DOMAIN record/);
  assert.throws(() => new RecordParser().push(Buffer.from("not a stream at all")), /not a xents save stream/);
});
