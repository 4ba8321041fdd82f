#!/usr/bin/env node
// Entry point of the `xents` command: the compiled CLI in dist/.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { programEntry } from "./entry.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(join(root, "dist/src/main.js")) || !existsSync(join(root, "build/cpu.wasm")) || !existsSync(join(root, "build/translator.wasm"))) {
  process.stderr.write("xents is not built yet: run `npm run build` in " + root + "\n");
  process.exit(2);
}
// a closed pipe on stdout (xents list | head) ends the command quietly
process.stdout.on("error", (e) => { if (e.code === "EPIPE") process.exit(0); throw e; });
// The bundled CLI if it is up to date (entry.js).
const entry = programEntry(root);
// A command that boots a guest has the core compiled on V8's threads while
// the rest of the program loads (src/cpu/core_module.ts): the ~50 ms
// compile overlaps the loading (bench boot's guest ~30 ms sooner).
const [command, ...rest] = process.argv.slice(2);
if (command === "demo" || command === "bench" || command === "run-user" || (command === "host" && rest.includes("--foreground"))) {
  const { compileCoreAhead } = await import(pathToFileURL(entry.coreModule).href);
  compileCoreAhead();
}
const { main } = await import(pathToFileURL(entry.main).href);
process.exitCode = await main(process.argv.slice(2));
