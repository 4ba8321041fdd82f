/* mmu: stage-1 translation with TTBR0 (identity) and TTBR1 (a high alias of
 * the image), then translation, permission, access-flag and execute-never
 * faults, each handled at the vector and, where it can be, fixed and retried. */
#include "mmu.h"

const char program_name[] = "mmu";

#define KALIAS 0xffff800000000000UL
#define NPAGES 4
enum { PG_UNMAPPED, PG_RO, PG_NOAF, PG_XN };

static u8 pages[NPAGES][PAGE_SIZE] __attribute__((aligned(4096)));
static u64 *root0, *root1;
static u64 alias_phys; /* physical address that KALIAS maps */
static volatile u64 shared_word;

extern u64 alias_fn(u64 *out);
extern char alias_brk[];
extern u64 alias_word;

static u64 to_alias(u64 pa) { return KALIAS + (pa - alias_phys); }
static u64 page_va(int i) { return (u64)pages[i]; }

/* What the handler does with a data abort. */
enum fix { FIX_SKIP, FIX_MAP, FIX_MAKE_RW, FIX_SET_AF };
static volatile enum fix fix;

static volatile struct {
  int n;
  u64 vec, esr, far, elr;
} last;

static void reset_last(enum fix f) {
  fix = f;
  last.n = 0;
  last.esr = last.far = last.elr = last.vec = 0;
}

#define SKIPPED 0x5a5a5a5a5a5a5a5aUL

static int hook(struct frame *f, u64 vec, u64 esr, u64 far) {
  if (vec != VEC_CUR_SPX_SYNC || ++last.n > 4) return 0;
  last.vec = vec;
  last.esr = esr;
  last.far = far;
  last.elr = f->elr;
  switch (ESR_EC(esr)) {
    case EC_BRK:
      f->elr += 4;
      return 1;
    case EC_IABT_CUR:
      f->elr = f->x[30]; /* the probe was called with BLR: go back to the caller */
      return 1;
    case EC_DABT_CUR: {
      u64 *e = pt_entry(root0, far, 0);
      switch (fix) {
        case FIX_SKIP:
          f->elr += 4;
          f->x[0] = SKIPPED;
          return 1;
        case FIX_MAP:
          /* Invalid -> valid: no TLB can hold the old entry, a barrier suffices. */
          *e = page_of(far) | PROT_KERNEL | PTE_TYPE_PAGE;
          pt_publish();
          return 1;
        case FIX_MAKE_RW:
          /* Valid -> valid with new permissions: the old one may be cached. */
          *e = (*e & ~PTE_AP_MASK) | PTE_AP_EL1_RW;
          tlb_flush_va(far);
          return 1;
        case FIX_SET_AF:
          /* Entries with AF = 0 are never held in a TLB: a barrier suffices. */
          *e |= PTE_AF;
          pt_publish();
          return 1;
      }
      return 0;
    }
  }
  return 0;
}

static void report_abort(const char *what, u64 va, u64 insn) {
  printf("%s: vector 0x%03lx ec 0x%02lx dfsc 0x%02lx wnr %lu far %s elr %s\n", what, last.vec, ESR_EC(last.esr),
         ESR_FSC(last.esr), ESR_WNR(last.esr), okstr(last.far == va), okstr(last.elr == insn));
}

static u64 at_s1e1r(u64 va) {
  __asm__ volatile("at s1e1r, %0" :: "r"(va) : "memory");
  isb();
  return read_sysreg(par_el1);
}

static u64 at_s1e1w(u64 va) {
  __asm__ volatile("at s1e1w, %0" :: "r"(va) : "memory");
  isb();
  return read_sysreg(par_el1);
}

static void report_par(const char *what, u64 par, u64 pa) {
  if (par & 1)
    printf("%s: par.f 1 fst 0x%02lx\n", what, (par >> 1) & 0x3f);
  else
    printf("%s: par.f 0 pa %s\n", what, okstr((par & PTE_ADDR_MASK) == page_of(pa)));
}

static void build_tables(void) {
  root0 = pt_new();
  pt_map_platform(root0);
  *pt_entry(root0, page_va(PG_UNMAPPED), 0) = 0;
  *pt_entry(root0, page_va(PG_RO), 0) = page_va(PG_RO) | PROT_NORMAL | PTE_AP_EL1_RO | PTE_UXN | PTE_TYPE_PAGE;
  *pt_entry(root0, page_va(PG_NOAF), 0) &= ~PTE_AF;
  *pt_entry(root0, page_va(PG_XN), 0) |= PTE_PXN;

  /* TTBR1: the whole image again, EL1 read/write/execute, at KALIAS + offset
   * from the 2 MiB-aligned base below the image. */
  alias_phys = (u64)_text & ~0x1fffffUL;
  root1 = pt_new();
  pt_map(root1, to_alias((u64)_text), (u64)_text, (u64)_end - (u64)_text, PROT_NORMAL | PTE_AP_EL1_RW | PTE_UXN);
}

