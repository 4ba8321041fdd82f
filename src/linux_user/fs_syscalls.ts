// System calls on path names and the file system: openat, the stat family,
// getdents64, readlinkat, access checks, directory and link operations,
// permissions and times, and the working directory and umask.

import * as fs from "node:fs";
import type { Process } from "./process.js";
import { EBADF, EEXIST, EFAULT, EINVAL, ENAMETOOLONG, ENOENT, ENOTDIR, ERANGE, hostErrno } from "./errno.js";
import { HostFile, statInfo } from "./host_file.js";
import { OpenFile, StatInfo, O_CLOEXEC, O_CREAT, O_TMPFILE_MASK } from "./open_file.js";
import { hostPath, procSelfLink } from "./paths.js";
import { encodeStat, encodeStatx } from "./stat.js";
import { NR } from "./syscall_numbers.js";
import {
  SyscallTable, Out, int, uint, long, readStruct, AT_FDCWD, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
  AT_EMPTY_PATH,
} from "./syscall_abi.js";

const PATH_MAX = 4096;

// The host path named by (dirfd, path pointer), or -errno.
function pathArg(p: Process, dirfd: bigint, ptr: bigint): string | number {
  const s = p.as.readCString(ptr, PATH_MAX);
  if (s === null) return p.as.read(ptr, 1) ? -ENAMETOOLONG : -EFAULT;
  return hostPath(p, int(dirfd), s);
}

function hostCall(f: () => void): number {
  try { f(); return 0; } catch (e) { return -hostErrno(e); }
}

// stat of a path (following links unless told not to), or of the file
// itself for an empty path with AT_EMPTY_PATH.
function statAt(p: Process, dirfd: bigint, ptr: bigint, flags: number): StatInfo | number {
  if ((flags & AT_EMPTY_PATH) !== 0) {
    const s = p.as.readCString(ptr, PATH_MAX);
    if (s === null) return -EFAULT;
    if (s === "") {
      if (int(dirfd) === AT_FDCWD) return hostStat(p.cwd, true);
      const f = p.fds.get(int(dirfd));
      return f ? f.stat() : -EBADF;
    }
  }
  const path = pathArg(p, dirfd, ptr);
  if (typeof path === "number") return path;
  const named = namedDescriptor(p, path);
  if (named) return named.stat();
  return hostStat(path, (flags & AT_SYMLINK_NOFOLLOW) === 0);
}

function hostStat(path: string, follow: boolean): StatInfo | number {
  try {
    return statInfo(follow ? fs.statSync(path, { bigint: true }) : fs.lstatSync(path, { bigint: true }));
  } catch (e) {
    return -hostErrno(e);
  }
}

// The names that stand for descriptors (/dev/stdin, /dev/fd/N, /proc/self/fd/N)
// when the descriptor is one of the emulator's own (a pipe or stream).
function namedDescriptor(p: Process, path: string): OpenFile | undefined {
  const m = /^(?:\/dev|\/proc\/self)\/(?:(stdin|stdout|stderr)|fd\/(\d+))$/.exec(path);
  if (!m) return undefined;
  const fd = m[1] ? ["stdin", "stdout", "stderr"].indexOf(m[1]) : Number(m[2]);
  const f = p.fds.get(fd);
  // host files are reopened through the host's own /dev/fd; the others are shared
  return f && !(f instanceof HostFile) ? f : undefined;
}

const DIRENT_HEADER = 19; // d_ino, d_off, d_reclen, d_type

const UTIME_NOW = (1 << 30) - 1, UTIME_OMIT = (1 << 30) - 2;

