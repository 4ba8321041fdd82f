/* A well-behaved guest that keeps computing and reporting, to show that a
 * hostile neighbour does not stop it. */
typedef unsigned long u64;
#ifndef SHUTDOWN_REASON
#define SHUTDOWN_REASON 0 /* poweroff; 3 declares a crash */
#endif
volatile u64 exceptions_taken;

static long hypercall(u64 nr, u64 a0, u64 a1, u64 a2) {
  register u64 x16 __asm__("x16") = nr;
  register u64 x0 __asm__("x0") = a0;
  register u64 x1 __asm__("x1") = a1;
  register u64 x2 __asm__("x2") = a2;
  __asm__ volatile("hvc #0xea1" : "+r"(x0), "+r"(x1), "+r"(x2) : "r"(x16) : "memory", "x3", "x4");
  return (long)x0;
}
static void say(u64 k, u64 h) {
  char b[48] = "steady: ";
  int i = 8;
  char d[24]; int n = 0;
  do { d[n++] = '0' + k % 10; k /= 10; } while (k);
  while (n) b[i++] = d[--n];
  b[i++] = ' ';
  for (int s = 60; s >= 0; s -= 4) b[i++] = "0123456789abcdef"[(h >> s) & 15];
  b[i++] = '\n';
  hypercall(18, 0, (u64)i, (u64)b);
}
int main(void) {
  u64 h = 1469598103934665603ul;
  for (u64 k = 1; k <= ROUNDS; k++) {
    for (int j = 0; j < 20000; j++) { h ^= (u64)j; h *= 1099511628211ul; }
    say(k, h);
  }
  unsigned reason = SHUTDOWN_REASON;
  hypercall(29, 2, (u64)&reason, 0);
  for (;;) {}
}
