// Builds the repository's AArch64 test and benchmark programs with Debian's
// cross toolchain (gcc-aarch64-linux-gnu), caching the result under build/
// until the source changes.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export class ToolchainMissing extends Error {}

export function crossGcc(): string {
  try {
    execFileSync("aarch64-linux-gnu-gcc", ["--version"], { stdio: "ignore" });
  } catch {
    throw new ToolchainMissing("aarch64-linux-gnu-gcc not found: apt-get install gcc-aarch64-linux-gnu");
  }
  return "aarch64-linux-gnu-gcc";
}

// Compile `source` (relative to the repository root) with `flags`; returns the output path.
export function buildAarch64(source: string, flags: string[], outName?: string): string {
  return buildWith(crossGcc(), "", source, flags, outName);
}

// The same for the host's own compiler: references for benchmarks that run
// one source in the guest and on the host.
export function buildHost(source: string, flags: string[], outName?: string): string {
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
  } catch {
    throw new ToolchainMissing("gcc not found: apt-get install gcc");
  }
  return buildWith("gcc", "-host", source, flags, outName);
}

function buildWith(compiler: string, tag: string, source: string, flags: string[], outName?: string): string {
  const src = join(repoRoot, source);
  const key = createHash("sha256").update(readFileSync(src)).update(flags.join("\0")).digest("hex").slice(0, 16);
  const dir = join(repoRoot, "build/programs");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${outName ?? basename(source).replace(/\.[cS]$/, "")}${tag}-${key}`);
  if (!existsSync(out) || statSync(out).size === 0) {
    execFileSync(compiler, [...flags, "-o", out, src], { stdio: ["ignore", "inherit", "inherit"] });
  }
  return out;
}
