// The save-stream fuzzer (src/host/fuzz/stream_fuzzer.ts): a short run in the
// suite (XENTS_SEED replays it; the seed is printed) and the command with its
// defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzStreams } from "../../src/host/fuzz/stream_fuzzer.js";
import { fuzzRun, fuzzCliDefaults } from "../helpers/fuzz.js";

const { seed, iterations } = fuzzRun("streams", 100);

test(`stream fuzzer: ${iterations} damaged save streams restored (seed ${seed})`, () => {
  const r = fuzzStreams({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.deepEqual(r.leak_examples, []);
  assert.ok(r.accounting_ok);
  assert.equal(r.audit_failures, 0);
  assert.equal(r.restored + r.refused, iterations);
  assert.ok(r.refused > iterations / 3 && r.restored > 0, `${r.refused} refused, ${r.restored} restored`);
});

test("xents fuzz streams --json with its defaults: clean, exit 0", () => {
  fuzzCliDefaults("streams", 100);
});
