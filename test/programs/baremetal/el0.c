/* el0: drop from EL1 to EL0 with ERET, serve system calls (SVC immediates in
 * ESR.ISS), take EL0 permission faults, undefined instructions and trapped
 * system-register accesses as lower-EL exceptions, and return to EL1. */
#include "mmu.h"

const char program_name[] = "el0";

#define SYS_EXIT 0
#define SYS_WRITE 1
#define SYS_ADD 2
#define SYS_REPORT 3
#define SYS_CHECK_ZERO 4
#define SKIPPED 0x5a5a5a5a5a5a5a5aUL

extern char user_main[], user_svc_imm[], user_ldr_el1[], user_str_ro[], user_udf[], user_mrs_sctlr[],
    user_mrs_ctr[], user_dc_zva[];

static u8 user_stack[2][PAGE_SIZE] __attribute__((aligned(4096))); /* [0] stack, [1] scratch */
static volatile u64 kernel_word = 0x4b4b4b4b;
static const u64 saved_pattern[8] = {0x2121UL << 48, 0x2222UL << 32, 0x2323UL << 16, 0x2424,
                                     ~0x2525UL, 0x2626UL << 48, 0x2727UL << 32, 0x2828UL << 16};

static u64 user_addr(const char *p) { return (u64)p; }
static u64 user_stack_top(void) { return (u64)user_stack[0] + PAGE_SIZE; }

static int user_in_range(u64 p, u64 len) {
  u64 lo = (u64)__user_start, hi = (u64)__user_end;
  return p >= lo && p + len <= hi && p + len >= p;
}

static void print_vec_esr(const char *what, u64 vec, u64 esr, struct frame *f, const char *expect_elr) {
  printf("%s: vector 0x%03lx esr 0x%08lx elr %s\n", what, vec, esr, okstr(f->elr == user_addr(expect_elr)));
}

static void print_abort(const char *what, u64 vec, u64 esr, u64 far, u64 va, struct frame *f, const char *insn) {
  printf("%s: vector 0x%03lx ec 0x%02lx dfsc 0x%02lx wnr %lu far %s elr %s\n", what, vec, ESR_EC(esr), ESR_FSC(esr),
         ESR_WNR(esr), okstr(far == va), okstr(f->elr == user_addr(insn)));
}

static void report(u64 tag, u64 value) {
  switch (tag) {
    case 1:
      printf("el0 report: add returned %lu\n", value);
      break;
    case 2:
      printf("el0 report: load resumed after the abort with the kernel's value: %s\n", okstr(value == SKIPPED));
      break;
    case 3:
      printf("el0 report: ctr_el0 read at el0 with uct 1 matches el1: %s\n", okstr(value == read_sysreg(ctr_el0)));
      break;
    case 4:
      printf("el0 report: dczid_el0 with dze 0: dzp %lu\n", (value >> 4) & 1);
      break;
    case 5:
      printf("el0 report: dczid_el0 with dze 1: dzp %lu\n", (value >> 4) & 1);
      break;
    default:
      printf("el0 report: unknown tag %lu\n", tag);
  }
}

static void check_zero(u64 buf) {
  u64 block = 4UL << (read_sysreg(dczid_el0) & 0xf);
  int zero = 1, ones = 1;
  if (buf != (u64)user_stack[1] || block > 128) {
    printf("el0 check_zero: bad buffer\n");
    return;
  }
  for (u64 i = 0; i < 128; i++) {
    u8 b = user_stack[1][i];
    if (i < block && b != 0) zero = 0;
    if (i >= block && b != 0xff) ones = 0;
  }
  printf("el0 dc zva after retry: block zeroed %s, bytes after it untouched %s\n", okstr(zero), okstr(ones || block == 128));
}

