/* What the bare-metal test guests share: Xen hypercalls (HVC #0xEA1, number
 * in x16, arguments in x0-x4) and console output through console_io. */
typedef unsigned long u64;
typedef unsigned int u32;

static inline long hypercall(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4) {
  register u64 x16 __asm__("x16") = nr;
  register u64 x0 __asm__("x0") = a0;
  register u64 x1 __asm__("x1") = a1;
  register u64 x2 __asm__("x2") = a2;
  register u64 x3 __asm__("x3") = a3;
  register u64 x4 __asm__("x4") = a4;
  __asm__ volatile("hvc #0xea1" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4) : "r"(x16) : "memory");
  return (long)x0;
}

#define HC_MEMORY_OP 12
#define HC_CONSOLE_IO 18
#define HC_GRANT_TABLE_OP 20
#define HC_SCHED_OP 29

static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static void puts_(const char *s) { hypercall(HC_CONSOLE_IO, 0, slen(s), (u64)s, 0, 0); }

/* "<label><decimal>\n", negative numbers with a minus sign */
static void put_num(const char *label, long v) {
  char b[96]; int i = 0;
  while (label[i] && i < 64) { b[i] = label[i]; i++; }
  u64 u = v < 0 ? (u64)-v : (u64)v;
  if (v < 0) b[i++] = '-';
  char d[24]; int n = 0;
  do { d[n++] = '0' + u % 10; u /= 10; } while (u);
  while (n) b[i++] = d[--n];
  b[i++] = '\n'; b[i] = 0;
  puts_(b);
}

static void poweroff(void) {
  volatile u32 reason = 0;
  hypercall(HC_SCHED_OP, 2, (u64)&reason, 0, 0, 0); /* SCHEDOP_shutdown */
  for (;;) {}
}
