// Memory system calls: brk, mmap (anonymous, and private file mappings as
// copies), munmap, mprotect, mremap, and the advisory ones.

import type { Process } from "./process.js";
import { MMAP_TOP, MMAP_BOTTOM } from "./process.js";
import { PROT_READ, PROT_WRITE, PROT_EXEC, USER_VA_END } from "./address_space.js";
import { EBADF, EACCES, EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM, ESPIPE } from "./errno.js";
import { SyscallTable, int, long } from "./syscall_abi.js";
import { NR } from "./syscall_numbers.js";

const PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC;
const MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;

const pageUp = (n: bigint): bigint => (n + 4095n) & ~4095n;

function placeMapping(p: Process, hint: bigint, len: bigint): bigint | null {
  if (hint !== 0n && (hint & 4095n) === 0n && hint + len <= MMAP_TOP && !p.as.isMappedAny(hint, Number(len))) return hint;
  return p.as.findFree(Number(len), MMAP_TOP, MMAP_BOTTOM);
}

export const memSyscalls: SyscallTable = {
  // brk(addr)
  [NR.brk]: (_k, p, a) => {
    const want = a[0];
    if (want === 0n || want < p.brkStart) return p.brk;
    const oldTop = pageUp(p.brk), newTop = pageUp(want);
    if (newTop > oldTop) {
      if (p.as.isMappedAny(oldTop, Number(newTop - oldTop))) return p.brk;
      p.as.mapAnon(oldTop, Number(newTop - oldTop), PROT_READ | PROT_WRITE);
    } else if (newTop < oldTop) p.as.unmap(newTop, Number(oldTop - newTop));
    p.brk = want;
    return p.brk;
  },
  // mmap(addr, len, prot, flags, fd, off)
  [NR.mmap]: (_k, p, a) => {
    const len = pageUp(a[1]);
    const prot = int(a[2]) & PROT_MASK;
    const flags = int(a[3]);
    const off = long(a[5]);
    if (len === 0n || len >= USER_VA_END || (off & 4095n) !== 0n || off < 0n) return -EINVAL;
    const type = flags & (MAP_SHARED | MAP_PRIVATE);
    if (type === 0 || type === (MAP_SHARED | MAP_PRIVATE)) return -EINVAL;
    let data: Uint8Array | null = null;
    if ((flags & MAP_ANONYMOUS) === 0) {
      const f = p.fds.get(int(a[4]));
      if (!f) return -EBADF;
      if (!f.readable) return -EACCES;
      // private copies; a shared writable mapping would not reach the file
      if (type === MAP_SHARED && (prot & PROT_WRITE) !== 0) return -ENODEV;
      const r = f.pread(Number(len), off);
      if (typeof r === "number") return r === -ESPIPE ? -ENODEV : r;
      data = r;
    }
    let addr: bigint | null;
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) {
      addr = a[0];
      if ((addr & 4095n) !== 0n || addr + len > USER_VA_END) return -EINVAL;
      if ((flags & MAP_FIXED) === 0 && p.as.isMappedAny(addr, Number(len))) return -EEXIST;
    } else addr = placeMapping(p, a[0], len);
    if (addr === null) return -ENOMEM;
    p.as.mapAnon(addr, Number(len), prot);
    // (running out of frames here is ENOMEM, from the dispatcher)
    if (data && data.length > 0) p.as.write(addr, data, true);
    return addr;
  },
  // munmap(addr, len)
  [NR.munmap]: (_k, p, a) => {
    if ((a[0] & 4095n) !== 0n || a[1] === 0n) return -EINVAL;
    p.as.unmap(a[0], Number(pageUp(a[1])));
    return 0;
  },
  // mprotect(addr, len, prot)
  [NR.mprotect]: (_k, p, a) => {
    if ((a[0] & 4095n) !== 0n) return -EINVAL;
    if (a[1] === 0n) return 0;
    return p.as.protect(a[0], Number(pageUp(a[1])), int(a[2]) & PROT_MASK) ? 0 : -ENOMEM;
  },
  // mremap(old, oldlen, newlen, flags, newaddr)
  [NR.mremap]: (_k, p, a) => {
    const old = a[0], oldLen = pageUp(a[1]), newLen = pageUp(a[2]);
    const flags = int(a[3]);
    if ((old & 4095n) !== 0n || newLen === 0n || (flags & MREMAP_FIXED) !== 0) return -EINVAL;
    if (!p.as.isMapped(old, Number(oldLen))) return -EFAULT;
    const prot = p.as.protAt(old);
    if (newLen <= oldLen) {
      if (newLen < oldLen) p.as.unmap(old + newLen, Number(oldLen - newLen));
      return old;
    }
    if (!p.as.isMappedAny(old + oldLen, Number(newLen - oldLen))) {
      p.as.mapAnon(old + oldLen, Number(newLen - oldLen), prot);
      return old;
    }
    if ((flags & MREMAP_MAYMOVE) === 0) return -ENOMEM;
    const to = p.as.findFree(Number(newLen), MMAP_TOP, MMAP_BOTTOM);
    if (to === null) return -ENOMEM;
    p.as.mapAnon(to, Number(newLen), prot);
    p.as.move(old, to, Number(oldLen));
    p.as.unmap(old, Number(oldLen));
    return to;
  },
  // msync, madvise, mlock, munlock, mlockall, munlockall: nothing to do
  [NR.msync]: () => 0,
  [NR.madvise]: () => 0,
  [NR.mlock]: () => 0,
  [NR.munlock]: () => 0,
  [NR.mlockall]: () => 0,
  [NR.munlockall]: () => 0,
};
