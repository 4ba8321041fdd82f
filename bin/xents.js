#!/usr/bin/env node
// Entry point of the `xents` command: the compiled CLI in dist/.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist/src/main.js");
if (!existsSync(cli) || !existsSync(join(root, "build/cpu.wasm")) || !existsSync(join(root, "build/translator.wasm"))) {
  process.stderr.write("xents is not built yet: run `npm run build` in " + root + "\n");
  process.exit(2);
}
// a closed pipe on stdout (xents list | head) ends the command quietly
process.stdout.on("error", (e) => { if (e.code === "EPIPE") process.exit(0); throw e; });
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
