// The engine's tuning for translation (src/cpu/jit/engine.ts) reaches V8:
// v8.setFlagsFromString ignores a flag it does not know, so a misspelt one
// would change nothing and say nothing. Each case runs in a process of its
// own (V8's flags are the process's, for good), with TurboFan's inlining
// traced: a function calling two helpers whose bytecode fits the default
// budget together, but not the translation's.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { JS_INLINE_BUDGET } from "../../src/cpu/jit/engine.js";

const engine = fileURLToPath(new URL("../../src/cpu/jit/engine.js", import.meta.url));

const CHILD = `
const { tuneEngineForTranslation } = await import(process.argv[1]);
if (process.argv[2] === "tuned") tuneEngineForTranslation();
function helperOne(a) { let s = 0; for (let i = 0; i < 3; i++) { s += a * i + (a >> 1) - (a & 3) + Math.max(a, i) + (a ^ i) + (a | i) + (a & i) + (a << 1) + (a % 7) + (a / 3 | 0); s ^= (s << 5) + (s >> 2) + a; s += (s * 31) & 0xFFFF; } return s; }
function helperTwo(a) { let s = 0; for (let i = 0; i < 3; i++) { s += a * i + (a >> 1) - (a & 3) + Math.max(a, i) + (a ^ i) + (a | i) + (a & i) + (a << 1) + (a % 7) + (a / 3 | 0); s ^= (s << 5) + (s >> 2) + a; s += (s * 31) & 0xFFFF; } return s; }
function caller(a) { return helperOne(a) + helperTwo(a + 1); }
%PrepareFunctionForOptimization(helperOne); %PrepareFunctionForOptimization(helperTwo);
for (let i = 0; i < 10; i++) { helperOne(i); helperTwo(i); }
%PrepareFunctionForOptimization(caller); caller(1); caller(2); %OptimizeFunctionOnNextCall(caller); caller(3);
`;

function inlined(mode: "tuned" | "default"): number {
  const r = spawnSync(process.execPath, ["--allow-natives-syntax", "--trace-turbo-inlining", "--input-type=module", "-e", CHILD, engine, mode], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => /^Inlining .*<SharedFunctionInfo helper(One|Two)>.* into .*<SharedFunctionInfo caller>/.test(l)).length;
}

test("translation's tuning lowers TurboFan's inlining budget for JavaScript (the probe inlines both helpers by default)", () => {
  assert.ok(JS_INLINE_BUDGET > 0 && JS_INLINE_BUDGET < 920, "below V8's default of 920");
  assert.equal(inlined("default"), 2, "both helpers fit V8's default budget");
  assert.equal(inlined("tuned"), 1, "only one fits the translation's budget");
});

// A function with a loop, compiled by the baseline compiler as translated
// pages are: the size of its machine code, as V8 prints it.
const LOOP_CHILD = `
const { tuneEngineForTranslation, withTierHint } = await import(process.argv[1]);
const v8 = await import("node:v8");
if (process.argv[2] === "tuned") tuneEngineForTranslation();
else { v8.setFlagsFromString("--no-wasm-lazy-compilation"); v8.setFlagsFromString("--no-wasm-tier-up"); }
// (func (param i32) (result i32) (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))) (local.get 0))
const bytes = new Uint8Array([0, 0x61, 0x73, 0x6D, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7F, 1, 0x7F, 3, 2, 1, 0,
  10, 18, 1, 16, 0, 0x03, 0x40, 0x20, 0, 0x41, 1, 0x6B, 0x22, 0, 0x0D, 0, 0x0B, 0x20, 0, 0x0B]);
new WebAssembly.Module(withTierHint(bytes, 0x02 | 1 << 2 | 1 << 4));
`;

function loopCodeSize(mode: "tuned" | "default"): number {
  const r = spawnSync(process.execPath, ["--print-wasm-code", "--input-type=module", "-e", LOOP_CHILD, engine, mode], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const m = /compiler: Liftoff[\s\S]*?Instructions \(size = (\d+)\)/.exec(r.stdout);
  assert.ok(m, `no baseline code printed: ${r.stdout.slice(0, 300)}`);
  return Number(m[1]);
}

test("translation's tuning leaves the baseline compiler's tier-up checks out of translated code", () => {
  const plain = loopCodeSize("default"), tuned = loopCodeSize("tuned");
  assert.ok(tuned < plain, `a loop's baseline code: ${tuned} bytes tuned against ${plain}`);
});
