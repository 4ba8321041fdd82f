// System calls on file descriptors: read and write in their forms, lseek,
// close, dup, fcntl, ioctl, pipe2, ppoll, fsync and ftruncate.

import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { EAGAIN, EBADF, EFAULT, EINVAL, ENOTTY, EPIPE, ESPIPE } from "./errno.js";
import { OpenFile, AGAIN, O_NONBLOCK, O_CLOEXEC, SETFL_MASK, O_ACCMODE } from "./open_file.js";
import { Pipe, PipeEnd, PIPE_CAPACITY } from "./pipe.js";
import { SIGPIPE, SI_USER } from "./signals.js";
import { TERMIOS_SIZE } from "./terminal.js";
import { BLOCK, SyscallResult, SyscallTable, Out, int, uint, long, readIovecs, readStruct, readTimespec, IoVec } from "./syscall_abi.js";
import { NR } from "./syscall_numbers.js";

const MAX_IO = 1 << 22; // one call moves at most 4 MiB (Linux allows ~2 GiB; callers loop)

// Make the process wait until `f` is ready, re-running the call then.
export function waitFor(p: Process, ready: () => boolean): typeof BLOCK {
  p.wait = { ready, retry: true, interruptible: true, restartable: true };
  return BLOCK;
}

function readInto(p: Process, f: OpenFile, len: number, put: (data: Uint8Array) => boolean): SyscallResult {
  if (!f.readable) return -EBADF;
  const r = f.read(Math.min(len, MAX_IO));
  if (r === AGAIN) return (f.statusFlags & O_NONBLOCK) ? -EAGAIN : waitFor(p, () => f.readReady());
  if (typeof r === "number") return r;
  if (!put(r)) return -EFAULT;
  return r.length;
}

function writeFrom(k: UserKernel, p: Process, f: OpenFile, data: Uint8Array): SyscallResult {
  if (!f.writable) return -EBADF;
  const r = f.write(data);
  if (r === AGAIN) return (f.statusFlags & O_NONBLOCK) ? -EAGAIN : waitFor(p, () => f.writeReady());
  if (r === -EPIPE) k.signal(p, { signo: SIGPIPE, code: SI_USER, pid: p.pid });
  return r;
}

// The bytes of an iovec array (at most MAX_IO of them: a partial write), or null on a bad buffer.
function gather(p: Process, iovs: IoVec[]): Uint8Array | null {
  let total = 0;
  for (const v of iovs) total += v.len;
  const out = new Uint8Array(Math.min(total, MAX_IO));
  let o = 0;
  for (const v of iovs) {
    const n = Math.min(v.len, out.length - o);
    if (n === 0) continue;
    const b = p.as.read(v.base, n);
    if (!b) return null;
    out.set(b, o);
    o += n;
  }
  return out;
}

function scatter(p: Process, iovs: IoVec[], data: Uint8Array): boolean {
  let o = 0;
  for (const v of iovs) {
    if (o >= data.length) break;
    const n = Math.min(v.len, data.length - o);
    if (!p.as.write(v.base, data.subarray(o, o + n))) return false;
    o += n;
  }
  return true;
}

const fileOf = (p: Process, fd: bigint): OpenFile | undefined => p.fds.get(int(fd));

// poll and select: finish at once if something is ready or the timeout
// (a timespec at `tmoPtr`, none if 0) is zero or over; otherwise wait, with
// `mask` as the signal mask meanwhile. `scan(true)` records the result.
function waitUntilReady(p: Process, scan: (record: boolean) => number, tmoPtr: bigint, mask: bigint | null,
  finish: (ready: number) => number): SyscallResult {
  const done = (ready: number): number => {
    p.pollDeadline = null;
    p.sig.leaveTemporaryMask();
    return finish(ready);
  };
  const ready = scan(true);
  if (ready > 0) return done(ready);
  let deadline: number | undefined;
  if (tmoPtr !== 0n) {
    const tmo = readTimespec(p, tmoPtr);
    if (tmo === null) return -EFAULT;
    if (tmo < 0n) return -EINVAL;
    const now = performance.now();
    deadline = p.pollDeadline ??= now + Number(tmo) / 1e6;
    if (now >= deadline) return done(0);
  }
  if (mask !== null) p.sig.enterTemporaryMask(mask);
  p.wait = {
    ready: () => scan(false) > 0 || (deadline !== undefined && performance.now() >= deadline),
    retry: true, interruptible: true, restartable: false, deadline,
  };
  return BLOCK;
}

const TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TIOCGPGRP = 0x540F, TIOCSPGRP = 0x5410,
  TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541B, FIONBIO = 0x5421, FIONCLEX = 0x5450, FIOCLEX = 0x5451;

const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7,
  F_SETOWN = 8, F_GETOWN = 9, F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032, FD_CLOEXEC = 1;

const POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 0x10, POLLNVAL = 0x20;

function pollEvents(f: OpenFile | undefined, events: number): number {
  if (!f) return POLLNVAL;
  let r = 0;
  if (f instanceof PipeEnd) {
    if (f.readable) {
      if (f.available() > 0) r |= POLLIN;
      if (f.pipe.writers === 0) r |= POLLHUP;
    } else {
      if (f.pipe.readers === 0) r |= POLLERR;
      else if (f.writeReady()) r |= POLLOUT;
    }
  } else {
    // host files and streams: always ready (a blocking host read waits there)
    r |= POLLIN | POLLOUT;
  }
  return r & (events | POLLERR | POLLHUP | POLLNVAL);
}

export const ioSyscalls: SyscallTable = {
  // close(fd)
  [NR.close]: (_k, p, a) => p.fds.close(int(a[0])),
  // read(fd, buf, count)
  [NR.read]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f) return -EBADF;
    const len = Math.min(Number(a[2]), MAX_IO);
    if (len > 0 && !p.as.writable(a[1], len)) return -EFAULT;
    return readInto(p, f, len, (d) => p.as.write(a[1], d));
  },
  // write(fd, buf, count)
  [NR.write]: (k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f) return -EBADF;
    const data = p.as.read(a[1], Math.min(Number(a[2]), MAX_IO));
    if (!data) return -EFAULT;
    return writeFrom(k, p, f, data);
  },
  // readv(fd, iov, iovcnt)
  [NR.readv]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f) return -EBADF;
    const iovs = readIovecs(p, a[1], int(a[2]));
    if (!iovs) return -EINVAL;
    // check the buffers first: data taken from a pipe must not be lost
    if (iovs.some((v) => v.len > 0 && !p.as.writable(v.base, v.len))) return -EFAULT;
    const total = iovs.reduce((s, v) => s + v.len, 0);
    return readInto(p, f, total, (d) => scatter(p, iovs, d));
  },
  // writev(fd, iov, iovcnt): one write, so that pipe writes stay atomic
  [NR.writev]: (k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f) return -EBADF;
    const iovs = readIovecs(p, a[1], int(a[2]));
    if (!iovs) return -EINVAL;
    const data = gather(p, iovs);
    if (!data) return -EFAULT;
    return writeFrom(k, p, f, data);
  },
  // pread64(fd, buf, count, offset)
  [NR.pread64]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f || !f.readable) return -EBADF;
    if (long(a[3]) < 0n) return -EINVAL;
    const r = f.pread(Math.min(Number(a[2]), MAX_IO), a[3]);
    if (typeof r === "number") return r;
    return p.as.write(a[1], r) ? r.length : -EFAULT;
  },
  // pwrite64(fd, buf, count, offset)
  [NR.pwrite64]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f || !f.writable) return -EBADF;
    if (long(a[3]) < 0n) return -EINVAL;
    const data = p.as.read(a[1], Math.min(Number(a[2]), MAX_IO));
    if (!data) return -EFAULT;
    return f.pwrite(data, a[3]);
  },
  // preadv(fd, iov, iovcnt, offset)
  [NR.preadv]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f || !f.readable) return -EBADF;
    const iovs = readIovecs(p, a[1], int(a[2]));
    if (!iovs) return -EINVAL;
    const r = f.pread(Math.min(iovs.reduce((s, v) => s + v.len, 0), MAX_IO), a[3]);
    if (typeof r === "number") return r;
    return scatter(p, iovs, r) ? r.length : -EFAULT;
  },
  // pwritev(fd, iov, iovcnt, offset)
  [NR.pwritev]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f || !f.writable) return -EBADF;
    const iovs = readIovecs(p, a[1], int(a[2]));
    if (!iovs) return -EINVAL;
    const data = gather(p, iovs);
    return data ? f.pwrite(data, a[3]) : -EFAULT;
  },
  // lseek(fd, offset, whence)
  [NR.lseek]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f) return -EBADF;
    return f.seek(long(a[1]), int(a[2]));
  },
  // dup(fd)
  [NR.dup]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    return f ? p.fds.install(f.ref(), false) : -EBADF;
  },
  // dup3(oldfd, newfd, flags)
  [NR.dup3]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    const flags = int(a[2]);
    if (!f) return -EBADF;
    if (int(a[0]) === int(a[1]) || (flags & ~O_CLOEXEC) !== 0) return -EINVAL;
    return p.fds.installAt(int(a[1]), f.ref(), (flags & O_CLOEXEC) !== 0);
  },
  // fcntl(fd, cmd, arg)
  [NR.fcntl]: (_k, p, a) => {
    const fd = int(a[0]);
    const f = p.fds.get(fd);
    if (!f) return -EBADF;
    switch (int(a[1])) {
      case F_DUPFD: return p.fds.install(f.ref(), false, int(a[2]));
      case F_DUPFD_CLOEXEC: return p.fds.install(f.ref(), true, int(a[2]));
      case F_GETFD: return p.fds.cloexec(fd) ? FD_CLOEXEC : 0;
      case F_SETFD: p.fds.setCloexec(fd, (int(a[2]) & FD_CLOEXEC) !== 0); return 0;
      case F_GETFL: return f.statusFlags;
      case F_SETFL:
        f.statusFlags = (f.statusFlags & ~SETFL_MASK) | (int(a[2]) & SETFL_MASK);
        return 0;
      case F_GETLK: {
        // nobody else holds locks here: report F_UNLCK in l_type
        const lk = readStruct(p, a[2], 32);
        if (!lk) return -EFAULT;
        return p.as.write(a[2], new Out(2).u16(0, 2).bytes) ? 0 : -EFAULT;
      }
      case F_SETLK: case F_SETLKW: return 0;
      case F_GETOWN: return 0;
      case F_SETOWN: return 0;
      case F_GETPIPE_SZ: return f instanceof PipeEnd ? PIPE_CAPACITY : -EINVAL;
      case F_SETPIPE_SZ: return f instanceof PipeEnd ? PIPE_CAPACITY : -EINVAL;
      default: return -EINVAL;
    }
  },
  // ioctl(fd, request, arg)
  [NR.ioctl]: (k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f) return -EBADF;
    const req = uint(a[1]);
    const tty = f.isTerminal();
    switch (req) {
      case TCGETS: return !tty ? -ENOTTY : p.as.write(a[2], k.terminal.get()) ? 0 : -EFAULT;
      case TCSETS: case TCSETSW: case TCSETSF: {
        if (!tty) return -ENOTTY;
        const t = p.as.read(a[2], TERMIOS_SIZE);
        if (!t) return -EFAULT;
        k.terminal.set(t, f.hostFd ?? 0);
        return 0;
      }
      case TIOCGWINSZ: return !tty ? -ENOTTY : p.as.write(a[2], new Out(8).u16(0, 24).u16(2, 80).bytes) ? 0 : -EFAULT;
      case TIOCSWINSZ: return tty ? 0 : -ENOTTY;
      case TIOCGPGRP: return !tty ? -ENOTTY : p.as.write(a[2], new Out(4).i32(0, p.pgid).bytes) ? 0 : -EFAULT;
      case TIOCSPGRP: return tty ? 0 : -ENOTTY;
      case FIONREAD: {
        const n = f instanceof PipeEnd ? f.available() : 0;
        return p.as.write(a[2], new Out(4).i32(0, n).bytes) ? 0 : -EFAULT;
      }
      case FIONBIO: {
        const on = readStruct(p, a[2], 4);
        if (!on) return -EFAULT;
        f.statusFlags = on.getInt32(0, true) ? f.statusFlags | O_NONBLOCK : f.statusFlags & ~O_NONBLOCK;
        return 0;
      }
      case FIOCLEX: p.fds.setCloexec(int(a[0]), true); return 0;
      case FIONCLEX: p.fds.setCloexec(int(a[0]), false); return 0;
      default: return f.ioctl(req);
    }
  },
  // pipe2(fds[2], flags)
  [NR.pipe2]: (_k, p, a) => {
    const flags = int(a[1]);
    if ((flags & ~(O_CLOEXEC | O_NONBLOCK)) !== 0) return -EINVAL;
    if (!p.as.writable(a[0], 8)) return -EFAULT;
    const [r, w] = new Pipe().ends(flags & O_NONBLOCK);
    const cloexec = (flags & O_CLOEXEC) !== 0;
    const rfd = p.fds.install(r, cloexec);
    if (rfd < 0) { w.unref(); return rfd; }
    const wfd = p.fds.install(w, cloexec);
    if (wfd < 0) { p.fds.close(rfd); return wfd; }
    p.as.write(a[0], new Out(8).i32(0, rfd).i32(4, wfd).bytes);
    return 0;
  },
  // ppoll(fds, nfds, timeout, sigmask, sigsetsize)
  [NR.ppoll]: (_k, p, a) => {
    const n = uint(a[1]);
    if (n > 1024) return -EINVAL;
    const dv = n > 0 ? readStruct(p, a[0], n * 8) : new DataView(new ArrayBuffer(0));
    if (!dv) return -EFAULT;
    const scan = (write: boolean): number => {
      let ready = 0;
      for (let i = 0; i < n; i++) {
        const fd = dv.getInt32(i * 8, true);
        const ev = fd < 0 ? 0 : pollEvents(p.fds.get(fd), dv.getInt16(i * 8 + 4, true) & 0xFFFF);
        if (write) dv.setInt16(i * 8 + 6, ev, true);
        if (ev !== 0) ready++;
      }
      return ready;
    };
    const mask = a[3] === 0n ? null : readStruct(p, a[3], 8)?.getBigUint64(0, true);
    if (mask === undefined) return -EFAULT;
    return waitUntilReady(p, scan, a[2], mask, (ready) => (n === 0 || p.as.write(a[0], new Uint8Array(dv.buffer)) ? ready : -EFAULT));
  },
  // pselect6(nfds, readfds, writefds, exceptfds, timeout, {sigmask, size})
  [NR.pselect6]: (_k, p, a) => {
    const nfds = int(a[0]);
    if (nfds < 0 || nfds > 1024) return -EINVAL;
    const bytes = Math.ceil(nfds / 64) * 8;
    const sets: (Uint8Array | null)[] = [];
    for (const ptr of [a[1], a[2], a[3]]) {
      if (ptr === 0n || bytes === 0) { sets.push(null); continue; }
      const b = p.as.read(ptr, bytes);
      if (!b) return -EFAULT;
      sets.push(b);
    }
    const has = (b: Uint8Array | null, fd: number): boolean => b !== null && (b[fd >> 3] & (1 << (fd & 7))) !== 0;
    for (let fd = 0; fd < nfds; fd++) {
      if ((has(sets[0], fd) || has(sets[1], fd) || has(sets[2], fd)) && !p.fds.get(fd)) return -EBADF;
    }
    const out = sets.map((b) => (b ? new Uint8Array(b.length) : null));
    const scan = (write: boolean): number => {
      let ready = 0;
      for (let fd = 0; fd < nfds; fd++) {
        const f = p.fds.get(fd);
        const r = has(sets[0], fd) && (pollEvents(f, POLLIN) & (POLLIN | POLLHUP | POLLERR)) !== 0;
        const w = has(sets[1], fd) && (pollEvents(f, POLLOUT) & (POLLOUT | POLLERR)) !== 0;
        if (write) {
          if (r) out[0]![fd >> 3] |= 1 << (fd & 7);
          if (w) out[1]![fd >> 3] |= 1 << (fd & 7);
        }
        ready += (r ? 1 : 0) + (w ? 1 : 0);
      }
      return ready;
    };
    let mask: bigint | null = null;
    if (a[5] !== 0n) {
      const sm = readStruct(p, a[5], 16);
      if (!sm) return -EFAULT;
      const ptr = sm.getBigUint64(0, true);
      if (ptr !== 0n) {
        const m = readStruct(p, ptr, 8);
        if (!m) return -EFAULT;
        mask = m.getBigUint64(0, true);
      }
    }
    return waitUntilReady(p, scan, a[4], mask, (ready) => {
      for (let i = 0; i < 3; i++) {
        const ptr = [a[1], a[2], a[3]][i];
        if (ptr !== 0n && bytes > 0 && !p.as.write(ptr, out[i] ?? new Uint8Array(bytes))) return -EFAULT;
      }
      return ready;
    });
  },
  // fsync(fd), fdatasync(fd)
  [NR.fsync]: (_k, p, a) => fileOf(p, a[0])?.sync() ?? -EBADF,
  [NR.fdatasync]: (_k, p, a) => fileOf(p, a[0])?.sync() ?? -EBADF,
  // ftruncate(fd, length)
  [NR.ftruncate]: (_k, p, a) => {
    const f = fileOf(p, a[0]);
    if (!f) return -EBADF;
    if ((f.statusFlags & O_ACCMODE) === 0) return -EINVAL;
    return long(a[1]) < 0n ? -EINVAL : f.truncate(a[1]);
  },
  // fadvise64(fd, offset, len, advice): advice only
  [NR.fadvise64]: (_k, p, a) => (fileOf(p, a[0]) ? 0 : -EBADF),
  // sendfile(out, in, offset, count): copy through the emulator
  [NR.sendfile]: (k, p, a) => {
    const out = fileOf(p, a[0]), inp = fileOf(p, a[1]);
    if (!out || !inp || !inp.readable || !out.writable) return -EBADF;
    const count = Math.min(Number(a[3]), 1 << 20);
    let data: Uint8Array | number;
    let off = 0n;
    if (a[2] !== 0n) {
      const o = readStruct(p, a[2], 8);
      if (!o) return -EFAULT;
      off = o.getBigInt64(0, true);
      data = inp.pread(count, off);
    } else {
      // only seekable sources: the data must not be lost if the write would block
      const probe = inp.seek(0n, 1);
      if (typeof probe === "number") return -ESPIPE === probe ? -EINVAL : probe;
      data = inp.pread(count, probe);
      off = probe;
    }
    if (typeof data === "number") return data;
    if (data.length === 0) return 0;
    const r = writeFrom(k, p, out, data);
    if (typeof r !== "number" || r < 0) return r;
    if (a[2] !== 0n) p.as.write(a[2], new Out(8).u64(0, off + BigInt(r)).bytes);
    else inp.seek(off + BigInt(r), 0);
    return r;
  },
};
