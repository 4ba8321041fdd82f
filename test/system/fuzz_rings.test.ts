// The ring fuzzer (src/host/fuzz/ring_fuzzer.ts): a short run in the suite
// (XENTS_SEED replays it; the seed is printed) and the command with its
// defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzRings } from "../../src/host/fuzz/ring_fuzzer.js";
import { fuzzRun, fuzzCliDefaults } from "../helpers/fuzz.js";

const { seed, iterations } = fuzzRun("rings", 6000);

test(`ring fuzzer: ${iterations} hostile blkfront and netfront actions beside a checked victim (seed ${seed})`, async () => {
  const r = await fuzzRings({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.deepEqual(r.leak_examples, []);
  assert.equal(r.leaks, 0);
  assert.equal(r.wrong_answers, 0);
  assert.equal(r.audit_failures, 0);
  assert.ok(r.accounting_ok);
  // the run reached what it is for: answers checked, frames delivered,
  // frontends cut off for breaking the protocol and connected again, the victim served
  assert.ok(r.blk_requests > iterations / 2 && r.net_tx_slots > iterations / 4, `${r.blk_requests} requests, ${r.net_tx_slots} TX slots`);
  assert.ok(r.checked_answers > iterations / 10, `${r.checked_answers} answers checked`);
  assert.ok(r.frames_delivered > 0 && r.cutoffs > 0 && r.reconnects > 0 && r.victim_ios >= Math.floor(iterations / 16));
  for (const seen of ["blk xvda op 0 -> 0", "blk xvda op 1 -> 0", "blk xvdb op 1 -> -1", "blk xvdc op 5 -> 0", "blk xvda op 2 -> -2", "net tx -> 0", "net tx -> -1", "net rx -> 1", "net rx -> -1", "blk xvda runaway producer -> cut off"]) {
    assert.ok(r.distinct_results.includes(seen), `never: ${seen}`);
  }
});

// A reconnect that kept its rings but changed their layout (1 queue, then 3)
// left queue 1 on a page whose header was some older ring's entries; the
// backend rightly answered the stale requests it found there and cut the
// frontend off when its producer went back. The oracle had trusted that ring.
test("ring fuzzer, seed 1859350279: a ring kept across a reconnect that changes its queues is not trusted", async () => {
  const r = await fuzzRings({ iterations: 4790, seed: 1859350279 });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.wrong_answers, 0);
  assert.ok(r.checked_answers > 400, `${r.checked_answers} answers checked`);
});

test("xents fuzz rings --json with its defaults: clean, exit 0", () => {
  fuzzCliDefaults("rings", 2000);
});
