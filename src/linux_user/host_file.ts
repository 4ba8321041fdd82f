// Files, directories and devices of the host's file system, open in the
// guest: the runner is a user-mode emulator, so paths and file contents are
// the host's own. The host descriptor is opened once per open file
// description; the offset lives here because node:fs cannot lseek, so every
// access to a seekable file is a positioned one.

import * as fs from "node:fs";
import { isatty } from "node:tty";
import { join } from "node:path";
import { EAGAIN, EBADF, EINVAL, EISDIR, ENOTDIR, ENXIO, ESPIPE, hostErrno } from "./errno.js";
import {
  OpenFile, StatInfo, DirEntry, O_ACCMODE, O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_DIRECTORY,
  O_NOFOLLOW, O_SYNC, O_DSYNC, O_PATH, S_IFMT, S_IFREG, S_IFDIR, S_IFCHR,
} from "./open_file.js";

const C = fs.constants;

// Sleep the whole emulator briefly (the host descriptor is non-blocking and
// not ready; everything else waits on it anyway).
const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepMs(ms: number): void { Atomics.wait(sleeper, 0, 0, ms); }

function hostOpenFlags(g: number): number {
  let h = g & O_ACCMODE;
  if (g & O_CREAT) h |= C.O_CREAT;
  if (g & O_EXCL) h |= C.O_EXCL;
  if (g & O_NOCTTY) h |= C.O_NOCTTY;
  if (g & O_TRUNC) h |= C.O_TRUNC;
  if (g & O_APPEND) h |= C.O_APPEND;
  if (g & O_DIRECTORY) h |= C.O_DIRECTORY;
  if (g & O_NOFOLLOW) h |= C.O_NOFOLLOW;
  if ((g & O_SYNC) === O_SYNC) h |= C.O_SYNC;
  else if (g & O_DSYNC) h |= C.O_DSYNC;
  return h;
}

export function statInfo(s: fs.BigIntStats): StatInfo {
  return {
    dev: s.dev, ino: s.ino, mode: Number(s.mode), nlink: Number(s.nlink), uid: Number(s.uid), gid: Number(s.gid),
    rdev: s.rdev, size: s.size, blksize: Number(s.blksize), blocks: s.blocks, atimeNs: s.atimeNs,
    mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs, btimeNs: s.birthtimeNs,
  };
}

const DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_BLK = 6, DT_REG = 8, DT_LNK = 10, DT_SOCK = 12;
function direntType(d: fs.Dirent): number {
  if (d.isFile()) return DT_REG;
  if (d.isDirectory()) return DT_DIR;
  if (d.isSymbolicLink()) return DT_LNK;
  if (d.isFIFO()) return DT_FIFO;
  if (d.isCharacterDevice()) return DT_CHR;
  if (d.isBlockDevice()) return DT_BLK;
  if (d.isSocket()) return DT_SOCK;
  return 0;
}

export class HostFile extends OpenFile {
  private offset = 0n;
  private readonly seekable: boolean;
  private readonly isDir: boolean;

  // `fd` is null for O_PATH descriptions, which only name a file. The
  // emulator's own standard descriptors (not `owned`) share their offset with
  // the host's other users of them, so they are accessed at the host's
  // offset and cannot seek.
  private constructor(private fd: number | null, private readonly hostPath: string, flags: number, mode: number,
    private readonly owned: boolean) {
    super(flags);
    const type = mode & S_IFMT;
    this.isDir = type === S_IFDIR;
    this.seekable = owned && (type === S_IFREG || type === S_IFDIR || type === 0o60000);
  }

  // Open a host path with guest flags; a negative errno on failure.
  static open(path: string, flags: number, mode: number): HostFile | number {
    try {
      if (flags & O_PATH) {
        const st = (flags & O_NOFOLLOW) ? fs.lstatSync(path) : fs.statSync(path);
        if ((flags & O_DIRECTORY) && !st.isDirectory()) return -ENOTDIR;
        return new HostFile(null, path, flags, st.mode, false);
      }
      const fd = fs.openSync(path, hostOpenFlags(flags), mode);
      const st = fs.fstatSync(fd);
      if ((st.mode & S_IFMT) === S_IFDIR && (flags & O_ACCMODE) !== 0) {
        fs.closeSync(fd);
        return -EISDIR;
      }
      return new HostFile(fd, path, flags, st.mode, true);
    } catch (e) {
      return -hostErrno(e);
    }
  }

  // One of the emulator's own standard descriptors, passed through.
  static inherit(fd: number, flags: number): HostFile {
    let mode = S_IFCHR;
    try { mode = fs.fstatSync(fd).mode; } catch { /* closed: reads and writes will report it */ }
    return new HostFile(fd, `/proc/self/fd/${fd}`, flags, mode, false);
  }

