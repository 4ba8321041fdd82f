// Faults under a working disk (issue 12), with blkfront played through the
// guest's own grant table, ring and event channel against blkback, the
// image on an ext4 file system of its own (a loop device; needs root):
// - the file system fills up during writes: the guest gets I/O errors, the
//   writes it was told are done are all there, before and after a FLUSH
//   and after the file system is mounted again; the host and the device
//   stay up, and writes work again once there is room;
// - the image file removed and made unreadable under a working disk: the
//   backend's open file works on (Linux keeps an unlinked open file), so
//   reads, writes and flushes succeed and nothing is lost until the disk is
//   detached;
// - the file system goes away under the backend (EXT4_IOC_SHUTDOWN: every
//   read, write and fsync now fails with EIO): errors to the guest, never
//   an okay, and no exception in the host;
// - a FLUSH that failed once (a transient write-back error, injected) is
//   never followed by one that says okay, since what it should have made
//   durable may be gone (Linux reports a failed write-back once, then
//   forgets it);
// - a forced detach answers what the frontend had already queued.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, openSync, closeSync, ftruncateSync, readFileSync, writeFileSync, unlinkSync, chmodSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { parseDiskSpec } from "../../src/tools/disk_spec.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { GrantEntries, PlayedBlkFront } from "../../src/host/fuzz/played_frontends.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { BLKIF_OP, BLKIF_RSP } from "../../src/xen/public/io/blkif.js";
import { XenbusState } from "../../src/xen/public/io/xenbus.js";
import { buildHost } from "../../src/tools/toolchain.js";
import { loopFs, LoopFs } from "../helpers/loop_fs.js";

const RING = 64, DATA = 100; // guest page offsets (from RAM0_GFN); grant refs the same numbers
const settle = async (): Promise<void> => { for (let i = 0; i < 8; i++) await new Promise((res) => setImmediate(res)); };

// One guest with one disk whose frontend this test plays.
async function guestWithDisk(image: string): Promise<{
  host: Host; ts: Toolstack; io: (op: number, sector: number, data?: Uint8Array) => { status: number; data: Uint8Array }; logs: string[]; destroy: () => void;
  parts: { g: PlayedGuest; f: PlayedBlkFront; ts: Toolstack; domid: number };
}> {
  const logs: string[] = [];
  const host = new Host({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd), (l) => logs.push(l));
  const guest = ts.create({ name: "worker", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true, disks: [parseDiskSpec(`${image},raw,xvda,rw`)] });
  const g = new PlayedGuest(host.hv, host.hv.domains.get(guest.domid)!);
  const grants = new GrantEntries(g);
  grants.grant(DATA, RAM0_GFN + DATA, false);
  await settle();
  const f = new PlayedBlkFront(g, ts, grants, 51712, RAM0_GFN + RING, RING);
  f.connect({ queues: 1, order: 0, persistent: false, fresh: true });
  await settle();
  assert.equal(f.backendState(), XenbusState.Connected);
  let id = 1n;
  const io = (op: number, sector: number, data?: Uint8Array): { status: number; data: Uint8Array } => {
    const req = new Uint8Array(112), dv = new DataView(req.buffer);
    req[0] = op;
    dv.setBigUint64(8, id++, true);
    if (op === BLKIF_OP.read || op === BLKIF_OP.write) {
      req[1] = 1; dv.setBigUint64(16, BigInt(sector), true);
      dv.setUint32(24, DATA, true); req[28] = 0; req[29] = 7; // one page, 8 sectors
      if (data) g.write(BigInt(RAM0_GFN + DATA) << 12n, data);
    }
    const ring = f.rings[0];
    ring.put(req); ring.publish(); f.kick(); host.hv.runFor(1);
    const rsp = ring.take(16);
    assert.equal(rsp.length, 1, "every request is answered");
    return { status: rsp[0].getInt16(10, true), data: g.page(RAM0_GFN + DATA)!.slice() };
  };
  return { host, ts, io, logs, destroy: () => ts.destroy(guest.domid), parts: { g, f, ts, domid: guest.domid } };
}

const dir = mkdtempSync(join(tmpdir(), "xents-blk-faults-"));
const fs: LoopFs | string = loopFs(dir, 16);
test.after(() => { if (typeof fs !== "string") fs.done(); rmSync(dir, { recursive: true, force: true }); });

