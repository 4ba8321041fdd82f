// Builds the repository's bare-metal guest programs (arm64 Images for a Xen
// domU) with the cross toolchain, cached by source hash.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = "test/programs/hostile";

export function guestImage(main: string, defines: Record<string, string | number> = {}): Uint8Array {
  const srcs = [join(dir, "start.S"), join(dir, `${main}.c`), join(dir, "image.ld"), join(dir, "xen.h")];
  const defs = Object.entries(defines).map(([k, v]) => `-D${k}=${v}`);
  const h = createHash("sha256");
  for (const s of srcs) h.update(readFileSync(s));
  h.update(defs.join(" "));
  const out = join("build/programs", `${main}-${h.digest("hex").slice(0, 16)}`);
  mkdirSync("build/programs", { recursive: true });
  if (!existsSync(out + ".bin")) {
    execFileSync("aarch64-linux-gnu-gcc", [
      "-O2", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-fno-builtin", "-fno-stack-protector", "-static",
      "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-T", join(dir, "image.ld"), ...defs, "-o", out + ".elf", join(dir, "start.S"), join(dir, `${main}.c`),
    ]);
    execFileSync("aarch64-linux-gnu-objcopy", ["-O", "binary", out + ".elf", out + ".bin"]);
  }
  return new Uint8Array(readFileSync(out + ".bin"));
}
