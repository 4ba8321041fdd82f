// A host killed with SIGKILL (issue 12): its pid file and sockets stay
// behind; `host status` says plainly that the host is gone, `host start`
// works again, and the guests' console logs hold what they said.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xentsOk, xentsCli } from "../helpers/cli.js";
import { guestImage } from "../helpers/guest_programs.js";
import { processAlive } from "../../src/tools/daemon/client.js";

test("after SIGKILL: status says the host is gone, start works again, console logs are intact", async () => {
  const home = mkdtempSync(join(tmpdir(), "xents-kill-"));
  try {
    await xentsOk(home, ["host", "start", "--memory", "128"], 60_000);
    const kernel = join(home, "pvcon.bin");
    writeFileSync(kernel, guestImage("pvcon", { LINES: 50 }));
    writeFileSync(join(home, "talker.cfg"), [`name = "talker"`, "memory = 16", "vcpus = 1", `kernel = "${kernel}"`, ""].join("\n"));
    await xentsOk(home, ["create", join(home, "talker.cfg")]);
    const log = join(home, "logs", "console-talker.log");
    const t0 = Date.now();
    while (!(existsSync(log) && readFileSync(log, "utf8").includes("pvcon: line 50\n"))) {
      assert.ok(Date.now() - t0 < 60_000, "the guest's console reaches its log");
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = Number(readFileSync(join(home, "host.pid"), "utf8"));
    process.kill(pid, "SIGKILL");
    while (processAlive(pid)) await new Promise((r) => setTimeout(r, 50)); // a zombie counts as gone
    assert.ok(existsSync(join(home, "control.sock")) && existsSync(join(home, "host.pid")), "the dead host left its socket and pid file");

    const st = await xentsCli(home, ["host", "status"]);
    assert.equal(st.code, 1);
    assert.match(st.stderr, new RegExp(`host in .* is gone: its process \\(pid ${pid}\\) is not running`));
    assert.equal((await xentsCli(home, ["list"])).code, 1);
    const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
    assert.deepEqual(lines, Array.from({ length: 50 }, (_, i) => `pvcon: line ${i + 1}`), "the log is whole");

    await xentsOk(home, ["host", "start", "--memory", "128"], 60_000);
    assert.match(await xentsOk(home, ["list"]), /^Domain-0\s/m);
    assert.doesNotMatch(await xentsOk(home, ["list"]), /talker/);
    await xentsOk(home, ["create", join(home, "talker.cfg")]);
    const t1 = Date.now();
    while (readFileSync(log, "utf8").split("pvcon: line 50\n").length < 3) {
      assert.ok(Date.now() - t1 < 60_000, "the new guest's console goes on in the same log");
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await xentsCli(home, ["destroy", "talker"]); // it never answers a shutdown request: host stop would wait 30 s for it
    await xentsCli(home, ["host", "stop"], 60_000);
    rmSync(home, { recursive: true, force: true });
  }
});
