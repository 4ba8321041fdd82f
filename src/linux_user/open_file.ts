// An open file description: what a file descriptor refers to, shared by
// dup'ed and inherited descriptors (offset, status flags). Operations return
// data or a count, a negative errno, or AGAIN when they would block; the
// system call layer turns AGAIN into blocking or -EAGAIN (O_NONBLOCK).

import { EINVAL, ENOTDIR, ENOTTY, ESPIPE } from "./errno.js";

export const AGAIN = Symbol("would block");
export type Again = typeof AGAIN;

// Guest (arm64 generic) open(2) flags.
export const O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0o100, O_EXCL = 0o200,
  O_NOCTTY = 0o400, O_TRUNC = 0o1000, O_APPEND = 0o2000, O_NONBLOCK = 0o4000, O_DSYNC = 0o10000,
  O_DIRECT = 0o200000, O_LARGEFILE = 0o400000, O_DIRECTORY = 0o40000, O_NOFOLLOW = 0o100000,
  O_NOATIME = 0o1000000, O_CLOEXEC = 0o2000000, O_SYNC = 0o4010000, O_PATH = 0o10000000,
  O_TMPFILE_MASK = 0o20040000; // O_TMPFILE includes O_DIRECTORY
// The flags F_SETFL may change.
export const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

export const S_IFMT = 0o170000, S_IFIFO = 0o10000, S_IFCHR = 0o20000, S_IFDIR = 0o40000, S_IFREG = 0o100000,
  S_IFLNK = 0o120000;

// What fstat reports, in the kernel's units (times in nanoseconds).
export interface StatInfo {
  dev: bigint; ino: bigint; mode: number; nlink: number; uid: number; gid: number; rdev: bigint;
  size: bigint; blksize: number; blocks: bigint; atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint; btimeNs: bigint;
}

export interface DirEntry { name: string; ino: bigint; type: number; } // type: DT_* value

export abstract class OpenFile {
  private refs = 1;
  constructor(public statusFlags: number) {}

  get readable(): boolean { return (this.statusFlags & O_ACCMODE) !== O_WRONLY && (this.statusFlags & O_PATH) === 0; }
  get writable(): boolean { return (this.statusFlags & O_ACCMODE) !== O_RDONLY && (this.statusFlags & O_PATH) === 0; }

  // The host path, for *at() calls relative to a directory and for fchdir.
  get path(): string | undefined { return undefined; }

  read(_len: number): Uint8Array | number | Again { return -EINVAL; }
  write(_data: Uint8Array): number | Again { return -EINVAL; }
  pread(_len: number, _off: bigint): Uint8Array | number { return -ESPIPE; }
  pwrite(_data: Uint8Array, _off: bigint): number { return -ESPIPE; }
  seek(_off: bigint, _whence: number): bigint | number { return -ESPIPE; }
  abstract stat(): StatInfo | number;
  readdir(): DirEntry[] | number { return -ENOTDIR; }
  // getdents64 state: the listing taken at the first call, and the position in it
  dirList: DirEntry[] | undefined;
  dirPos = 0;
  isTerminal(): boolean { return false; }
  // The host descriptor behind this file, if any (for terminal modes).
  get hostFd(): number | undefined { return undefined; }
  truncate(_len: bigint): number { return -EINVAL; }
  sync(): number { return 0; }
  // For poll/select and for waking blocked readers and writers.
  readReady(): boolean { return true; }
  writeReady(): boolean { return true; }
  ioctl(_req: number): number { return -ENOTTY; }

  ref(): this { this.refs++; return this; }
  // Drop one reference; the last one releases the host side.
  unref(): void {
    if (--this.refs === 0) this.release();
  }
  protected release(): void {}
}

// A StatInfo for objects that exist only in the emulator (pipes, streams).
export function syntheticStat(mode: number, ino: bigint, rdev = 0n): StatInfo {
  const now = BigInt(Date.now()) * 1000000n;
  return {
    dev: 0xdn, ino, mode, nlink: 1, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, rdev,
    size: 0n, blksize: 4096, blocks: 0n, atimeNs: now, mtimeNs: now, ctimeNs: now, btimeNs: now,
  };
}
