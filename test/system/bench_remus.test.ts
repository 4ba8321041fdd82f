// `xents bench remus --json` with its defaults (README): Remus at 25, 50,
// 100 and 200 ms beside the same guest unprotected, and a fail-over per
// interval seen by a pinging client. Speed goals live in the benchmark's
// figures, not here: this checks that every figure was measured.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { XENTS_BIN } from "../helpers/cli.js";

test("xents bench remus --json: checkpoints, pauses, slowdowns and fail-over gaps per interval, beside the unprotected guest", (t) => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "remus", "--json"], { encoding: "utf8", timeout: 1_200_000 });
  assert.equal(r.status, 0, r.stderr);
  t.diagnostic(r.stdout.trim());
  type I = Record<string, number> & { pause_parts_ms: Record<string, number> };
  const j = JSON.parse(r.stdout) as { benchmark: string; memory_mib: number; unprotected: Record<string, number>; intervals: I[] };
  assert.equal(j.benchmark, "remus");
  assert.equal(j.memory_mib, 160);
  assert.ok(j.unprotected.cpu_s > 0 && j.unprotected.ping_rtt_ms > 0, JSON.stringify(j.unprotected));
  assert.deepEqual(j.intervals.map((i) => i.interval_ms), [25, 50, 100, 200]);
  for (const i of j.intervals) {
    assert.ok(i.checkpoints_per_s > 0 && i.checkpoints_per_s <= 1000 / i.interval_ms + 1, `checkpoints happened, no more often than the interval: ${JSON.stringify(i)}`);
    assert.ok(i.pause_ms > 0 && i.pages_per_checkpoint > 0 && i.kib_per_checkpoint > 0, JSON.stringify(i));
    assert.ok(Object.values(i.pause_parts_ms).every((x) => x >= 0), JSON.stringify(i.pause_parts_ms));
    assert.ok(i.slowdown_cpu > 0 && i.slowdown_net > 0 && i.cpu_s > 0 && i.ping_rtt_ms > 0, JSON.stringify(i));
    assert.ok(i.failover_gap_ms > 0 && i.failover_gap_ms < 30_000, `the client was answered again after the fail-over: ${JSON.stringify(i)}`);
  }
});
