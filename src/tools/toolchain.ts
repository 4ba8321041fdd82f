// Builds the repository's AArch64 test and benchmark programs with Debian's
// cross toolchain (gcc-aarch64-linux-gnu), caching the result under build/
// until the source changes.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, basename } from "node:path";
import { packageRoot } from "./package_root.js";

export class ToolchainMissing extends Error {}

export function crossGcc(): string {
  try {
    execFileSync("aarch64-linux-gnu-gcc", ["--version"], { stdio: "ignore" });
  } catch {
    throw new ToolchainMissing("aarch64-linux-gnu-gcc not found: apt-get install gcc-aarch64-linux-gnu");
  }
  return "aarch64-linux-gnu-gcc";
}

// One way to build a program, cached: the output is named by a hash of the
// compiler, the flags and every input's content (sources, and the headers
// and linker scripts they use), so a change to any of them builds again and
// nothing else does. The result is written under a temporary name and
// renamed, so two test processes building the same program at once both
// get a whole file. `binary`: objcopy the ELF to a flat image (bare-metal
// guests and arm64 Images). Paths are relative to the repository root.
export interface ProgramBuild {
  compiler: "cross" | "host";
  sources: string[]; // compiled, in this order
  inputs?: string[]; // hashed too: headers, linker scripts
  flags: string[]; // paths in them are the caller's to make absolute (abs())
  name: string;
  binary?: boolean;
}

export class BuildError extends Error {}

export const abs = (p: string): string => join(packageRoot, p);

export function buildProgram(b: ProgramBuild): string {
  const compiler = b.compiler === "cross" ? crossGcc() : hostGcc();
  const h = createHash("sha256").update(`${compiler}\0${b.binary ? "bin" : "elf"}\0${b.flags.join("\0")}\0`);
  for (const p of [...b.sources, ...(b.inputs ?? [])]) h.update(p).update("\0").update(readFileSync(abs(p)));
  const dir = abs("build/programs");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${b.name}${b.compiler === "host" ? "-host" : ""}-${h.digest("hex").slice(0, 16)}${b.binary ? ".bin" : ""}`);
  if (existsSync(out) && statSync(out).size > 0) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  const elf = b.binary ? `${tmp}.elf` : tmp;
  try {
    execFileSync(compiler, [...b.flags, "-o", elf, ...b.sources.map(abs)], { stdio: ["ignore", "pipe", "pipe"] });
    if (b.binary) execFileSync("aarch64-linux-gnu-objcopy", ["-O", "binary", elf, tmp], { stdio: ["ignore", "pipe", "pipe"] });
    renameSync(tmp, out);
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new BuildError(`building ${b.name} failed:\n${err.stderr?.toString().trim() || err.message}`);
  } finally {
    for (const f of [tmp, `${tmp}.elf`]) rmSync(f, { force: true });
  }
  return out;
}

function hostGcc(): string {
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
  } catch {
    throw new ToolchainMissing("gcc not found: apt-get install gcc");
  }
  return "gcc";
}

// A single-source program for AArch64 (test and benchmark programs).
export function buildAarch64(source: string, flags: string[], outName?: string): string {
  return buildProgram({ compiler: "cross", sources: [source], flags, name: outName ?? basename(source).replace(/\.[cS]$/, "") });
}

// The same for the host's own compiler: references for benchmarks that run
// one source in the guest and on the host.
export function buildHost(source: string, flags: string[], outName?: string): string {
  return buildProgram({ compiler: "host", sources: [source], flags, name: outName ?? basename(source).replace(/\.[cS]$/, "") });
}
