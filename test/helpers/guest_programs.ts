// Builds the hostile-guest programs (test/programs/hostile): bare-metal
// arm64 Images on the same runtime as the conformance programs
// (test/programs/baremetal/lib), run here as Xen domUs.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildBareMetal, REPO_ROOT } from "./baremetal_build.js";

const dir = join(REPO_ROOT, "test/programs/hostile");

export function guestImage(main: string, defines: Record<string, string | number> = {}): Uint8Array {
  return new Uint8Array(readFileSync(buildBareMetal(main, { dir, defines })));
}
