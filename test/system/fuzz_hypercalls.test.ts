// The hypercall fuzzer (src/host/fuzz/hypercall_fuzzer.ts): a short run in
// the suite (XENTS_SEED replays it; the seed is printed) and the command
// with its defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzHypercalls } from "../../src/host/fuzz/hypercall_fuzzer.js";
import { fuzzRun, fuzzCliDefaults } from "../helpers/fuzz.js";

const { seed, iterations } = fuzzRun("hypercalls", 5000);

test(`hypercall fuzzer: ${iterations} calls, audited after each (seed ${seed})`, () => {
  const r = fuzzHypercalls({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.equal(r.first_audit_failure, null);
  assert.deepEqual(r.leak_examples, []);
  assert.equal(r.leaks, 0);
  assert.ok(r.accounting_ok, `${r.frames_lost} frames lost`);
  assert.equal(r.hypercalls, iterations);
  // it reaches the handlers: each of these succeeds sometimes
  for (const ok of [/^memory_op:populate_physmap [1-9]/, /^grant_table_op:setup_table 0/, /^event_channel_op:alloc_unbound 0/, /^sched_op:yield 0/, /^xen_version:version /]) {
    assert.ok(r.distinct_results.some((d) => ok.test(d)), `never: ${ok}`);
  }
  assert.ok(r.distinct_results.length > 150, `${r.distinct_results.length} distinct results`);
});

test("xents fuzz hypercalls --json with its defaults: clean, exit 0", () => {
  const j = fuzzCliDefaults("hypercalls", 2000);
  assert.ok((j.distinct_results as string[]).length > 50 && j.accounting_ok === true);
});
