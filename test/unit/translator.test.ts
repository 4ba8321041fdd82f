// The translator (AssemblyScript, build/translator.wasm) through its
// TypeScript side (src/cpu/jit/translate_page.ts): the modules it writes
// import what the core exports under the names jit.ts gives them, and it
// keeps nothing of one page into the next (its state lives in buffers
// reused from page to page). What translated code does is the
// conformance layer's (test/conformance/jit.test.ts, against the
// interpreter).

import { test } from "node:test";
import assert from "node:assert/strict";
import { translatePage, translateWith, instantiateTranslator, loadTranslator, JIT_FUNCS, JIT_GLOBALS } from "../../src/cpu/jit/translate_page.js";

// A page of common kernel forms: a loop with loads, stores, flags and calls.
function page(seed: number): Uint32Array {
  const forms = [
    0xF9400441, 0xF9000861, 0x8B020020, 0xB9400C44, 0x79000465, 0xA9411C46, 0xEB01001F, 0x54FFFF41, 0x94000010, 0xAA0103E0,
    0x91000421, 0xF100043F, 0x9A9F17E0, 0x12001C00, 0xD65F03C0, 0xD503201F, 0x34000080, 0xB5FFFF60, 0x37080041, 0xD50342DF,
  ];
  const p = new Uint32Array(1024);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < 1024; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; p[i] = forms[x % forms.length]; }
  return p;
}

test("a translated page's module imports the core's memory, JIT_FUNCS and JIT_GLOBALS, in that order, and exports its function", () => {
  const t = translatePage(page(1), [0, 64, 400], false);
  const m = new WebAssembly.Module(t.bytes);
  assert.deepEqual(WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}:${i.kind}`), [
    "env.memory:memory", ...JIT_FUNCS.map((f) => `env.${f}:function`), ...JIT_GLOBALS.map((g) => `env.${g}:global`),
  ]);
  assert.deepEqual(WebAssembly.Module.exports(m), [{ name: "f", kind: "function" }]);
  assert.ok(t.translated > 0 && t.heads > 0);
});

// Pages a fresh translator translates, and the shared one after many
// others, compare equal: sparse code (a function, then zeros: the walk
// stops at each word left to the interpreter) between dense pages, so that
// what one page's walk leaves behind would change the next one's.
test("the translator keeps nothing of one page into the next", () => {
  const sparse = (seed: number): Uint32Array => { const p = new Uint32Array(1024); p.set(page(seed).subarray(0, 12 + seed % 20), (seed * 36) % 800); return p; };
  const ran = new Uint8Array(128).map((_, i) => (i * 37) & 0xFF);
  const cases: [Uint32Array, number[], boolean, Uint8Array | undefined][] = [];
  for (let s = 2; s < 30; s++) {
    cases.push([page(s), [0, (s * 52) & 0xFFC, 4000], s % 2 === 1, s % 3 === 0 ? ran : undefined]);
    cases.push([sparse(s), [(s * 36) % 800 * 4, 0], s % 2 === 0, s % 4 === 0 ? ran : undefined]);
  }
  for (const [words, entries, slow, r] of cases) assert.deepEqual(translatePage(words, entries, slow, r), translateWith(instantiateTranslator(), words, entries, slow, r));
});

test("entries past the translator's room, out of the page or misaligned are left out, not an error", () => {
  const room = loadTranslator().maxEntries();
  const many = Array.from({ length: room + 500 }, (_, i) => (i * 4) % 4096);
  const odd = [-4, 4096, 4098, 6, 1 << 20];
  const t = translatePage(page(5), [...many, ...odd]);
  assert.ok(WebAssembly.validate(t.bytes));
  assert.deepEqual(translatePage(page(5), odd).heads, 0, "no entry in the page: no block");
});
