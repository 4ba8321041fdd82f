// --no-jit (README): `xents host start --no-jit` and `xents demo --no-jit`
// run guests on the interpreter alone, whatever XENTS_JIT says, and say so
// (`host status --json`: "translation": false; demo: a line on stderr).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { xentsOk, xentsCli, XENTS_BIN } from "../helpers/cli.js";
import { guestImage } from "../helpers/guest_programs.js";
import { writeXlCfg } from "../helpers/guest_files.js";

test("xents host start --no-jit: status says translation is off, a guest runs its life on the interpreter", async () => {
  const home = mkdtempSync(join(tmpdir(), "xents-nojit-"));
  try {
    await xentsOk(home, ["host", "start", "--memory", "128", "--no-jit"], 60_000);
    const kernel = join(home, "steady.bin");
    writeFileSync(kernel, guestImage("steady", { ROUNDS: 3 }));
    await xentsOk(home, ["create", writeXlCfg(join(home, "steady.cfg"), { name: "steady", memory: 16, vcpus: 1, kernel, on_poweroff: "destroy" })]);
    const t0 = Date.now();
    while ((await xentsOk(home, ["list"])).includes("steady")) {
      assert.ok(Date.now() - t0 < 60_000, "the guest powers off and is destroyed");
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(await xentsOk(home, ["dmesg"]), /\(d\d+\) steady: 3 /);
    const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { hypervisor: { translation: boolean; internal_errors: number } };
    assert.equal(st.hypervisor.translation, false);
    assert.equal(st.hypervisor.internal_errors, 0);
  } finally {
    await xentsCli(home, ["host", "stop"], 60_000);
    rmSync(home, { recursive: true, force: true });
  }
});

test("xents demo --no-jit runs a guest to its poweroff on the interpreter and says so", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-nojit-demo-"));
  try {
    const kernel = join(dir, "steady.bin");
    writeFileSync(kernel, guestImage("steady", { ROUNDS: 2 }));
    // stdin stays open (its end would detach the demo before the guest's poweroff)
    const p = spawn(process.execPath, [XENTS_BIN, "demo", "--kernel", kernel, "--memory", "16", "--no-jit"], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, XENTS_JIT: "1" } });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    p.stdout.resume();
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    const status = await new Promise<number | null>((res) => p.on("exit", (code) => res(code)));
    clearTimeout(timer);
    const r = { status, stderr };
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /translation to WebAssembly off: the interpreter alone/);
    assert.match(r.stderr, /guest poweroff/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
