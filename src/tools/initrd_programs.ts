// A guest initramfs with the repository's own static AArch64 programs added
// under /opt: the base archive followed by a second gzipped cpio member,
// which the kernel unpacks over the first. Benchmarks and tests use it to
// run a program of theirs inside Debian's guest.

import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { basename } from "node:path";
import { cpioNewc, S_IFREG, S_IFDIR } from "./cpio.js";
import { buildAarch64 } from "./toolchain.js";

// `sources`: C files relative to the repository root; each becomes /opt/<name without .c>.
// `flags`: more compiler flags for all of them (an include directory).
export function initrdWithPrograms(initrd: string, sources: string[], flags: string[] = []): Uint8Array {
  const files = sources.map((src) => {
    const name = basename(src).replace(/\.c$/, "");
    return { name: `opt/${name}`, mode: S_IFREG | 0o755, data: new Uint8Array(readFileSync(buildAarch64(src, ["-O2", "-static", ...flags], name))) };
  });
  const extra = gzipSync(cpioNewc([{ name: "opt", mode: S_IFDIR | 0o755 }, ...files]));
  return new Uint8Array(Buffer.concat([readFileSync(initrd), extra]));
}
