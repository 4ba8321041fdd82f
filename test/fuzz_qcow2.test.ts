// The qcow2 fuzzer (src/host/fuzz/qcow2_fuzzer.ts): a short run in the suite
// (XENTS_SEED replays it; the seed is printed) and the command with its
// defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fuzzQcow2 } from "../src/host/fuzz/qcow2_fuzzer.js";
import { parseSeed } from "../src/host/fuzz/rng.js";
import { XENTS_BIN } from "./helpers/cli.js";

const seed = parseSeed(process.env.XENTS_SEED);
const iterations = Number(process.env.XENTS_FUZZ_ITERATIONS ?? 1500);

test(`qcow2 fuzzer: ${iterations} damaged images (seed ${seed})`, () => {
  process.stderr.write(`qcow2 fuzzer seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  assert.ok(Number.isInteger(iterations) && iterations > 0, "XENTS_FUZZ_ITERATIONS must be at least 1");
  const r = fuzzQcow2({ iterations, seed });
  assert.deepEqual(r.exception_messages, []);
  assert.equal(r.host_exceptions, 0);
  assert.deepEqual(r.leak_examples, [], "every file descriptor closed again");
  assert.ok(r.accounting_ok);
  assert.ok(r.opened > 0 && r.refused > 0 && r.operations > 0);
  for (const re of [/is an image of its own chain \(a loop\)/, /is corrupt: .* lies outside the file/]) assert.ok(r.distinct_results.some((d) => re.test(d)), `never: ${re}`);
});

test("xents fuzz qcow2 --json with its defaults: clean, exit 0", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "fuzz", "qcow2", "--json"], { encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const j = JSON.parse(r.stdout) as { clean: boolean; target: string; iterations: number };
  assert.equal(j.target, "qcow2");
  assert.equal(j.clean, true);
  assert.equal(j.iterations, 2000);
});
