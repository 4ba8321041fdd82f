// The xenstore fuzzer (src/host/fuzz/xenstore_fuzzer.ts): a short run in the
// suite (XENTS_SEED replays it; the seed is printed) and the command with
// its defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzXenstore } from "../../src/host/fuzz/xenstore_fuzzer.js";
import { fuzzRun, fuzzCliDefaults } from "../helpers/fuzz.js";

const { seed, iterations } = fuzzRun("xenstore", 5000);

test(`xenstore fuzzer: ${iterations} messages over a guest ring and the socket (seed ${seed})`, async () => {
  const r = await fuzzXenstore({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.deepEqual(r.leak_examples, []);
  assert.equal(r.leaks, 0);
  assert.ok(r.accounting_ok);
  assert.equal(r.messages, iterations);
  assert.ok(r.replies > iterations / 2, `${r.replies} replies`);
  assert.ok(r.socket_messages > 0 && r.ring_cutoffs > 0, "both ways in, and rings cut off for breaking the protocol");
  for (const seen of ["ring READ -> EACCES", "ring WRITE -> WRITE", "ring SET_PERMS -> EACCES", "ring TRANSACTION_END -> TRANSACTION_END", "socket WRITE -> WRITE"]) {
    assert.ok(r.distinct_results.includes(seen), `never: ${seen}`);
  }
});

test("xents fuzz xenstore --json with its defaults: clean, exit 0", () => {
  fuzzCliDefaults("xenstore", 2000);
});