static int svc(struct frame *f, u64 vec, u64 esr) {
  u64 imm = esr & 0xffff;
  switch (imm) {
    case SYS_EXIT: {
      int regs_ok = 1;
      for (int i = 0; i < 8; i++) regs_ok &= f->x[21 + i] == saved_pattern[i];
      printf("el0 exit: code %lu, registers preserved %s, sp_el0 %s\n", f->x[0], okstr(regs_ok),
             okstr(f->sp_el0 == user_stack_top()));
      return_to_el1(f, f->x[0]);
      return 1;
    }
    case SYS_WRITE: {
      u64 p = f->x[0], n = f->x[1];
      if (!user_in_range(p, n)) {
        f->x[0] = (u64)-1;
        return 1;
      }
      for (u64 i = 0; i < n; i++) con_putc(((const char *)p)[i]);
      f->x[0] = n;
      return 1;
    }
    case SYS_ADD:
      f->x[0] = f->x[0] + f->x[1];
      return 1;
    case SYS_REPORT:
      report(f->x[0], f->x[1]);
      return 1;
    case SYS_CHECK_ZERO:
      check_zero(f->x[0]);
      return 1;
    default:
      printf("el0 svc #0x%lx: vector 0x%03lx esr 0x%08lx spsr.m 0x%lx spsr.daif 0x%lx elr %s\n", imm, vec, esr,
             f->spsr & 0x1f, (f->spsr >> 6) & 0xf, okstr(f->elr == user_addr(user_svc_imm) + 4));
      return 1;
  }
}

static int hook(struct frame *f, u64 vec, u64 esr, u64 far) {
  if (vec != VEC_LOW64_SYNC) return 0;
  switch (ESR_EC(esr)) {
    case EC_SVC64:
      return svc(f, vec, esr);
    case EC_DABT_LOW:
      if (f->elr == user_addr(user_ldr_el1)) {
        print_abort("el0 load from el1-only page", vec, esr, far, (u64)&kernel_word, f, user_ldr_el1);
        f->x[2] = SKIPPED;
      } else if (f->elr == user_addr(user_str_ro)) {
        print_abort("el0 store to read-only page", vec, esr, far, user_addr(user_main), f, user_str_ro);
      } else {
        return 0;
      }
      f->elr += 4;
      return 1;
    case EC_UNKNOWN:
      if (f->elr == user_addr(user_udf)) print_vec_esr("el0 udf", vec, esr, f, user_udf);
      else if (f->elr == user_addr(user_mrs_sctlr)) print_vec_esr("el0 mrs sctlr_el1", vec, esr, f, user_mrs_sctlr);
      else return 0;
      f->elr += 4;
      return 1;
    case EC_SYSREG:
      /* Not skipped: enable EL0 access and let ERET (context synchronising) retry it. */
      if (f->elr == user_addr(user_mrs_ctr)) {
        print_vec_esr("el0 mrs ctr_el0 with uct 0", vec, esr, f, user_mrs_ctr);
        write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_UCT);
      } else if (f->elr == user_addr(user_dc_zva)) {
        print_vec_esr("el0 dc zva with dze 0", vec, esr, f, user_dc_zva);
        write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_DZE);
      } else {
        return 0;
      }
      return 1;
  }
  return 0;
}

void program_main(void) {
  u64 *root = pt_new();
  pt_map_platform(root);
  pt_map(root, (u64)__user_start, (u64)__user_start, (u64)__user_end - (u64)__user_start,
         PROT_NORMAL | PTE_AP_ALL_RO | PTE_PXN);
  pt_map(root, (u64)user_stack, (u64)user_stack, sizeof(user_stack), PROT_NORMAL | PTE_AP_ALL_RW | PTE_UXN | PTE_PXN);
  write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) & ~(SCTLR_UCT | SCTLR_DZE));
  mmu_enable(root, NULL);
  exc_hook = hook;
  printf("el1: entering el0 with eret\n");
  u64 code = enter_el0(user_addr(user_main), user_stack_top(), (u64)&kernel_word, (u64)user_stack[1]);
  printf("el1: back from el0, exit code %lu, currentel %lu, spsel %lu\n", code, read_sysreg(CurrentEL) >> 2,
         read_sysreg(SPSel));
  printf("el1: kernel word intact %s\n", okstr(kernel_word == 0x4b4b4b4b));
}
