// Image header, entry, self-relocation and the exception vectors shared by
// all bare-metal test programs. The loader (QEMU -kernel, Xen's domain
// builder) enters at the first byte at EL1 with the MMU off and x0 = the
// physical address of the device tree.

#include "frame.h"

#define R_AARCH64_RELATIVE 1027
// SCTLR_EL1: RES1 bits of Armv8.0 (11, 20, 22, 23, 28, 29), SP alignment
// checks for EL1 and EL0 (SA, SA0), WFI/WFE not trapped at EL0; MMU and
// caches off until a program enables them.
#define SCTLR_BOOT 0x30d50818

// adrp/add pair: PC-relative, so correct wherever the image runs.
.macro adr_l reg, sym
  adrp \reg, \sym
  add \reg, \reg, :lo12:\sym
.endm

  .section .head.text, "ax"
  .globl _head
_head:
  b primary_entry           // code0
  .long 0                   // code1
  .quad 0x80000             // text_offset
  // image_size: the whole image including bss, as two 32-bit halves
  // (a 64-bit absolute relocation would become a dynamic one in a PIE)
  .long __image_size_lo
  .long __image_size_hi
  .quad 0x2                 // flags: little endian, 4 KiB pages, near the start of RAM
  .quad 0                   // res2
  .quad 0                   // res3
  .quad 0                   // res4
  .ascii "ARM\x64"          // magic
  .long 0                   // res5 (no PE header)

  .text
primary_entry:
  msr daifset, #0xf
  mov x19, x0
  mrs x20, CurrentEL
  ldr x1, =SCTLR_BOOT
  msr sctlr_el1, x1
  isb

  // Zero bss first: the stack lives there.
  adr_l x1, __bss_start
  adr_l x2, __bss_end
1: cmp x1, x2
  b.hs 2f
  stp xzr, xzr, [x1], #16
  b 1b
2:
  adr_l x1, boot_stack_top
  mov sp, x1

  // Apply R_AARCH64_RELATIVE relocations: the image is linked at 0.
  adr_l x21, _text
  adr_l x1, __rela_start
  adr_l x2, __rela_end
3: cmp x1, x2
  b.hs 5f
  ldp x3, x4, [x1], #16     // r_offset, r_info
  ldr x5, [x1], #8          // r_addend
  cmp w4, #R_AARCH64_RELATIVE
  b.ne 4f
  add x5, x5, x21
  str x5, [x21, x3]
  b 3b
4: b 4b                     // any other relocation type: cannot run
5:
  adr_l x1, vectors
  msr vbar_el1, x1
  isb

  mov x0, x19
  lsr x1, x20, #2
  bl boot_main
6: wfi
  b 6b
  .ltorg

// The vector table: each entry saves x0/x1, passes its index and joins
// vector_common, which saves a struct frame on SP_EL1 and calls
// exception_entry(frame, index).
.macro ventry idx
  .balign 0x80
  sub sp, sp, #FRAME_SIZE
  stp x0, x1, [sp, #0]
  mov x1, #\idx
  b vector_common
.endm

  .balign 0x800
  .globl vectors
vectors:
  ventry 0
  ventry 1
  ventry 2
  ventry 3
  ventry 4
  ventry 5
  ventry 6
  ventry 7
  ventry 8
  ventry 9
  ventry 10
  ventry 11
  ventry 12
  ventry 13
  ventry 14
  ventry 15

vector_common:
  stp x2, x3, [sp, #16]
  stp x4, x5, [sp, #32]
  stp x6, x7, [sp, #48]
  stp x8, x9, [sp, #64]
  stp x10, x11, [sp, #80]
  stp x12, x13, [sp, #96]
  stp x14, x15, [sp, #112]
  stp x16, x17, [sp, #128]
  stp x18, x19, [sp, #144]
  stp x20, x21, [sp, #160]
  stp x22, x23, [sp, #176]
  stp x24, x25, [sp, #192]
  stp x26, x27, [sp, #208]
  stp x28, x29, [sp, #224]
  mrs x2, sp_el0
  stp x30, x2, [sp, #FRAME_X30]
  mrs x2, elr_el1
  mrs x3, spsr_el1
  stp x2, x3, [sp, #FRAME_ELR]
  mov x0, sp
  bl exception_entry
  ldp x2, x3, [sp, #FRAME_ELR]
  msr elr_el1, x2
  msr spsr_el1, x3
  ldp x30, x2, [sp, #FRAME_X30]
  msr sp_el0, x2
  ldp x28, x29, [sp, #224]
  ldp x26, x27, [sp, #208]
  ldp x24, x25, [sp, #192]
  ldp x22, x23, [sp, #176]
  ldp x20, x21, [sp, #160]
  ldp x18, x19, [sp, #144]
  ldp x16, x17, [sp, #128]
  ldp x14, x15, [sp, #112]
  ldp x12, x13, [sp, #96]
  ldp x10, x11, [sp, #80]
  ldp x8, x9, [sp, #64]
  ldp x6, x7, [sp, #48]
  ldp x4, x5, [sp, #32]
  ldp x2, x3, [sp, #16]
  ldp x0, x1, [sp, #0]
  add sp, sp, #FRAME_SIZE
  eret

// psci_call(fn, a1, a2, a3, conduit): conduit 1 = HVC, 2 = SMC.
  .globl psci_call
psci_call:
  cmp x4, #2
  b.eq 1f
  hvc #0
  ret
1: smc #0
  ret

// enter_el0(entry, user_sp, arg0, arg1): runs entry at EL0t and returns the
// value user code passes to the exit system call. The EL1 context is kept
// in el0_ctx; the exit handler ERETs to el0_return at EL1h.
  .globl enter_el0
enter_el0:
  adr_l x9, el0_ctx
  stp x19, x20, [x9, #0]
  stp x21, x22, [x9, #16]
  stp x23, x24, [x9, #32]
  stp x25, x26, [x9, #48]
  stp x27, x28, [x9, #64]
  stp x29, x30, [x9, #80]
  mov x10, sp
  str x10, [x9, #96]
  msr sp_el0, x1
  msr elr_el1, x0
  msr spsr_el1, xzr         // EL0t, interrupts unmasked at EL0
  mov x0, x2
  mov x1, x3
  // No EL1 values leak into EL0.
  mov x2, xzr
  mov x3, xzr
  mov x4, xzr
  mov x5, xzr
  mov x6, xzr
  mov x7, xzr
  mov x8, xzr
  mov x9, xzr
  mov x10, xzr
  mov x11, xzr
  mov x12, xzr
  mov x13, xzr
  mov x14, xzr
  mov x15, xzr
  mov x16, xzr
  mov x17, xzr
  mov x18, xzr
  mov x19, xzr
  mov x20, xzr
  mov x21, xzr
  mov x22, xzr
  mov x23, xzr
  mov x24, xzr
  mov x25, xzr
  mov x26, xzr
  mov x27, xzr
  mov x28, xzr
  mov x29, xzr
  mov x30, xzr
  eret

  .globl el0_return
el0_return:
  adr_l x9, el0_ctx
  ldp x19, x20, [x9, #0]
  ldp x21, x22, [x9, #16]
  ldp x23, x24, [x9, #32]
  ldp x25, x26, [x9, #48]
  ldp x27, x28, [x9, #64]
  ldp x29, x30, [x9, #80]
  ldr x10, [x9, #96]
  mov sp, x10
  ret

  .bss
  .balign 16
el0_ctx:
  .space 112
  .balign 16
boot_stack:
  .space 32768
  .globl boot_stack_top
boot_stack_top:
