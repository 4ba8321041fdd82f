// Which Debian kernel package the guest images come from: apt's answer is
// kept beside the apt state it was given for, and asked again when that
// state changes (apt-cache reads every package list to answer, ~1 s here).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, utimesSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveKernelPackage, aptStateKey, ImageError } from "../../src/tools/images.js";

function scratch(): { cache: string; lists: string; arch: string; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), "xents-kpkg-"));
  const lists = join(root, "lists");
  mkdirSync(join(lists, "partial"), { recursive: true });
  writeFileSync(join(lists, "deb.debian.org_debian_dists_bookworm_main_binary-arm64_Packages"), "Package: linux-image-arm64\n");
  writeFileSync(join(lists, "lock"), "");
  const arch = join(root, "arch");
  writeFileSync(arch, "arm64\n");
  const cache = join(root, "cache");
  const before = process.env.XENTS_CACHE;
  process.env.XENTS_CACHE = cache;
  return { cache, lists, arch, done: () => { if (before === undefined) delete process.env.XENTS_CACHE; else process.env.XENTS_CACHE = before; rmSync(root, { recursive: true, force: true }); } };
}

const answer = (pkg: string): string => `linux-image-arm64:arm64\n  Depends: ${pkg}:arm64\n  Depends: linux-base\n`;

test("apt is asked once while its state stays the same, and again when a list changes", (t) => {
  const s = scratch();
  t.after(s.done);
  const state = [s.lists, s.arch, join(s.lists, "..", "no-preferences")];
  let asked = 0;
  const ask = (pkg: string) => (): string => { asked++; return answer(pkg); };
  assert.equal(resolveKernelPackage(state, ask("linux-image-6.1.0-40-arm64")), "linux-image-6.1.0-40-arm64");
  assert.equal(asked, 1);
  assert.equal(resolveKernelPackage(state, ask("linux-image-6.1.0-40-arm64")), "linux-image-6.1.0-40-arm64");
  assert.equal(asked, 1, "a second resolution with the same apt state must not run apt-cache");
  // apt's lock file says nothing of the answer
  utimesSync(join(s.lists, "lock"), new Date(), new Date(Date.now() + 5000));
  resolveKernelPackage(state, ask("linux-image-6.1.0-40-arm64"));
  assert.equal(asked, 1);
  // apt-get update brings a list with a newer kernel
  writeFileSync(join(s.lists, "deb.debian.org_debian_dists_bookworm_main_binary-arm64_Packages"), "Package: linux-image-arm64\nVersion: 2\n");
  assert.equal(resolveKernelPackage(state, ask("linux-image-6.1.0-41-arm64")), "linux-image-6.1.0-41-arm64");
  assert.equal(asked, 2);
  // a list added, and dpkg's architectures changed, each ask again
  writeFileSync(join(s.lists, "security_Packages"), "x");
  resolveKernelPackage(state, ask("linux-image-6.1.0-41-arm64"));
  assert.equal(asked, 3);
  writeFileSync(s.arch, "arm64\narmhf\n");
  resolveKernelPackage(state, ask("linux-image-6.1.0-41-arm64"));
  assert.equal(asked, 4);
});

test("a damaged or foreign cache entry is not believed, and a bad answer from apt is an error that caches nothing", (t) => {
  const s = scratch();
  t.after(s.done);
  const state = [s.lists, s.arch];
  let asked = 0;
  const good = (): string => { asked++; return answer("linux-image-6.1.0-40-arm64"); };
  mkdirSync(s.cache, { recursive: true });
  const file = join(s.cache, "kernel-package.json");
  for (const bad of ["{", JSON.stringify({ key: aptStateKey(state), pkg: "../../etc/passwd" }), JSON.stringify({ key: aptStateKey(state), pkg: 7 }), JSON.stringify({ key: "other", pkg: "linux-image-9-arm64" })]) {
    writeFileSync(file, bad);
    assert.equal(resolveKernelPackage(state, good), "linux-image-6.1.0-40-arm64");
  }
  assert.equal(asked, 4);
  rmSync(file);
  assert.throws(() => resolveKernelPackage(state, () => "linux-image-arm64:arm64\n  Depends: linux-base\n"), ImageError);
  assert.throws(() => readFileSync(file), /ENOENT/);
});
