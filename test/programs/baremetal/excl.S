// Exclusive-access loops for the excl program. Each returns what the C side
// prints; none depends on how often a store-exclusive fails spuriously.

  .text

// void inc64(u64 *p, u64 n): n increments with LDXR/STXR
  .globl inc64
inc64:
1: ldxr x2, [x0]
  add x2, x2, #1
  stxr w3, x2, [x0]
  cbnz w3, 1b
  subs x1, x1, #1
  b.ne 1b
  ret

// void inc32_acqrel(u32 *p, u64 n): LDAXR/STLXR on a word
  .globl inc32_acqrel
inc32_acqrel:
1: ldaxr w2, [x0]
  add w2, w2, #1
  stlxr w3, w2, [x0]
  cbnz w3, 1b
  subs x1, x1, #1
  b.ne 1b
  ret

// void inc8(u8 *p, u64 n): LDXRB/STXRB
  .globl inc8
inc8:
1: ldxrb w2, [x0]
  add w2, w2, #1
  stxrb w3, w2, [x0]
  cbnz w3, 1b
  subs x1, x1, #1
  b.ne 1b
  ret

// void inc16(u16 *p, u64 n): LDAXRH/STLXRH
  .globl inc16
inc16:
1: ldaxrh w2, [x0]
  add w2, w2, #1
  stlxrh w3, w2, [x0]
  cbnz w3, 1b
  subs x1, x1, #1
  b.ne 1b
  ret

// void inc_pair(u64 p[2], u64 n): LDXP/STXP, p[0] += 1, p[1] += 2
  .globl inc_pair
inc_pair:
1: ldxp x2, x3, [x0]
  add x2, x2, #1
  add x3, x3, #2
  stxp w4, x2, x3, [x0]
  cbnz w4, 1b
  subs x1, x1, #1
  b.ne 1b
  ret

// void inc_pair32_acqrel(u32 p[2], u64 n): LDAXP/STLXP on two words, p[0] += 3, p[1] -= 1
  .globl inc_pair32_acqrel
inc_pair32_acqrel:
1: ldaxp w2, w3, [x0]
  add w2, w2, #3
  sub w3, w3, #1
  stlxp w4, w2, w3, [x0]
  cbnz w4, 1b
  subs x1, x1, #1
  b.ne 1b
  ret

// Spinlock on a word: acquire with LDAXR/STXR, release with STLR.
  .globl spin_lock
spin_lock:
1: ldaxr w1, [x0]
  cbnz w1, 1b
  mov w1, #1
  stxr w2, w1, [x0]
  cbnz w2, 1b
  ret

// u64 spin_trylock(u32 *lock): 1 when taken, 0 when busy
  .globl spin_trylock
spin_trylock:
1: ldaxr w1, [x0]
  cbnz w1, 2f
  mov w1, #1
  stxr w2, w1, [x0]
  cbnz w2, 1b
  mov x0, #1
  ret
2: clrex
  mov x0, #0
  ret

  .globl spin_unlock
spin_unlock:
  stlr wzr, [x0]
  ret

// u64 stxr_after_clrex(u64 *p, u64 v): LDXR, CLREX, STXR -> status
  .globl stxr_after_clrex
stxr_after_clrex:
  ldxr x2, [x0]
  clrex
  stxr w3, x1, [x0]
  mov w0, w3
  ret

// u64 stxr_alone(u64 *p, u64 v): CLREX then STXR with no LDXR -> status
  .globl stxr_alone
stxr_alone:
  clrex
  stxr w3, x1, [x0]
  mov w0, w3
  ret

// u64 stxr_twice(u64 *p, u64 v): LDXR, STXR v, STXR v+1 -> status1 | status2 << 1
  .globl stxr_twice
stxr_twice:
1: ldxr x2, [x0]
  stxr w3, x1, [x0]
  cbnz w3, 1b               // retry until the first one succeeds
  add x4, x1, #1
  stxr w5, x4, [x0]
  lsl w5, w5, #1
  orr w0, w3, w5
  ret

// u64 stxr_across_svc(u64 *p, u64 v): LDXR, SVC #0x55, STXR -> status
// (the exception return clears the local monitor)
  .globl stxr_across_svc
stxr_across_svc:
  ldxr x2, [x0]
  svc #0x55
  stxr w3, x1, [x0]
  mov w0, w3
  ret

// u64 stxr_across_brk(u64 *p, u64 v): LDXR, BRK #0x66, STXR -> status
  .globl stxr_across_brk
stxr_across_brk:
  ldxr x2, [x0]
  brk #0x66
  stxr w3, x1, [x0]
  mov w0, w3
  ret

// u64 inc_with_svc(u64 *p): one increment whose first attempt has an SVC
// between LDXR and STXR; returns the status of that first STXR.
  .globl inc_with_svc
inc_with_svc:
  mov x5, #0                // attempts
  mov x6, #2                // first status (2 = none yet)
1: add x5, x5, #1
  ldxr x2, [x0]
  cmp x5, #1
  b.ne 2f
  svc #0x56
2: add x2, x2, #1
  stxr w3, x2, [x0]
  cmp x6, #2
  csel x6, x3, x6, eq
  cbnz w3, 1b
  mov x0, x6
  ret

// u64 ldxr_at(u64 addr), ldxp_at(u64 addr): single exclusive loads (for
// alignment faults; the handler skips them)
  .globl ldxr_at, ldxr_at_insn
ldxr_at:
ldxr_at_insn:
  ldxr x0, [x0]
  clrex
  ret

  .globl ldxp_at, ldxp_at_insn
ldxp_at:
ldxp_at_insn:
  ldxp x0, x1, [x0]
  clrex
  ret

  .globl ldaxrh_at, ldaxrh_at_insn
ldaxrh_at:
ldaxrh_at_insn:
  ldaxrh w0, [x0]
  clrex
  ret
