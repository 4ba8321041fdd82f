/* Memory dirtier for the migration benchmark: every 10 ms it writes one
 * byte into each of the next <rate>/100 pages of a <MiB> buffer (round
 * robin), so the guest dirties <rate> pages per second, and prints a tick
 * line so that a client on the console sees when the guest runs.
 *   dirty <pages per second> <buffer MiB> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s pages-per-second MiB\n", argv[0]); return 2; }
  long rate = atol(argv[1]), mib = atol(argv[2]);
  long pages = mib * 256, per_tick = rate / 100, next = 0;
  volatile unsigned char *buf = pages ? malloc(pages * 4096) : 0;
  if (pages && !buf) return 1;
  for (long i = 0; i < pages; i++) buf[i * 4096] = 1;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  for (unsigned long n = 1;; n++) {
    for (long k = 0; k < per_tick && pages; k++) { buf[next * 4096]++; next = (next + 1) % pages; }
    char line[32];
    int len = snprintf(line, sizeof line, "T %lu\n", n);
    write(1, line, len);
    t.tv_nsec += 10000000;
    if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, 0);
  }
}
