// A static glibc program (test/programs/user/syscalls.c) exercising signals,
// timers, select/poll, fork and wait, pipes, files and memory mapping runs
// under `xents run-user` and under qemu-aarch64 with the same output.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runUserProgram } from "../../src/linux_user/runner.js";
import { buildAarch64 } from "../../src/tools/toolchain.js";

const SRC = "test/programs/user/syscalls.c";

// Build (cached: src/tools/toolchain.ts); an error message if the toolchain is missing.
function build(): string | { error: string } {
  try { return buildAarch64(SRC, ["-static", "-O1", "-Wall"], "user-syscalls"); } catch (e) {
    return { error: `cannot build ${SRC} with aarch64-linux-gnu-gcc -static: ${(e as Error).message.split("\n").slice(-2).join(" / ")}` };
  }
}

const hasQemu = spawnSync("qemu-aarch64", ["--version"]).status === 0;

test("syscalls.c: same output under xents and qemu-aarch64", (t) => {
  if (!hasQemu) { t.skip("qemu-aarch64 is not installed"); return; }
  const prog = build();
  if (typeof prog !== "string") { t.skip(prog.error); return; }
  const qdir = mkdtempSync(join(tmpdir(), "xents-sc-q-")), xdir = mkdtempSync(join(tmpdir(), "xents-sc-x-"));
  try {
    const q = spawnSync("qemu-aarch64", [prog, qdir], { env: { LC_ALL: "C" } });
    const out: Uint8Array[] = [], err: Uint8Array[] = [];
    let log = "";
    const x = runUserProgram(new Uint8Array(readFileSync(prog)), {
      argv: ["syscalls", xdir], exePath: prog, env: ["LC_ALL=C"], stdin: new Uint8Array(0),
      stdout: (b) => out.push(b), stderr: (b) => err.push(b), log: (l) => { log += l + "\n"; },
    });
    const xs = Buffer.concat(out).toString();
    assert.equal(xs, q.stdout.toString());
    assert.deepEqual(x.status, { code: q.status });
    // the child killed by SIGSEGV is reported by the emulator in both cases
    assert.match(log, /killed by SIGSEGV/);
    assert.equal(Buffer.concat(err).length, 0);
  } finally {
    rmSync(qdir, { recursive: true, force: true });
    rmSync(xdir, { recursive: true, force: true });
  }
});
