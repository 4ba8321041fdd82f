// `xents bench migrate --json` with its defaults (README): xents' live
// migration beside QEMU's of the same guest, a LAN client reaching the
// guest only through MAC learning and ARP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { XENTS_BIN } from "../helpers/cli.js";

test("xents bench migrate --json: idle and busy moves on xents and on QEMU, the client following the guest", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "migrate", "--json"], { encoding: "utf8", timeout: 1_200_000 });
  assert.equal(r.status, 0, r.stderr);
  type Q = Record<string, number>;
  const j = JSON.parse(r.stdout) as { benchmark: string; memory_mib: number; idle: Q; busy: Q; qemu: { version: string; idle: Q; busy: Q } };
  assert.equal(j.benchmark, "migrate");
  assert.equal(j.memory_mib, 256);
  for (const s of [j.idle, j.busy]) {
    assert.ok(s.downtime_ms >= 0 && s.total_s > 0 && s.pages_sent >= 65536, JSON.stringify(s));
    // the client on the LAN kept being answered, first by the source, then by the destination
    assert.ok(s.pings_answered > 0.9 * s.pings_sent, `${s.pings_answered} of ${s.pings_sent} pings answered`);
  }
  assert.equal(j.busy.dirty_pages_per_s, 2000);
  assert.match(j.qemu.version, /^\d+\.\d+/);
  for (const s of [j.qemu.idle, j.qemu.busy]) assert.ok(s.downtime_ms >= 0 && s.total_ms > 0 && s.transferred_bytes > 0, JSON.stringify(s));
});
