// `xents bench net --json` and `--driver-domain --json` with their defaults (README): the same program
// moving the same bytes between the guests and on the host's loopback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { XENTS_BIN } from "../helpers/cli.js";

test("xents bench net --json: tcp_xfer moves the same 16 MiB between domUs and on the host's loopback", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "net", "--json"], { encoding: "utf8", timeout: 900_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, number | string | null>;
  assert.equal(j.benchmark, "net");
  assert.equal(j.mib, 16);
  assert.equal(j.program, "bench/programs/tcp_xfer.c");
  for (const k of ["domu_to_domu_mbps", "domu_to_domu_wall_mbps", "host_loopback_mbps", "ratio"]) assert.ok((j[k] as number) > 0, `${k} = ${j[k]}`);
  assert.ok(Math.abs((j.ratio as number) - (j.domu_to_domu_mbps as number) / (j.host_loopback_mbps as number)) < 0.001);
  // through the TAP only as root with ip netns; otherwise the reason is given
  if (j.domu_to_host_mbps === null) assert.match(String(j.domu_to_host_note), /root/);
  else assert.ok((j.domu_to_host_mbps as number) > 0);
});

test("xents bench net --driver-domain --json: the same transfer through Domain-0's netback and through a network driver domain's xen-netback, in the same run", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "net", "--driver-domain", "--json"], { encoding: "utf8", timeout: 1_200_000 });
  assert.equal(r.status, 0, r.stderr);
  type P = { domu_to_domu_mbps: number; domu_to_domu_wall_mbps: number; ratio: number };
  const j = JSON.parse(r.stdout) as { mib: number; host_loopback_mbps: number; domu_to_domu_mbps: number; dom0: P; driver_domain: P & { vs_dom0: number } };
  assert.equal(j.mib, 16);
  assert.equal(j.dom0.domu_to_domu_mbps, j.domu_to_domu_mbps, "dom0 is the plain benchmark's figure");
  for (const p of [j.dom0, j.driver_domain]) {
    assert.ok(p.domu_to_domu_mbps > 0 && p.domu_to_domu_wall_mbps > 0, JSON.stringify(p));
    assert.ok(Math.abs(p.ratio - p.domu_to_domu_mbps / j.host_loopback_mbps) < 0.001);
  }
  assert.ok(Math.abs(j.driver_domain.vs_dom0 - j.driver_domain.domu_to_domu_mbps / j.dom0.domu_to_domu_mbps) < 0.01);
});
