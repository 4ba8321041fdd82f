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
