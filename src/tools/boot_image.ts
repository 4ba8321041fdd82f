// A kernel or ramdisk for the domain builder: bytes already in memory, or a
// file (as xl.cfg names it) that the builder reads straight into the
// guest's memory through its foreign mappings. Reading Debian's 33 MiB
// Image into a buffer of its own first, and copying that, took a build
// ~25 ms more: the buffer's fresh pages faulted in, then a second copy.
// A file is read each time a domain is built from it (created, rebooted),
// as xl reads the kernel's path again.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export class BootImageFileError extends Error {}

export class BootFile {
  readonly size: number;
  // Throws (BootImageFileError) if the file cannot be opened: a missing
  // kernel is reported when the domain is asked for, not halfway through
  // its build.
  constructor(readonly path: string) {
    this.size = withFile(path, (fd) => {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new BootImageFileError(`${path} is not a regular file`);
      return st.size;
    });
  }

  // Reads the file's bytes, from its start, into each buffer `fill` hands
  // to `read` (in order, consecutive); the file must still hold them all.
  readInto(fill: (read: (dst: Uint8Array) => void) => void): void {
    let pos = 0;
    withFile(this.path, (fd) => {
      fill((dst) => {
        for (let done = 0; done < dst.length;) {
          let n: number;
          try { n = readSync(fd, dst, done, dst.length - done, pos); } catch (e) { throw new BootImageFileError(`cannot read ${this.path}: ${(e as Error).message}`); }
          if (n === 0) throw new BootImageFileError(`${this.path} ended at ${pos} of ${this.size} bytes (changed while it was read)`);
          done += n;
          pos += n;
        }
      });
    });
  }
}

export type BootImage = Uint8Array | BootFile;

export function imageSize(i: BootImage): number {
  return i instanceof BootFile ? i.size : i.length;
}

// The image's bytes, from its start, into each buffer `fill` hands to `read`.
export function readImage(i: BootImage, fill: (read: (dst: Uint8Array) => void) => void): void {
  if (i instanceof BootFile) { i.readInto(fill); return; }
  let at = 0;
  fill((dst) => {
    dst.set(i.subarray(at, at + dst.length));
    at += dst.length;
  });
}

// The image's first `len` bytes (at most its size), or all of it.
export function imageBytes(i: BootImage, len = imageSize(i)): Uint8Array {
  if (!(i instanceof BootFile)) return i.subarray(0, len);
  const out = new Uint8Array(Math.min(len, i.size));
  i.readInto((read) => read(out));
  return out;
}

function withFile<R>(path: string, f: (fd: number) => R): R {
  let fd: number;
  try { fd = openSync(path, "r"); } catch (e) { throw new BootImageFileError(`cannot read ${path}: ${(e as Error).message}`); }
  try { return f(fd); } finally { closeSync(fd); }
}