test("a full file system: I/O errors for what does not fit, everything acknowledged kept, writes work again once there is room", { skip: typeof fs === "string" ? fs : false }, async (t) => {
  const { mnt } = fs as LoopFs;
  const image = join(mnt, "disk.img");
  const fd = openSync(image, "w");
  ftruncateSync(fd, 64 << 20); // a sparse 64 MiB disk on a 16 MiB file system
  closeSync(fd);
  writeFileSync(join(mnt, "ballast"), new Uint8Array(2 << 20)); // room to give back later
  const w = await guestWithDisk(image);
  const acked = new Map<number, Uint8Array>();
  let errors = 0, sector = 0;
  for (; sector < (64 << 20) / 512 && errors < 20; sector += 8) {
    const data = randomBytes(4096);
    const r = w.io(BLKIF_OP.write, sector, data);
    if (r.status === BLKIF_RSP.okay) acked.set(sector, data); else { assert.equal(r.status, BLKIF_RSP.error); errors++; }
  }
  assert.equal(errors, 20, "the disk filled up and writes failed");
  t.diagnostic(`${acked.size} 4 KiB writes acknowledged, then ${errors} refused with the file system full`);
  assert.ok(acked.size > 1000, `${acked.size} writes acknowledged before it filled`);
  assert.ok(w.logs.some((l) => /ENOSPC|no space/i.test(l)), "the host log says why");
  const flush = w.io(BLKIF_OP.flush_diskcache, 0);
  assert.equal(flush.status, BLKIF_RSP.okay, "what was acknowledged can be made durable");
  // every acknowledged write reads back through the ring and from the file
  const file = readFileSync(image);
  for (const [s, data] of acked) {
    assert.ok(file.subarray(s * 512, s * 512 + 4096).equals(data), `sector ${s} in the file`);
  }
  for (const s of [...acked.keys()].filter((_, i) => i % 97 === 0)) {
    const r = w.io(BLKIF_OP.read, s);
    assert.equal(r.status, BLKIF_RSP.okay);
    assert.ok(Buffer.from(r.data).equals(acked.get(s)!), `sector ${s} through the ring`);
  }
  // room again: the same device takes writes
  unlinkSync(join(mnt, "ballast"));
  spawnSync("sync");
  const again = randomBytes(4096);
  assert.equal(w.io(BLKIF_OP.write, sector, again).status, BLKIF_RSP.okay, "writes work again once there is room");
  assert.equal(w.io(BLKIF_OP.flush_diskcache, 0).status, BLKIF_RSP.okay);
  w.destroy();
  assert.equal(w.ts.blkback.devices.size, 0);
  // and all of it after the file system is mounted afresh (nothing only in the page cache)
  const { dev } = fs as LoopFs;
  execFileSync("umount", [mnt]);
  execFileSync("mount", ["-t", "ext4", dev, mnt]);
  const after = readFileSync(image);
  for (const [s, data] of acked) assert.ok(after.subarray(s * 512, s * 512 + 4096).equals(data), `sector ${s} after a remount`);
  assert.ok(after.subarray(sector * 512, sector * 512 + 4096).equals(again));
  unlinkSync(image);
});

test("the image removed under a working disk (I/O goes on), then its file system gone: errors to the guest for writes and flushes, no exception in the host", { skip: typeof fs === "string" ? fs : false }, async () => {
  const { mnt } = fs as LoopFs;
  const shutdown = buildHost("test/programs/host/ext4_shutdown.c", ["-O2"], "ext4_shutdown");
  const image = join(mnt, "gone.img");
  writeFileSync(image, new Uint8Array(4 << 20));
  const w = await guestWithDisk(image);
  const data = randomBytes(4096);
  assert.equal(w.io(BLKIF_OP.write, 8, data).status, BLKIF_RSP.okay);
  assert.equal(w.io(BLKIF_OP.write, 4000, data).status, BLKIF_RSP.okay); // not yet written back
  // the image's name removed, and its mode made unreadable: the backend's open file goes on, as any open file on Linux
  chmodSync(image, 0);
  unlinkSync(image);
  assert.equal(w.io(BLKIF_OP.write, 24, data).status, BLKIF_RSP.okay);
  const back = w.io(BLKIF_OP.read, 24);
  assert.equal(back.status, BLKIF_RSP.okay);
  assert.ok(Buffer.from(back.data).equals(data), "a removed image still holds what was written");
  assert.equal(w.io(BLKIF_OP.flush_diskcache, 0).status, BLKIF_RSP.okay);
  // then the file system itself goes away
  execFileSync(shutdown, [mnt]);
  const results: number[] = [];
  results.push(w.io(BLKIF_OP.flush_diskcache, 0).status);
  results.push(w.io(BLKIF_OP.write, 16, data).status);
  results.push(w.io(BLKIF_OP.read, 2000).status);
  results.push(w.io(BLKIF_OP.flush_diskcache, 0).status);
  results.push(w.io(BLKIF_OP.flush_diskcache, 0).status);
  assert.equal(results[0], BLKIF_RSP.error, "the flush after the file system went away fails");
  assert.deepEqual(results.slice(3), [BLKIF_RSP.error, BLKIF_RSP.error], "and so does every flush after it");
  assert.equal(results[1], BLKIF_RSP.error, "a write to a file system that is gone");
  assert.ok(w.logs.some((l) => /flush failed/.test(l)), w.logs.join("\n"));
  w.destroy();
  assert.equal(w.ts.blkback.devices.size, 0, "the device goes away cleanly");
  // the file system is remounted for the next user of this loop device
  const { dev } = fs as LoopFs;
  spawnSync("umount", [mnt]);
  spawnSync("e2fsck", ["-fy", (fs as LoopFs).backing], { stdio: "ignore" });
  spawnSync("mount", ["-t", "ext4", dev, mnt]);
});

