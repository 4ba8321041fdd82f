/* timer: GICv3 set-up (distributor, redistributor, system-register CPU
 * interface) and the EL1 virtual timer: arm it, wait with WFI, take the IRQ at
 * the vector, acknowledge with ICC_IAR1_EL1, mask the timer, EOI; a few
 * times, checking the counter and that PSTATE.I holds the interrupt off.
 * Runs with the MMU off: all MMIO is Device memory. Nothing here may depend
 * on registers a hypervisor's vGIC emulates loosely (no pending-bit reads). */
#include "lib.h"

const char program_name[] = "timer";

#define GICD_CTLR 0x0000
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_ARE (1u << 4) /* ARE (one security state) or ARE_NS (Non-secure view) */
#define GICD_CTLR_GRP1 (1u << 1) /* EnableGrp1 (one security state) or EnableGrp1A (Non-secure view) */

#define GICR_TYPER 0x0008
#define GICR_TYPER_LAST (1UL << 4)
#define GICR_TYPER_VLPIS (1UL << 1)
#define GICR_WAKER 0x0014
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_SGI 0x10000 /* SGI/PPI frame */
#define GICR_IGROUPR0 0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180
#define GICR_IPRIORITYR 0x0400

#define CNTV_CTL_ENABLE 1UL
#define CNTV_CTL_IMASK 2UL
#define CNTV_CTL_ISTATUS 4UL

#define PRIORITY 0xa0
#define ROUNDS 3

static u64 gicr; /* this CPU's redistributor RD frame */
static u32 intid;

static volatile struct {
  int count;
  u64 vec, intid, counter, cval, istatus, rpr;
} irq;

static u64 counter(void) {
  isb(); /* no early (speculative) read of the counter */
  return read_sysreg(cntvct_el0);
}

static int hook(struct frame *f, u64 vec, u64 esr, u64 far) {
  (void)f, (void)esr, (void)far;
  if (vec != VEC_CUR_SPX_IRQ) return 0;
  u64 id = read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
  irq.vec = vec;
  irq.intid = id;
  irq.counter = counter();
  irq.cval = read_sysreg(cntv_cval_el0);
  irq.istatus = (read_sysreg(cntv_ctl_el0) & CNTV_CTL_ISTATUS) != 0;
  irq.rpr = read_sysreg(S3_0_C12_C11_3); /* ICC_RPR_EL1: the running priority */
  /* The timer is level triggered: mask it before the EOI or it fires again. */
  write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE | CNTV_CTL_IMASK);
  isb();
  if (id < 1020) write_sysreg(S3_0_C12_C12_1, id); /* ICC_EOIR1_EL1: drop priority and deactivate */
  irq.count++;
  return 1;
}

/* Take a pending IRQ, if any: open PSTATE.I briefly. */
static void irq_window(void) { __asm__ volatile("msr daifclr, #2\n\tisb\n\tmsr daifset, #2" ::: "memory"); }

