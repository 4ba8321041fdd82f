/* What the hostile-guest programs share, on top of the bare-metal runtime
 * (test/programs/baremetal/lib): its console (Xen's console_io for a Xen
 * guest), Xen's hypercall ABI, and an exception hook for programs that
 * provoke faults on purpose. */
#ifndef GUEST_H
#define GUEST_H
#include "lib.h"
#include "xen.h"

/* "<label><decimal>\n" */
static inline void put_num(const char *label, long v) { printf("%s%ld\n", label, v); }

/* Counts every exception and skips the instruction that caused a
 * synchronous one, so a program can touch what it may not and go on. */
extern volatile u64 exceptions_taken;
static inline int count_and_skip(struct frame *f, u64 vec, u64 esr, u64 far) {
  (void)esr;
  (void)far;
  exceptions_taken++;
  if ((vec & 0x180) == 0) f->elr += 4; /* the Synchronous entry of each group */
  return 1;
}
#endif
