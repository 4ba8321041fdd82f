/* Stage-1 table building and MMU enable (see mmu.h). */
#include "mmu.h"

#define POOL_TABLES 24

static u64 pool[POOL_TABLES][512] __attribute__((aligned(4096)));
static unsigned pool_used;

u64 *pt_new(void) {
  if (pool_used >= POOL_TABLES) {
    printf("mmu: out of page tables\n");
    system_off();
  }
  return pool[pool_used++];
}

u64 *pt_entry(u64 *root, u64 va, int alloc) {
  u64 *t = root;
  for (int level = 0; level < 3; level++) {
    unsigned idx = (va >> (39 - 9 * level)) & 511;
    u64 d = t[idx];
    if (!(d & PTE_VALID)) {
      if (!alloc) return NULL;
      u64 *n = pt_new();
      d = (u64)n | PTE_TYPE_PAGE;
      t[idx] = d;
    }
    t = (u64 *)(d & PTE_ADDR_MASK);
  }
  return &t[(va >> 12) & 511];
}

void pt_map(u64 *root, u64 va, u64 pa, u64 size, u64 prot) {
  u64 end = va + size;
  for (va = page_of(va), pa = page_of(pa); va < end; va += PAGE_SIZE, pa += PAGE_SIZE)
    *pt_entry(root, va, 1) = pa | prot | PTE_TYPE_PAGE;
}

void pt_map_platform(u64 *root) {
  u64 start = (u64)_text, end = (u64)_end;
  pt_map(root, start, start, end - start, PROT_KERNEL);
  pt_map(root, plat.uart_base, plat.uart_base, PAGE_SIZE, PROT_DEVICE);
  if (plat.gicd_base) pt_map(root, plat.gicd_base, plat.gicd_base, 0x10000, PROT_DEVICE);
  /* Enough redistributor space for the first few frames (128 KiB each). */
  if (plat.gicr_base) pt_map(root, plat.gicr_base, plat.gicr_base, 0x80000, PROT_DEVICE);
}

void mmu_enable(u64 *ttbr0, u64 *ttbr1) {
  u64 parange = read_sysreg(id_aa64mmfr0_el1) & 0xf;
  if (parange > 5) parange = 5; /* 48 bits is all a 48-bit VA setup needs */
  u64 tcr = 16UL                   /* T0SZ: 48-bit */
            | 1UL << 8 | 1UL << 10 /* IRGN0, ORGN0: write-back */
            | 3UL << 12            /* SH0: inner shareable */
            | 0UL << 14            /* TG0: 4 KiB */
            | 16UL << 16           /* T1SZ: 48-bit */
            | 1UL << 24 | 1UL << 26 | 3UL << 28 | 2UL << 30 /* IRGN1, ORGN1, SH1, TG1 = 4 KiB */
            | parange << 32;       /* IPS */
  if (!ttbr1) tcr |= 1UL << 23;    /* EPD1: no TTBR1 walks */
  dsb(ishst);
  write_sysreg(mair_el1, MAIR_VALUE);
  write_sysreg(tcr_el1, tcr);
  write_sysreg(ttbr0_el1, (u64)ttbr0);
  write_sysreg(ttbr1_el1, ttbr1 ? (u64)ttbr1 : 0);
  isb();
  __asm__ volatile("tlbi vmalle1" ::: "memory");
  dsb(nsh);
  isb();
  write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_M | SCTLR_C | SCTLR_I);
  isb();
}

u64 *mmu_identity_on(void) {
  u64 *root = pt_new();
  pt_map_platform(root);
  mmu_enable(root, NULL);
  return root;
}

void tlb_flush_va(u64 va) {
  dsb(ishst);
  __asm__ volatile("tlbi vaae1is, %0" :: "r"(va >> 12) : "memory");
  dsb(ish);
  isb();
}

void pt_publish(void) {
  dsb(ishst);
  isb();
}
