// A virtual disk's backing store, and the raw-file form of it. Reads and
// writes go straight between the file and the granted guest page (no
// intermediate copy); flush is fdatasync, so data acknowledged after a
// flush is on the file's storage.

import { openSync, closeSync, fstatSync, readSync, writeSync, fdatasyncSync, constants } from "node:fs";

export interface DiskImage {
  readonly path: string;
  readonly bytes: number; // virtual size
  readonly readonly: boolean;
  read(offset: number, into: Uint8Array): void; // fills `into` from the disk (holes read as zeros)
  write(offset: number, from: Uint8Array): void;
  flush(): void;
  discard(offset: number, length: number): void; // the range reads as zeros afterwards
  close(): void;
}

export class DiskImageError extends Error {}

const ZEROS = new Uint8Array(1 << 20);

export class RawImage implements DiskImage {
  private fd: number;
  readonly bytes: number;
  constructor(readonly path: string, readonly readonly: boolean) {
    try {
      this.fd = openSync(path, readonly ? constants.O_RDONLY : constants.O_RDWR);
    } catch (e) {
      throw new DiskImageError(`cannot open disk image ${path}: ${(e as Error).message}`);
    }
    const st = fstatSync(this.fd);
    if (!st.isFile() && !st.isBlockDevice()) { closeSync(this.fd); throw new DiskImageError(`${path} is not a file or block device`); }
    this.bytes = st.size;
  }
  read(offset: number, into: Uint8Array): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) { into.fill(0, done); return; } // past the end of a sparse file
      done += n;
    }
  }
  write(offset: number, from: Uint8Array): void {
    if (this.readonly) throw new DiskImageError(`${this.path} is read-only`);
    let done = 0;
    while (done < from.length) done += writeSync(this.fd, from, done, from.length - done, offset + done);
  }
  flush(): void { if (!this.readonly) fdatasyncSync(this.fd); }
  // Node has no fallocate(PUNCH_HOLE): discarded ranges are written with
  // zeros, so they read back as zeros but the host file does not shrink.
  discard(offset: number, length: number): void {
    for (let done = 0; done < length;) {
      const n = Math.min(length - done, ZEROS.length);
      this.write(offset + done, ZEROS.subarray(0, n));
      done += n;
    }
  }
  close(): void {
    if (this.fd >= 0) { closeSync(this.fd); this.fd = -1; }
  }
}
