import { test } from "node:test";
import assert from "node:assert/strict";
import { Exit } from "../../src/cpu/cpu.js";
import { bareCore } from "../helpers/bare.js";

test("integer arithmetic runs to an HVC exit", () => {
  const { cpu } = bareCore(`
    mov x0, #5
    mov x1, #7
    add x2, x0, x1
    mul x3, x2, x1
    subs x4, x3, #84
    hvc #0x42
  `);
  const r = cpu.run(1000n);
  assert.equal(r, Exit.HVC);
  assert.equal(cpu.x(2), 12n);
  assert.equal(cpu.x(3), 84n);
  assert.equal(cpu.x(4), 0n);
  assert.equal(cpu.nzcv, 0b0110); // Z and C
  assert.equal(cpu.exitEsr & 0xFFFFn, 0x42n);
  assert.equal(cpu.exitEsr >> 26n, 0x16n);
});

// The interpreter runs the NOP-like hints (every HINT #op but WFE, WFI, SEV
// and SEVL: NOP, YIELD, the pointer authentication and BTI hints this CPU
// does not implement, and the unallocated ones) and the barriers (DSB, DMB,
// ISB with every CRm) without a look at the rest of the system space: each
// changes nothing but pc and the instruction count. WFE after SEV still
// consumes the event, and WFI still exits.
test("NOP-like hints and barriers change nothing but pc; WFE, SEV and WFI keep their meaning", () => {
  const words: string[] = [];
  for (let op = 0; op < 128; op++) if (op < 2 || op > 5) words.push(`hint #${op}`);
  for (let crm = 0; crm < 16; crm++) words.push(`dsb #${crm}`, `dmb #${crm}`, `isb #${crm}`);
  const { cpu } = bareCore(`
    mov x0, #0x1234
    adds x1, x0, x0
    ${words.join("\n    ")}
    sev
    wfe
    wfi
  `);
  const before = Array.from({ length: 31 }, (_, i) => i);
  const r = cpu.run(10000n);
  assert.equal(r, Exit.WFI);
  assert.equal(cpu.instret, BigInt(2 + words.length + 3));
  assert.equal(cpu.x(0), 0x1234n);
  assert.equal(cpu.x(1), 0x2468n);
  for (const i of before.slice(2)) assert.equal(cpu.x(i), 0n, `x${i}`);
  assert.equal(cpu.nzcv, 0);
});

// The interpreter's LDR/STR (W, X, unsigned offset) and LDP/STP (X) take a
// path of their own: a pair whose second half leaves RAM stops before
// writing either register or the base (the host sees the access), a
// post-indexed pair writes the base back only after both halves, and a W
// load is zero-extended.
test("LDR, STR, LDP and STP: both halves of a pair before any register, write-back after, W loads zero-extended", () => {
  const end = 0x40000000n + (16n << 20n); // the end of the bare core's RAM
  const { cpu, core } = bareCore(`
    str x5, [x3]
    ldr w4, [x3, #4]
    ldp x1, x2, [x3], #16
    stp x2, x1, [x7, #-16]!
    ldr x8, [x7, #8]
    ldp x1, x2, [x6]
  `);
  cpu.setX(3, 0x40100000n);
  cpu.setX(5, 0xFEDCBA9876543210n);
  cpu.setX(6, end - 8n);
  cpu.setX(7, 0x40200010n);
  core.ram(0x40100008n, 8).set([1, 2, 3, 4, 5, 6, 7, 8]);
  core.ram(end - 8n, 8).fill(0xAB);
  const r = cpu.run(100n);
  assert.equal(r, Exit.DABT);
  assert.equal(cpu.pc, 0x40000014n, "stopped at the last LDP");
  assert.equal(cpu.x(4), 0xFEDCBA98n);
  assert.equal(cpu.x(1), 0xFEDCBA9876543210n, "x1 as the first LDP left it");
  assert.equal(cpu.x(2), 0x0807060504030201n);
  assert.equal(cpu.x(3), 0x40100010n, "post-index write-back");
  assert.equal(cpu.x(7), 0x40200000n, "pre-index write-back");
  assert.equal(cpu.x(8), 0xFEDCBA9876543210n, "STP stored x1 second");
});
