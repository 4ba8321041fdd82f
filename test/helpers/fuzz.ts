// What every fuzzer's test does: take the seed from XENTS_SEED (printing it,
// so a failure can be replayed) and the size from XENTS_FUZZ_ITERATIONS, and
// run `xents fuzz <target> --json` with its defaults.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { parseSeed } from "../../src/host/fuzz/rng.js";
import { XENTS_BIN } from "./cli.js";

export function fuzzRun(target: string, dflt: number): { seed: number; iterations: number } {
  const seed = parseSeed(process.env.XENTS_SEED);
  const iterations = Number(process.env.XENTS_FUZZ_ITERATIONS ?? dflt);
  assert.ok(Number.isInteger(iterations) && iterations > 0, "XENTS_FUZZ_ITERATIONS must be at least 1");
  process.stderr.write(`${target} fuzzer seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  return { seed, iterations };
}

// The command as the README shows it: a clean verdict, exit 0, its default size.
export function fuzzCliDefaults(target: string, iterations: number): Record<string, unknown> {
  const r = spawnSync(process.execPath, [XENTS_BIN, "fuzz", target, "--json"], { encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.target, target);
  assert.equal(j.clean, true);
  assert.equal(j.iterations, iterations);
  return j;
}