  override get path(): string { return this.hostPath; }

  override read(len: number): Uint8Array | number {
    if (this.fd === null) return -EBADF;
    if (this.isDir) return -EISDIR;
    const buf = new Uint8Array(len);
    for (;;) {
      try {
        const n = fs.readSync(this.fd, buf, 0, len, this.seekable ? this.offset : null);
        if (this.seekable) this.offset += BigInt(n);
        return buf.subarray(0, n);
      } catch (e) {
        const err = hostErrno(e);
        if (err !== EAGAIN) return -err;
        sleepMs(2);
      }
    }
  }

  override write(data: Uint8Array): number {
    if (this.fd === null) return -EBADF;
    let done = 0;
    while (done < data.length) {
      try {
        const append = (this.statusFlags & O_APPEND) !== 0;
        const pos = this.seekable && !append ? Number(this.offset) : null;
        const n = fs.writeSync(this.fd, data, done, data.length - done, pos);
        done += n;
        if (this.seekable) this.offset = append ? fs.fstatSync(this.fd, { bigint: true }).size : this.offset + BigInt(n);
      } catch (e) {
        const err = hostErrno(e);
        if (err !== EAGAIN) return done > 0 ? done : -err;
        sleepMs(2);
      }
    }
    return done;
  }

  override pread(len: number, off: bigint): Uint8Array | number {
    if (this.fd === null) return -EBADF;
    if (!this.seekable) return -ESPIPE;
    if (this.isDir) return -EISDIR;
    const buf = new Uint8Array(len);
    try {
      return buf.subarray(0, fs.readSync(this.fd, buf, 0, len, off));
    } catch (e) {
      return -hostErrno(e);
    }
  }

  override pwrite(data: Uint8Array, off: bigint): number {
    if (this.fd === null) return -EBADF;
    if (!this.seekable) return -ESPIPE;
    try {
      return fs.writeSync(this.fd, data, 0, data.length, Number(off));
    } catch (e) {
      return -hostErrno(e);
    }
  }

  override seek(off: bigint, whence: number): bigint | number {
    if (!this.seekable) return -ESPIPE;
    let base: bigint;
    if (whence === 0) base = 0n;
    else if (whence === 1) base = this.offset;
    else if (whence === 2 || whence === 3 || whence === 4) {
      const st = this.stat();
      if (typeof st === "number") return st;
      base = st.size;
      if (whence === 3) { // SEEK_DATA: no holes known, data runs to the end
        if (off >= st.size) return -ENXIO;
        base = 0n;
      } else if (whence === 4) { // SEEK_HOLE: the only hole is at the end
        if (off >= st.size) return -ENXIO;
        return (this.offset = st.size);
      }
    } else return -EINVAL;
    const n = base + off;
    if (n < 0n) return -EINVAL;
    this.offset = n;
    if (this.isDir && n === 0n) this.dirPos = 0;
    return n;
  }

  override stat(): StatInfo | number {
    try {
      return statInfo(this.fd === null ? fs.statSync(this.hostPath, { bigint: true }) : fs.fstatSync(this.fd, { bigint: true }));
    } catch (e) {
      return -hostErrno(e);
    }
  }

  override readdir(): DirEntry[] | number {
    if (!this.isDir) return -ENOTDIR;
    try {
      const ino = (p: string): bigint => {
        try { return fs.lstatSync(p, { bigint: true }).ino; } catch { return 1n; }
      };
      const list: DirEntry[] = [
        { name: ".", ino: ino(this.hostPath), type: DT_DIR },
        { name: "..", ino: ino(join(this.hostPath, "..")), type: DT_DIR },
      ];
      // in the directory's own order, as getdents gives it (readdirSync sorts)
      const dir = fs.opendirSync(this.hostPath);
      try {
        for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
          list.push({ name: d.name, ino: ino(join(this.hostPath, d.name)), type: direntType(d) });
        }
      } finally {
        dir.closeSync();
      }
      return list;
    } catch (e) {
      return -hostErrno(e);
    }
  }

  override isTerminal(): boolean { return this.fd !== null && isatty(this.fd); }
  override get hostFd(): number | undefined { return this.fd ?? undefined; }

  override truncate(len: bigint): number {
    if (this.fd === null || !this.writable) return -EINVAL;
    try { fs.ftruncateSync(this.fd, Number(len)); return 0; } catch (e) { return -hostErrno(e); }
  }

  override sync(): number {
    if (this.fd === null) return -EBADF;
    try { fs.fsyncSync(this.fd); return 0; } catch (e) { return -hostErrno(e); }
  }

  protected override release(): void {
    if (this.fd !== null && this.owned) {
      try { fs.closeSync(this.fd); } catch { /* already gone */ }
    }
    this.fd = null;
  }
}
