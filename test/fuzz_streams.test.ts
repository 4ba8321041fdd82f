// The save-stream fuzzer (src/host/fuzz/stream_fuzzer.ts): a short run in the
// suite (XENTS_SEED replays it; the seed is printed) and the command with its
// defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fuzzStreams } from "../src/host/fuzz/stream_fuzzer.js";
import { parseSeed } from "../src/host/fuzz/rng.js";
import { XENTS_BIN } from "./helpers/cli.js";

const seed = parseSeed(process.env.XENTS_SEED);
const iterations = Number(process.env.XENTS_FUZZ_ITERATIONS ?? 100);

test(`stream fuzzer: ${iterations} damaged save streams restored (seed ${seed})`, () => {
  process.stderr.write(`stream fuzzer seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  assert.ok(Number.isInteger(iterations) && iterations > 0, "XENTS_FUZZ_ITERATIONS must be at least 1");
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
  const r = spawnSync(process.execPath, [XENTS_BIN, "fuzz", "streams", "--json"], { encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const j = JSON.parse(r.stdout) as { clean: boolean; target: string; iterations: number };
  assert.equal(j.target, "streams");
  assert.equal(j.clean, true);
  assert.equal(j.iterations, 100);
});
