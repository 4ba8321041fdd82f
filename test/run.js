// Runs the compiled test files with Node's test runner. Test files are the
// compiled dist/test/**/*.test.js; XENTS_TEST_FILTER narrows them by substring.
import { readdirSync, statSync } from "node:fs";
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
const filter = process.env.XENTS_TEST_FILTER ?? "";
const files = walk("dist/test").filter((f) => f.includes(filter)).sort();
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
