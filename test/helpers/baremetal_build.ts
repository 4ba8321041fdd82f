// Builds the bare-metal EL1 test programs (test/programs/baremetal) into arm64
// Linux Images with gcc-aarch64-linux-gnu. Each program is lib/*.{c,S} plus
// <name>.c and, when present, <name>.S. Images are cached in build/programs/
// (src/tools/toolchain.ts) and rebuilt only when a source, the linker
// script or the flags change.
//
// Run directly (node dist/test/helpers/baremetal_build.js [names...]) to build
// and print the image paths, e.g. for running one under QEMU by hand.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildProgram } from "../../src/tools/toolchain.js";

// dist/test/helpers/ -> repository root
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const BAREMETAL_SRC = join(REPO_ROOT, "test/programs/baremetal");

const CFLAGS = [
  "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-O2",
  "-march=armv8-a", "-mstrict-align", // with the MMU off all data accesses are Device: no unaligned ones
  "-fpie", "-fno-plt", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
  "-fno-tree-loop-distribute-patterns", // no hidden memset/memcpy calls from loops
  "-std=gnu11", "-Wall", "-Wextra", "-Werror",
];
const LDFLAGS = ["-static-pie", "-Wl,--no-dynamic-linker", "-Wl,--build-id=none", "-Wl,-z,norelro", "-Wl,-z,noexecstack", "-Wl,--no-warn-rwx-segments"];

/** Names of the programs: every <name>.c at the top of the source directory. */
export function bareMetalPrograms(): string[] {
  return readdirSync(BAREMETAL_SRC).filter((f) => f.endsWith(".c")).map((f) => f.slice(0, -2)).sort();
}

function sources(dir: string, name: string): { compile: string[]; inputs: string[] } {
  const lib = join(BAREMETAL_SRC, "lib");
  const libFiles = readdirSync(lib).sort();
  const compile = libFiles.filter((f) => f.endsWith(".c") || f.endsWith(".S")).map((f) => join(lib, f));
  for (const ext of [".c", ".S"]) {
    const p = join(dir, name + ext);
    if (existsSync(p)) compile.push(p);
  }
  // Everything that can change the output: all lib files (headers, linker
  // script), the program's own sources and the headers beside them.
  const headers = readdirSync(dir).filter((f) => f.endsWith(".h")).sort().map((f) => join(dir, f));
  const inputs = [...libFiles.map((f) => join(lib, f)), ...compile.filter((p) => !p.startsWith(lib + "/")), ...headers];
  return { compile, inputs };
}

export interface BareMetalOptions {
  /** Where <name>.c lives (default: the bare-metal conformance programs). */
  dir?: string;
  /** -D definitions; each set of values is its own cached image. */
  defines?: Record<string, string | number>;
}

/** Builds (if needed) and returns the path of the program's Image. */
export function buildBareMetal(name: string, opts: BareMetalOptions = {}): string {
  const dir = opts.dir ?? BAREMETAL_SRC;
  if (!/^[a-z0-9_]+$/.test(name) || !existsSync(join(dir, name + ".c"))) {
    throw new Error(`no bare-metal program ${name} in ${relative(REPO_ROOT, dir)}`);
  }
  const { compile, inputs } = sources(dir, name);
  const rel = (p: string): string => relative(REPO_ROOT, p);
  const defines = Object.entries(opts.defines ?? {}).map(([k, v]) => `-D${k}=${v}`);
  const image = buildProgram({
    compiler: "cross", name, binary: true, sources: compile.map(rel), inputs: inputs.map(rel),
    flags: [...CFLAGS, ...LDFLAGS, "-I", join(BAREMETAL_SRC, "lib"), "-I", dir, "-T", join(BAREMETAL_SRC, "lib/link.ld"), ...defines],
  });
  checkImage(readFileSync(image), name);
  return image;
}

// The loader relies on the header: magic at 56, text_offset at 8, image_size at 16.
function checkImage(b: Buffer, name: string): void {
  if (b.length < 64 || b.toString("latin1", 56, 60) !== "ARM\x64") throw new Error(`${name}: no arm64 Image header`);
  const size = b.readBigUInt64LE(16);
  if (size < BigInt(b.length)) throw new Error(`${name}: image_size ${size} smaller than the file (${b.length})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.length > 2 ? process.argv.slice(2) : bareMetalPrograms();
  for (const n of names) console.log(buildBareMetal(n));
}