export const fsSyscalls: SyscallTable = {
  // openat(dirfd, path, flags, mode)
  [NR.openat]: (_k, p, a) => {
    const flags = int(a[2]);
    const path = pathArg(p, a[0], a[1]);
    if (typeof path === "number") return path;
    if ((flags & O_TMPFILE_MASK) === O_TMPFILE_MASK) return -EINVAL; // no anonymous files here
    const named = namedDescriptor(p, path);
    if (named) return p.fds.install(named.ref(), (flags & O_CLOEXEC) !== 0);
    const mode = (flags & O_CREAT) ? uint(a[3]) & 0o7777 & ~p.umask : 0;
    const f = HostFile.open(path, flags, mode);
    if (typeof f === "number") return f;
    return p.fds.install(f, (flags & O_CLOEXEC) !== 0);
  },
  // newfstatat(dirfd, path, statbuf, flags)
  [NR.newfstatat]: (_k, p, a) => {
    const st = statAt(p, a[0], a[1], int(a[3]));
    if (typeof st === "number") return st;
    return p.as.write(a[2], encodeStat(st)) ? 0 : -EFAULT;
  },
  // fstat(fd, statbuf)
  [NR.fstat]: (_k, p, a) => {
    const f = p.fds.get(int(a[0]));
    if (!f) return -EBADF;
    const st = f.stat();
    if (typeof st === "number") return st;
    return p.as.write(a[1], encodeStat(st)) ? 0 : -EFAULT;
  },
  // statx(dirfd, path, flags, mask, buf)
  [NR.statx]: (_k, p, a) => {
    const st = statAt(p, a[0], a[1], int(a[2]));
    if (typeof st === "number") return st;
    return p.as.write(a[4], encodeStatx(st)) ? 0 : -EFAULT;
  },
  // getdents64(fd, dirp, count)
  [NR.getdents64]: (_k, p, a) => {
    const f = p.fds.get(int(a[0]));
    if (!f) return -EBADF;
    if (f.dirPos === 0 || !f.dirList) {
      const list = f.readdir();
      if (typeof list === "number") return list;
      f.dirList = list;
    }
    const list = f.dirList;
    const count = uint(a[2]);
    const chunks: Uint8Array[] = [];
    let used = 0;
    while (f.dirPos < list.length) {
      const e = list[f.dirPos];
      const name = Buffer.from(e.name, "utf8");
      const reclen = (DIRENT_HEADER + name.length + 1 + 7) & ~7;
      if (used + reclen > count) {
        if (used === 0) return -EINVAL;
        break;
      }
      const o = new Out(reclen).u64(0, e.ino).u64(8, f.dirPos + 1).u16(16, reclen);
      o.bytes[18] = e.type;
      o.bytes.set(name, DIRENT_HEADER);
      chunks.push(o.bytes);
      used += reclen;
      f.dirPos++;
    }
    return p.as.write(a[1], Buffer.concat(chunks)) ? used : -EFAULT;
  },
  // readlinkat(dirfd, path, buf, size)
  [NR.readlinkat]: (_k, p, a) => {
    const size = int(a[3]);
    if (size <= 0) return -EINVAL;
    const raw = p.as.readCString(a[1], PATH_MAX);
    if (raw === null) return -EFAULT;
    const path = pathArg(p, a[0], a[1]);
    if (typeof path === "number") return path;
    let target: string;
    const abs = raw.startsWith("/") ? raw : path;
    const emulated = procSelfLink(p, abs);
    if (emulated !== undefined && /^\/proc\/[^/]+\/(exe|cwd|fd\/\d+)$/.test(abs)) target = emulated;
    else {
      try { target = fs.readlinkSync(path); } catch (e) { return -hostErrno(e); }
    }
    const bytes = Buffer.from(target, "utf8").subarray(0, size);
    return p.as.write(a[2], bytes) ? bytes.length : -EFAULT;
  },
  // faccessat(dirfd, path, mode), faccessat2(dirfd, path, mode, flags)
  [NR.faccessat]: (_k, p, a) => {
    const path = pathArg(p, a[0], a[1]);
    return typeof path === "number" ? path : hostCall(() => fs.accessSync(path, int(a[2]) & 7));
  },
  [NR.faccessat2]: (_k, p, a) => {
    if ((int(a[3]) & AT_EMPTY_PATH) !== 0) {
      const s = p.as.readCString(a[1], PATH_MAX);
      if (s === "") return p.fds.get(int(a[0])) ? 0 : -EBADF;
    }
    const path = pathArg(p, a[0], a[1]);
    return typeof path === "number" ? path : hostCall(() => fs.accessSync(path, int(a[2]) & 7));
  },
  // mkdirat(dirfd, path, mode)
  [NR.mkdirat]: (_k, p, a) => {
    const path = pathArg(p, a[0], a[1]);
    return typeof path === "number" ? path : hostCall(() => fs.mkdirSync(path, { mode: uint(a[2]) & 0o7777 & ~p.umask }));
  },
  // unlinkat(dirfd, path, flags)
  [NR.unlinkat]: (_k, p, a) => {
    const path = pathArg(p, a[0], a[1]);
    if (typeof path === "number") return path;
    return hostCall(() => ((int(a[2]) & AT_REMOVEDIR) ? fs.rmdirSync(path) : fs.unlinkSync(path)));
  },
  // renameat(olddirfd, old, newdirfd, new), renameat2(..., flags)
  [NR.renameat]: (_k, p, a) => rename(p, a, 0),
  [NR.renameat2]: (_k, p, a) => rename(p, a, int(a[4])),
  // linkat(olddirfd, old, newdirfd, new, flags)
  [NR.linkat]: (_k, p, a) => {
    const from = pathArg(p, a[0], a[1]), to = pathArg(p, a[2], a[3]);
    if (typeof from === "number") return from;
    if (typeof to === "number") return to;
    const follow = (int(a[4]) & AT_SYMLINK_FOLLOW) !== 0;
    return hostCall(() => fs.linkSync(follow ? fs.realpathSync(from) : from, to));
  },
  // symlinkat(target, newdirfd, linkpath)
  [NR.symlinkat]: (_k, p, a) => {
    const target = p.as.readCString(a[0], PATH_MAX);
    if (target === null) return -EFAULT;
    const link = pathArg(p, a[1], a[2]);
    return typeof link === "number" ? link : hostCall(() => fs.symlinkSync(target, link));
  },
  // fchmod(fd, mode)
  [NR.fchmod]: (_k, p, a) => {
    const f = p.fds.get(int(a[0]));
    if (!f) return -EBADF;
    const path = f.path;
    return path === undefined ? -EINVAL : hostCall(() => fs.chmodSync(path, uint(a[1]) & 0o7777));
  },
  // fchmodat(dirfd, path, mode)
  [NR.fchmodat]: (_k, p, a) => {
    const path = pathArg(p, a[0], a[1]);
    return typeof path === "number" ? path : hostCall(() => fs.chmodSync(path, uint(a[2]) & 0o7777));
  },
  // fchownat(dirfd, path, uid, gid, flags)
  [NR.fchownat]: (_k, p, a) => {
    const path = pathArg(p, a[0], a[1]);
    if (typeof path === "number") return path;
    const uid = int(a[2]), gid = int(a[3]);
    return hostCall(() => ((int(a[4]) & AT_SYMLINK_NOFOLLOW) ? fs.lchownSync(path, uid, gid) : fs.chownSync(path, uid, gid)));
  },
  // fchown(fd, uid, gid)
  [NR.fchown]: (_k, p, a) => {
    const path = p.fds.get(int(a[0]))?.path;
    return path === undefined ? -EBADF : hostCall(() => fs.chownSync(path, int(a[1]), int(a[2])));
  },
  // utimensat(dirfd, path, times[2], flags)
  [NR.utimensat]: (_k, p, a) => {
    let path: string | number;
    if (a[1] === 0n) path = p.fds.get(int(a[0]))?.path ?? -EBADF;
    else path = pathArg(p, a[0], a[1]);
    if (typeof path === "number") return path;
    const nofollow = (int(a[3]) & AT_SYMLINK_NOFOLLOW) !== 0;
    let at = Date.now() / 1000, mt = at;
    if (a[2] !== 0n) {
      const dv = readStruct(p, a[2], 32);
      if (!dv) return -EFAULT;
      const pick = (o: number, now: number): number | null => {
        const ns = Number(dv.getBigInt64(o + 8, true));
        if (ns === UTIME_NOW) return now;
        if (ns === UTIME_OMIT) return null;
        return Number(dv.getBigInt64(o, true)) + ns / 1e9;
      };
      const st = hostStat(path, !nofollow);
      if (typeof st === "number") return st;
      at = pick(0, at) ?? Number(st.atimeNs) / 1e9;
      mt = pick(16, mt) ?? Number(st.mtimeNs) / 1e9;
    }
    const target = path;
    return hostCall(() => (nofollow ? fs.lutimesSync(target, at, mt) : fs.utimesSync(target, at, mt)));
  },
  // getcwd(buf, size): the length including the NUL
  [NR.getcwd]: (_k, p, a) => {
    const b = Buffer.from(p.cwd + "\0", "utf8");
    if (uint(a[1]) < b.length) return -ERANGE;
    return p.as.write(a[0], b) ? b.length : -EFAULT;
  },
  // chdir(path)
  [NR.chdir]: (_k, p, a) => {
    const path = pathArg(p, BigInt(AT_FDCWD), a[0]);
    return typeof path === "number" ? path : chdir(p, path);
  },
  // fchdir(fd)
  [NR.fchdir]: (_k, p, a) => {
    const path = p.fds.get(int(a[0]))?.path;
    return path === undefined ? -EBADF : chdir(p, path);
  },
  // umask(mask)
  [NR.umask]: (_k, p, a) => {
    const old = p.umask;
    p.umask = uint(a[0]) & 0o777;
    return old;
  },
  // truncate(path, length)
  [NR.truncate]: (_k, p, a) => {
    const path = pathArg(p, BigInt(AT_FDCWD), a[0]);
    if (typeof path === "number") return path;
    return long(a[1]) < 0n ? -EINVAL : hostCall(() => fs.truncateSync(path, Number(a[1])));
  },
  // statfs(path, buf), fstatfs(fd, buf)
  [NR.statfs]: (_k, p, a) => {
    const path = pathArg(p, BigInt(AT_FDCWD), a[0]);
    return typeof path === "number" ? path : statfs(p, path, a[1]);
  },
  [NR.fstatfs]: (_k, p, a) => {
    const path = p.fds.get(int(a[0]))?.path;
    return path === undefined ? -EBADF : statfs(p, path, a[1]);
  },
  // sync()
  [NR.sync]: () => 0,
};

