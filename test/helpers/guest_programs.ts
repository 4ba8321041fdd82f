// Builds the repository's bare-metal guest programs (arm64 Images for a Xen
// domU) with the cross toolchain, cached (src/tools/toolchain.ts).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildProgram, abs } from "../../src/tools/toolchain.js";

const dir = "test/programs/hostile";

export function guestImage(main: string, defines: Record<string, string | number> = {}): Uint8Array {
  const out = buildProgram({
    compiler: "cross", name: main, binary: true,
    sources: [join(dir, "start.S"), join(dir, `${main}.c`)], inputs: [join(dir, "image.ld"), join(dir, "xen.h")],
    flags: ["-O2", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-fno-builtin", "-fno-stack-protector", "-static",
      "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-T", abs(join(dir, "image.ld")),
      ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`)],
  });
  return new Uint8Array(readFileSync(out));
}
