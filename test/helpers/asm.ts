// Assembles AArch64 source with binutils (gcc-aarch64-linux-gnu) into raw
// bytes, for tests that need machine code. Results are cached by source text.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cache = new Map<string, Uint8Array>();

export function assemble(source: string): Uint8Array {
  const hit = cache.get(source);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), "xents-asm-"));
  try {
    writeFileSync(join(dir, "a.s"), `.text\n.globl _start\n_start:\n${source}\n`);
    execFileSync("aarch64-linux-gnu-as", ["-march=armv8-a+crc", "-o", join(dir, "a.o"), join(dir, "a.s")], { stdio: ["ignore", "ignore", "pipe"] });
    execFileSync("aarch64-linux-gnu-objcopy", ["-O", "binary", "-j", ".text", join(dir, "a.o"), join(dir, "a.bin")]);
    const bytes = new Uint8Array(readFileSync(join(dir, "a.bin")));
    cache.set(source, bytes);
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
