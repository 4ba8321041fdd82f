// Linux system calls for user-mode programs (AArch64 generic numbers, from
// include/uapi/asm-generic/unistd.h). Results are the raw kernel ABI: a
// value, or -errno.

import type { Process } from "./process.js";
import { PROT_READ, PROT_WRITE, PROT_EXEC, PAGE_SIZE, OutOfMemory } from "./address_space.js";

export const ENOENT = 2, EBADF = 9, ENOMEM = 12, EFAULT = 14, EINVAL = 22, ENOTTY = 25, ENOSYS = 38;

export interface SyscallContext {
  write(fd: number, data: Uint8Array): number;
  exitProcess(p: Process, code: number): void;
  now(): bigint; // nanoseconds since the epoch
}

export type SyscallHandler = (p: Process, a: bigint[], ctx: SyscallContext) => bigint;

const neg = (e: number): bigint => BigInt(-e);
const PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC;

function doWrite(p: Process, fd: number, va: bigint, len: number, ctx: SyscallContext): bigint {
  if (len === 0) return 0n;
  const data = p.as.read(va, len);
  if (!data) return neg(EFAULT);
  return BigInt(ctx.write(fd, data));
}

export const syscalls: Record<number, SyscallHandler> = {
  // write(fd, buf, count)
  64: (p, a, ctx) => doWrite(p, Number(a[0]), a[1], Number(a[2]), ctx),
  // writev(fd, iov, iovcnt)
  66: (p, a, ctx) => {
    let total = 0n;
    for (let i = 0; i < Number(a[2]); i++) {
      const iov = p.as.read(a[1] + BigInt(i * 16), 16);
      if (!iov) return neg(EFAULT);
      const dv = new DataView(iov.buffer);
      const r = doWrite(p, Number(a[0]), dv.getBigUint64(0, true), Number(dv.getBigUint64(8, true)), ctx);
      if (r < 0n) return total > 0n ? total : r;
      total += r;
    }
    return total;
  },
  // exit, exit_group
  93: (p, a, ctx) => { ctx.exitProcess(p, Number(a[0] & 0xFFn)); return 0n; },
  94: (p, a, ctx) => { ctx.exitProcess(p, Number(a[0] & 0xFFn)); return 0n; },
  // set_tid_address
  96: (p, a) => { p.tidAddress = a[0]; return BigInt(p.pid); },
  // set_robust_list, rt_sigaction, rt_sigprocmask: accepted
  99: () => 0n,
  134: () => 0n,
  135: () => 0n,
  // ioctl: no terminals here
  29: () => neg(ENOTTY),
  // getpid, getppid, getuid, geteuid, getgid, getegid, gettid
  172: (p) => BigInt(p.pid),
  173: () => 1n,
  174: () => 0n, 175: () => 0n, 176: () => 0n, 177: () => 0n,
  178: (p) => BigInt(p.pid),
  // uname
  160: (p, a) => {
    const buf = new Uint8Array(65 * 6);
    ["Linux", "xents", "6.1.0-xents", "#1 SMP", "aarch64", "(none)"].forEach((s, i) => buf.set(Buffer.from(s), i * 65));
    return p.as.write(a[0], buf) ? 0n : neg(EFAULT);
  },
  // clock_gettime(clk, ts)
  113: (p, a, ctx) => {
    const ns = ctx.now();
    const ts = new Uint8Array(16);
    const dv = new DataView(ts.buffer);
    dv.setBigUint64(0, ns / 1000000000n, true);
    dv.setBigUint64(8, ns % 1000000000n, true);
    return p.as.write(a[1], ts) ? 0n : neg(EFAULT);
  },
  // getrandom(buf, len, flags): deterministic bytes, so runs are reproducible
  278: (p, a) => {
    const n = Math.min(Number(a[1]), 256);
    const b = new Uint8Array(n).map((_, i) => (i * 131 + 7) & 0xFF);
    return p.as.write(a[0], b) ? BigInt(n) : neg(EFAULT);
  },
  // prlimit64
  261: () => neg(EINVAL),
  // brk(addr)
  214: (p, a) => {
    const want = a[0];
    if (want === 0n || want < p.brkStart) return p.brk;
    const oldTop = (p.brk + 4095n) & ~4095n;
    const newTop = (want + 4095n) & ~4095n;
    try {
      if (newTop > oldTop) {
        if (!isFree(p, oldTop, Number(newTop - oldTop))) return p.brk;
        p.as.mapAnon(oldTop, Number(newTop - oldTop), PROT_READ | PROT_WRITE);
      } else if (newTop < oldTop) p.as.unmap(newTop, Number(oldTop - newTop));
    } catch (e) {
      if (e instanceof OutOfMemory) return p.brk;
      throw e;
    }
    p.brk = want;
    return p.brk;
  },
  // mmap(addr, len, prot, flags, fd, off): anonymous private mappings
  222: (p, a) => {
    const len = Number((a[1] + 4095n) & ~4095n);
    const prot = Number(a[2]) & PROT_MASK;
    const flags = Number(a[3]);
    const MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20;
    if (len <= 0) return neg(EINVAL);
    if ((flags & MAP_ANONYMOUS) === 0) return neg(ENOSYS);
    let addr: bigint;
    if ((flags & MAP_FIXED) !== 0) {
      addr = a[0];
      if ((addr & 4095n) !== 0n) return neg(EINVAL);
    } else addr = findFree(p, len);
    try {
      p.as.mapAnon(addr, len, prot);
    } catch (e) {
      if (e instanceof OutOfMemory) return neg(ENOMEM);
      throw e;
    }
    return addr;
  },
  // munmap(addr, len)
  215: (p, a) => {
    if ((a[0] & 4095n) !== 0n) return neg(EINVAL);
    p.as.unmap(a[0], Number((a[1] + 4095n) & ~4095n));
    return 0n;
  },
  // mprotect(addr, len, prot)
  226: (p, a) => {
    if ((a[0] & 4095n) !== 0n) return neg(EINVAL);
    return p.as.protect(a[0], Number((a[1] + 4095n) & ~4095n), Number(a[2]) & PROT_MASK) ? 0n : neg(ENOMEM);
  },
};

function isFree(p: Process, va: bigint, len: number): boolean {
  for (let off = 0; off < len; off += PAGE_SIZE) if (p.as.isMapped(va + BigInt(off), 1)) return false;
  return true;
}

// Top-down search below the last mapping made.
function findFree(p: Process, len: number): bigint {
  let addr = (p.mmapNext - BigInt(len)) & ~4095n;
  while (!isFree(p, addr, len)) addr -= 4096n;
  p.mmapNext = addr;
  return addr;
}
