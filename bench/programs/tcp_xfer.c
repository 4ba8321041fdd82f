/* TCP throughput for the network benchmark, as iperf would measure it but
 * small enough to build here: the sender writes <MiB> MiB of zeros from a
 * 256 KiB buffer, the receiver reads with one and discards it, so the
 * figure is the network path's rather than a tool's small reads and
 * writes (busybox nc moves a few KiB per system call).
 *   tcp_xfer recv <port>              accepts one connection, prints "RECV <bytes> <ms>"
 *   tcp_xfer send <ipv4> <port> <MiB> prints "SENT <bytes> <ms>" */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)
static char buf[BUF];

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int usage(void) {
  fprintf(stderr, "usage: tcp_xfer recv <port> | tcp_xfer send <ipv4> <port> <MiB>\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "recv")) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_ANY) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1)) { perror("tcp_xfer: listen"); return 1; }
    int c = accept(l, 0, 0);
    if (c < 0) { perror("tcp_xfer: accept"); return 1; }
    double t0 = now_ms();
    long long total = 0;
    for (;;) {
      ssize_t n = read(c, buf, BUF);
      if (n < 0) { perror("tcp_xfer: read"); return 1; }
      if (n == 0) break;
      total += n;
    }
    printf("RECV %lld %.3f\n", total, now_ms() - t0);
    return 0;
  }
  if (argc == 5 && !strcmp(argv[1], "send")) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
    if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) return usage();
    long long want = atoll(argv[4]) << 20, total = 0;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("tcp_xfer: connect"); return 1; }
    double t0 = now_ms();
    while (total < want) {
      ssize_t n = write(s, buf, want - total < BUF ? (size_t)(want - total) : BUF);
      if (n <= 0) { perror("tcp_xfer: write"); return 1; }
      total += n;
    }
    shutdown(s, SHUT_WR);
    while (read(s, buf, BUF) > 0) {} /* until the receiver has it all and closes */
    printf("SENT %lld %.3f\n", total, now_ms() - t0);
    return 0;
  }
  return usage();
}
