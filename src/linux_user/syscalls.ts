// Linux system calls for user-mode programs (AArch64 generic numbers, from
// include/uapi/asm-generic/unistd.h): the table assembled from the groups,
// and the dispatcher the trap handler calls on an SVC. Results are the raw
// kernel ABI: a value, or -errno; unknown calls return -ENOSYS.

import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { ENOMEM, ENOSYS, hostErrno, isHostError } from "./errno.js";
import { OutOfMemory } from "./address_space.js";
import { BLOCK, DONE, SyscallHandler, SyscallTable } from "./syscall_abi.js";
import { ioSyscalls } from "./io_syscalls.js";
import { fsSyscalls } from "./fs_syscalls.js";
import { memSyscalls } from "./mem_syscalls.js";
import { procSyscalls } from "./proc_syscalls.js";
import { signalSyscalls } from "./signal_syscalls.js";
import { timeSyscalls } from "./time_syscalls.js";
import { sysSyscalls } from "./sys_syscalls.js";

export const syscalls: SyscallTable = {
  ...ioSyscalls, ...fsSyscalls, ...memSyscalls, ...procSyscalls, ...signalSyscalls, ...timeSyscalls, ...sysSyscalls,
};

// Names for traces (asm-generic numbering).
export const SYSCALL_NAMES: Record<number, string> = {
  17: "getcwd", 19: "eventfd2", 20: "epoll_create1", 21: "epoll_ctl", 22: "epoll_pwait", 23: "dup", 24: "dup3",
  25: "fcntl", 26: "inotify_init1", 29: "ioctl", 32: "flock", 33: "mknodat", 34: "mkdirat", 35: "unlinkat",
  36: "symlinkat", 37: "linkat", 38: "renameat", 39: "umount2", 40: "mount", 43: "statfs", 44: "fstatfs",
  45: "truncate", 46: "ftruncate", 47: "fallocate", 48: "faccessat", 49: "chdir", 50: "fchdir", 51: "chroot",
  52: "fchmod", 53: "fchmodat", 54: "fchownat", 55: "fchown", 56: "openat", 57: "close", 59: "pipe2",
  61: "getdents64", 62: "lseek", 63: "read", 64: "write", 65: "readv", 66: "writev", 67: "pread64",
  68: "pwrite64", 69: "preadv", 70: "pwritev", 71: "sendfile", 72: "pselect6", 73: "ppoll", 78: "readlinkat",
  79: "newfstatat", 80: "fstat", 81: "sync", 82: "fsync", 83: "fdatasync", 88: "utimensat", 93: "exit",
  94: "exit_group", 95: "waitid", 96: "set_tid_address", 98: "futex", 99: "set_robust_list", 101: "nanosleep",
  102: "getitimer", 103: "setitimer", 113: "clock_gettime", 114: "clock_getres", 115: "clock_nanosleep",
  122: "sched_setaffinity", 123: "sched_getaffinity", 124: "sched_yield", 129: "kill", 130: "tkill",
  131: "tgkill", 132: "sigaltstack", 133: "rt_sigsuspend", 134: "rt_sigaction", 135: "rt_sigprocmask",
  136: "rt_sigpending", 137: "rt_sigtimedwait", 139: "rt_sigreturn", 140: "setpriority", 141: "getpriority",
  142: "reboot", 143: "setregid", 144: "setgid", 145: "setreuid", 146: "setuid", 147: "setresuid",
  148: "getresuid", 149: "setresgid", 150: "getresgid", 153: "times", 154: "setpgid", 155: "getpgid",
  156: "getsid", 157: "setsid", 158: "getgroups", 159: "setgroups", 160: "uname", 161: "sethostname",
  163: "getrlimit", 164: "setrlimit", 165: "getrusage", 166: "umask", 167: "prctl", 168: "getcpu",
  169: "gettimeofday", 172: "getpid", 173: "getppid", 174: "getuid", 175: "geteuid", 176: "getgid",
  177: "getegid", 178: "gettid", 179: "sysinfo", 198: "socket", 203: "connect", 214: "brk", 215: "munmap",
  216: "mremap", 220: "clone", 221: "execve", 222: "mmap", 223: "fadvise64", 226: "mprotect", 227: "msync",
  228: "mlock", 229: "munlock", 230: "mlockall", 231: "munlockall", 233: "madvise", 260: "wait4",
  261: "prlimit64", 276: "renameat2", 278: "getrandom", 279: "memfd_create", 281: "execveat", 291: "statx",
  293: "rseq", 435: "clone3", 439: "faccessat2",
};

export const syscallName = (nr: number): string => SYSCALL_NAMES[nr] ?? `syscall_${nr}`;

// Run the system call the process's SVC asked for (its PC is past the SVC).
export function dispatch(k: UserKernel, p: Process): void {
  const c = p.cpu;
  const nr = Number(c.x(8));
  const args = [c.x(0), c.x(1), c.x(2), c.x(3), c.x(4), c.x(5)];
  const h = syscalls[nr] as SyscallHandler | undefined;
  let r: ReturnType<SyscallHandler>;
  if (!h) r = -ENOSYS;
  else {
    try {
      r = h(k, p, args);
    } catch (e) {
      // a host file system error nobody anticipated is still just an errno,
      // and running out of machine memory while touching user pages is ENOMEM
      if (e instanceof OutOfMemory) r = -ENOMEM;
      else if (isHostError(e)) r = -hostErrno(e);
      else throw e;
    }
  }
  const trace = k.opts.trace;
  if (trace === "all" || (trace === "unknown" && !h)) {
    const shown = r === BLOCK ? "(blocks)" : r === DONE ? "(done)" : String(r);
    const unknown = h ? "" : " [not implemented]";
    k.log(`[${p.pid}] ${syscallName(nr)}(${args.slice(0, 4).map((x) => "0x" + x.toString(16)).join(", ")}) = ${shown}${unknown}`);
  }
  if (r === BLOCK) c.pc -= 4n; // run the SVC again when the wait ends
  else if (r !== DONE && !p.exit) c.setX(0, BigInt(r));
}
