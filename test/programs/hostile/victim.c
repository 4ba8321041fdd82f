/* The victim beside the escape: SECRET_PAGES pages of secrets, one of them
 * granted to Domain-0 only (ref 5), checked again and again while the
 * attacker runs; then it says whether they are intact and powers off. */
#include "guest.h"

const char program_name[] = "victim";

#define RAM0 0x40000000ul
#define GNT_GFN 0x38000ul
#define BASE ((RAM0 + 0x400000ul) >> 12)

static volatile u64 args[4] __attribute__((aligned(32)));

static u64 word(u64 page, u64 i) { return SECRET ^ (page << 9) ^ i; }

void program_main(void) {
  for (u64 p = 0; p < SECRET_PAGES; p++) {
    volatile u64 *q = (volatile u64 *)((BASE + p) << 12);
    for (u64 i = 0; i < 512; i++) q[i] = word(p, i);
  }
  args[0] = 0x7FF0ul | (1ul << 32); /* grant table frame 0 */
  args[1] = 0;
  args[2] = GNT_GFN;
  put_num("victim: grant table mapped ", hypercall(HC_MEMORY_OP, 7, (u64)args, 0, 0, 0));
  volatile u64 *e = (volatile u64 *)(GNT_GFN << 12) + 5;
  *e = 1ul | (0ul << 16) | (BASE << 32); /* ref 5: page 0 to Domain-0 */
  printf("victim: ready\n");
  u64 bad = 0;
  for (u64 round = 0; round < ROUNDS; round++) {
    for (u64 p = 0; p < SECRET_PAGES; p++) {
      volatile u64 *q = (volatile u64 *)((BASE + p) << 12);
      for (u64 i = 0; i < 512; i++) if (q[i] != word(p, i)) bad++;
    }
    hypercall(HC_SCHED_OP, 0, 0, 0, 0, 0); /* yield */
  }
  put_num("victim: words changed ", (long)bad);
  xen_shutdown(0);
}
