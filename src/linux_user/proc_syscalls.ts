// Process system calls: clone (fork and vfork), execve, exit, wait4 and
// waitid, identities, process groups and sessions, resource limits, prctl.

import { SR } from "../cpu/cpu.js";
import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { EAGAIN, ECHILD, EFAULT, EINTR, EINVAL, ENOSYS, EPERM, ESRCH, ETIMEDOUT, E2BIG } from "./errno.js";
import { hostPath } from "./paths.js";
import { SIGCHLD, CLD_EXITED, CLD_KILLED } from "./signals.js";
import { BLOCK, DONE, SyscallTable, SyscallResult, Out, int, uint, readStringArray, readStruct, readTimespec, AT_FDCWD } from "./syscall_abi.js";
import { NR } from "./syscall_numbers.js";

const CLONE_VM = 0x100, CLONE_VFORK = 0x4000, CLONE_THREAD = 0x10000, CLONE_SETTLS = 0x80000,
  CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000, CLONE_CHILD_SETTID = 0x01000000;
const WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000;
const P_ALL = 0, P_PID = 1, P_PGID = 2;

const uid = (): number => process.getuid?.() ?? 0;
const gid = (): number => process.getgid?.() ?? 0;

function clone(k: UserKernel, p: Process, a: bigint[]): SyscallResult {
  const flags = Number(a[0] & 0xFFFFFFFFn);
  // Threads would share one address space between vCPUs: not supported.
  if ((flags & CLONE_THREAD) !== 0 || ((flags & CLONE_VM) !== 0 && (flags & CLONE_VFORK) === 0)) return -ENOSYS;
  const child = k.fork(p);
  if (!child) return -EAGAIN;
  child.exitSignal = flags & 0xFF;
  if (a[1] !== 0n) child.cpu.setSys(SR.SP_EL0, a[1]);
  if ((flags & CLONE_SETTLS) !== 0) child.cpu.setSys(SR.TPIDR_EL0, a[3]);
  const tid = new Out(4).i32(0, child.pid).bytes;
  if ((flags & CLONE_PARENT_SETTID) !== 0) { p.as.write(a[2], tid); child.as.write(a[2], tid); }
  if ((flags & CLONE_CHILD_SETTID) !== 0) child.as.write(a[4], tid);
  if ((flags & CLONE_CHILD_CLEARTID) !== 0) child.tidAddress = a[4];
  if ((flags & CLONE_VFORK) !== 0) {
    // the child has its own copy of memory, so the parent only has to wait
    p.wait = { ready: () => child.execed, retry: false, interruptible: false };
  }
  return child.pid;
}

function execve(k: UserKernel, p: Process, a: bigint[], dirfd = AT_FDCWD): SyscallResult {
  const name = p.as.readCString(a[0]);
  if (name === null) return -EFAULT;
  const argv = readStringArray(p, a[1]);
  const envp = readStringArray(p, a[2]);
  if (!argv || !envp) return -EFAULT;
  if (argv.length + envp.length > 65536) return -E2BIG;
  const path = hostPath(p, dirfd, name);
  if (typeof path === "number") return path;
  const r = k.execve(p, path, argv, envp);
  return r < 0 ? r : DONE;
}

// Does child `c` match wait4's pid argument?
function matches(p: Process, c: Process, pid: number): boolean {
  if (pid > 0) return c.pid === pid;
  if (pid === -1) return true;
  return c.pgid === (pid === 0 ? p.pgid : -pid);
}

function wait4(k: UserKernel, p: Process, a: bigint[]): SyscallResult {
  const pid = int(a[0]), options = int(a[2]);
  const candidates = [...p.children].filter((c) => matches(p, c, pid));
  if (candidates.length === 0) return -ECHILD;
  const dead = candidates.find((c) => c.exit && !c.reaped);
  if (dead) {
    const status = k.reap(dead);
    if (a[1] !== 0n && !p.as.write(a[1], new Out(4).i32(0, status).bytes)) return -EFAULT;
    if (a[3] !== 0n) p.as.write(a[3], new Uint8Array(144));
    return dead.pid;
  }
  if ((options & WNOHANG) !== 0) return 0;
  p.wait = {
    ready: () => { for (const c of p.children) if (c.exit && matches(p, c, pid)) return true; return false; },
    retry: true, interruptible: true, restartable: true,
  };
  return BLOCK;
}