static void test_alias(void) {
  shared_word = 0x1122334455667788UL;
  volatile u64 *hi = (volatile u64 *)to_alias((u64)&shared_word);
  printf("ttbr1 alias read: %s\n", okstr(*hi == 0x1122334455667788UL));
  *hi = 0x8877665544332211UL;
  printf("ttbr1 alias write, ttbr0 read: %s\n", okstr(shared_word == 0x8877665544332211UL));

  reset_last(FIX_SKIP);
  u64 fn = to_alias((u64)alias_fn), word = 0;
  u64 pc = ((u64(*)(u64 *))fn)(&word);
  printf("exec via ttbr1 alias: pc in alias %s, pc-relative read %s\n", okstr(pc == fn), okstr(word == alias_word));
  printf("brk in ttbr1 alias: vector 0x%03lx esr 0x%08lx elr in alias %s\n", last.vec, last.esr,
         okstr(last.elr == to_alias((u64)alias_brk)));
}

static void test_at(void) {
  report_par("at s1e1r ttbr0 page", at_s1e1r((u64)&shared_word), (u64)&shared_word);
  report_par("at s1e1r ttbr1 alias", at_s1e1r(to_alias((u64)&shared_word)), (u64)&shared_word);
  report_par("at s1e1r unmapped page", at_s1e1r(page_va(PG_UNMAPPED)), 0);
  report_par("at s1e1w read-only page", at_s1e1w(page_va(PG_RO)), 0);
  report_par("at s1e1r read-only page", at_s1e1r(page_va(PG_RO)), page_va(PG_RO));
}

static void test_translation(void) {
  u64 va = page_va(PG_UNMAPPED) + 0x18;
  reset_last(FIX_MAP);
  u64 v = probe_read(va);
  report_abort("translation fault l3", va, (u64)probe_read_insn);
  printf("translation fault l3: page mapped, load retried, value %s, faults %d\n", okstr(v == 0xa5a5000000000018UL),
         last.n);

  static const struct {
    const char *what;
    u64 va;
  } far_away[] = {
      {"translation fault l0", 0x0000800000000018UL}, /* empty level-0 entry */
      {"translation fault l1", 0x0000004000000018UL}, /* empty level-1 entry (256 GiB) */
      {"va out of range", 0x0001000000000018UL},      /* neither TTBR0 nor TTBR1 range */
  };
  for (unsigned i = 0; i < ARRAY_SIZE(far_away); i++) {
    reset_last(FIX_SKIP);
    v = probe_read(far_away[i].va);
    report_abort(far_away[i].what, far_away[i].va, (u64)probe_read_insn);
  }
  /* Same 1 GiB as the image, 256 MiB away: its level-2 entry is empty. */
  va = ((u64)_text ^ 0x10000000UL) + 0x18;
  reset_last(FIX_SKIP);
  v = probe_read(va);
  report_abort("translation fault l2", va, (u64)probe_read_insn);
  printf("skipped loads returned the handler's value: %s\n", okstr(v == SKIPPED));
}

static void test_permission(void) {
  u64 va = page_va(PG_RO) + 0x20;
  reset_last(FIX_SKIP);
  u64 v = probe_read(va);
  printf("read of read-only page: faults %d value %s\n", last.n, okstr(v == 0xa5a5000000000020UL));
  reset_last(FIX_MAKE_RW);
  probe_write(va, 0x600dUL);
  report_abort("permission fault", va, (u64)probe_write_insn);
  printf("permission fault: made writable, store retried, value %s, faults %d\n",
         okstr(*(volatile u64 *)va == 0x600dUL), last.n);
}

static void test_access_flag(void) {
  u64 va = page_va(PG_NOAF) + 0x28;
  reset_last(FIX_SET_AF);
  u64 v = probe_read(va);
  report_abort("access flag fault", va, (u64)probe_read_insn);
  printf("access flag fault: af set, load retried, value %s, faults %d\n", okstr(v == 0xa5a5000000000028UL), last.n);
  reset_last(FIX_SKIP);
  v = probe_read(va);
  printf("access flag set: second load faults %d\n", last.n);
}

static void test_execute_never(void) {
  u32 *code = (u32 *)page_va(PG_XN);
  reset_last(FIX_SKIP);
  ((void (*)(void))code)();
  printf("execute never (pxn): vector 0x%03lx ec 0x%02lx ifsc 0x%02lx far %s elr %s\n", last.vec, ESR_EC(last.esr),
         ESR_FSC(last.esr), okstr(last.far == (u64)code), okstr(last.elr == (u64)code));
}

void program_main(void) {
  /* Recognisable contents, written with the MMU off. */
  for (int i = 0; i < NPAGES; i++)
    for (u64 off = 0; off < PAGE_SIZE; off += 8) *(u64 *)(pages[i] + off) = 0xa5a5000000000000UL | off;
  *(u32 *)pages[PG_XN] = 0xd65f03c0; /* ret: never reached, the fetch faults */

  build_tables();
  exc_hook = hook;
  mmu_enable(root0, root1);
  printf("mmu enabled: sctlr.m %lu\n", read_sysreg(sctlr_el1) & SCTLR_M);

  test_alias();
  test_at();
  test_translation();
  test_permission();
  test_access_flag();
  test_execute_never();
}
