// The hypercall fuzzer (src/host/fuzz/hypercall_fuzzer.ts): a short run in
// the suite (XENTS_SEED replays it; the seed is printed) and the command
// with its defaults. Long runs are the command's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fuzzHypercalls } from "../src/host/fuzz/hypercall_fuzzer.js";
import { parseSeed } from "../src/host/fuzz/rng.js";
import { XENTS_BIN } from "./helpers/cli.js";

const seed = parseSeed(process.env.XENTS_SEED);
const iterations = Number(process.env.XENTS_FUZZ_ITERATIONS ?? 5000);

test(`hypercall fuzzer: ${iterations} calls, audited after each (seed ${seed})`, () => {
  process.stderr.write(`hypercall fuzzer seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  assert.ok(Number.isInteger(iterations) && iterations > 0, "XENTS_FUZZ_ITERATIONS must be at least 1");
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
  const r = spawnSync(process.execPath, [XENTS_BIN, "fuzz", "hypercalls", "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const j = JSON.parse(r.stdout) as { clean: boolean; target: string; iterations: number; distinct_results: string[]; accounting_ok: boolean };
  assert.equal(j.target, "hypercalls");
  assert.equal(j.clean, true);
  assert.equal(j.iterations, 2000);
  assert.ok(j.accounting_ok && j.distinct_results.length > 50);
});
