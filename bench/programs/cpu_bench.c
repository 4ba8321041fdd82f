/* CPU benchmark for xents: integer work in the style of CoreMark (linked
 * lists, matrix arithmetic, a state machine, CRC) and a memory/string part
 * (memcpy, memset, strlen, memcmp over buffers). Freestanding, raw syscalls,
 * so the same binary runs on xents' user-mode runner and on qemu-aarch64.
 * Prints a checksum that both runs must agree on. */

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

static long sys3(long n, long a, long b, long c) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
static void out(const char *s, long n) { sys3(64, 1, (long)s, n); }

static void put_hex(u64 v) {
  char b[17];
  for (int i = 15; i >= 0; i--) { b[i] = "0123456789abcdef"[v & 15]; v >>= 4; }
  b[16] = '\n';
  out(b, 17);
}

/* ---- list processing */
struct node { struct node *next; u32 key; u32 val; };
static struct node nodes[2048];

static u32 list_work(u32 seed) {
  struct node *head = 0;
  for (int i = 0; i < 2048; i++) {
    seed = seed * 1103515245u + 12345u;
    nodes[i].key = seed >> 8; nodes[i].val = i;
    nodes[i].next = head; head = &nodes[i];
  }
  /* insertion-sort-ish reversal and search */
  u32 acc = 0;
  for (int r = 0; r < 8; r++) {
    struct node *prev = 0, *cur = head;
    while (cur) { struct node *n = cur->next; cur->next = prev; prev = cur; cur = n; }
    head = prev;
    for (struct node *p = head; p; p = p->next) if ((p->key & 0xFF) == (u32)r) acc += p->val;
  }
  return acc;
}

/* ---- matrix */
#define M 24
static int ma[M][M], mb[M][M], mc[M][M];
static u32 matrix_work(u32 seed) {
  for (int i = 0; i < M; i++) for (int j = 0; j < M; j++) {
    seed = seed * 1664525u + 1013904223u;
    ma[i][j] = (int)(seed >> 20) - 2048; mb[i][j] = (int)((seed >> 8) & 0xFFF) - 2048;
  }
  for (int i = 0; i < M; i++) for (int j = 0; j < M; j++) {
    long s = 0;
    for (int k = 0; k < M; k++) s += (long)ma[i][k] * mb[k][j];
    mc[i][j] = (int)(s >> 4);
  }
  u32 acc = 0;
  for (int i = 0; i < M; i++) for (int j = 0; j < M; j++) acc = acc * 31 + (u32)mc[i][j];
  return acc;
}

/* ---- state machine over a text */
static u32 state_work(const u8 *s, int n) {
  int state = 0; u32 counts[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; i++) {
    u8 c = s[i];
    switch (state) {
      case 0: state = (c >= '0' && c <= '9') ? 1 : (c == '-' ? 2 : 0); break;
      case 1: state = (c >= '0' && c <= '9') ? 1 : (c == '.' ? 3 : 0); if (!state) counts[0]++; break;
      case 2: state = (c >= '0' && c <= '9') ? 1 : 0; break;
      case 3: state = (c >= '0' && c <= '9') ? 3 : 0; if (!state) counts[1]++; break;
    }
    counts[2] += c;
  }
  return counts[0] * 7 + counts[1] * 13 + counts[2];
}

/* ---- CRC-16 (bitwise, as CoreMark does) */
static u32 crc16(u32 crc, const u8 *p, int n) {
  for (int i = 0; i < n; i++) {
    crc ^= p[i];
    for (int b = 0; b < 8; b++) crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
  }
  return crc & 0xFFFF;
}

/* ---- memory and strings */
static u8 buf1[65536], buf2[65536];
static void *my_memcpy(void *d, const void *s, u64 n) {
  u64 *dq = d; const u64 *sq = s;
  while (n >= 8) { *dq++ = *sq++; n -= 8; }
  u8 *db = (u8 *)dq; const u8 *sb = (const u8 *)sq;
  while (n--) *db++ = *sb++;
  return d;
}
static void my_memset(void *d, int c, u64 n) { u8 *p = d; while (n--) *p++ = (u8)c; }
static u64 my_strlen(const u8 *s) { const u8 *p = s; while (*p) p++; return (u64)(p - s); }
static int my_memcmp(const u8 *a, const u8 *b, u64 n) {
  for (u64 i = 0; i < n; i++) if (a[i] != b[i]) return a[i] - b[i];
  return 0;
}
static u32 mem_work(u32 seed) {
  for (int i = 0; i < 65536; i++) { seed = seed * 69069u + 1; buf1[i] = (u8)(seed >> 24) | 1; }
  buf1[65535] = 0;
  u32 acc = 0;
  for (int r = 0; r < 4; r++) {
    my_memcpy(buf2 + r, buf1, 60000);
    acc += (u32)my_strlen(buf2 + r);
    acc += (u32)my_memcmp(buf1, buf2 + r, 60000);
    my_memset(buf2, r, 4096);
  }
  return acc;
}

void _start(void) {
  u32 seed = 0x1234, total = 0;
  for (int iter = 0; iter < ITERATIONS; iter++) {
    total += list_work(seed + iter);
    total ^= matrix_work(seed ^ iter);
    total += state_work((const u8 *)"12.5 -33 foo 7.25 bar -1 42 x 3.14159 end", 42) * (iter + 1);
    total = crc16(total, (const u8 *)&total, 4) ^ (total << 3);
    if ((iter & 3) == 0) total += mem_work(seed + total);
  }
  put_hex(total);
  sys3(93, 0, 0, 0);
  for (;;) {}
}
