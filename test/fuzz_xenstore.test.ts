// The xenstore fuzzer (src/host/fuzz/xenstore_fuzzer.ts): a short run in the
// suite (XENTS_SEED replays it; the seed is printed) and the command with
// its defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fuzzXenstore } from "../src/host/fuzz/xenstore_fuzzer.js";
import { parseSeed } from "../src/host/fuzz/rng.js";
import { XENTS_BIN } from "./helpers/cli.js";

const seed = parseSeed(process.env.XENTS_SEED);
const iterations = Number(process.env.XENTS_FUZZ_ITERATIONS ?? 5000);

test(`xenstore fuzzer: ${iterations} messages over a guest ring and the socket (seed ${seed})`, async () => {
  process.stderr.write(`xenstore fuzzer seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  assert.ok(Number.isInteger(iterations) && iterations > 0, "XENTS_FUZZ_ITERATIONS must be at least 1");
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
  const r = spawnSync(process.execPath, [XENTS_BIN, "fuzz", "xenstore", "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const j = JSON.parse(r.stdout) as { clean: boolean; target: string; iterations: number; accounting_ok: boolean };
  assert.equal(j.target, "xenstore");
  assert.equal(j.clean, true);
  assert.equal(j.iterations, 2000);
});
