// What a command's start loads: the command table imports every command,
// and the packages only a host daemon's HTTP API, its metrics or a Remus
// arbiter use (etcd's client with gRPC, Fastify, prom-client) are loaded
// where they are first used (src/tools/lazy_package.ts), not by every
// `xents` or `xl` command: they took ~0.2 s of each start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LAZY_PACKAGES } from "../../src/tools/lazy_package.js";

const SRC_MAIN = new URL("../../src/main.js", import.meta.url).href;
// What bin/xents.js runs (scripts/bundle.mjs): lazy imports stay lazy there too.
const BUNDLE_MAIN = new URL("../../bundle/main.js", import.meta.url).href;

// Runs `script` (an ES module; MAIN is dist/src/main.js or the bundle's) in
// a fresh Node and returns the lazy packages it had loaded at its end.
function loadedAfter(script: string, main = SRC_MAIN): string[] {
  const home = mkdtempSync(join(tmpdir(), "xents-startup-"));
  try {
    const probe = `
      import { createRequire } from "node:module";
      const MAIN = ${JSON.stringify(main)};
      ${script}
      const cache = Object.keys(createRequire(import.meta.url).cache);
      const names = ${JSON.stringify(LAZY_PACKAGES)};
      console.log(JSON.stringify(names.filter((n) => cache.some((k) => k.includes("/node_modules/" + n + "/")))));
      process.exit(0); // (an arbiter's client keeps the process alive)`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { env: { ...process.env, XENTS_HOME: home }, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as string[];
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

for (const [build, main] of [["modules", SRC_MAIN], ["bundle", BUNDLE_MAIN]]) {
  test(`a command that needs no HTTP server, metrics or arbiter loads none of their packages (${build})`, () => {
    // `xl list` without a host: the whole command table is imported, the command runs and fails
    const loaded = loadedAfter(`const { main } = await import(MAIN); process.stdout.write("exit " + await main(["list"]) + "\\n");`, main);
    assert.deepEqual(loaded, []);
  });
}

test("the check sees a package that was loaded: metrics load prom-client, an arbiter etcd's client", () => {
  const loaded = loadedAfter(`
    await import(MAIN);
    const { HostMetrics } = await import(new URL("tools/http/metrics.js", MAIN).href);
    new HostMetrics(() => { throw new Error("no scrape"); });
    const { Arbiter } = await import(new URL("tools/remus/arbiter.js", MAIN).href);
    new Arbiter("etcd://127.0.0.1:1", "u");`);
  assert.deepEqual(loaded.sort(), ["etcd3", "prom-client"]);
});

// The bundle's files every command loads: main.js and what it imports
// statically, transitively (dynamic imports load only when a command runs them).
function staticClosure(dir: string): string[] {
  const seen = new Set<string>(), todo = ["main.js"];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    seen.add(f);
    const text = readFileSync(join(dir, f), "utf8");
    for (const m of text.matchAll(/^import\s(?:[^;]*?\sfrom\s*)?"\.\/([^"]+)"/gm)) todo.push(m[1]);
  }
  return [...seen];
}

// Modules only some commands load, kept out of every command's start.
const ONLY_WHEN_USED = [
  "dist/src/linux_user/runner.js", // run-user's emulator
  "dist/src/tools/http/api_server.js", // a host daemon's HTTP API
];

test("the user-mode Linux emulator and the HTTP API server are loaded by the commands that use them, not by every command's start (bundle)", () => {
  const dir = fileURLToPath(new URL("../../bundle/", import.meta.url));
  const holds = (f: string, m: string): boolean => readFileSync(join(dir, f), "utf8").includes(`// ${m}`);
  const loaded = staticClosure(dir);
  assert.ok(loaded.length > 5 && loaded.some((f) => holds(f, "dist/src/tools/toolstack.js")), "the closure finds the toolstack every boot needs");
  for (const m of ONLY_WHEN_USED) {
    assert.deepEqual(loaded.filter((f) => holds(f, m)), [], `${m} is loaded at start`);
    assert.ok(readdirSync(dir).some((f) => holds(f, m)), `${m} is in the bundle, in a chunk of its own`);
  }
});
