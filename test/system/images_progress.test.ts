// `xents images` on a first run says on stderr what it fetches (apt's own
// lines: the package and its size, then the bytes, time and rate) and what
// it builds, and prints only the images on stdout, for pipes; a second run
// finds them cached and says nothing. The kernel package is taken from the
// machine's cache (it is large); busybox-static is really fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, existsSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheDir, fetchImages } from "../../src/tools/images.js";
import { XENTS_BIN } from "../helpers/cli.js";

test("xents images: progress on stderr, the images alone on stdout, silence once cached", () => {
  fetchImages(); // the machine's cache has the kernel package
  const realDebs = join(cacheDir(), "debs");
  const cache = mkdtempSync(join(tmpdir(), "xents-images-"));
  try {
    mkdirSync(join(cache, "debs"));
    for (const d of readdirSync(realDebs)) if (d.startsWith("linux-image-") && existsSync(join(realDebs, d, ".complete"))) symlinkSync(join(realDebs, d), join(cache, "debs", d));
    const run = () => spawnSync(process.execPath, [XENTS_BIN, "images"], { env: { ...process.env, XENTS_CACHE: cache }, encoding: "utf8", timeout: 300_000 });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    const out = first.stdout.trimEnd().split("\n");
    assert.deepEqual(out.map((l) => l.split(" ")[0]), ["kernel", "initrd", "modules"], `stdout is the images alone: ${first.stdout}`);
    const err = first.stderr;
    assert.match(err, /fetching the Debian package busybox-static:arm64/);
    assert.match(err, /Get:\d+ \S+ .*busybox-static.* \[[\d.,]+ [kM]B\]/, "apt says what it fetches and its size");
    assert.match(err, /Fetched [\d.,]+ [kM]?B in \S+ \([\d.,]+ [kM]?B\/s\)/, "and the bytes, time and rate");
    assert.match(err, /unpacking busybox-static_.*\.deb \([\d.]+ MiB\)/);
    assert.match(err, /building the initramfs: busybox, \/init, \d+ modules \(.*xen_blkfront/);
    assert.match(err, /wrote .*vmlinuz-.* \([\d.]+ MiB\) and .*initrd-.*\.cpio\.gz \([\d.]+ MiB\)/);
    const again = run();
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
    assert.equal(again.stderr, "", "cached: nothing to say");
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
