// Single-purpose routines for the misc program: exceptions raised from a
// known instruction (exported as *_insn) at EL1h, EL1t and EL0.

  .text
  .globl brk_el1h, brk_el1h_insn
brk_el1h:
brk_el1h_insn:
  brk #0x123
  ret

// BRK with PSTATE.SP = 0 (EL1t): taken to the "current EL with SP_EL0" vector.
  .globl brk_el1t, brk_el1t_insn
brk_el1t:
  msr spsel, #0
brk_el1t_insn:
  brk #0x456
  msr spsel, #1
  ret

  .globl svc_el1, svc_el1_insn
svc_el1:
svc_el1_insn:
  svc #0x42
  ret

  .globl udf_el1, udf_el1_insn
udf_el1:
udf_el1_insn:
  udf #0x1
  ret

// sp_load_el1t(u64 sp): at EL1t, load through SP_EL0 = sp. With SCTLR_EL1.SA
// set and sp not 16-byte aligned this is an SP alignment fault; the
// handler skips the load. The EL1 stack (SP_EL1) is left alone, so the
// vector can still use it.
  .globl sp_load_el1t, sp_load_el1t_insn
sp_load_el1t:
  msr spsel, #0
  mov x2, sp
  mov sp, x0
  sub sp, sp, #8            // arithmetic on a misaligned SP is not checked
  add sp, sp, #8
sp_load_el1t_insn:
  ldr x1, [sp]
  mov sp, x2
  msr spsel, #1
  ret

// branch_to(u64 target): BLR to target (misaligned): PC alignment fault;
// the handler returns to the link register.
  .globl branch_to
branch_to:
  stp x29, x30, [sp, #-16]!
  blr x0
  ldp x29, x30, [sp], #16
  ret

  .globl branch_target
branch_target:
  ret

// dc_zva(u64 addr)
  .globl dc_zva
dc_zva:
  dc zva, x0
  ret

// EL0 part: an SVC (lower-EL vector), an SP alignment fault at EL0 (SA0),
// then exit via SVC #0.
  .section .user.text, "ax"
  .globl misc_user, misc_user_svc, misc_user_sp_insn
misc_user:
misc_user_svc:
  svc #0x77
  mov x9, sp
  sub sp, sp, #8
misc_user_sp_insn:
  ldr x1, [sp]
  mov sp, x9
  mov x0, #0
  svc #0
1: b 1b
