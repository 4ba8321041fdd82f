// test/run.js itself: every verdict of every file reaches the report, and a
// file that leaves a handle open after its tests fails by name instead of
// hanging the run (test/helpers/file_exit_guard.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function runLayer(files: Record<string, string>, graceMs?: number): { status: number | null; out: string; ms: number } {
  const dir = mkdtempSync(join(tmpdir(), "xents-runner-"));
  try {
    mkdirSync(join(dir, "test", "unit"), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "test", "unit", name), text);
    // the runner as CI starts it, not as a test file's child of this runner
    const env: NodeJS.ProcessEnv = { ...process.env, XENTS_TEST_DIR: join(dir, "test"), XENTS_TEST_FILTER: "" };
    delete env.NODE_TEST_CONTEXT;
    if (graceMs === undefined) delete env.XENTS_EXIT_GRACE_MS; else env.XENTS_EXIT_GRACE_MS = String(graceMs);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ["test/run.js", "unit"], { encoding: "utf8", timeout: 120_000, env });
    return { status: r.status, out: r.stdout + r.stderr, ms: Date.now() - t0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const count = (out: string, what: string): number => Number(new RegExp(`^# ${what} (\\d+)$`, "m").exec(out)?.[1] ?? NaN);

test("test runner: every verdict of many quick tests in several files is reported (--test-force-exit lost some)", () => {
  const file = (n: number): string => `const { test } = require("node:test");\nfor (let i = 0; i < ${n}; i++) test("t" + i, () => {});\n`;
  // a short grace: a file still finishing its report of 1500 tests when it runs out has left nothing open (not a leak)
  const r = runLayer({ "a.test.js": file(1500), "b.test.js": file(1500), "c.test.js": file(3) }, 500);
  assert.equal(r.status, 0, r.out.slice(-2000));
  assert.equal(count(r.out, "tests"), 3003);
  assert.equal(count(r.out, "pass"), 3003);
});

test("test runner: a file that leaves a timer and a child process running after its tests fails, naming them; its tests' verdicts and the other files' are reported", () => {
  const r = runLayer({
    "a.test.js": `const { test } = require("node:test");\ntest("leaks", () => { setInterval(() => {}, 1000); require("node:child_process").spawn("sleep", ["3"]); });\ntest("after it", () => {});\n`,
    "b.test.js": `const { test } = require("node:test");\ntest("b", async () => { await new Promise((r) => setTimeout(r, 200)); });\n`,
  }, 1000);
  assert.equal(r.status, 1, r.out.slice(-2000));
  assert.match(r.out, /this test file's tests ended 1 s ago, but it left open: .*Timeout.*; child processes still running: pid \d+: sleep 3/);
  assert.match(r.out, /^not ok \d+ - .*a\.test\.js$/m);
  assert.equal(count(r.out, "pass"), 3, "leaks, after it and b");
  assert.equal(count(r.out, "fail"), 1, "the file");
  assert.ok(r.ms < 60_000, `${r.ms} ms`);
});
