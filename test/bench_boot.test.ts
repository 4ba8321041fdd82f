// `xents bench boot --json` with its defaults (README).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { XENTS_BIN } from "./helpers/cli.js";

test("xents bench boot --json: the same kernel and initramfs to the shell on xents and on QEMU", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "boot", "--json"], { encoding: "utf8", timeout: 900_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, number | string>;
  assert.equal(j.benchmark, "boot");
  assert.equal(j.vcpus, 1);
  assert.equal(j.memory_mib, 256);
  for (const k of ["xents_s", "qemu_s", "ratio", "xents_mips"]) assert.ok((j[k] as number) > 0, `${k} = ${j[k]}`);
  assert.ok((j.instructions as number) > 100e6, `${j.instructions} instructions`);
  assert.ok(Math.abs((j.ratio as number) - (j.xents_s as number) / (j.qemu_s as number)) < 0.01);
});
