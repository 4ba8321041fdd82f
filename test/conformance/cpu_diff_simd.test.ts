// Differential conformance of the integer Advanced SIMD groups, the SIMD
// structure loads/stores and the crypto extension against qemu-aarch64.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, seedFromEnv, caseCount } from "../diff/rng.js";
import { differential, DiffCase } from "../diff/harness.js";
import { baseCase } from "../diff/gen_int.js";
import { Gen, genThreeSame, genThreeDiff, genIndexed, genMisc, genAcross, genCopy, genModImm, genPermute, genShiftImm, genLdStSimd, genCrypto } from "../diff/gen_simd.js";

const N = caseCount("XENTS_DIFF_CASES", 3000);

function groupTest(name: string, gen: Gen, maxSteps = 3, count = N): void {
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

groupTest("simd three same", genThreeSame);
groupTest("simd three different", genThreeDiff);
groupTest("simd by element", genIndexed);
groupTest("simd two-register misc", genMisc);
groupTest("simd across lanes", genAcross);
groupTest("simd copy", genCopy);
groupTest("simd modified immediate", genModImm);
groupTest("simd permute, EXT, TBL/TBX", genPermute);
groupTest("simd shift by immediate", genShiftImm);
groupTest("simd structure loads and stores", genLdStSimd, 1);
groupTest("crypto (AES, SHA1, SHA256, PMULL.1Q)", genCrypto);
