// The CLI's modules bundled into a few files in dist/bundle, after tsc
// (npm run build:ts). Node resolves and loads ES modules one at a time: a
// command that boots a guest loads ~200 of dist/src's, ~0.1 s of every
// `xents` command before it does anything. esbuild (chosen as the bundler
// because it is one dependency with no plugins to configure, and takes
// ~0.15 s) joins them; with --splitting the modules main.ts imports only
// when a command needs them (the fuzzers, the benchmarks, the daemons)
// stay in chunks of their own, loaded as before. npm packages stay
// imports of node_modules (lazy_package.ts still loads those on first use).
//
// Entries: the CLI; the background translator's worker (background.ts
// starts ./compile_worker.js beside the code that starts it); the core's
// ahead-of-time compile (bin/xents.js starts it before the CLI loads, and
// the CLI's modules must share its state, so both import one chunk).
// bin/xents.js runs the bundle only when it is newer than dist/src/main.js
// (entry.js), so a tsc without this step runs what it compiled.
import { build } from "esbuild";
import { rmSync } from "node:fs";

const outdir = "dist/bundle";
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: ["dist/src/main.js", "dist/src/cpu/jit/compile_worker.js", "dist/src/cpu/core_module.js"],
  outdir,
  entryNames: "[name]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
