/* Block I/O benchmark, the same source for the guest (aarch64, on
 * /dev/xvda) and the host (on the image file). Prints one line:
 * "<mode> <bytes> <seconds> <ops>".
 *   blk_bench <path> seqread|seqwrite|randread|randwrite <span MiB> <block bytes> <ops> <seed> [direct|buffered]
 *   blk_bench <path> drop
 * Sequential modes move <span> MiB in <block>-byte requests from offset 0;
 * random modes do <ops> requests at block-aligned offsets within <span>;
 * writes end with fdatasync, inside the timing. "direct" (the default) opens
 * with O_DIRECT; "buffered" goes through the page cache. "drop" writes back
 * and evicts the file's pages from the page cache (posix_fadvise), so the
 * next phase starts cold without needing root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[2], "drop") == 0) {
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror(argv[1]); return 1; }
    if (fdatasync(fd) && errno != EBADF && errno != EINVAL) { perror("fdatasync"); return 1; }
    int e = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (e) { errno = e; perror("posix_fadvise"); return 1; }
    return 0;
  }
  if (argc != 7 && argc != 8) { fprintf(stderr, "usage: %s path mode spanMiB block ops seed [direct|buffered]\n       %s path drop\n", argv[0], argv[0]); return 2; }
  int direct = argc == 7 || strcmp(argv[7], "direct") == 0;
  if (argc == 8 && !direct && strcmp(argv[7], "buffered") != 0) { fprintf(stderr, "%s: '%s' is neither direct nor buffered\n", argv[0], argv[7]); return 2; }
  const char *mode = argv[2];
  long long span = atoll(argv[3]) << 20;
  long block = atol(argv[4]);
  long ops = atol(argv[5]);
  unsigned long long x = strtoull(argv[6], 0, 10) | 1;
  int write = strstr(mode, "write") != 0, rnd = strncmp(mode, "rand", 4) == 0;
  int fd = open(argv[1], (write ? O_RDWR : O_RDONLY) | (direct ? O_DIRECT : 0));
  if (fd < 0) { perror(argv[1]); return 1; }
  void *buf;
  if (posix_memalign(&buf, 4096, block)) return 1;
  memset(buf, 0x5A, block);
  if (!rnd) ops = span / block;
  long long blocks = span / block, moved = 0;
  double t0 = now();
  for (long i = 0; i < ops; i++) {
    long long b = i;
    if (rnd) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; b = (long long)(x % (unsigned long long)blocks); }
    ssize_t n = write ? pwrite(fd, buf, block, b * block) : pread(fd, buf, block, b * block);
    if (n != block) { perror("io"); return 1; }
    moved += n;
  }
  if (write && fdatasync(fd)) { perror("fdatasync"); return 1; }
  double dt = now() - t0;
  printf("%s %lld %.6f %ld\n", mode, moved, dt, ops);
  return 0;
}
