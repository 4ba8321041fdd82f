// Differential conformance of the integer classes against qemu-aarch64.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, seedFromEnv, caseCount } from "../diff/rng.js";
import { differential, DiffCase } from "../diff/harness.js";
import { baseCase, genDpImm, genDpReg, genLdSt, genExcl, genBranch, Gen } from "../diff/gen_int.js";

const N = caseCount("XENTS_DIFF_CASES", 2000);

function classTest(name: string, gen: Gen, maxSteps = 3, count = N): void {
  test(`differential vs qemu: ${name} (${count} cases)`, () => {
    const seed = seedFromEnv();
    const rng = new Rng(seed ^ BigInt(name.length * 7919));
    const cases: DiffCase[] = [];
    for (let i = 0; i < count; i++) {
      const c = baseCase(rng);
      const steps = 1 + rng.int(maxSteps);
      for (let s = 0; s < steps && c.insns.length < 6; s++) gen(rng, c, i);
      if (c.insns.length === 0) c.insns.push(0xD503201F);
      cases.push(c);
    }
    const r = differential(cases, name, seed);
    assert.deepEqual(r.failures, [], r.failures.join("\n"));
    assert.equal(r.cases, count);
  });
}

classTest("data processing (immediate)", genDpImm);
classTest("data processing (register)", genDpReg);
classTest("loads and stores", genLdSt, 1);
classTest("exclusives and acquire/release", genExcl, 1);
classTest("branches", genBranch);
