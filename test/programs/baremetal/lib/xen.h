/* Xen's guest ABI on Arm for the bare-metal programs that run as Xen guests:
 * HVC #0xEA1 with the hypercall number in x16 and arguments in x0-x4
 * (xen/include/public/arch-arm.h); the result comes back in x0. */
#ifndef XEN_H
#define XEN_H
#include "lib.h"

#define HC_MEMORY_OP 12
#define HC_CONSOLE_IO 18
#define HC_GRANT_TABLE_OP 20
#define HC_SCHED_OP 29
#define HC_EVENT_CHANNEL_OP 32
#define HC_HVM_OP 34

#define CONSOLEIO_write 0
#define SCHEDOP_yield 0
#define SCHEDOP_shutdown 2
#define DOMID_SELF 0x7FF0ul

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

/* SCHEDOP_shutdown with a reason (0 poweroff, 1 reboot, 2 suspend, 3 crash). */
static inline void __attribute__((noreturn)) xen_shutdown(u32 reason) {
  volatile u32 r = reason;
  hypercall(HC_SCHED_OP, SCHEDOP_shutdown, (u64)&r, 0, 0, 0);
  for (;;) {
  }
}
#endif
