// bin/xents.js runs the bundled CLI (scripts/bundle.mjs) when it is up to
// date and dist/src otherwise; code that finds files of the checkout
// (build/, dist/web, bin/xents.js) finds them from either. (The tests that
// run bin/xents.js run the bundle: its worker, build/ and dist/web are
// used there by the boot benchmark's, run-user's and the web console's.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { findPackageRoot, packageRoot } from "../../src/tools/package_root.js";

interface Entry { kind: "bundle" | "modules"; main: string; coreModule: string }
const { programEntry } = (await import(pathToFileURL(resolve("bin/entry.js")).href)) as { programEntry: (root: string) => Entry };

// A checkout's dist/ with the given files, each with its modification time (seconds).
function tree(files: Record<string, number>): string {
  const root = mkdtempSync(join(tmpdir(), "xents-entry-"));
  for (const [f, t] of Object.entries(files)) {
    const p = join(root, f);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, "");
    utimesSync(p, t, t);
  }
  return root;
}
const BUNDLE = ["dist/bundle/main.js", "dist/bundle/core_module.js", "dist/bundle/compile_worker.js"];

test("the bundle is run when it is at least as new as tsc's output", () => {
  const root = tree({ "dist/src/main.js": 1000, ...Object.fromEntries(BUNDLE.map((f) => [f, 1000])) });
  try {
    assert.deepEqual(programEntry(root), { kind: "bundle", main: join(root, "dist/bundle/main.js"), coreModule: join(root, "dist/bundle/core_module.js") });
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test("dist/src is run when tsc ran after the bundle was made, or there is no whole bundle", () => {
  const modules = (root: string): Entry => ({ kind: "modules", main: join(root, "dist/src/main.js"), coreModule: join(root, "dist/src/cpu/core_module.js") });
  const cases: Record<string, number>[] = [
    { "dist/src/main.js": 2000, ...Object.fromEntries(BUNDLE.map((f) => [f, 1000])) }, // stale
    { "dist/src/main.js": 1000 }, // never bundled
    { "dist/src/main.js": 1000, "dist/bundle/main.js": 2000, "dist/bundle/core_module.js": 2000 }, // no worker entry
  ];
  for (const files of cases) {
    const root = tree(files);
    try { assert.deepEqual(programEntry(root), modules(root), JSON.stringify(files)); } finally { rmSync(root, { recursive: true, force: true }); }
  }
});

test("the build leaves an up-to-date bundle with the same commands as dist/src", async () => {
  // (npm run build:ts bundles after tsc; a tsc alone would make this fail, as it should)
  assert.equal(programEntry(packageRoot).kind, "bundle");
  const names = async (p: string): Promise<string[]> => Object.keys(((await import(pathToFileURL(join(packageRoot, p)).href)) as { commands: object }).commands).sort();
  const bundled = await names("dist/bundle/main.js");
  assert.ok(bundled.length > 20);
  assert.deepEqual(bundled, await names("dist/src/main.js"));
});

test("the checkout's root is found from dist/src and from the bundle's directory", () => {
  const here = resolve(".");
  assert.equal(packageRoot, here);
  assert.equal(findPackageRoot(join(here, "dist/bundle")), here);
  assert.equal(findPackageRoot(join(here, "dist/src/tools/http")), here);
  const elsewhere = mkdtempSync(join(tmpdir(), "xents-noroot-"));
  try { assert.throws(() => findPackageRoot(elsewhere), /no xents checkout above/); } finally { rmSync(elsewhere, { recursive: true, force: true }); }
});