static int find_redistributor(void) {
  u64 mpidr = read_sysreg(mpidr_el1);
  u64 aff = (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24;
  for (u64 frame = plat.gicr_base; frame < plat.gicr_base + plat.gicr_size;) {
    u64 typer = mmio_read64(frame + GICR_TYPER);
    if ((typer >> 32) == aff) {
      gicr = frame;
      return 1;
    }
    if (typer & GICR_TYPER_LAST) break;
    frame += (typer & GICR_TYPER_VLPIS) ? 0x40000 : 0x20000;
  }
  return 0;
}

static int gic_init(void) {
  /* System-register interface first: the ICC_* registers need SRE = 1. */
  write_sysreg(S3_0_C12_C12_5, read_sysreg(S3_0_C12_C12_5) | 1); /* ICC_SRE_EL1.SRE */
  isb();
  printf("gic: icc_sre_el1.sre %lu\n", read_sysreg(S3_0_C12_C12_5) & 1);

  u32 ctlr = mmio_read32(plat.gicd_base + GICD_CTLR);
  mmio_write32(plat.gicd_base + GICD_CTLR, ctlr | GICD_CTLR_ARE | GICD_CTLR_GRP1);
  while (mmio_read32(plat.gicd_base + GICD_CTLR) & GICD_CTLR_RWP) {
  }
  ctlr = mmio_read32(plat.gicd_base + GICD_CTLR);
  printf("gic: gicd_ctlr are %u enable-grp1 %u\n", (ctlr & GICD_CTLR_ARE) != 0, (ctlr & GICD_CTLR_GRP1) != 0);

  if (!find_redistributor()) {
    printf("gic: no redistributor for this cpu\n");
    return 0;
  }
  printf("gic: redistributor found for this cpu\n");
  u32 waker = mmio_read32(gicr + GICR_WAKER);
  mmio_write32(gicr + GICR_WAKER, waker & ~GICR_WAKER_PROCESSOR_SLEEP);
  int spins = 0;
  while ((mmio_read32(gicr + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP) && spins < 1000000) spins++;
  printf("gic: gicr_waker children asleep %u\n", (mmio_read32(gicr + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP) != 0);

  u64 sgi = gicr + GICR_SGI;
  u32 bit = 1u << intid;
  mmio_write32(sgi + GICR_IGROUPR0, mmio_read32(sgi + GICR_IGROUPR0) | bit); /* Group 1 */
  u64 prio_reg = sgi + GICR_IPRIORITYR + (intid & ~3u);
  u32 shift = (intid & 3) * 8;
  mmio_write32(prio_reg, (mmio_read32(prio_reg) & ~(0xffu << shift)) | (u32)PRIORITY << shift);
  printf("gic: ppi %u priority 0x%02x\n", intid, (mmio_read32(prio_reg) >> shift) & 0xff);
  mmio_write32(sgi + GICR_ISENABLER0, bit);
  printf("gic: gicr_isenabler0 bit %u: %u\n", intid, (mmio_read32(sgi + GICR_ISENABLER0) & bit) != 0);

  write_sysreg(S3_0_C4_C6_0, 0xf0);  /* ICC_PMR_EL1: let priority 0xa0 through */
  write_sysreg(S3_0_C12_C12_3, 0);   /* ICC_BPR1_EL1: smallest binary point, 0xa0 is all group priority */
  write_sysreg(S3_0_C12_C12_4, 0);   /* ICC_CTLR_EL1: EOImode 0, EOI also deactivates */
  write_sysreg(S3_0_C12_C12_7, 1);   /* ICC_IGRPEN1_EL1 */
  isb();
  printf("gic: icc_igrpen1_el1 %lu\n", read_sysreg(S3_0_C12_C12_7) & 1);
  return 1;
}

void program_main(void) {
  if (!plat.gicd_base || !plat.gicr_base || !plat.vtimer_intid) {
    printf("timer: gic or timer missing from the device tree\n");
    return;
  }
  intid = plat.vtimer_intid;
  printf("timer: virtual timer intid %u\n", intid);
  if (intid < 16 || intid > 31) {
    printf("timer: virtual timer is not a ppi\n");
    return;
  }
  exc_hook = hook;
  if (!gic_init()) return;

  u64 freq = read_sysreg(cntfrq_el0) & 0xffffffff;
  u64 interval = freq >= 1000 ? freq / 1000 : 1000; /* about 1 ms */
  u64 last = counter();
  int monotonic = 1;

  for (int round = 1; round <= ROUNDS; round++) {
    int before = irq.count;
    u64 t0 = counter();
    write_sysreg(cntv_tval_el0, interval);
    write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE);
    isb();
    u64 t1 = counter();
    u64 cval = read_sysreg(cntv_cval_el0);
    /* Writing TVAL sets CVAL = CNTVCT + TVAL at the time of the write. */
    printf("round %d: armed, cval = counter + tval: %s\n", round, okstr(cval >= t0 + interval && cval <= t1 + interval));

    if (round == 1) {
      /* Condition met but PSTATE.I set: the interrupt must wait. */
      while (!(read_sysreg(cntv_ctl_el0) & CNTV_CTL_ISTATUS)) {
      }
      for (volatile int i = 0; i < 1000; i++) {
      }
      printf("round 1: istatus 1 with pstate.i set, irqs taken %d\n", irq.count - before);
    }
    while (irq.count == before) {
      __asm__ volatile("wfi" ::: "memory"); /* wakes on a pending interrupt even while masked */
      irq_window();
    }
    printf("round %d: irq taken: vector 0x%03lx intid %lu istatus %lu rpr 0x%02lx counter past cval %s\n", round, irq.vec,
           irq.intid, irq.istatus, irq.rpr, okstr(irq.counter >= irq.cval && irq.cval == cval));
    monotonic &= t0 >= last && t1 >= t0 && irq.counter > t1;
    last = irq.counter;
    u64 again = read_sysreg(S3_0_C12_C12_0);
    printf("round %d: iar after eoi with the timer masked: %lu\n", round, again);
    if (again < 1020) write_sysreg(S3_0_C12_C12_1, again);
  }
  printf("timer: irqs %d, counter monotonic %s\n", irq.count, okstr(monotonic));
  write_sysreg(cntv_ctl_el0, 0);
  mmio_write32(gicr + GICR_SGI + GICR_ICENABLER0, 1u << intid);
  isb();
}
