// Runs the compiled test files with Node's test runner. Test files are the
// compiled dist/test/<layer>/*.test.js, in three layers: unit (no guest
// kernel, no reference tool, no long random run: seconds), conformance (against
// QEMU, the bare-metal programs, Xen's headers) and system (Linux guests,
// hostile guests, fuzzers, the CLI and its host daemon, benchmarks).
// `node test/run.js unit` runs one layer (npm run test:unit);
// XENTS_TEST_FILTER narrows by substring; XENTS_TEST_DIR runs the layers of
// another tree (the runner's own test).
import { readdirSync, statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}
const LAYERS = ["unit", "conformance", "system"];
const filter = process.env.XENTS_TEST_FILTER ?? "";
const chosen = process.argv.slice(2);
for (const l of chosen) if (!LAYERS.includes(l)) { console.error(`no test layer '${l}' (have: ${LAYERS.join(", ")})`); process.exit(2); }
const root = process.env.XENTS_TEST_DIR ?? "dist/test";
const files = (chosen.length ? chosen : LAYERS).flatMap((l) => walk(join(root, l))).filter((f) => f.includes(filter)).sort();
if (files.length === 0) { console.error(`no test files${filter ? ` matching '${filter}'` : ""}: run npm run build first`); process.exit(1); }
// TAP on stdout as always; the spec reporter's account of failures (the
// assertion, its message, the stack) is written aside and printed last, so
// the end of a long CI log says why a test failed, not only that it did.
const spec = join(root, "..", "test-failures.log");
// A test file that leaves a handle open after its tests have ended fails,
// naming what it left (test/helpers/file_exit_guard.ts), instead of keeping
// the runner waiting for ever: a CI run once ran out of time that way, its
// log ending at the last test of a file whose tests had all passed. Not
// --test-force-exit: it silently drops verdicts (nodejs/node#64833), so a
// run's count was a lower bound and a dropped failure went unseen.
// --test-timeout turns a test (or hook) that never ends into a failure with
// its name.
const TEST_TIMEOUT_MS = 15 * 60_000; // the slowest test takes under 3 minutes
const r = spawnSync(process.execPath, ["--import", "./dist/test/helpers/file_exit_guard.js", "--test", "--test-concurrency=2", `--test-timeout=${TEST_TIMEOUT_MS}`,
  "--test-reporter=tap", "--test-reporter-destination=stdout",
  "--test-reporter=spec", `--test-reporter-destination=${spec}`, ...files], { stdio: "inherit" });
if (r.status !== 0) {
  try {
    const text = readFileSync(spec, "utf8");
    const at = text.lastIndexOf("failing tests:");
    if (at >= 0) process.stdout.write(`\n# why the failing tests failed (spec reporter):\n${text.slice(at).split("\n").map((l) => `# ${l}`).join("\n")}\n`);
  } catch { /* the spec log is a convenience; TAP above is the record */ }
}
process.exit(r.status ?? 1);
