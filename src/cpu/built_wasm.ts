// The WebAssembly the build makes (npm run build:cpu): the core and the
// translator, both AssemblyScript, in build/ at the repository root.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function readBuiltWasm(name: "cpu.wasm" | "translator.wasm"): Uint8Array<ArrayBuffer> {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/cpu -> build/ (or, run from source or bundled: src/cpu or dist/bundle -> build/)
  const candidates = [join(here, "../../../build", name), join(here, "../../build", name)];
  for (const c of candidates) {
    try { return new Uint8Array(readFileSync(c)); } catch { /* try the next */ }
  }
  throw new Error(`${name} not found (looked in ${candidates.join(", ")}); run npm run build`);
}
