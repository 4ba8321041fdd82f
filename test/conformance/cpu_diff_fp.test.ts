// Differential conformance of scalar floating point against qemu-aarch64:
// registers, NZCV and FPSR under random FPCR settings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, seedFromEnv, caseCount } from "../diff/rng.js";
import { differential, DiffCase } from "../diff/harness.js";
import { baseCase, Gen } from "../diff/gen_int.js";
import { genFpArith, genFp1, genFpCompare, genFpConvert } from "../diff/gen_fp.js";

const N = caseCount("XENTS_DIFF_CASES", 2000);

function classTest(name: string, gen: Gen, count = N): void {
  test(`differential vs qemu: ${name} (${count} cases)`, () => {
    const seed = seedFromEnv();
    const rng = new Rng(seed ^ BigInt(name.length * 104729));
    const cases: DiffCase[] = [];
    for (let i = 0; i < count; i++) {
      const c = baseCase(rng);
      gen(rng, c, i);
      if (c.insns.length === 0) c.insns.push(0xD503201F);
      cases.push(c);
    }
    const r = differential(cases, name, seed);
    assert.deepEqual(r.failures, [], r.failures.join("\n"));
    assert.equal(r.cases, count);
  });
}

classTest("FP arithmetic (add, sub, mul, div, max, min, fused multiply-add)", genFpArith);
classTest("FP one-source (abs, neg, sqrt, precision conversions, round to integral)", genFp1);
classTest("FP compare and select", genFpCompare);
classTest("FP conversions and moves", genFpConvert);
import { genFpVec } from "../diff/gen_fp.js";
classTest("AdvSIMD floating point (vector, scalar, by element, across, pairwise, fixed point)", genFpVec);
