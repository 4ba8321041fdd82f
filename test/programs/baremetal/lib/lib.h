/* Shared declarations of the bare-metal test programs. */
#ifndef LIB_H
#define LIB_H

/* Everything is hidden so that GCC addresses globals PC-relatively (no GOT),
 * which also keeps code correct when it runs through the TTBR1 alias. */
#pragma GCC visibility push(hidden)

#include "frame.h"

typedef unsigned long u64;
typedef long s64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long size_t;

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define read_sysreg(r) ({ u64 __v; __asm__ volatile("mrs %0, " #r : "=r"(__v)); __v; })
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" :: "r"((u64)(v)) : "memory")
#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt ::: "memory")
#define barrier() __asm__ volatile("" ::: "memory")

/* SCTLR_EL1 bits */
#define SCTLR_M (1UL << 0)
#define SCTLR_A (1UL << 1)
#define SCTLR_C (1UL << 2)
#define SCTLR_SA (1UL << 3)
#define SCTLR_SA0 (1UL << 4)
#define SCTLR_I (1UL << 12)
#define SCTLR_DZE (1UL << 14)
#define SCTLR_UCT (1UL << 15)

/* ESR_EL1 fields */
#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_IL (1UL << 25)
#define ESR_ISS(esr) ((esr) & 0x1ffffff)
#define ESR_FSC(esr) ((esr) & 0x3f)
#define ESR_WNR(esr) (((esr) >> 6) & 1)

#define EC_UNKNOWN 0x00
#define EC_SYSREG 0x18
#define EC_SVC64 0x15
#define EC_IABT_LOW 0x20
#define EC_IABT_CUR 0x21
#define EC_PC_ALIGN 0x22
#define EC_DABT_LOW 0x24
#define EC_DABT_CUR 0x25
#define EC_SP_ALIGN 0x26
#define EC_BRK 0x3c

/* Vector offsets from VBAR_EL1 */
#define VEC_CUR_SP0_SYNC 0x000
#define VEC_CUR_SPX_SYNC 0x200
#define VEC_CUR_SPX_IRQ 0x280
#define VEC_LOW64_SYNC 0x400

/* MMIO through single LDR/STR instructions with a plain base register, so a
 * hypervisor can emulate them from the syndrome (ISV=1). */
static inline u32 mmio_read32(u64 addr) {
  u32 v;
  __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
  return v;
}
static inline void mmio_write32(u64 addr, u32 v) {
  __asm__ volatile("str %w0, [%1]" :: "rZ"(v), "r"(addr) : "memory");
}
static inline u64 mmio_read64(u64 addr) {
  u64 v;
  __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(addr) : "memory");
  return v;
}

/* The register frame saved by the vectors. */
struct frame {
  u64 x[31];
  u64 sp_el0;
  u64 elr;
  u64 spsr;
};
_Static_assert(sizeof(struct frame) == FRAME_SIZE, "frame layout");

/* What the device tree told us. */
struct platform {
  u64 uart_base;
  u64 gicd_base, gicd_size;
  u64 gicr_base, gicr_size;
  u32 vtimer_intid;
  int psci_conduit; /* 0 none, 1 hvc, 2 smc */
  u64 ram_base, ram_size;
  int xen; /* a /hypervisor node compatible with "xen,xen": a Xen guest */
};
extern struct platform plat;
int fdt_scan(const void *fdt, struct platform *p);

/* Console: the UART, or Xen's console_io for a Xen guest that has none */
void console_init(u64 uart_base, int xen);
void con_putc(char c);
void con_puts(const char *s); /* no newline added */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* PSCI */
u64 psci_call(u64 fn, u64 a1, u64 a2, u64 a3, u64 conduit);
void system_off(void) __attribute__((noreturn));

/* Exceptions: the program sets exc_hook; it returns 1 when it handled the
 * exception (possibly editing the frame), 0 for an unexpected one. */
typedef int (*exc_hook_fn)(struct frame *f, u64 vec, u64 esr, u64 far);
extern exc_hook_fn exc_hook;
void exception_entry(struct frame *f, u64 index);
u64 enter_el0(u64 entry, u64 user_sp, u64 arg0, u64 arg1);
extern char el0_return[];
/* Makes the frame ERET to el0_return at EL1h, so enter_el0 returns code. */
void return_to_el1(struct frame *f, u64 code);

/* Program hooks */
extern const char program_name[];
void program_main(void);

/* Image layout (linker script) */
extern char _text[], _end[], __user_start[], __user_end[];

/* Strings and memory */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* probe.S */
u64 probe_read(u64 va);
void probe_write(u64 va, u64 value);
extern char probe_read_insn[], probe_write_insn[];

/* Printing helpers shared by the programs */
const char *okstr(int cond); /* "ok" or "WRONG" */

#endif
