// Unit tests of AdvSIMD behaviour the differential tests cannot reach:
// faulting structure loads/stores, UNDEFINED for reserved encodings, and the
// FP access trap for the AdvSIMD groups.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exit } from "../../src/cpu/cpu.js";
import { bareCore, RAM_BASE } from "../helpers/bare.js";

const RAM_SIZE = 16 << 20;
const RAM_END = RAM_BASE + BigInt(RAM_SIZE);

function fill(cpu: { setV(n: number, lo: bigint, hi?: bigint): void }): void {
  for (let r = 0; r < 32; r++) cpu.setV(r, 0x1111111111111111n * BigInt(r % 15 + 1), 0x0101010101010101n * BigInt(r + 1));
}

for (const [name, insn] of [
  ["LD1 two registers, post-index", "ld1 {v0.16b, v1.16b}, [x0], #32"],
  ["LD4 multiple, post-index by register", "ld4 {v30.4s, v31.4s, v0.4s, v1.4s}, [x0], x2"],
  ["LD3 single lane", "ld3 {v5.d, v6.d, v7.d}[1], [x0], #24"],
  ["LD4R replicate", "ld4r {v2.2d, v3.2d, v4.2d, v5.2d}, [x0], #32"],
] as const) {
  test(`faulting ${name} changes no register and skips the writeback`, () => {
    const { cpu } = bareCore(`${insn}\nhvc #0`, { ramSize: RAM_SIZE });
    fill(cpu);
    const base = RAM_END - 16n; // the first bytes are in RAM, the rest past its end
    cpu.setX(0, base);
    cpu.setX(2, 64n);
    const before = Array.from({ length: 32 }, (_, r) => cpu.v(r));
    const exit = cpu.run(100n);
    assert.equal(exit, Exit.DABT, "the access past RAM exits");
    assert.equal(cpu.exitFar >= RAM_END, true);
    assert.equal(cpu.x(0), base, "no base writeback");
    for (let r = 0; r < 32; r++) assert.deepEqual(cpu.v(r), before[r], `v${r} unchanged`);
  });
}

test("faulting ST2 skips the writeback", () => {
  const { cpu } = bareCore("st2 {v0.2d, v1.2d}, [x0], #32\nhvc #0", { ramSize: RAM_SIZE });
  cpu.setX(0, RAM_END - 8n);
  const exit = cpu.run(100n);
  assert.notEqual(exit, Exit.HVC);
  assert.equal(cpu.x(0), RAM_END - 8n);
});

test("structure loads and stores wrap from v31 to v0 and post-index", () => {
  const { core, cpu } = bareCore(`
    ld4 {v30.8b, v31.8b, v0.8b, v1.8b}, [x0], #32
    st1 {v31.2d, v0.2d, v1.2d}, [x1], x2
    hvc #0`, { ramSize: RAM_SIZE });
  fill(cpu);
  const src = RAM_BASE + 0x1000n, dst = RAM_BASE + 0x2000n;
  const mem = core.ram(src, 32);
  for (let i = 0; i < 32; i++) mem[i] = i;
  cpu.setX(0, src); cpu.setX(1, dst); cpu.setX(2, 100n);
  assert.equal(cpu.run(100n), Exit.HVC);
  assert.equal(cpu.x(0), src + 32n);
  assert.equal(cpu.x(1), dst + 100n);
  // structure e = bytes 4e..4e+3 go to v30, v31, v0, v1 element e
  assert.deepEqual(cpu.v(30), [0x1c1814100c080400n, 0n]);
  assert.deepEqual(cpu.v(31), [0x1d1915110d090501n, 0n]);
  assert.deepEqual(cpu.v(0), [0x1e1a16120e0a0602n, 0n]);
  assert.deepEqual(cpu.v(1), [0x1f1b17130f0b0703n, 0n]);
  const out = Buffer.from(core.ram(dst, 48));
  assert.equal(out.readBigUInt64LE(0), 0x1d1915110d090501n);
  assert.equal(out.readBigUInt64LE(16), 0x1e1a16120e0a0602n);
  assert.equal(out.readBigUInt64LE(32), 0x1f1b17130f0b0703n);
});

