// The control-socket fuzzer (src/host/fuzz/control_fuzzer.ts): a short run in
// the suite (XENTS_SEED replays it; the seed is printed) and the command with
// its defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzControl } from "../../src/host/fuzz/control_fuzzer.js";
import { fuzzRun, fuzzCliDefaults } from "../helpers/fuzz.js";

const { seed, iterations } = fuzzRun("control", 300);

test(`control fuzzer: ${iterations} requests to a daemon beside a guest it never names (seed ${seed})`, async () => {
  const r = await fuzzControl({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.deepEqual(r.leak_examples, []);
  assert.ok(r.accounting_ok);
  assert.equal(r.audit_failures, 0);
  assert.equal(r.replies, iterations, "every request answered");
  assert.ok(r.distinct_results.some((d) => d.startsWith("create -> ok")), "guests were made and destroyed along the way");
});

test("xents fuzz control --json with its defaults: clean, exit 0", () => {
  fuzzCliDefaults("control", 200);
});
