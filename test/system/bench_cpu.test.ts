// `xents bench cpu --json` with its defaults, and its refusal to report
// times for work whose results differ between xents and QEMU.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { benchCpu } from "../../src/tools/bench_cpu.js";
import { XENTS_BIN } from "../helpers/cli.js";

test("xents bench cpu --json: the same program the same number of times on each side, checksums equal", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "cpu", "--json"], { encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.benchmark, "cpu");
  assert.equal(j.program, "bench/programs/cpu_bench.c");
  assert.equal(j.runs, 3);
  assert.equal(j.checksum_match, true);
  assert.ok((j.instructions as number) > 100e6, `${j.instructions} instructions`);
  for (const k of ["xents_s", "qemu_s", "mips", "interpreter_mips", "qemu_mips", "ratio"]) assert.ok((j[k] as number) > 0, `${k} = ${j[k]}`);
  // The translated side really ran translated, without a translator failure.
  const jit = j.jit as Record<string, number | boolean>;
  assert.equal(jit.enabled, true);
  assert.equal(jit.errors, 0);
  assert.ok((jit.instructions_translated as number) > (j.instructions as number) / 2, `${jit.instructions_translated} of ${j.instructions} translated`);
});

test("bench cpu refuses a program whose output differs between xents and QEMU", () => {
  assert.throws(() => benchCpu(1, 1, "test/programs/user/pid_hex.c"), /checksums differ/);
});
