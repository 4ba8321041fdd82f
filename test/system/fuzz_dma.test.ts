// The DMA fuzzer (src/host/fuzz/dma_fuzzer.ts): a short run in the suite
// (XENTS_SEED replays it; the seed is printed) and the command with its
// defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzDma } from "../../src/host/fuzz/dma_fuzzer.js";
import { fuzzRun, fuzzCliDefaults } from "../helpers/fuzz.js";

const { seed, iterations } = fuzzRun("dma", 1500);

test(`dma fuzzer: ${iterations} hostile and checked uses of a passed-through disk (seed ${seed})`, () => {
  const r = fuzzDma({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.deepEqual(r.leak_examples, []);
  assert.equal(r.leaks, 0);
  assert.equal(r.audit_failures, 0);
  assert.equal(r.wrong_answers, 0);
  assert.ok(r.accounting_ok);
  assert.ok(r.faults_logged > 0, "hostile DMA faulted in the SMMU");
  assert.ok(r.good_requests > iterations / 5, `${r.good_requests} checked requests completed`);
  assert.ok(r.pages_given_back > 0);
  for (const seen of ["good read", "good write", "hostile buffer", "hostile desc ring", "hostile avail ring", "hostile used ring", "random chain", "register", "give back"]) {
    assert.ok(r.distinct_results.includes(seen), `never: ${seen}`);
  }
});

test("xents fuzz dma --json with its defaults: clean, exit 0", () => {
  const j = fuzzCliDefaults("dma", 2000);
  assert.ok((j.faults_logged as number) > 0);
});
