// Decode accuracy of the AdvSIMD and SIMD structure load/store space: random
// instruction words, with qemu-aarch64 (cortex-a57) as the oracle for which
// are allocated. xents must raise UNDEFINED exactly for the words QEMU
// rejects, floating point included (nothing is excused), and every
// allocated word must then produce QEMU's results.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Core, Exit, CTRL_EXC_TO_HOST, SR } from "../../src/cpu/cpu.js";
import { Rng, seedFromEnv, caseCount } from "../diff/rng.js";
import { differential, disassemble, DiffCase, scratchAddr } from "../diff/harness.js";
import { baseCase } from "../diff/gen_int.js";
import { qemuIllegal } from "../diff/sigill.js";

const N = caseCount("XENTS_DECODE_CASES", 20000);
const RAM_BASE = 0x40000000n;

function isLdSt(w: number): boolean { return ((w >>> 0) & 0xBE000000) === 0x0C000000; }

// A random word in one of the spaces: vector AdvSIMD (0xx0 111x), scalar
// AdvSIMD and crypto (01x1 111x), structure loads/stores (0x00 110x) with a
// base register x0-x29.
function randomWord(rng: Rng): number {
  const r = Number(rng.next64() & 0xFFFFFFFFn);
  switch (rng.int(3)) {
    case 0: return ((r & 0x6FFFFFFF) | 0x0E000000) >>> 0;
    case 1: return ((r & 0x3FFFFFFF) | 0x5E000000) >>> 0;
    default: return (((r & 0x41FFFC1F) | 0x0C000000) | (rng.int(30) << 5)) >>> 0;
  }
}

// Runs each word alone on a bare core: true when it raised UNDEFINED.
function xentsUndefined(words: number[]): (boolean | string)[] {
  const core = new Core({ ramBase: RAM_BASE, ramSize: 1 << 20 });
  const cpu = core.createVcpu();
  cpu.setSys(SR.CPACR, 3n << 20n);
  cpu.setSys(SR.CTRL, CTRL_EXC_TO_HOST);
  const code = core.ram(RAM_BASE, 4);
  return words.map((w) => {
    new DataView(code.buffer, code.byteOffset, 4).setUint32(0, w >>> 0, true);
    cpu.pc = RAM_BASE;
    cpu.pstate = 0x3C5n;
    for (let r = 0; r < 30; r++) cpu.setX(r, RAM_BASE + 0x8000n);
    const e = cpu.run(1n);
    if (e === Exit.BUDGET) return false;
    if (e === Exit.EXCEPTION && cpu.exitEsr >> 26n === 0n) return true;
    return `exit ${e} esr 0x${cpu.exitEsr.toString(16)}`;
  });
}

test(`decode fuzz vs qemu: UNDEFINED exactly where QEMU says so, then equal results (${N} words)`, (t) => {
  const seed = seedFromEnv();
  const rng = new Rng(seed ^ 0x5151n);
  const words = Array.from({ length: N }, () => randomWord(rng));
  const qIll = qemuIllegal(words);
  const xUnd = xentsUndefined(words);
  // disassemble only the words that disagree (in chunks: objdump output is large)
  const odd = words.map((_, i) => i).filter((i) => typeof xUnd[i] === "string" || qIll[i] !== xUnd[i]);
  const dis = new Map<number, string>();
  for (let k = 0; k < odd.length; k += 2000) {
    const part = odd.slice(k, k + 2000);
    disassemble(part.map((i) => words[i])).forEach((d, j) => dis.set(part[j], d));
  }
  const mismatches: string[] = [];
  const legal: number[] = [];
  words.forEach((w, i) => {
    const x = xUnd[i];
    const d = dis.get(i) ?? "?";
    if (typeof x === "string") { mismatches.push(`0x${w.toString(16)} ${d}: xents ${x}`); return; }
    if (qIll[i] === x) { if (!x) legal.push(i); return; }
    mismatches.push(`0x${w.toString(16)} ${d}: qemu ${qIll[i] ? "UNDEFINED" : "executes"}, xents ${x ? "UNDEFINED" : "executes"}`);
  });
  t.diagnostic(`${legal.length} allocated words compared, ${qIll.filter((b) => b).length} UNDEFINED in both`);
  assert.equal(legal.length + qIll.filter((b) => b).length, words.length, "every word compared");
  assert.deepEqual(mismatches.slice(0, 20), [], `seed ${seed}: ${mismatches.length} decode mismatches`);

  // Results of every allocated word (one per case, registers random).
  const cases: DiffCase[] = legal.map((wi, k) => {
    const c = baseCase(rng);
    if (isLdSt(words[wi])) for (let r = 0; r < 30; r++) c.x[r] = scratchAddr(k) + 128n;
    if (rng.int(8) === 0) c.fpsr = 1 << 27;
    c.insns.push(words[wi]);
    return c;
  });
  const r = differential(cases, "decode fuzz", seed);
  assert.deepEqual(r.failures, [], r.failures.join("\n"));
  assert.equal(r.cases, cases.length);
});
