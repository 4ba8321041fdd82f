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
