// `xents bench dma --json` with its defaults (README): the SMMU's cost per
// page beside the hypervisor's own lookup, and the passed-through disk
// beside the host reading the same image, in the same run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { XENTS_BIN } from "../helpers/cli.js";

test("xents bench dma --json: the SMMU's cost per page and the passed-through disk, each beside its reference", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "dma", "--json"], { encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, number | string>;
  assert.equal(j.benchmark, "dma");
  assert.equal(j.disk_read_mib, 64);
  for (const k of ["smmu_cached_ns_per_page", "smmu_walk_ns_per_page", "reference_p2m_ns_per_page", "disk_read_mib_s", "reference_host_read_mib_s"]) assert.ok((j[k] as number) > 0, `${k} = ${j[k]}`);
  assert.ok(Math.abs((j.smmu_cached_vs_reference as number) - (j.smmu_cached_ns_per_page as number) / (j.reference_p2m_ns_per_page as number)) < 0.02);
});
