// Code that the mmu program runs through the TTBR1 alias of the image. It is
// position independent: adr/adrp give addresses in whichever mapping the PC
// is in, so the data read here goes through TTBR1 as well.

  .text
  .globl alias_fn, alias_brk
// u64 alias_fn(u64 *out): *out = alias_word (read PC-relatively), executes
// BRK #0x77 and returns its own address as seen by adr.
alias_fn:
  adr x1, alias_fn
  adrp x2, alias_word
  add x2, x2, :lo12:alias_word
  ldr x2, [x2]
  str x2, [x0]
alias_brk:
  brk #0x77
  mov x0, x1
  ret

  .data
  .balign 8
  .globl alias_word
alias_word:
  .quad 0x0123456789abcdef