function rename(p: Process, a: bigint[], flags: number): number {
  const RENAME_NOREPLACE = 1;
  if ((flags & ~RENAME_NOREPLACE) !== 0) return -EINVAL;
  const from = pathArg(p, a[0], a[1]), to = pathArg(p, a[2], a[3]);
  if (typeof from === "number") return from;
  if (typeof to === "number") return to;
  if ((flags & RENAME_NOREPLACE) !== 0 && hostStat(to, false) !== -ENOENT) return -EEXIST;
  return hostCall(() => fs.renameSync(from, to));
}

function chdir(p: Process, path: string): number {
  try {
    if (!fs.statSync(path).isDirectory()) return -ENOTDIR;
    p.cwd = fs.realpathSync(path);
    return 0;
  } catch (e) {
    return -hostErrno(e);
  }
}

function statfs(p: Process, path: string, buf: bigint): number {
  try {
    const s = fs.statfsSync(path, { bigint: true });
    const o = new Out(120).u64(0, s.type).u64(8, s.bsize).u64(16, s.blocks).u64(24, s.bfree).u64(32, s.bavail);
    o.u64(40, s.files).u64(48, s.ffree).u64(64, 255).u64(72, s.bsize);
    return p.as.write(buf, o.bytes) ? 0 : -EFAULT;
  } catch (e) {
    return -hostErrno(e);
  }
}