// waitid(idtype, id, infop, options, rusage)
function waitid(k: UserKernel, p: Process, a: bigint[]): SyscallResult {
  const type = int(a[0]), id = int(a[1]), options = int(a[3]);
  if ((options & WEXITED) === 0) return -EINVAL;
  const pid = type === P_ALL ? -1 : type === P_PID ? id : type === P_PGID ? -id : NaN;
  if (Number.isNaN(pid) || (type === P_PGID && id <= 0)) return -EINVAL;
  const candidates = [...p.children].filter((c) => matches(p, c, pid === 0 ? -p.pgid : pid));
  if (candidates.length === 0) return -ECHILD;
  const dead = candidates.find((c) => c.exit && !c.reaped);
  if (dead) {
    const s = dead.exit!;
    const info = new Out(128).i32(0, SIGCHLD).i32(8, "code" in s ? CLD_EXITED : CLD_KILLED)
      .i32(16, dead.pid).i32(20, uid()).i32(24, "code" in s ? s.code : s.signal);
    if ((options & WNOWAIT) === 0) k.reap(dead);
    if (a[2] !== 0n && !p.as.write(a[2], info.bytes)) return -EFAULT;
    return 0;
  }
  if ((options & WNOHANG) !== 0) {
    if (a[2] !== 0n) p.as.write(a[2], new Uint8Array(128));
    return 0;
  }
  p.wait = {
    ready: () => { for (const c of p.children) if (c.exit && candidates.includes(c)) return true; return false; },
    retry: true, interruptible: true, restartable: true,
  };
  return BLOCK;
}

const RLIM_INFINITY = (1n << 64n) - 1n;
function rlimit(resource: number): [bigint, bigint] {
  switch (resource) {
    case 3: return [8n << 20n, RLIM_INFINITY]; // RLIMIT_STACK
    case 7: return [1024n, 4096n]; // RLIMIT_NOFILE
    case 4: return [0n, RLIM_INFINITY]; // RLIMIT_CORE
    case 6: return [63458n, 63458n]; // RLIMIT_NPROC
    default: return [RLIM_INFINITY, RLIM_INFINITY];
  }
}

const findProc = (k: UserKernel, p: Process, pid: number): Process | undefined => (pid === 0 ? p : k.procs.get(pid));

const FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10, FUTEX_CMD_MASK = 0x7F;

// futex(uaddr, op, val, timeout, uaddr2, val3): a process is one thread and
// shares no memory, so nobody can wake a waiter; waits end by timeout or signal.
function futex(k: UserKernel, p: Process, a: bigint[]): SyscallResult {
  const op = int(a[1]) & FUTEX_CMD_MASK;
  if (op === FUTEX_WAKE || op === FUTEX_WAKE_BITSET) return 0;
  if (op !== FUTEX_WAIT && op !== FUTEX_WAIT_BITSET) return -ENOSYS;
  const cur = readStruct(p, a[0], 4);
  if (!cur) return -EFAULT;
  if (cur.getUint32(0, true) !== uint(a[2])) return -EAGAIN;
  let deadline: number | undefined;
  if (a[3] !== 0n) {
    const t = readTimespec(p, a[3]);
    if (t === null) return -EFAULT;
    // FUTEX_WAIT takes a relative time, FUTEX_WAIT_BITSET an absolute one
    const ms = op === FUTEX_WAIT ? Number(t) / 1e6 : Number(t - ((int(a[1]) & 256) ? k.now() : k.monotonic())) / 1e6;
    deadline = performance.now() + Math.max(0, ms);
  }
  p.cpu.setX(0, BigInt(-ETIMEDOUT));
  p.wait = {
    ready: () => deadline !== undefined && performance.now() >= deadline, retry: false, interruptible: true, deadline,
    onInterrupt: () => p.cpu.setX(0, BigInt(-EINTR)),
  };
  return DONE;
}

