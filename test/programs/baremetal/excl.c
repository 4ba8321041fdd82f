/* excl: load/store-exclusive loops on Normal memory (MMU on): counters of
 * every size, pairs, a spinlock, store-exclusives that must fail (after
 * CLREX, without a load-exclusive, a second time, across an exception return)
 * and alignment faults on misaligned exclusives. */
#include "mmu.h"

const char program_name[] = "excl";

extern void inc64(u64 *p, u64 n);
extern void inc32_acqrel(u32 *p, u64 n);
extern void inc8(u8 *p, u64 n);
extern void inc16(u16 *p, u64 n);
extern void inc_pair(u64 *p, u64 n);
extern void inc_pair32_acqrel(u32 *p, u64 n);
extern void spin_lock(u32 *l);
extern u64 spin_trylock(u32 *l);
extern void spin_unlock(u32 *l);
extern u64 stxr_after_clrex(u64 *p, u64 v);
extern u64 stxr_alone(u64 *p, u64 v);
extern u64 stxr_twice(u64 *p, u64 v);
extern u64 stxr_across_svc(u64 *p, u64 v);
extern u64 stxr_across_brk(u64 *p, u64 v);
extern u64 inc_with_svc(u64 *p);
extern u64 ldxr_at(u64 a), ldxp_at(u64 a), ldaxrh_at(u64 a);
extern char ldxr_at_insn[], ldxp_at_insn[], ldaxrh_at_insn[];

static struct {
  u64 c64;
  u32 c32;
  u32 pad;
  u8 bytes[8];  /* counter in bytes[3] */
  u16 halves[4]; /* counter in halves[1] */
  u64 pair[2] __attribute__((aligned(16)));
  u32 pair32[2];
  u32 lock;
  u64 word;
  u64 scratch[4] __attribute__((aligned(16)));
} d __attribute__((aligned(64)));

static volatile struct {
  int n;
  u64 vec, esr, far, elr;
} last;

static void reset_last(void) { last.n = 0, last.vec = last.esr = last.far = last.elr = 0; }

static int hook(struct frame *f, u64 vec, u64 esr, u64 far) {
  if (vec != VEC_CUR_SPX_SYNC || ++last.n > 4) return 0;
  last.vec = vec, last.esr = esr, last.far = far, last.elr = f->elr;
  switch (ESR_EC(esr)) {
    case EC_SVC64: /* ELR is already the next instruction */
      return 1;
    case EC_BRK:
      f->elr += 4;
      return 1;
    case EC_DABT_CUR:
      f->elr += 4;
      f->x[0] = 0;
      return 1;
  }
  return 0;
}

static void counters(void) {
  inc64(&d.c64, 10000);
  printf("ldxr/stxr: 64-bit counter after 10000 increments: %lu\n", d.c64);
  inc32_acqrel(&d.c32, 10000);
  printf("ldaxr/stlxr: 32-bit counter after 10000 increments: %u, next word untouched %s\n", d.c32, okstr(d.pad == 0));
  for (int i = 0; i < 8; i++) d.bytes[i] = (u8)(0x10 + i);
  inc8(&d.bytes[3], 300);
  int nb = 1;
  for (int i = 0; i < 8; i++) nb &= i == 3 || d.bytes[i] == 0x10 + i;
  printf("ldxrb/stxrb: byte counter from 0x13 after 300 increments: 0x%02x, neighbours untouched %s\n", d.bytes[3],
         okstr(nb));
  for (int i = 0; i < 4; i++) d.halves[i] = (u16)(0x1000 * (i + 1));
  inc16(&d.halves[1], 70000);
  int nh = d.halves[0] == 0x1000 && d.halves[2] == 0x3000 && d.halves[3] == 0x4000;
  printf("ldaxrh/stlxrh: halfword counter from 0x2000 after 70000 increments: 0x%04x, neighbours untouched %s\n",
         d.halves[1], okstr(nh));
  inc_pair(d.pair, 5000);
  printf("ldxp/stxp: pair after 5000 increments: %lu %lu\n", d.pair[0], d.pair[1]);
  d.pair32[0] = 0;
  d.pair32[1] = 10;
  inc_pair32_acqrel(d.pair32, 4000);
  printf("ldaxp/stlxp: word pair after 4000 steps: %u 0x%08x\n", d.pair32[0], d.pair32[1]);
}

static void lock(void) {
  spin_lock(&d.lock);
  u32 held = d.lock;
  u64 busy = spin_trylock(&d.lock);
  spin_unlock(&d.lock);
  u32 released = d.lock;
  u64 again = spin_trylock(&d.lock);
  u32 held2 = d.lock;
  spin_unlock(&d.lock);
  printf("spinlock: lock word %u while held, trylock while held %lu, lock word %u after release, trylock %lu, lock "
         "word %u\n",
         held, busy, released, again, held2);
}

static void failing_stores(void) {
  d.word = 111;
  u64 s = stxr_after_clrex(&d.word, 222);
  printf("ldxr, clrex, stxr: status %lu, memory unchanged %s\n", s, okstr(d.word == 111));
  s = stxr_alone(&d.word, 333);
  printf("stxr without ldxr: status %lu, memory unchanged %s\n", s, okstr(d.word == 111));
  s = stxr_twice(&d.word, 444);
  printf("second stxr after a successful one: status %lu, memory holds the first %s\n", s >> 1,
         okstr(d.word == 444));

  reset_last();
  s = stxr_across_svc(&d.word, 555);
  printf("svc between ldxr and stxr: vector 0x%03lx esr 0x%08lx, stxr status %lu, memory unchanged %s\n", last.vec,
         last.esr, s, okstr(d.word == 444));
  reset_last();
  s = stxr_across_brk(&d.word, 666);
  printf("brk between ldxr and stxr: vector 0x%03lx esr 0x%08lx, stxr status %lu, memory unchanged %s\n", last.vec,
         last.esr, s, okstr(d.word == 444));
  reset_last();
  s = inc_with_svc(&d.word);
  printf("increment with an svc in its first attempt: first status %lu, svcs %d, value %lu\n", s, last.n, d.word);
}

static void alignment(void) {
  static const struct {
    const char *what;
    u64 (*fn)(u64);
    const char *insn;
    u64 off;
  } cases[] = {
      {"ldxr x, 8-byte access at offset 4", ldxr_at, ldxr_at_insn, 4},
      {"ldxp x, 16-byte access at offset 8", ldxp_at, ldxp_at_insn, 8},
      {"ldaxrh, 2-byte access at offset 1", ldaxrh_at, ldaxrh_at_insn, 1},
  };
  for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
    u64 a = (u64)d.scratch + cases[i].off;
    reset_last();
    cases[i].fn(a);
    printf("%s: vector 0x%03lx ec 0x%02lx dfsc 0x%02lx far %s elr %s\n", cases[i].what, last.vec, ESR_EC(last.esr),
           ESR_FSC(last.esr), okstr(last.far == a), okstr(last.elr == (u64)cases[i].insn));
  }
}

void program_main(void) {
  mmu_identity_on(); /* exclusives need Normal memory */
  exc_hook = hook;
  printf("mmu on: sctlr.m %lu, sctlr.a %lu\n", read_sysreg(sctlr_el1) & SCTLR_M, (read_sysreg(sctlr_el1) & SCTLR_A) >> 1);
  counters();
  lock();
  failing_stores();
  alignment();
}
