/* C entry of every program: read the device tree, start the console, run
 * the program, print "done" and switch the machine off through PSCI. */
#include "lib.h"

#define PSCI_SYSTEM_OFF 0x84000008UL

struct platform plat;
exc_hook_fn exc_hook;

void boot_main(const void *fdt, u64 el) {
  int r = fdt_scan(fdt, &plat);
  if (!plat.uart_base && !plat.xen) {
    /* Nowhere to report; stop here. */
    for (;;) __asm__ volatile("wfi");
  }
  console_init(plat.uart_base, plat.xen);
  printf("%s: start\n", program_name);
  if (r != 0) printf("fdt: parse error %d\n", r);
  if (el != 1) printf("boot: entered at EL%lu, not EL1\n", el);
  if (!plat.psci_conduit) printf("fdt: no psci conduit\n");
  program_main();
  printf("done\n");
  system_off();
}

void system_off(void) {
  u64 r = psci_call(PSCI_SYSTEM_OFF, 0, 0, 0, (u64)plat.psci_conduit);
  printf("psci: system_off returned %ld\n", (s64)r);
  for (;;) __asm__ volatile("wfi");
}

void exception_entry(struct frame *f, u64 index) {
  u64 vec = index * 0x80;
  u64 esr = read_sysreg(esr_el1);
  u64 far = read_sysreg(far_el1);
  if (exc_hook && exc_hook(f, vec, esr, far)) return;
  /* Offsets from the image start, so the line is the same on any platform. */
  printf("unexpected exception: vector 0x%03lx esr 0x%08lx elr _text+0x%lx spsr 0x%lx\n", vec, esr,
         f->elr - (u64)_text, f->spsr);
  system_off();
}

void return_to_el1(struct frame *f, u64 code) {
  f->elr = (u64)el0_return;
  f->spsr = 0x3c5; /* EL1h, DAIF masked */
  f->x[0] = code;
}
