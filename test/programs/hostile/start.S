// Entry of a bare-metal arm64 "Image" guest: the 64-byte Image header
// (Documentation/arm64/booting.rst), a stack, an exception vector that skips
// the faulting instruction, then C.
    .section .head, "ax"
    .globl _start
_start:
    b       entry                   // code0
    .word   0                       // code1
    .quad   0                       // text_offset
    .quad   image_end - _start      // image_size
    .quad   0xa                     // flags: little-endian, 4K pages, anywhere
    .quad   0, 0, 0                 // res2-res4
    .ascii  "ARM\x64"               // magic
    .word   0                       // res5

    .text
entry:
    mov     x20, x0                 // DTB address
    ldr     x1, =stack_top
    mov     sp, x1
    ldr     x1, =vectors
    msr     vbar_el1, x1
    isb
    mov     x0, x20
    bl      main
1:  wfi
    b       1b

// Every exception: count it, skip the instruction that caused it (for
// synchronous ones), return.
    .balign 2048
vectors:
    .rept   16
    .balign 128
    b       exc
    .endr
exc:
    sub     sp, sp, #32
    stp     x0, x1, [sp]
    ldr     x0, =exceptions_taken
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    mrs     x0, elr_el1
    add     x0, x0, #4
    msr     elr_el1, x0
    ldp     x0, x1, [sp]
    add     sp, sp, #32
    eret
