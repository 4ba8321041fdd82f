// The qcow2 fuzzer (src/host/fuzz/qcow2_fuzzer.ts): a short run in the suite
// (XENTS_SEED replays it; the seed is printed) and the command with its
// defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzQcow2 } from "../../src/host/fuzz/qcow2_fuzzer.js";
import { fuzzRun, fuzzCliDefaults } from "../helpers/fuzz.js";

const { seed, iterations } = fuzzRun("qcow2", 1500);

test(`qcow2 fuzzer: ${iterations} damaged images (seed ${seed})`, () => {
  const r = fuzzQcow2({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.deepEqual(r.leak_examples, [], "every file descriptor closed again");
  assert.ok(r.accounting_ok);
  assert.ok(r.opened > 0 && r.refused > 0 && r.operations > 0);
  for (const re of [/is an image of its own chain \(a loop\)/, /is corrupt: .* lies outside the file/]) assert.ok(r.distinct_results.some((d) => re.test(d)), `never: ${re}`);
});

// Found by the command's defaults: an L2 entry damaged into a compressed
// cluster whose bytes are not a deflate stream threw zlib's own error out of
// the reader instead of "corrupt".
test("qcow2 fuzzer, seed 518513636: a compressed cluster that does not inflate is corrupt, not a host exception", () => {
  const r = fuzzQcow2({ iterations: 2000, seed: 518513636 });
  assert.deepEqual(r.exception_messages, []);
  assert.ok(r.distinct_results.some((d) => /compressed cluster at N does not inflate/.test(d)), "the damaged compressed cluster was met and refused");
});

test("xents fuzz qcow2 --json with its defaults: clean, exit 0", () => {
  fuzzCliDefaults("qcow2", 2000);
});
