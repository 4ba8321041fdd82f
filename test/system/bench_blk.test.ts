// `xents bench blk --json` with its defaults (README), and the cold cache
// both sides start each phase from: blk_bench's "drop" must leave none of
// the image in the host page cache (checked with util-linux's fincore).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { buildHost } from "../../src/tools/toolchain.js";
import { XENTS_BIN } from "../helpers/cli.js";

const resident = (f: string): number => Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", f], { encoding: "utf8" }).trim());

test("blk_bench drop writes back and evicts an image's pages from the host page cache", () => {
  const bin = buildHost("bench/programs/blk_bench.c", ["-O2"], "blk_bench");
  const dir = mkdtempSync(join(tmpdir(), "xents-blk-drop-"));
  try {
    const f = join(dir, "img");
    writeFileSync(f, randomBytes(4 << 20));
    readFileSync(f);
    assert.ok(resident(f) > 0, "a file just written and read is cached");
    execFileSync(bin, [f, "drop"]);
    assert.equal(resident(f), 0);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("xents bench blk --json: the guest beside the host on the same requests, the same caching", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "blk", "--json"], { encoding: "utf8", timeout: 900_000 });
  assert.equal(r.status, 0, r.stderr);
  type F = Record<"seq_read_mbps" | "seq_write_mbps" | "rand_read_iops" | "rand_write_iops", number>;
  const j = JSON.parse(r.stdout) as { benchmark: string; format: string; span_mib: number; rand_ops: number; caching: string; guest: F; host: F; guest_vs_host: F };
  assert.equal(j.benchmark, "blk");
  assert.equal(j.format, "raw");
  assert.equal(j.span_mib, 64);
  assert.equal(j.rand_ops, 2000);
  assert.match(j.caching, /dropped before each phase/);
  for (const k of Object.keys(j.guest) as (keyof F)[]) {
    assert.ok(j.guest[k] > 0 && j.host[k] > 0, `${k}: guest ${j.guest[k]}, host ${j.host[k]}`);
    assert.ok(Math.abs(j.guest_vs_host[k] - j.guest[k] / j.host[k]) < 0.002, `${k} ratio`);
  }
});
