/* misc: which vector each kind of synchronous exception uses (current EL
 * with SP_EL0 / SP_ELx, lower EL), the full syndrome of BRK, SVC, UDF, SP and
 * PC alignment faults, SCTLR.SA on and off, DC ZVA and the cache line sizes
 * in CTR_EL0. (MIDR and ID_AA64PFR0 are deliberately not printed.) */
#include "mmu.h"

const char program_name[] = "misc";

extern void brk_el1h(void), brk_el1t(void), svc_el1(void), udf_el1(void), sp_load_el1t(u64 sp), branch_to(u64 target),
    branch_target(void), dc_zva(u64 addr);
extern char brk_el1h_insn[], brk_el1t_insn[], svc_el1_insn[], udf_el1_insn[], sp_load_el1t_insn[];
extern char misc_user[], misc_user_svc[], misc_user_sp_insn[];

static u8 zbuf[256] __attribute__((aligned(256)));
static u64 spbuf[4] __attribute__((aligned(16)));
static u8 user_stack[PAGE_SIZE] __attribute__((aligned(4096)));

static volatile struct {
  int n;
  u64 vec, esr, far, elr, spsr;
} last;

static void reset_last(void) { last.n = 0, last.vec = last.esr = last.far = last.elr = last.spsr = 0; }

static int hook(struct frame *f, u64 vec, u64 esr, u64 far) {
  if (++last.n > 4) return 0;
  last.vec = vec, last.esr = esr, last.far = far, last.elr = f->elr, last.spsr = f->spsr;
  switch (ESR_EC(esr)) {
    case EC_SVC64:
      if (vec == VEC_LOW64_SYNC && (esr & 0xffff) == 0) {
        return_to_el1(f, f->x[0]);
        return 1;
      }
      if (vec == VEC_LOW64_SYNC)
        printf("el0 svc: vector 0x%03lx esr 0x%08lx spsr.m 0x%lx elr %s\n", vec, esr, f->spsr & 0xf,
               okstr(f->elr == (u64)misc_user_svc + 4));
      return 1;
    case EC_SP_ALIGN:
      if (vec == VEC_LOW64_SYNC)
        printf("el0 load via sp = 8 mod 16, sctlr.sa0 1: vector 0x%03lx esr 0x%08lx elr %s\n", vec, esr,
               okstr(f->elr == (u64)misc_user_sp_insn));
      f->elr += 4;
      return 1;
    case EC_BRK:
    case EC_UNKNOWN:
      f->elr += 4;
      return 1;
    case EC_PC_ALIGN:
      f->elr = f->x[30];
      return 1;
  }
  return 0;
}

static void report(const char *what, const char *insn, u64 elr_delta) {
  printf("%s: vector 0x%03lx esr 0x%08lx spsr.m 0x%lx elr %s\n", what, last.vec, last.esr, last.spsr & 0xf,
         okstr(last.elr == (u64)insn + elr_delta));
}

static void vectors_and_syndromes(void) {
  reset_last();
  brk_el1h();
  report("brk #0x123 at el1h", brk_el1h_insn, 0);
  reset_last();
  brk_el1t();
  report("brk #0x456 at el1t", brk_el1t_insn, 0);
  reset_last();
  svc_el1();
  report("svc #0x42 at el1h", svc_el1_insn, 4);
  reset_last();
  udf_el1();
  report("udf at el1h", udf_el1_insn, 0);

  u64 code = enter_el0((u64)misc_user, (u64)user_stack + PAGE_SIZE, 0, 0);
  printf("back at el1 from el0: code %lu\n", code);
}

static void sp_alignment(void) {
  u64 sctlr = read_sysreg(sctlr_el1);
  write_sysreg(sctlr_el1, sctlr | SCTLR_SA);
  isb();
  reset_last();
  sp_load_el1t((u64)spbuf + 8);
  printf("load via sp_el0 = 8 mod 16 at el1t, sctlr.sa 1: exceptions %d\n", last.n);
  if (last.n) report("sp alignment fault", sp_load_el1t_insn, 0);
  reset_last();
  sp_load_el1t((u64)spbuf + 16);
  printf("load via sp_el0 = 0 mod 16 at el1t, sctlr.sa 1: exceptions %d\n", last.n);
  write_sysreg(sctlr_el1, sctlr & ~SCTLR_SA);
  isb();
  reset_last();
  sp_load_el1t((u64)spbuf + 8);
  printf("load via sp_el0 = 8 mod 16 at el1t, sctlr.sa 0: exceptions %d\n", last.n);
  write_sysreg(sctlr_el1, sctlr);
  isb();
}

static void pc_alignment(void) {
  for (u64 off = 1; off <= 2; off++) {
    u64 target = (u64)branch_target + off;
    reset_last();
    branch_to(target);
    printf("blr to an address with bits[1:0] = %lu: vector 0x%03lx esr 0x%08lx elr %s far %s\n", off, last.vec,
           last.esr, okstr(last.elr == target), okstr(last.far == target));
  }
}

static void zva(void) {
  u64 dczid = read_sysreg(dczid_el0);
  u64 block = 4UL << (dczid & 0xf);
  printf("dczid_el0: dzp %lu, block %lu bytes\n", (dczid >> 4) & 1, block);
  if (block > 128) return;
  for (int i = 0; i < 256; i++) zbuf[i] = 0xaa;
  dc_zva((u64)zbuf + 128 + 20);
  int zero = 1, kept = 1;
  for (u64 i = 0; i < 256; i++) {
    int in = i >= 128 && i < 128 + block;
    if (in && zbuf[i] != 0) zero = 0;
    if (!in && zbuf[i] != 0xaa) kept = 0;
  }
  printf("dc zva inside a block: the whole aligned block zeroed %s, bytes around it untouched %s\n", okstr(zero),
         okstr(kept));
}

static void cache_info(void) {
  u64 ctr = read_sysreg(ctr_el0);
  printf("ctr_el0: iminline %lu bytes, dminline %lu bytes\n", 4UL << (ctr & 0xf), 4UL << ((ctr >> 16) & 0xf));
}

void program_main(void) {
  u64 *root = pt_new();
  pt_map_platform(root);
  pt_map(root, (u64)__user_start, (u64)__user_start, (u64)__user_end - (u64)__user_start,
         PROT_NORMAL | PTE_AP_ALL_RO | PTE_PXN);
  pt_map(root, (u64)user_stack, (u64)user_stack, sizeof(user_stack), PROT_NORMAL | PTE_AP_ALL_RW | PTE_UXN | PTE_PXN);
  mmu_enable(root, NULL); /* DC ZVA needs Normal memory */
  exc_hook = hook;
  printf("sctlr_el1: sa %lu sa0 %lu\n", (read_sysreg(sctlr_el1) & SCTLR_SA) >> 3, (read_sysreg(sctlr_el1) & SCTLR_SA0) >> 4);
  vectors_and_syndromes();
  sp_alignment();
  pc_alignment();
  zva();
  cache_info();
}
