// Host memory sizes (issue 12): the default (2048 MiB) and anything up to
// what the core's 4 GiB WebAssembly memory holds boots; beyond it, or too
// small for Domain-0, `host start` and `demo` refuse with the limits named.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xentsCli, xentsOk } from "../helpers/cli.js";
import { MAX_RAM_MIB } from "../../src/cpu/cpu.js";
import { Host } from "../../src/host/host.js";

test("host memory beyond the WebAssembly limit or below Domain-0's needs is refused with the limits named", async () => {
  const home = mkdtempSync(join(tmpdir(), "xents-mem-"));
  try {
    for (const [cmd, opt] of [[["host", "start"], "--memory"], [["demo"], "--host-memory"]] as const) {
      for (const mib of [MAX_RAM_MIB + 1, 8192, 10]) {
        const r = await xentsCli(home, [...cmd, opt, String(mib)]);
        assert.equal(r.code, 2, `${cmd.join(" ")} ${opt} ${mib}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`64 to ${MAX_RAM_MIB} MiB.*4 GiB WebAssembly memory`), r.stderr);
      }
    }
  } finally { rmSync(home, { recursive: true, force: true }); }
});

test(`the largest host (${MAX_RAM_MIB} MiB) and the default 2048 MiB come up; a 32-bit shift had made 2048 fail`, async () => {
  for (const mib of [2048, MAX_RAM_MIB]) {
    const h = new Host({ ramBytes: mib * (1 << 20), deterministic: true, log: () => {} });
    assert.equal(h.hv.frames.nframes, mib * 256);
  }
  const home = mkdtempSync(join(tmpdir(), "xents-mem-"));
  try {
    await xentsOk(home, ["host", "start"], 60_000);
    const s = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { total_memory_mib: number };
    assert.equal(s.total_memory_mib, 2048);
  } finally {
    await xentsCli(home, ["host", "stop"]);
    rmSync(home, { recursive: true, force: true });
  }
});
