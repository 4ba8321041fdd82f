// `xents bench net --json` with its defaults (README): the same program
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