// Reserved encodings in the AdvSIMD space must raise UNDEFINED (EC 0).
const reserved: [string, number][] = [
  ["ADD .1D (size 3, Q=0)", 0x0EE08400],
  ["SHADD .2D", 0x4EE00400],
  ["SQDMULH .16B", 0x4E20B400],
  ["ADDP with U=1", 0x6E20BC00],
  ["PMUL .8H", 0x6E609C00],
  ["SADDL size 3", 0x0EE00000],
  ["three-different opcode 1111", 0x0E20F000],
  ["SQDMULL .8B", 0x0E20D000],
  ["ADDV .4S with Q=0", 0x0EB1B800],
  ["ADDV .2D", 0x4EF1B800],
  ["XTN size 3", 0x0EE12800],
  ["CNT .4H", 0x0E605800],
  ["REV16 .4H", 0x0E601800],
  ["DUP imm5=0", 0x0E000400],
  ["INS (general) with Q=0", 0x0E011C00],
  ["UMOV Wd, .D", 0x0E083C00],
  ["SMOV Wd, .S", 0x0E042C00],
  ["MOVI o2=1", 0x0F00FC00],
  ["FMOV .2D imm with Q=0", 0x2F00F400],
  ["SSHR .1D (Q=0)", 0x0F400400],
  ["SHRN immh=1xxx", 0x0F408400],
  ["scalar SSHR .S", 0x5F200400],
  ["scalar ADD .S", 0x5EA08400],
  ["UZP opcode 000", 0x0E000800],
  ["EXT Q=0 imm4>=8", 0x2E004000],
  ["TBL op2!=0", 0x0E400000],
  ["MUL by element, size 0", 0x0F008000],
  ["SQRDMLAH (v8.1)", 0x2E808400],
  ["LD2 .1D", 0x0C408C00],
  ["LD1 multiple, opcode 0001", 0x0C401000],
  ["LD1 no-offset with Rm != 0", 0x0C417000],
  ["LD1 single .h odd size", 0x0D404400],
  ["LD1R with S=1", 0x0D40D000],
  ["ST1R (replicate store)", 0x0D00C000],
  ["LD1 single .d with S=1", 0x0D409400],
];
for (const [name, insn] of reserved) {
  test(`UNDEFINED: ${name}`, () => {
    const { cpu } = bareCore(`.inst 0x${insn.toString(16)}\nhvc #0`);
    cpu.setX(0, RAM_BASE + 0x1000n);
    assert.equal(cpu.run(100n), Exit.EXCEPTION);
    assert.equal(cpu.exitEsr >> 26n, 0n, "EC = unknown");
  });
}

test("AdvSIMD traps when CPACR_EL1.FPEN disables it", () => {
  const { cpu } = bareCore("add v0.16b, v1.16b, v2.16b\nhvc #0");
  cpu.setSys(11 /* CPACR */, 0n);
  assert.equal(cpu.run(100n), Exit.EXCEPTION);
  assert.equal(cpu.exitEsr >> 26n, 0x07n);
});

test("structure load traps when CPACR_EL1.FPEN disables it", () => {
  const { cpu } = bareCore("ld1 {v0.16b}, [x0]\nhvc #0");
  cpu.setSys(11 /* CPACR */, 0n);
  cpu.setX(0, RAM_BASE + 0x1000n);
  assert.equal(cpu.run(100n), Exit.EXCEPTION);
  assert.equal(cpu.exitEsr >> 26n, 0x07n);
});

test("structure load with SP as the base post-indexes SP", () => {
  const { core, cpu } = bareCore("ld1 {v0.2d, v1.2d}, [sp], #32\nld1r {v2.8h}, [sp]\nhvc #0", { ramSize: RAM_SIZE });
  const base = RAM_BASE + 0x3000n;
  const mem = core.ram(base, 34);
  for (let i = 0; i < 34; i++) mem[i] = 0x80 + i;
  cpu.sp = base;
  assert.equal(cpu.run(100n), Exit.HVC);
  assert.equal(cpu.sp, base + 32n);
  assert.deepEqual(cpu.v(0), [0x8786858483828180n, 0x8f8e8d8c8b8a8988n]);
  assert.deepEqual(cpu.v(2), [0xa1a0a1a0a1a0a1a0n, 0xa1a0a1a0a1a0a1a0n]);
});
