/* A static Linux program exercising the system calls busybox leans on less:
 * signal handlers and masks, SA_SIGINFO and the alternate stack, a SIGSEGV
 * handler that recovers, interval timers, select/poll, fork and wait
 * statuses, large pipe transfers, files and directories, and memory mapping.
 * Its output must be the same under qemu-aarch64 and `xents run-user`; it
 * prints facts, never pids, times or addresses. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got, got_code, on_alt;
static volatile pid_t got_pid;
static char altstack[65536];
static sigjmp_buf recover;
static volatile void *fault_addr;

static void handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  got = sig;
  got_code = si->si_code;
  got_pid = si->si_pid;
  char probe;
  on_alt = (uintptr_t)&probe >= (uintptr_t)altstack && (uintptr_t)&probe < (uintptr_t)altstack + sizeof altstack;
}

static void segv(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  fault_addr = si->si_addr;
  siglongjmp(recover, 1);
}

static void on(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | flags;
  sigaction(sig, &sa, 0);
}

static uint32_t fnv(const unsigned char *p, size_t n, uint32_t h) {
  while (n--) h = (h ^ *p++) * 16777619u;
  return h;
}

static void signals(void) {
  on(SIGUSR1, handler, 0);
  raise(SIGUSR1);
  printf("raise: sig=%d code=%d self=%d\n", got, got_code, got_pid == getpid());

  sigset_t m, old;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR2);
  on(SIGUSR2, handler, 0);
  got = 0;
  sigprocmask(SIG_BLOCK, &m, &old);
  kill(getpid(), SIGUSR2);
  sigset_t pend;
  sigpending(&pend);
  printf("blocked: got=%d pending=%d\n", got, sigismember(&pend, SIGUSR2));
  sigsuspend(&old);
  printf("sigsuspend: got=%d errno=%d\n", got, errno);
  sigprocmask(SIG_SETMASK, 0, &m);
  printf("mask restored: usr2 blocked=%d\n", sigismember(&m, SIGUSR2));
  sigprocmask(SIG_SETMASK, &old, 0);

  stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
  sigaltstack(&ss, 0);
  on(SIGUSR1, handler, SA_ONSTACK);
  on_alt = 0;
  raise(SIGUSR1);
  printf("altstack: handler on it=%d\n", on_alt);
  on(SIGUSR1, handler, 0);
  raise(SIGUSR1);
  printf("no SA_ONSTACK: on it=%d\n", on_alt);

  on(SIGSEGV, segv, SA_NODEFER);
  char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (sigsetjmp(recover, 1) == 0) {
    ro[100] = 1;
    printf("write to read-only page succeeded?\n");
  } else {
    printf("SIGSEGV caught at page+%ld\n", (long)((char *)fault_addr - ro));
  }
  if (sigsetjmp(recover, 1) == 0) {
    *(volatile int *)8 = 1;
  } else {
    printf("SIGSEGV caught at %p\n", (void *)fault_addr);
  }
  signal(SIGSEGV, SIG_DFL);

  struct itimerval it = { { 0, 0 }, { 0, 30000 } };
  on(SIGALRM, handler, 0);
  setitimer(ITIMER_REAL, &it, 0);
  got = 0;
  pause();
  printf("itimer: got=%d\n", got);
  it.it_value.tv_usec = 20000;
  setitimer(ITIMER_REAL, &it, 0);
  struct timespec req = { 5, 0 }, rem = { 0, 0 };
  int r = nanosleep(&req, &rem);
  printf("nanosleep interrupted: r=%d errno=%d rem>3s=%d\n", r, errno, rem.tv_sec >= 3);
}

static void processes(void) {
  int st;
  pid_t c = fork();
  if (c == 0) _exit(42);
  waitpid(c, &st, 0);
  printf("exit: exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
  c = fork();
  if (c == 0) { raise(SIGTERM); _exit(0); }
  waitpid(c, &st, 0);
  printf("killed: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
  c = fork();
  if (c == 0) { *(volatile int *)0 = 1; _exit(0); }
  waitpid(c, &st, 0);
  printf("segv: signaled=%d sig=%d core=%d\n", WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st) != 0);
  printf("no children: %d errno=%d\n", (int)wait(&st), errno);

  on(SIGCHLD, handler, SA_RESTART);
  got = 0;
  c = fork();
  if (c == 0) _exit(1);
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
  printf("SIGCHLD: got=%d code=%d from child=%d\n", got, got_code, got_pid == c);
  signal(SIGCHLD, SIG_DFL);

  /* a megabyte through a pipe, written by the child in odd-sized pieces */
  int p[2];
  pipe(p);
  c = fork();
  if (c == 0) {
    close(p[0]);
    static unsigned char buf[7919];
    uint32_t x = 1;
    for (long sent = 0; sent < (1 << 20);) {
      size_t n = sizeof buf;
      if (sent + (long)n > (1 << 20)) n = (1 << 20) - sent;
      for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
      for (size_t off = 0; off < n;) off += write(p[1], buf + off, n - off);
      sent += n;
    }
    _exit(0);
  }
  close(p[1]);
  static unsigned char in[65536];
  uint32_t h = 2166136261u;
  long total = 0;
  ssize_t n;
  while ((n = read(p[0], in, sizeof in)) > 0) { h = fnv(in, n, h); total += n; }
  close(p[0]);
  waitpid(c, &st, 0);
  printf("pipe: %ld bytes fnv=%08x\n", total, h);

  pipe(p);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(p[0], &rs);
  struct timeval tv = { 0, 10000 };
  printf("select empty: %d\n", select(p[0] + 1, &rs, 0, 0, &tv));
  write(p[1], "x", 1);
  FD_SET(p[0], &rs);
  tv.tv_usec = 10000;
  printf("select ready: %d set=%d\n", select(p[0] + 1, &rs, 0, 0, &tv), FD_ISSET(p[0], &rs));
  close(p[1]);
  struct pollfd pf = { p[0], POLLIN, 0 };
  printf("poll: %d revents=%#x\n", poll(&pf, 1, 0), pf.revents);
  char b;
  read(p[0], &b, 1);
  printf("poll at eof: %d revents=%#x\n", poll(&pf, 1, 0), pf.revents);
  close(p[0]);
  pipe(p);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  printf("write to closed pipe: %d errno=%d\n", (int)write(p[1], "x", 1), errno);
  close(p[1]);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void files(const char *dir) {
  char path[512];
  if (chdir(dir) != 0) { printf("chdir failed\n"); return; }
  umask(022);
  mkdir("d", 0777);
  int fd = open("d/f", O_CREAT | O_RDWR | O_TRUNC, 0666);
  write(fd, "hello world\n", 12);
  struct stat st;
  fstat(fd, &st);
  printf("file: size=%ld mode=%o regular=%d\n", (long)st.st_size, st.st_mode & 07777, S_ISREG(st.st_mode));
  printf("lseek: %ld\n", (long)lseek(fd, 6, SEEK_SET));
  char buf[64] = { 0 };
  printf("read: %d '%.5s'\n", (int)read(fd, buf, 5), buf);
  printf("pread: %d '%.5s' then lseek cur=%ld\n", (int)pread(fd, buf, 5, 0), buf, (long)lseek(fd, 0, SEEK_CUR));
  ftruncate(fd, 5);
  printf("lseek end after ftruncate: %ld\n", (long)lseek(fd, 0, SEEK_END));
  int d = dup(fd);
  lseek(d, 0, SEEK_SET);
  printf("dup shares offset: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  printf("cloexec: %d then %d\n", fcntl(fd, F_GETFD), (fcntl(fd, F_SETFD, FD_CLOEXEC), fcntl(fd, F_GETFD)));
  close(d);
  close(fd);
  fd = open("d/f", O_WRONLY | O_APPEND);
  write(fd, "++", 2);
  printf("append flags: %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
  close(fd);
  stat("d/f", &st);
  printf("after append: size=%ld\n", (long)st.st_size);
  symlink("f", "d/link");
  ssize_t n = readlink("d/link", buf, sizeof buf);
  printf("readlink: '%.*s' lstat link=%d\n", (int)n, buf, (lstat("d/link", &st), S_ISLNK(st.st_mode)));
  rename("d/f", "d/g");
  printf("access: f=%d g=%d\n", access("d/f", F_OK), access("d/g", R_OK | W_OK));
  struct timespec ts[2] = { { 1000000000, 0 }, { 1234567890, 500000000 } };
  utimensat(AT_FDCWD, "d/g", ts, 0);
  stat("d/g", &st);
  printf("utimensat: mtime=%ld\n", (long)st.st_mtime);
  mkdir("d/sub", 0700);
  for (int i = 0; i < 40; i++) {
    snprintf(path, sizeof path, "d/sub/n%02d", i);
    close(open(path, O_CREAT | O_WRONLY, 0600));
  }
  DIR *dp = opendir("d/sub");
  char *names[64];
  int count = 0;
  struct dirent *e;
  while ((e = readdir(dp)) && count < 64) names[count++] = strdup(e->d_name);
  closedir(dp);
  qsort(names, count, sizeof *names, cmp);
  printf("readdir: %d entries, first %s %s %s, last %s\n", count, names[0], names[1], names[2], names[count - 1]);
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  printf("openat relative: %d\n", openat(dfd, "g", O_RDONLY) >= 0);
  printf("fstatat: %d\n", fstatat(dfd, "sub", &st, 0) == 0 && S_ISDIR(st.st_mode));
  printf("unlink dir: %d errno=%d\n", unlink("d/sub"), errno);
  printf("rmdir non-empty: %d errno=%d\n", rmdir("d/sub"), errno);
  printf("open missing: %d errno=%d\n", open("d/missing", O_RDONLY), errno);
  printf("mkdir existing: %d errno=%d\n", mkdir("d", 0777), errno);
  if (!getcwd(path, sizeof path)) printf("getcwd failed\n");
  chdir("d");
  char inner[512];
  if (!getcwd(inner, sizeof inner)) printf("getcwd failed\n");
  printf("getcwd: inner is outer+/d: %d\n", strlen(inner) == strlen(path) + 2 && strncmp(inner, path, strlen(path)) == 0);
}

static void memory(void) {
  size_t big = 64 << 20;
  unsigned char *m = mmap(0, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < big; i += 1 << 20) m[i] = (unsigned char)(i >> 20);
  long sum = 0;
  for (size_t i = 0; i < big; i += 1 << 20) sum += m[i];
  printf("mmap 64M sparse: sum=%ld untouched=%d\n", sum, m[12345]);
  m = mremap(m, big, big * 2, MREMAP_MAYMOVE);
  printf("mremap kept data: %d %d\n", m[5 << 20], m[(big + 4096)]);
  munmap(m, big * 2);
  void *b0 = sbrk(0);
  sbrk(1 << 20);
  memset(b0, 7, 1 << 20);
  printf("brk grew: %d\n", (char *)sbrk(0) - (char *)b0 == 1 << 20);
  unsigned char r[32];
  printf("getrandom: %d\n", (int)getrandom(r, sizeof r, 0));
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  usleep(2000);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("monotonic advances: %d\n", (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) >= 2000000);
}

int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IONBF, 0);
  signals();
  processes();
  if (argc > 1) files(argv[1]);
  memory();
  return 3;
}
