/* Stage-1 translation tables: 4 KiB granule, 48-bit VAs, 4 levels, only
 * level-3 page descriptors (so every fault in a mapped region is reported at
 * level 3). MAIR index 0 is Normal write-back, index 1 Device-nGnRnE. */
#ifndef MMU_H
#define MMU_H
#include "lib.h"

#define PAGE_SIZE 4096UL
#define PTE_VALID (1UL << 0)
#define PTE_TYPE_PAGE (3UL << 0) /* level 3 page, or table at levels 0-2 */
#define PTE_ATTR(i) ((u64)(i) << 2)
#define PTE_AP_EL1_RW (0UL << 6)
#define PTE_AP_ALL_RW (1UL << 6)
#define PTE_AP_EL1_RO (2UL << 6)
#define PTE_AP_ALL_RO (3UL << 6)
#define PTE_AP_MASK (3UL << 6)
#define PTE_SH_INNER (3UL << 8)
#define PTE_AF (1UL << 10)
#define PTE_PXN (1UL << 53)
#define PTE_UXN (1UL << 54)
#define PTE_ADDR_MASK 0x0000fffffffff000UL

#define MT_NORMAL 0
#define MT_DEVICE 1
#define MAIR_VALUE 0x00ffUL /* attr0 = 0xff (Normal WB RW-allocate), attr1 = 0x00 (Device-nGnRnE) */

#define PROT_NORMAL (PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF)
#define PROT_KERNEL (PROT_NORMAL | PTE_AP_EL1_RW | PTE_UXN)
#define PROT_DEVICE (PTE_ATTR(MT_DEVICE) | PTE_AF | PTE_AP_EL1_RW | PTE_UXN | PTE_PXN)

u64 *pt_new(void);
/* The level-3 entry for va, creating intermediate tables when alloc is set
 * (NULL when absent and !alloc). */
u64 *pt_entry(u64 *root, u64 va, int alloc);
void pt_map(u64 *root, u64 va, u64 pa, u64 size, u64 prot);
/* Identity-maps the image (kernel RW, EL1 only), the UART and the GIC. */
void pt_map_platform(u64 *root);
/* Loads MAIR/TCR/TTBRs and turns on the MMU and caches; ttbr1 may be NULL. */
void mmu_enable(u64 *ttbr0, u64 *ttbr1);
/* pt_new + pt_map_platform + mmu_enable. */
u64 *mmu_identity_on(void);
/* After changing a valid entry: make the change visible, drop stale TLB entries. */
void tlb_flush_va(u64 va);
/* After making an invalid entry valid: no TLB entry can exist for it. */
void pt_publish(void);

static inline u64 page_of(u64 a) { return a & ~(PAGE_SIZE - 1); }

#endif
