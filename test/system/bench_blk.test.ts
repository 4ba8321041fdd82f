// `xents bench blk --json` and `--driver-domain --json` with their defaults (README), and the cold cache
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

test("xents bench blk --driver-domain --json: the guest's disk served by Domain-0 and by a storage driver domain, in the same run, beside the host", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "blk", "--driver-domain", "--json"], { encoding: "utf8", timeout: 1_200_000 });
  assert.equal(r.status, 0, r.stderr);
  type F = Record<"seq_read_mbps" | "seq_write_mbps" | "rand_read_iops" | "rand_write_iops", number>;
  const j = JSON.parse(r.stdout) as { benchmark: string; span_mib: number; rand_ops: number; driver_domain_path: string; host: F; dom0: F & { vs_host: F }; driver_domain: F & { vs_host: F; vs_dom0: F } };
  assert.equal(j.benchmark, "blk");
  assert.equal(j.span_mib, 64);
  assert.equal(j.rand_ops, 2000);
  assert.match(j.driver_domain_path, /xen-blkback .* passed through behind the SMMU/);
  for (const k of ["seq_read_mbps", "seq_write_mbps", "rand_read_iops", "rand_write_iops"] as const) {
    assert.ok(j.host[k] > 0 && j.dom0[k] > 0 && j.driver_domain[k] > 0, `${k}: host ${j.host[k]}, dom0 ${j.dom0[k]}, driver domain ${j.driver_domain[k]}`);
    assert.ok(Math.abs(j.dom0.vs_host[k] - j.dom0[k] / j.host[k]) < 0.002, `${k}: dom0 ratio`);
    assert.ok(Math.abs(j.driver_domain.vs_dom0[k] - j.driver_domain[k] / j.dom0[k]) < 0.002, `${k}: driver domain ratio`);
  }
  assert.match(r.stderr, /d\d+: assigned virtio-blk pt-vda[\s\S]*de-assigned pt-vda/, "the machine disk was the driver domain's, and given back");
});
