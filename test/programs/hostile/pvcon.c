/* A bare-metal guest that talks on its PV console ring (xencons_interface,
 * found with HVMOP_get_param as Linux's hvc_xen finds it): LINES lines, then
 * it keeps running (yielding) until it is destroyed. */
#include "guest.h"

const char program_name[] = "pvcon";
#define HVM_PARAM_CONSOLE_PFN 17
#define HVM_PARAM_CONSOLE_EVTCHN 18

static volatile u64 args[2] __attribute__((aligned(16)));

static u64 param(u64 index) {
  args[0] = 0x7FF0ul | (index << 32); /* domid DOMID_SELF, index */
  args[1] = 0;
  hypercall(HC_HVM_OP, 1 /* HVMOP_get_param */, (u64)args, 0, 0, 0);
  return args[1];
}

void program_main(void) {
  volatile unsigned char *ring = (volatile unsigned char *)(param(HVM_PARAM_CONSOLE_PFN) << 12);
  volatile u32 *out_cons = (volatile u32 *)(ring + 3080), *out_prod = (volatile u32 *)(ring + 3084);
  u64 port = param(HVM_PARAM_CONSOLE_EVTCHN);
  for (u64 k = 1; k <= LINES; k++) {
    /* byte by byte: with the MMU off all memory is Device memory, where the
     * unaligned stores gcc makes of a string initializer fault */
    volatile char line[32];
    const char *pre = "pvcon: line ";
    int i = 0;
    while (pre[i]) { line[i] = pre[i]; i++; }
    char d[20]; int n = 0;
    u64 v = k;
    do { d[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) line[i++] = d[--n];
    line[i++] = '\n';
    for (int j = 0; j < i; j++) {
      while (*out_prod - *out_cons >= 2048) hypercall(HC_SCHED_OP, 0, 0, 0, 0, 0); /* full: yield */
      ring[1024 + (*out_prod & 2047)] = line[j];
      __asm__ volatile("dmb ish" ::: "memory");
      *out_prod = *out_prod + 1;
    }
    args[0] = port;
    hypercall(HC_EVENT_CHANNEL_OP, 4 /* EVTCHNOP_send */, (u64)args, 0, 0, 0);
  }
  for (;;) hypercall(HC_SCHED_OP, SCHEDOP_yield, 0, 0, 0, 0);
}