test("a flush that failed once is never followed by one that says okay (the host's fsync forgets the error it reported)", async () => {
  const d = mkdtempSync(join(tmpdir(), "xents-blk-flush-"));
  try {
    const image = join(d, "disk.img");
    writeFileSync(image, new Uint8Array(1 << 20));
    const w = await guestWithDisk(image);
    const dev = [...w.ts.blkback.devices.values()][0];
    const img = dev.image!;
    const real = img.flush.bind(img);
    let failures = 1; // one transient write-back error, as Linux reports it: once
    img.flush = () => { if (failures-- > 0) throw new Error("EIO: write-back failed (injected)"); real(); };
    assert.equal(w.io(BLKIF_OP.write, 8, randomBytes(4096)).status, BLKIF_RSP.okay);
    assert.equal(w.io(BLKIF_OP.flush_diskcache, 0).status, BLKIF_RSP.error);
    assert.equal(w.io(BLKIF_OP.flush_diskcache, 0).status, BLKIF_RSP.error, "the next flush cannot vouch for the write before the failure");
    assert.equal(w.io(BLKIF_OP.write, 16, randomBytes(4096)).status, BLKIF_RSP.okay, "writes go on");
    assert.equal(w.io(BLKIF_OP.flush_diskcache, 0).status, BLKIF_RSP.error);
    w.destroy();
  } finally { rmSync(d, { recursive: true, force: true }); }
});

// A write queued and published on the ring, its notification still in
// flight; then `detach` lets the device go. The request must be answered
// before the ring is: Linux's blkfront waits for its in-flight requests for
// ever otherwise (del_gendisk, and the process doing the I/O, hang).
async function queuedWriteAnswered(detach: (w: Awaited<ReturnType<typeof guestWithDisk>>) => Promise<void>): Promise<void> {
  const dir2 = mkdtempSync(join(tmpdir(), "xents-blk-force-"));
  try {
    const img = join(dir2, "d.img");
    const fd = openSync(img, "w");
    ftruncateSync(fd, 1 << 20);
    closeSync(fd);
    const w = await guestWithDisk(img);
    const { g, f } = w.parts;
    const req = new Uint8Array(112), dv = new DataView(req.buffer);
    req[0] = BLKIF_OP.write; req[1] = 1;
    dv.setBigUint64(8, 77n, true); dv.setBigUint64(16, 8n, true);
    dv.setUint32(24, DATA, true); req[28] = 0; req[29] = 7;
    g.write(BigInt(RAM0_GFN + DATA) << 12n, new Uint8Array(4096).fill(0x3C));
    const ring = f.rings[0];
    ring.put(req); ring.publish();
    await detach(w);
    const rsp = ring.take(16);
    assert.equal(rsp.length, 1, "the queued request was answered before the ring was let go");
    assert.equal(rsp[0].getBigUint64(0, true), 77n);
    assert.equal(rsp[0].getInt16(10, true), BLKIF_RSP.okay);
    assert.equal(readFileSync(img)[8 * 512], 0x3C, "and done");
    w.destroy();
  } finally {
    rmSync(dir2, { recursive: true, force: true });
  }
}

test("a forced detach answers the requests already on the ring (their event not yet delivered): blkfront waits for them for ever otherwise", async () => {
  await queuedWriteAnswered(({ parts: { ts, domid } }) => ts.removeDevice("vbd", domid, 51712, true, 100));
});

test("a frontend that closes with requests on the ring (Linux's blkfront_closing on a detach) has them answered before its ring is let go", async () => {
  await queuedWriteAnswered(async ({ parts: { f } }) => {
    f.close(); // state Closed, as xenbus_frontend_closed writes it
    await settle();
  });
});
