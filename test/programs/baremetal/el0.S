// EL0 side of the el0 program. Lives in .user.text, mapped EL0 read/execute
// (and EL1 read-only, privileged-execute-never). System calls: SVC #n with
// n = 0 exit(x0), 1 write(x0 = buf, x1 = len), 2 add(x0, x1) -> x0,
// 3 report(x0 = tag, x1 = value), 4 check_zero(x0 = buffer); any other
// immediate is reported by the kernel and returns.

#define SYS_EXIT 0
#define SYS_WRITE 1
#define SYS_ADD 2
#define SYS_REPORT 3
#define SYS_CHECK_ZERO 4

  .section .user.text, "ax"
  .globl user_main
// x0 = address of an EL1-only word, x1 = 64-byte-aligned user scratch (128 bytes)
user_main:
  stp x29, x30, [sp, #-16]!
  mov x19, x0
  mov x20, x1
  // Values the kernel must preserve across every exception.
  movz x21, #0x2121, lsl #48
  movz x22, #0x2222, lsl #32
  movz x23, #0x2323, lsl #16
  movz x24, #0x2424
  movn x25, #0x2525
  movz x26, #0x2626, lsl #48
  movz x27, #0x2727, lsl #32
  movz x28, #0x2828, lsl #16

  adr x0, msg_hello
  mov x1, #(msg_hello_end - msg_hello)
  svc #SYS_WRITE

  .globl user_svc_imm
user_svc_imm:
  svc #0x1234

  mov x0, #5
  mov x1, #37
  svc #SYS_ADD
  mov x1, x0
  mov x0, #1
  svc #SYS_REPORT

  mov x2, #0
  .globl user_ldr_el1
user_ldr_el1:
  ldr x2, [x19]             // EL1-only page: permission fault, kernel skips it
  mov x1, x2
  mov x0, #2
  svc #SYS_REPORT

  adr x3, user_main
  .globl user_str_ro
user_str_ro:
  str xzr, [x3]             // read-only page: permission fault (write)

  .globl user_udf
user_udf:
  udf #0

  .globl user_mrs_sctlr
user_mrs_sctlr:
  mrs x4, sctlr_el1         // EL1 register: UNDEFINED at EL0

  .globl user_mrs_ctr
user_mrs_ctr:
  mrs x5, ctr_el0           // trapped while SCTLR_EL1.UCT = 0; the kernel sets it and retries
  mov x1, x5
  mov x0, #3
  svc #SYS_REPORT

  mrs x1, dczid_el0         // DZP = 1 while SCTLR_EL1.DZE = 0
  mov x0, #4
  svc #SYS_REPORT

  mov x7, #-1
  stp x7, x7, [x20, #0]
  stp x7, x7, [x20, #16]
  stp x7, x7, [x20, #32]
  stp x7, x7, [x20, #48]
  stp x7, x7, [x20, #64]
  stp x7, x7, [x20, #80]
  stp x7, x7, [x20, #96]
  stp x7, x7, [x20, #112]
  .globl user_dc_zva
user_dc_zva:
  dc zva, x20               // trapped while DZE = 0; the kernel sets it and retries
  mrs x1, dczid_el0
  mov x0, #5
  svc #SYS_REPORT
  mov x0, x20
  svc #SYS_CHECK_ZERO

  ldp x29, x30, [sp], #16
  mov x0, #7
  svc #SYS_EXIT
1: b 1b

  .section .user.rodata, "a"
msg_hello:
  .ascii "el0: hello through svc write\n"
msg_hello_end:
