// Boot images read from their files straight into the guest's memory
// (src/tools/boot_image.ts, domain_builder.ts's writeGuest): the guest
// gets the same bytes as from images read whole first, a file that
// changes under the build fails it cleanly (nothing of the domain left), a
// missing or unreadable one is refused before anything is built, and a
// save stream carries the file's bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { bookedHost } from "../helpers/host.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { BootFile, BootImageFileError } from "../../src/tools/boot_image.js";
import { BuildError } from "../../src/tools/domain_builder.js";
import { writePreamble } from "../../src/tools/domain_save.js";
import { REC, RecordParser, StreamWriter } from "../../src/tools/save_stream.js";
import type { Hypervisor } from "../../src/xen/hypervisor.js";
import { SHUTDOWN } from "../../src/xen/public/xen.js";

const dir = mkdtempSync(join(tmpdir(), "xents-boot-image-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// An idle Image with 2.3 MiB of random bytes after it (the builder copies
// in 1 MiB chunks: three of them, the last partial), and a ramdisk whose
// length is not a page's multiple.
function images(): { kernel: Uint8Array; ramdisk: Uint8Array; kernelPath: string; ramdiskPath: string } {
  const kernel = new Uint8Array(2_400_000);
  kernel.set(idleImage());
  kernel.set(randomBytes(kernel.length - 4096), 4096);
  const ramdisk = new Uint8Array(randomBytes(300_001));
  const kernelPath = join(dir, "Image"), ramdiskPath = join(dir, "initrd");
  writeFileSync(kernelPath, kernel);
  writeFileSync(ramdiskPath, ramdisk);
  return { kernel, ramdisk, kernelPath, ramdiskPath };
}

// Every RAM page of a domain, in gfn order.
function ramOf(hv: Hypervisor, domid: number): Uint8Array[] {
  const d = hv.domains.get(domid)!;
  return [...d.p2m.entries()].filter(([, e]) => e.type === "ram").map(([, e]) => hv.core.bytes.slice(hv.frames.hostOf(e.frame), hv.frames.hostOf(e.frame) + 4096));
}

test("a guest built from image files holds the same memory as one built from the same images in memory", () => {
  const s = bookedHost();
  const im = images();
  const seed = new Uint8Array(64).fill(7);
  const base = { memoryMiB: 16, vcpus: 1, cmdline: "", rngSeed: seed, paused: true };
  const a = s.ts.create({ ...base, name: "bytes", kernel: im.kernel, ramdisk: im.ramdisk });
  const b = s.ts.create({ ...base, name: "file", kernel: new BootFile(im.kernelPath), ramdisk: new BootFile(im.ramdiskPath) });
  const ra = ramOf(s.host.hv, a.domid), rb = ramOf(s.host.hv, b.domid);
  assert.ok(ra.length >= 4096, `${ra.length} RAM pages`);
  assert.equal(rb.length, ra.length);
  const differ = ra.map((p, i) => Buffer.compare(p, rb[i])).filter((c) => c !== 0).length;
  assert.equal(differ, 0, "pages that differ");
  const kernelPages = ra.filter((p) => p.some((x) => x !== 0)).length;
  assert.ok(kernelPages > (im.kernel.length + im.ramdisk.length) / 4096 - 2, `the images are in the guest (${kernelPages} pages hold something)`);
  // The save stream has the file's bytes as the kernel the domain reboots with.
  const out: Uint8Array[] = [];
  writePreamble(new StreamWriter({ write: (c) => { out.push(c.slice()); } }), b, "4096");
  const records = new RecordParser().push(Buffer.concat(out));
  assert.deepEqual(records.filter((r) => r.type === REC.KERNEL).map((r) => Buffer.from(r.payload).equals(im.kernel)), [true]);
  assert.deepEqual(records.filter((r) => r.type === REC.RAMDISK).map((r) => Buffer.from(r.payload).equals(im.ramdisk)), [true]);
});

test("an image file cut short while the domain is built fails the build and leaves nothing behind", () => {
  const s = bookedHost();
  const before = s.books();
  const im = images();
  const kernel = new BootFile(im.kernelPath);
  truncateSync(im.kernelPath, 1_500_000);
  assert.throws(() => s.ts.create({ name: "cut", memoryMiB: 16, vcpus: 1, cmdline: "", kernel }), (e: unknown) => e instanceof BuildError && /ended at 1500000 of 2400000 bytes/.test(e.message));
  assert.equal(s.books(), before);
});

test("a missing or unreadable image file is refused before any domain is built", () => {
  assert.throws(() => new BootFile(join(dir, "none")), (e: unknown) => e instanceof BootImageFileError && /cannot read .*none: ENOENT/.test(e.message));
  mkdirSync(join(dir, "adir"), { recursive: true });
  assert.throws(() => new BootFile(join(dir, "adir")), (e: unknown) => e instanceof BootImageFileError && /not a regular file/.test(e.message));
});

test("a guest whose kernel file is gone when it reboots is destroyed, with the reason logged; the toolstack goes on", () => {
  const logs: string[] = [];
  const s = bookedHost(96, (l) => logs.push(l));
  const before = s.books();
  const path = join(dir, "Image-reboot");
  writeFileSync(path, idleImage());
  const ts = s.ts;
  const exits: string[] = [];
  ts.events.onGuestExit = (_g, reason, action) => exits.push(`${reason} ${action}`);
  const g = ts.create({ name: "r", memoryMiB: 16, vcpus: 1, cmdline: "", kernel: new BootFile(path), onReboot: "restart", paused: true });
  rmSync(path);
  s.host.hv.shutdown(s.host.hv.domains.get(g.domid)!, SHUTDOWN.reboot);
  ts.checkDomains();
  assert.deepEqual(exits, ["reboot restart"]);
  assert.ok(logs.some((l) => /\(r\): restart failed: cannot read .*Image-reboot/.test(l)), logs.join("\n"));
  assert.equal(s.books(), before, "nothing of the guest is left");
  // and the toolstack still builds guests
  const again = ts.create({ name: "r2", memoryMiB: 16, vcpus: 1, cmdline: "", kernel: idleImage(), paused: true });
  ts.destroy(again.domid);
  assert.equal(s.books(), before);
});