export const procSyscalls: SyscallTable = {
  [NR.futex]: futex,
  [NR.clone]: clone,
  // clone3: glibc falls back to clone
  [NR.clone3]: () => -ENOSYS,
  [NR.execve]: (k, p, a) => execve(k, p, a),
  // execveat(dirfd, path, argv, envp, flags)
  [NR.execveat]: (k, p, a) => execve(k, p, [a[1], a[2], a[3]], int(a[0])),
  // exit(status), exit_group(status): one thread per process, so the same
  [NR.exit]: (k, p, a) => { k.exitProcess(p, { code: Number(a[0] & 0xFFn) }); return DONE; },
  [NR.exit_group]: (k, p, a) => { k.exitProcess(p, { code: Number(a[0] & 0xFFn) }); return DONE; },
  [NR.wait4]: wait4,
  [NR.waitid]: waitid,
  // getpid, getppid, getuid, geteuid, getgid, getegid, gettid
  [NR.getpid]: (_k, p) => p.pid,
  // the first process's parent is the emulator; orphans belong to init
  [NR.getppid]: (k, p) => p.parent?.pid ?? (p === k.root ? process.pid : 1),
  [NR.getuid]: () => uid(), 175: () => uid(), 176: () => gid(), 177: () => gid(),
  [NR.gettid]: (_k, p) => p.pid,
  // set_tid_address(tidptr)
  [NR.set_tid_address]: (_k, p, a) => { p.tidAddress = a[0]; return p.pid; },
  // set_robust_list: futexes of exiting threads, which do not exist here
  [NR.set_robust_list]: () => 0,
  // rseq: not provided (as under qemu-user)
  [NR.rseq]: () => -ENOSYS,
  // setpgid(pid, pgid)
  [NR.setpgid]: (k, p, a) => {
    const t = findProc(k, p, int(a[0]));
    if (!t || (t !== p && t.parent !== p)) return -ESRCH;
    const pgid = int(a[1]);
    if (pgid < 0) return -EINVAL;
    t.pgid = pgid === 0 ? t.pid : pgid;
    return 0;
  },
  // getpgid(pid), getsid(pid)
  [NR.getpgid]: (k, p, a) => findProc(k, p, int(a[0]))?.pgid ?? -ESRCH,
  [NR.getsid]: (k, p, a) => findProc(k, p, int(a[0]))?.sid ?? -ESRCH,
  // setsid()
  [NR.setsid]: (_k, p) => {
    if (p.pgid === p.pid) return -EPERM;
    p.sid = p.pgid = p.pid;
    return p.pid;
  },
  // getgroups(size, list)
  [NR.getgroups]: (_k, p, a) => {
    if (int(a[0]) === 0) return 1;
    if (int(a[0]) < 1) return -EINVAL;
    return p.as.write(a[1], new Out(4).u32(0, gid()).bytes) ? 1 : -EFAULT;
  },
  // setgroups, setregid, setgid, setreuid, setuid, setresuid, setresgid: only to what we are
  [NR.setgroups]: () => (uid() === 0 ? 0 : -EPERM),
  [NR.setregid]: () => 0, 144: (_k, _p, a) => (int(a[0]) === gid() || uid() === 0 ? 0 : -EPERM),
  [NR.setreuid]: () => 0, 146: (_k, _p, a) => (int(a[0]) === uid() || uid() === 0 ? 0 : -EPERM),
  [NR.setresuid]: () => 0, 149: () => 0,
  // getresuid(r, e, s), getresgid(r, e, s)
  [NR.getresuid]: (_k, p, a) => (a.slice(0, 3).every((va) => p.as.write(va, new Out(4).u32(0, uid()).bytes)) ? 0 : -EFAULT),
  [NR.getresgid]: (_k, p, a) => (a.slice(0, 3).every((va) => p.as.write(va, new Out(4).u32(0, gid()).bytes)) ? 0 : -EFAULT),
  // prlimit64(pid, resource, new, old)
  [NR.prlimit64]: (k, p, a) => {
    if (!findProc(k, p, int(a[0]))) return -ESRCH;
    const [cur, max] = rlimit(uint(a[1]));
    if (a[3] !== 0n && !p.as.write(a[3], new Out(16).u64(0, cur).u64(8, max).bytes)) return -EFAULT;
    return 0;
  },
  // getrlimit(resource, rlim), setrlimit(resource, rlim)
  [NR.getrlimit]: (_k, p, a) => {
    const [cur, max] = rlimit(uint(a[0]));
    return p.as.write(a[1], new Out(16).u64(0, cur).u64(8, max).bytes) ? 0 : -EFAULT;
  },
  [NR.setrlimit]: () => 0,
  // getrusage(who, usage): not accounted
  [NR.getrusage]: (_k, p, a) => (p.as.write(a[1], new Uint8Array(144)) ? 0 : -EFAULT),
  // prctl(option, ...)
  [NR.prctl]: (_k, p, a) => {
    const PR_SET_PDEATHSIG = 1, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4, PR_SET_NAME = 15, PR_GET_NAME = 16;
    switch (int(a[0])) {
      case PR_SET_PDEATHSIG: case PR_SET_DUMPABLE: return 0;
      case PR_GET_DUMPABLE: return 1;
      case PR_SET_NAME: {
        const name = p.as.readCString(a[1], 16);
        if (name === null) return -EFAULT;
        p.comm = name.slice(0, 15);
        return 0;
      }
      case PR_GET_NAME: {
        const b = new Uint8Array(16);
        b.set(Buffer.from(p.comm.slice(0, 15), "utf8"));
        return p.as.write(a[1], b) ? 0 : -EFAULT;
      }
      default: return -EINVAL;
    }
  },
  // getpriority(which, who), setpriority: everybody runs at nice 0
  [NR.getpriority]: () => 20,
  [NR.setpriority]: () => 0,
  // sched_yield
  [NR.sched_yield]: (_k, p) => { p.yieldNow = true; return 0; },
  // sched_getaffinity(pid, size, mask): one CPU
  [NR.sched_getaffinity]: (_k, p, a) => {
    if (uint(a[1]) < 8) return -EINVAL;
    return p.as.write(a[2], new Out(8).u64(0, 1n).bytes) ? 8 : -EFAULT;
  },
  // sched_setaffinity
  [NR.sched_setaffinity]: () => 0,
};
