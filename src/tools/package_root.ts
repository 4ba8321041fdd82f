// The checkout's root directory (where bin/xents.js is), from wherever the
// module asking was loaded: dist/src/..., or dist/bundle when the CLI runs
// bundled (scripts/bundle.mjs), which sits at another depth.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function findPackageRoot(from: string): string {
  for (let d = from; ; d = dirname(d)) {
    if (existsSync(join(d, "bin/xents.js")) && existsSync(join(d, "package.json"))) return d;
    if (dirname(d) === d) throw new Error(`no xents checkout above ${from} (no bin/xents.js and package.json)`);
  }
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
