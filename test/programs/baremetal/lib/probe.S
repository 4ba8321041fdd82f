// Single-instruction memory probes: exception handlers recognise the
// faulting instruction by its label and may skip it (ELR += 4).

  .text
  .globl probe_read, probe_read_insn
// u64 probe_read(u64 va)
probe_read:
probe_read_insn:
  ldr x0, [x0]
  ret

  .globl probe_write, probe_write_insn
// void probe_write(u64 va, u64 value)
probe_write:
probe_write_insn:
  str x1, [x0]
  ret
