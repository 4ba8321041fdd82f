// The one cached program build (src/tools/toolchain.ts) that test programs,
// guest images, bare-metal images and benchmark programs share: built once,
// built again when a source or a header it names changes (and only then),
// flat images through objcopy, and a compile error that says what failed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, statSync, rmSync, readFileSync } from "node:fs";
import { buildProgram, abs, BuildError } from "../../src/tools/toolchain.js";

test("buildProgram: cached by the content of every input; a header change rebuilds; errors name the program", () => {
  const dir = `build/toolchain-test-${process.pid}`;
  mkdirSync(abs(dir), { recursive: true });
  try {
    writeFileSync(abs(`${dir}/v.h`), "#define V 1\n");
    writeFileSync(abs(`${dir}/p.c`), `#include "v.h"\nint value(void) { return V; }\n`);
    const spec = { compiler: "host" as const, sources: [`${dir}/p.c`], inputs: [`${dir}/v.h`], flags: ["-c", "-O1", "-I", abs(dir)], name: "tc-probe" };
    const a = buildProgram(spec);
    const t = statSync(a).mtimeMs;
    assert.equal(buildProgram(spec), a, "the same inputs: the same output");
    assert.equal(statSync(a).mtimeMs, t, "and not built again");
    writeFileSync(abs(`${dir}/v.h`), "#define V 2\n");
    const b = buildProgram(spec);
    assert.notEqual(b, a, "a header it names changed: a new build");
    assert.notDeepEqual(readFileSync(b), readFileSync(a));
    writeFileSync(abs(`${dir}/bad.c`), "int broken( {\n");
    assert.throws(() => buildProgram({ ...spec, sources: [`${dir}/bad.c`], inputs: [], name: "tc-broken" }), (e: unknown) => e instanceof BuildError && /building tc-broken failed:[\s\S]*bad\.c/.test(e.message));
    for (const f of [a, b]) rmSync(f, { force: true });
  } finally {
    rmSync(abs(dir), { recursive: true, force: true });
  }
});
