// One differential test of an instruction class against qemu-aarch64: `count`
// cases from the seed (XENTS_SEED), each a random base state and what `gen`
// adds to it, run on both sides and compared. With `maxSteps`, a case gets
// 1..maxSteps calls of gen (at most six instructions); without it, one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, seedFromEnv } from "./rng.js";
import { differential, DiffCase } from "./harness.js";
import { baseCase, Gen } from "./gen_int.js";

export function diffClassTest(name: string, gen: Gen, o: { count: number; maxSteps?: number; seedMul: number }): void {
  test(`differential vs qemu: ${name} (${o.count} cases)`, () => {
    const seed = seedFromEnv();
    const rng = new Rng(seed ^ BigInt(name.length * o.seedMul));
    const cases: DiffCase[] = [];
    for (let i = 0; i < o.count; i++) {
      const c = baseCase(rng);
      if (o.maxSteps === undefined) gen(rng, c, i);
      else {
        const steps = 1 + rng.int(o.maxSteps);
        for (let s = 0; s < steps && c.insns.length < 6; s++) gen(rng, c, i);
      }
      if (c.insns.length === 0) c.insns.push(0xD503201F); // NOP
      cases.push(c);
    }
    const r = differential(cases, name, seed);
    assert.deepEqual(r.failures, [], r.failures.join("\n"));
    assert.equal(r.cases, o.count);
  });
}
