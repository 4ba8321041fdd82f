// The core compiled ahead (core_module.ts: a command that boots starts the
// compile while the rest of the program loads) is the one the core then
// uses, and translation works with it, optimised compiles included. (What a
// core compiled ahead by a hint did to the translator's thread shows in a
// Linux boot: test/system/bench_boot.test.ts checks what ran optimised.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { buildAarch64 } from "../../src/tools/toolchain.js";

test("a core compiled ahead is the one used, and hot pages still get their optimised compiles", () => {
  const elf = buildAarch64("bench/programs/cpu_bench.c", ["-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-DITERATIONS=40"], "cpu_bench_40");
  const url = (p: string): string => new URL(`../../src/${p}`, import.meta.url).href;
  const probe = `
    import { readFileSync } from "node:fs";
    const { compileCoreAhead, coreModuleSource } = await import(${JSON.stringify(url("cpu/core_module.js"))});
    compileCoreAhead();
    for (let i = 0; i < 600 && coreModuleSource() === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    const { runUserProgram } = await import(${JSON.stringify(url("linux_user/runner.js"))});
    const { jitOptionsFromEnv } = await import(${JSON.stringify(url("cpu/jit/jit.js"))});
    let out = "";
    const r = runUserProgram(new Uint8Array(readFileSync(${JSON.stringify(elf)})), { argv: ["cpu_bench"], stdout: (b) => { out += Buffer.from(b).toString(); }, jit: { ...jitOptionsFromEnv(), enabled: true, background: false } });
    console.log(JSON.stringify({ source: coreModuleSource(), status: r.status, optimized: r.jit.optimized, out: out.trim() }));
    process.exit(0);`;
  const env = { ...process.env };
  // the defaults (optimised compiles after 2 M instructions), translated on
  // this thread so that they are made before the program ends
  for (const k of Object.keys(env)) if (k.startsWith("XENTS_JIT")) delete env[k];
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { env, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split("\n").pop()!) as { source: string; status: { code?: number }; optimized: number; out: string };
  assert.equal(j.source, "ahead");
  assert.equal(j.status.code, 0, JSON.stringify(j));
  assert.ok(j.optimized > 0, `optimised compiles installed: ${j.optimized}`);
});
