/* SMP stress for a multi-vCPU guest, every result checked:
 *   smp_stress <seconds> <threads>
 * - atomics: every worker adds to one counter with an atomic add and to
 *   another with a compare-and-swap loop (LL/SC or CAS on the core), and
 *   counts its own additions: the totals must agree;
 * - a mutex: every 64th step under a pthread mutex, so that waiters sleep
 *   on a futex and are woken by another CPU (an IPI in the guest);
 * - TLB shootdowns: a thread flips a page between unreadable and readable
 *   with mprotect, an odd generation number meaning "unreadable now";
 *   a worker that reads the page while the generation stays the same odd
 *   value must fault, else some CPU kept a stale TLB entry after
 *   mprotect returned;
 * - which CPUs the workers ran on (sched_getcpu), changing as vCPUs come and
 *   go.
 * Prints "SMP ok ..." or "SMP bad ..." and exits 0 or 1. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long atomic_sum, cas_sum, mutex_sum;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static volatile char *page;
static long gen; /* odd: the page is unreadable */
static long stale, faults, cpus_seen;
static volatile int stop;
static __thread sigjmp_buf jb;

static void on_segv(int sig) { (void)sig; siglongjmp(jb, 1); }

struct worker { long steps, mutex_steps; };

static void *work(void *arg) {
  struct worker *w = arg;
  while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
    __atomic_fetch_add(&atomic_sum, 1, __ATOMIC_RELAXED);
    long old = __atomic_load_n(&cas_sum, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&cas_sum, &old, old + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {}
    w->steps++;
    if (w->steps % 64 == 0) { pthread_mutex_lock(&mutex); mutex_sum++; pthread_mutex_unlock(&mutex); w->mutex_steps++; }
    if (w->steps % 16 == 0) {
      long g1 = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
      if (sigsetjmp(jb, 1) == 0) {
        (void)page[0];
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        long g2 = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
        if ((g1 & 1) && g1 == g2) __atomic_fetch_add(&stale, 1, __ATOMIC_RELAXED);
      } else {
        __atomic_fetch_add(&faults, 1, __ATOMIC_RELAXED);
      }
    }
    if (w->steps % 1024 == 0) {
      int c = sched_getcpu();
      if (c >= 0 && c < 64) __atomic_fetch_or(&cpus_seen, 1L << c, __ATOMIC_RELAXED);
      sched_yield();
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s seconds threads\n", argv[0]); return 2; }
  int seconds = atoi(argv[1]), n = atoi(argv[2]);
  if (seconds < 1 || n < 1 || n > 64) { fprintf(stderr, "smp_stress: bad arguments\n"); return 2; }
  page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) { perror("mmap"); return 1; }
  page[0] = 1;
  struct sigaction sa = { .sa_handler = on_segv };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  pthread_t t[64];
  struct worker w[64] = {{0}};
  for (int i = 0; i < n; i++) if (pthread_create(&t[i], 0, work, &w[i])) { perror("pthread_create"); return 1; }
  struct timespec start, now, pause = { 0, 2000000 };
  clock_gettime(CLOCK_MONOTONIC, &start);
  long flips = 0;
  do {
    if (mprotect((void *)page, 4096, PROT_NONE)) { perror("mprotect"); return 1; }
    __atomic_fetch_add(&gen, 1, __ATOMIC_RELEASE); /* odd: unreadable, on every CPU, from here */
    nanosleep(&pause, 0);
    __atomic_fetch_add(&gen, 1, __ATOMIC_RELEASE); /* even, before it becomes readable */
    if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE)) { perror("mprotect"); return 1; }
    nanosleep(&pause, 0);
    flips++;
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - start.tv_sec < seconds);
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  long steps = 0, msteps = 0;
  for (int i = 0; i < n; i++) { pthread_join(t[i], 0); steps += w[i].steps; msteps += w[i].mutex_steps; }
  int cpus = __builtin_popcountl(cpus_seen);
  int ok = atomic_sum == steps && cas_sum == steps && mutex_sum == msteps && stale == 0 && faults > 0;
  printf("SMP %s threads=%d steps=%ld atomic=%ld cas=%ld mutex=%ld/%ld flips=%ld faults=%ld stale=%ld cpus=%d\n",
    ok ? "ok" : "bad", n, steps, atomic_sum, cas_sum, mutex_sum, msteps, flips, faults, stale, cpus);
  return ok ? 0 : 1;
}
