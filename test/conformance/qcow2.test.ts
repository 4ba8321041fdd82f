// xents' qcow2 reader/writer against images made and checked by Debian's
// qemu-img: what we write, qemu-img reads back and finds consistent; what
// qemu-img writes (plain, compressed, version 2 and 3, backing chains), we
// read back byte for byte.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Qcow2Image } from "../../src/tools/backends/qcow2.js";
import { DiskImageError } from "../../src/tools/backends/raw_image.js";

const haveQemuImg = !spawnSync("qemu-img", ["--version"], { stdio: "ignore" }).error;
const MiB = 1 << 20;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}
function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed), b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() & 0xFF;
  return b;
}
function qemuImg(...args: string[]): string { return execFileSync("qemu-img", args, { encoding: "utf8" }); }
function check(path: string): void {
  const r = spawnSync("qemu-img", ["check", path], { encoding: "utf8" });
  assert.equal(r.status, 0, `qemu-img check ${path}: ${r.stdout}${r.stderr}`);
}
function asRaw(dir: string, path: string): Buffer {
  const out = join(dir, "out.raw");
  qemuImg("convert", "-O", "raw", path, out);
  return readFileSync(out);
}

test("qcow2: our writes (partial clusters, across L2 tables, v2 and v3) are what qemu-img reads, and the image checks clean", { skip: haveQemuImg ? false : "qemu-img not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-qcow2-"));
  try {
    for (const compat of ["1.1", "0.10"]) {
      const img = join(dir, `w-${compat}.qcow2`);
      qemuImg("create", "-q", "-f", "qcow2", "-o", `cluster_size=4096,compat=${compat}`, img, "8M");
      const model = new Uint8Array(8 * MiB);
      const q = new Qcow2Image(img, false);
      const r = rng(compat === "1.1" ? 7 : 8);
      const ops: [number, number][] = [[0, 512], [4096 - 100, 300], [2 * MiB - 700, 5000], [8 * MiB - 4096, 4096], [3 * MiB + 17, 70000]];
      for (let i = 0; i < 200; i++) ops.push([r() % (8 * MiB - 9000), 1 + (r() % 9000)]);
      let seed = 1;
      for (const [off, len] of ops) {
        const data = randomBytes(len, seed++);
        q.write(off, data);
        model.set(data, off);
      }
      const back = new Uint8Array(8 * MiB);
      q.read(0, back);
      assert.ok(Buffer.from(back).equals(Buffer.from(model)), "we read our own writes");
      q.flush();
      q.close();
      check(img);
      assert.ok(asRaw(dir, img).equals(Buffer.from(model)), `qemu-img reads our writes (compat ${compat})`);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("qcow2: images qemu-img wrote (plain and compressed) read back exactly", { skip: haveQemuImg ? false : "qemu-img not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-qcow2-"));
  try {
    const raw = join(dir, "src.raw");
    const data = randomBytes(3 * MiB, 3);
    data.fill(0, MiB, MiB + 200_000); // a hole qemu-img will leave unallocated
    for (let i = 2 * MiB; i < 2 * MiB + 300_000; i++) data[i] = i % 7; // compressible
    writeFileSync(raw, data);
    for (const extra of [[], ["-c"], ["-o", "compat=0.10"]]) {
      const img = join(dir, `r${extra.join("")}.qcow2`);
      qemuImg("convert", "-q", "-O", "qcow2", ...extra, raw, img);
      const q = new Qcow2Image(img, true);
      assert.equal(q.bytes, data.length);
      const back = new Uint8Array(data.length);
      q.read(0, back);
      q.close();
      assert.ok(Buffer.from(back).equals(Buffer.from(data)), `read of qemu-img's ${extra.join(" ") || "plain"} image`);
    }
    // writing into a compressed image copies the cluster out first
    const cimg = join(dir, "w.qcow2");
    qemuImg("convert", "-q", "-O", "qcow2", "-c", raw, cimg);
    const q = new Qcow2Image(cimg, false);
    const patch = randomBytes(1000, 99);
    q.write(2 * MiB + 5000, patch);
    q.close();
    const want = Buffer.from(data);
    want.set(patch, 2 * MiB + 5000);
    assert.ok(asRaw(dir, cimg).equals(want));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("qcow2: a backing chain reads through, writes stay in the overlay, discard makes zeros", { skip: haveQemuImg ? false : "qemu-img not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-qcow2-"));
  try {
    const raw = join(dir, "base.raw");
    const base = randomBytes(4 * MiB, 11);
    writeFileSync(raw, base);
    const baseImg = join(dir, "base.qcow2");
    qemuImg("convert", "-q", "-O", "qcow2", raw, baseImg);
    const over = join(dir, "over.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", "-b", "base.qcow2", "-F", "qcow2", over);
    const q = new Qcow2Image(over, false);
    const model = Buffer.from(base);
    const got = new Uint8Array(4 * MiB);
    q.read(0, got);
    assert.ok(model.equals(got), "unwritten clusters come from the backing file");
    for (const [off, seed] of [[100, 1], [65536 * 3 - 10, 2], [3 * MiB + 12345, 3]] as const) {
      const d = randomBytes(20000, seed);
      q.write(off, d);
      model.set(d, off);
    }
    q.discard(2 * MiB, 65536 * 2);
    model.fill(0, 2 * MiB, 2 * MiB + 65536 * 2);
    q.read(0, got);
    assert.ok(model.equals(got));
    q.close();
    check(over);
    assert.ok(asRaw(dir, over).equals(model), "qemu-img sees the overlay as we do");
    assert.ok(asRaw(dir, baseImg).equals(Buffer.from(base)), "the backing file is untouched");
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("qcow2: what is not a usable qcow2 image is refused with a reason", () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-qcow2-"));
  try {
    const junk = join(dir, "junk.img");
    writeFileSync(junk, Buffer.alloc(4096, 1));
    assert.throws(() => new Qcow2Image(junk, true), (e: unknown) => e instanceof DiskImageError && /not a qcow2 image/.test(e.message));
    assert.throws(() => new Qcow2Image(join(dir, "missing.qcow2"), true), /cannot open/);
    if (haveQemuImg) {
      const snap = join(dir, "snap.qcow2");
      qemuImg("create", "-q", "-f", "qcow2", snap, "1M");
      qemuImg("snapshot", "-c", "s1", snap);
      assert.throws(() => new Qcow2Image(snap, false), /snapshots are not supported/);
      const trunc = join(dir, "trunc.qcow2");
      writeFileSync(trunc, readFileSync(snap).subarray(0, 40));
      assert.throws(() => new Qcow2Image(trunc, true), DiskImageError);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("qcow2: what the qcow2 fuzzer found is refused as a corrupt or unusable image, never an exception of another kind", { skip: haveQemuImg ? false : "qemu-img not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-qcow2-"));
  try {
    const base = join(dir, "base.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", base, "4M");
    const w = new Qcow2Image(base, false);
    w.write(0, new Uint8Array(65536).fill(7));
    w.close();
    const orig = readFileSync(base);
    const variant = (edit: (b: Buffer) => void): string => {
      const p = join(dir, "v.qcow2");
      const b = Buffer.from(orig);
      edit(b);
      writeFileSync(p, b);
      return p;
    };
    const refused = (p: string, use: (img: Qcow2Image) => void, re: RegExp, ro = false): void => {
      assert.throws(() => { const img = new Qcow2Image(p, ro); try { use(img); } finally { img.close(); } }, (e: Error) => e instanceof DiskImageError && re.test(e.message), String(re));
    };
    // a backing file that is the image itself: a loop, not endless recursion
    const self = variant((b) => { b.write("v.qcow2", 1024); b.writeBigUInt64BE(1024n, 8); b.writeUInt32BE(7, 16); });
    refused(self, () => {}, /an image of its own chain \(a loop\)/, true);
    // refcount_order that shifts past 64 bits
    refused(variant((b) => b.writeUInt32BE(0xFFFFFFFF, 96)), () => {}, /refcount_order 4294967295 out of range/);
    // an L2 table, a data cluster and a refcount block the tables put beyond the file
    const l1 = Number(orig.readBigUInt64BE(40)), rt = Number(orig.readBigUInt64BE(48));
    refused(variant((b) => b.writeBigUInt64BE((1n << 63n) | (1n << 40n), l1)), (img) => img.read(0, new Uint8Array(512)), /corrupt: an L2 table at \d+ lies outside the file/);
    const l2 = Number(orig.readBigUInt64BE(l1) & 0x00FFFFFFFFFFFE00n);
    refused(variant((b) => b.writeBigUInt64BE((1n << 63n) | (1n << 50n), l2)), (img) => img.read(0, new Uint8Array(512)), /corrupt: a data cluster/);
    refused(variant((b) => b.writeBigUInt64BE(1n << 61n, rt)), (img) => img.write(3 << 20, new Uint8Array(512)), /corrupt: a refcount block/);
    // a backing file name longer than qcow2 allows
    refused(variant((b) => { b.writeBigUInt64BE(1024n, 8); b.writeUInt32BE(0xFFFFFFFF, 16); }), () => {}, /backing file name .* out of bounds/, true);
    // discard on a read-only image
    refused(base, (img) => img.discard(0, 65536), /is read-only/, true);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
