/* A hostile Xen guest: random hypercalls with random arguments, accesses to
 * unmapped guest-physical addresses, and garbage written to the GIC. The
 * hypervisor must answer with error codes or crash this guest only. */
#include "guest.h"

const char program_name[] = "hostile";
volatile u64 exceptions_taken;
static u64 seed;

static u64 rnd(void) {
  seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
  return seed;
}

static u64 scratch[1024];

/* An argument: a small number, a pointer into our scratch memory (filled with
 * random bytes), a pointer to unmapped space, or random bits. */
static u64 arg(void) {
  switch (rnd() % 6) {
    case 0: return rnd() % 16;
    case 1: case 2: {
      for (int i = 0; i < 16; i++) scratch[(rnd() % 1024)] = rnd();
      return (u64)&scratch[rnd() % 1000];
    }
    case 3: return 0x80000000ul + (rnd() % 0x10000000);  /* beyond RAM */
    case 4: return rnd() & 0xFFFFFFFFul;
    default: return rnd();
  }
}

void program_main(void) {
  exc_hook = count_and_skip;
  seed = SEED;
  u64 calls = 0, errors = 0;
  for (int i = 0; i < ITERATIONS; i++) {
    u64 nr = rnd() % 48;
    u64 a0 = arg(), a1 = arg(), a2 = arg(), a3 = arg(), a4 = arg();
    if (nr == 29 && a0 != 0) continue;                        /* sched_op other than yield: shutdown or blocking ends the test */
    if (nr == 12 && (a0 & 0x3f) == 1) continue;               /* decrease_reservation of our own code */
    if (nr == 12 && (a0 & 0x3f) == 7) continue;               /* add_to_physmap over our own pages */
    if (nr == 13) continue;                                    /* multicall: same ops again */
    long r = hypercall(nr, a0, a1, a2, a3, a4);
    calls++;
    if (r < 0) errors++;
    /* touch unmapped guest-physical space and write garbage to the GIC */
    if ((i & 7) == 0) {
      volatile u64 *p = (volatile u64 *)(0x80000000ul + (rnd() % 0x40000000ul) * 8);
      if (rnd() & 1) (void)*p; else *p = rnd();
      volatile u32 *gic = (volatile u32 *)(0x03001000ul + (rnd() % 0x20000ul) * 4);
      if (rnd() & 1) *gic = (u32)rnd(); else (void)*gic;
    }
  }
  put_num("hostile: calls ", (long)calls);
  put_num("hostile: errors ", (long)errors);
  put_num("hostile: exceptions ", (long)exceptions_taken);
  printf("hostile: done\n");
  xen_shutdown(0);
}
