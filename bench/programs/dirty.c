/* Memory dirtier for the migration benchmark: every 10 ms it writes one
 * byte into each of the next <rate>/100 pages of a <MiB> buffer (round
 * robin), so the guest dirties <rate> pages per second, and prints a tick
 * line so that a client on the console sees when the guest runs. On
 * SIGUSR1 it checks that every page holds what it last wrote there (the
 * pages before the cursor one pass ahead of the rest), which a migration
 * that lost a dirtied page would break, and prints "CHECK ok" or the page.
 *   dirty <pages per second> <buffer MiB> */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t check;
static void on_usr1(int sig) { (void)sig; check = 1; }

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s pages-per-second MiB\n", argv[0]); return 2; }
  long rate = atol(argv[1]), mib = atol(argv[2]);
  long pages = mib * 256, per_tick = rate / 100, next = 0;
  volatile unsigned char *buf = pages ? malloc(pages * 4096) : 0;
  if (pages && !buf) return 1;
  for (long i = 0; i < pages; i++) buf[i * 4096] = 1;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  signal(SIGUSR1, on_usr1);
  for (unsigned long n = 1;; n++) {
    for (long k = 0; k < per_tick && pages; k++) { buf[next * 4096]++; next = (next + 1) % pages; }
    if (check) {
      check = 0;
      long bad = -1;
      unsigned char base = pages ? buf[next * 4096] : 0;
      for (long i = 0; i < pages && bad < 0; i++) if (buf[i * 4096] != (unsigned char)(base + (i < next))) bad = i;
      if (bad < 0) printf("CHECK ok %ld pages\n", pages);
      else printf("CHECK bad page %ld: %u, expected %u\n", bad, buf[bad * 4096], (unsigned char)(base + (bad < next)));
      fflush(stdout);
    }
    char line[32];
    int len = snprintf(line, sizeof line, "T %lu\n", n);
    write(1, line, len);
    t.tv_nsec += 10000000;
    if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, 0);
  }
}
