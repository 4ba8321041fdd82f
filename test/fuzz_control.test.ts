// The control-socket fuzzer (src/host/fuzz/control_fuzzer.ts): a short run in
// the suite (XENTS_SEED replays it; the seed is printed) and the command with
// its defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fuzzControl } from "../src/host/fuzz/control_fuzzer.js";
import { parseSeed } from "../src/host/fuzz/rng.js";
import { XENTS_BIN } from "./helpers/cli.js";

const seed = parseSeed(process.env.XENTS_SEED);
const iterations = Number(process.env.XENTS_FUZZ_ITERATIONS ?? 300);

test(`control fuzzer: ${iterations} requests to a daemon beside a guest it never names (seed ${seed})`, async () => {
  process.stderr.write(`control fuzzer seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  assert.ok(Number.isInteger(iterations) && iterations > 0, "XENTS_FUZZ_ITERATIONS must be at least 1");
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
  const r = spawnSync(process.execPath, [XENTS_BIN, "fuzz", "control", "--json"], { encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const j = JSON.parse(r.stdout) as { clean: boolean; target: string; iterations: number };
  assert.equal(j.target, "control");
  assert.equal(j.clean, true);
  assert.equal(j.iterations, 200);
});
