// The vCPU's thread first (src/cpu/jit/thread_priority.ts): starting the
// background translator puts every other thread of the process at least
// the asked nice levels below the thread that started it, and leaves that
// one, and the translator's own, at its level. Each case runs in
// a process of its own (priorities are the process's threads', for good),
// a script given with --input-type=module -e, whose option the
// translator's worker must not inherit.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { jitOptionsFromEnv, JIT_DEFAULTS } from "../../src/cpu/jit/jit.js";

const background = fileURLToPath(new URL("../../src/cpu/jit/background.js", import.meta.url));

// Starts the translator with `nice`, has it answer one request (so its
// thread has started), and reports each thread's nice
// value, by thread id, and the starting thread's.
const CHILD = `
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
const { backgroundTranslator } = await import(process.argv[1]);
const niceOf = (t) => { try { const s = readFileSync("/proc/self/task/" + t + "/stat", "utf8"); return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[16]); } catch { return null; } };
const self = Number(/task\\/(\\d+)$/.exec(readlinkSync("/proc/thread-self"))[1]);
const before = readdirSync("/proc/self/task");
const selfBefore = niceOf(self);
const bg = backgroundTranslator(Number(process.argv[2]));
let answered = false;
const words = new Uint32Array(1024).fill(0xD503201F); // NOP
words[1] = 0xD65F03C0; // RET
bg.post(words, [0], false, null, () => { answered = true; });
const t0 = Date.now();
while (!answered && Date.now() - t0 < 20000) { bg.drain(); await new Promise((r) => setTimeout(r, 5)); }
const threads = {};
for (const t of readdirSync("/proc/self/task")) { const n = niceOf(t); if (n !== null) threads[t] = n; } // (a thread may end meanwhile)
console.log(JSON.stringify({ answered, self, selfBefore, before, threads }));
process.exit(0);
`;

function run(nice: number): { answered: boolean; self: number; selfBefore: number; before: string[]; threads: Record<string, number> } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", CHILD, background, String(nice)], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

test("starting the background translator lowers the process's other threads below the vCPU's, not its own", { skip: process.platform !== "linux" && "thread priorities are read from Linux's /proc" }, () => {
  const r = run(10);
  assert.ok(r.answered, "the translator answered its request");
  const mine = r.threads[String(r.self)];
  const others = Object.entries(r.threads).filter(([t]) => Number(t) !== r.self);
  const earlier = others.filter(([t]) => r.before.includes(t));
  const started = others.filter(([t]) => !r.before.includes(t));
  assert.ok(earlier.length >= 1, "V8's threads were running before");
  assert.ok(started.length >= 1, "the translator's thread started");
  const want = Math.min(19, mine + 10);
  for (const [t, n] of earlier) assert.ok(n >= want, `thread ${t} at nice ${n}, below the vCPU's (${mine}) by less than 10`);
  for (const [t, n] of started) assert.equal(n, mine, `the translator's thread ${t} at nice ${n}, not the vCPU's ${mine}`);
  assert.equal(mine, r.selfBefore, "the starting thread keeps its priority");
});

test("with backgroundNice 0 no thread's priority changes", { skip: process.platform !== "linux" && "thread priorities are read from Linux's /proc" }, () => {
  const r = run(0);
  assert.ok(r.answered);
  for (const [t, n] of Object.entries(r.threads)) assert.equal(n, r.selfBefore, `thread ${t} at nice ${n}`);
});

test("XENTS_JIT_NICE sets how far below the vCPU's thread the others run (by default 3); bad values are refused", () => {
  assert.equal(JIT_DEFAULTS.backgroundNice, 3);
  assert.equal(jitOptionsFromEnv({}).backgroundNice, 3);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_NICE: "10" }).backgroundNice, 10);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_NICE: "0" }).backgroundNice, 0);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_NICE: "19" }).backgroundNice, 19);
  for (const bad of ["-1", "20", "1.5", "x", ""]) assert.throws(() => jitOptionsFromEnv({ XENTS_JIT_NICE: bad }), /XENTS_JIT_NICE/);
});
