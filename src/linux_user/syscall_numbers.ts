// The AArch64 (asm-generic) system call numbers xents implements or names,
// from include/uapi/asm-generic/unistd.h: the tables are keyed by these
// names, and traces print them.

export const NR = {
  getcwd: 17, eventfd2: 19, epoll_create1: 20, epoll_ctl: 21, epoll_pwait: 22, dup: 23, dup3: 24, fcntl: 25, inotify_init1: 26, ioctl: 29,
  flock: 32, mknodat: 33, mkdirat: 34, unlinkat: 35, symlinkat: 36, linkat: 37, renameat: 38, umount2: 39, mount: 40, statfs: 43,
  fstatfs: 44, truncate: 45, ftruncate: 46, fallocate: 47, faccessat: 48, chdir: 49, fchdir: 50, chroot: 51, fchmod: 52, fchmodat: 53,
  fchownat: 54, fchown: 55, openat: 56, close: 57, pipe2: 59, getdents64: 61, lseek: 62, read: 63, write: 64, readv: 65, writev: 66,
  pread64: 67, pwrite64: 68, preadv: 69, pwritev: 70, sendfile: 71, pselect6: 72, ppoll: 73, readlinkat: 78, newfstatat: 79, fstat: 80,
  sync: 81, fsync: 82, fdatasync: 83, utimensat: 88, exit: 93, exit_group: 94, waitid: 95, set_tid_address: 96, futex: 98,
  set_robust_list: 99, nanosleep: 101, getitimer: 102, setitimer: 103, clock_gettime: 113, clock_getres: 114, clock_nanosleep: 115,
  sched_setaffinity: 122, sched_getaffinity: 123, sched_yield: 124, kill: 129, tkill: 130, tgkill: 131, sigaltstack: 132,
  rt_sigsuspend: 133, rt_sigaction: 134, rt_sigprocmask: 135, rt_sigpending: 136, rt_sigtimedwait: 137, rt_sigreturn: 139,
  setpriority: 140, getpriority: 141, reboot: 142, setregid: 143, setgid: 144, setreuid: 145, setuid: 146, setresuid: 147, getresuid: 148,
  setresgid: 149, getresgid: 150, times: 153, setpgid: 154, getpgid: 155, getsid: 156, setsid: 157, getgroups: 158, setgroups: 159,
  uname: 160, sethostname: 161, getrlimit: 163, setrlimit: 164, getrusage: 165, umask: 166, prctl: 167, getcpu: 168, gettimeofday: 169,
  getpid: 172, getppid: 173, getuid: 174, geteuid: 175, getgid: 176, getegid: 177, gettid: 178, sysinfo: 179, socket: 198, connect: 203,
  brk: 214, munmap: 215, mremap: 216, clone: 220, execve: 221, mmap: 222, fadvise64: 223, mprotect: 226, msync: 227, mlock: 228,
  munlock: 229, mlockall: 230, munlockall: 231, madvise: 233, wait4: 260, prlimit64: 261, renameat2: 276, getrandom: 278,
  memfd_create: 279, execveat: 281, statx: 291, rseq: 293, clone3: 435, faccessat2: 439,
} as const;

// Names for traces: number -> name.
export const SYSCALL_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(NR).map(([k, v]) => [v, k]));
