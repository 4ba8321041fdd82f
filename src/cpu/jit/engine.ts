// Which of V8's WebAssembly compilers compiles what. V8 has a fast baseline
// compiler (Liftoff) and an optimising one (TurboFan); left to itself it
// compiles lazily with Liftoff and re-compiles a function with TurboFan once
// it has run "enough" by its own estimate. That estimate suits neither
// module here:
// - the core is hot from its first instruction: it is compiled optimised,
//   all of it, at once (~40 ms on two cores, once per process);
// - a translated page's function returns and loops from deep inside a
//   large body, which V8 counts as the whole body executed each time: a
//   third of a Linux boot's pages were re-compiled with TurboFan, ~35 ms
//   each, four seconds of CPU beside a five-second boot on two cores.
//   Translated code is compiled with Liftoff, eagerly (on the background
//   translator's thread, not function by function on first call on the
//   vCPU's), and never re-compiled by V8; the core counts guest
//   instructions per translation and asks for an optimised compile of the
//   few pages that repay it (jit.ts).
//
// A translated page says which compiler it wants in its own bytes: a
// compilation-hints section (the WebAssembly compilation-hints proposal,
// behind V8's --experimental-wasm-compilation-hints), so that two threads
// may compile pages for different tiers at the same moment. The process-wide
// flags that choose the compiler otherwise (--no-liftoff around one
// compile) would reach every compile under way on another thread: a
// baseline compile that meets an optimised one's setting takes ~20 ms
// instead of ~1. Where V8 does not take the section as expected (checked
// once: tiersPerModule), the flags are used and one thread compiles both.

import v8 from "node:v8";

// A custom section that makes the bytes differ from the baseline module's:
// V8 caches compiled modules by their bytes, and would hand back that one.
const MARK = new Uint8Array([0, 10, 9, ...new TextEncoder().encode("optimised")]);

// A module compiled with TurboFan, chosen by the process-wide flags (the
// core's own module, and translated pages where tiersPerModule is false).
export function compileOptimised(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  const marked = optimisedBytes(bytes);
  try {
    return new WebAssembly.Module(marked);
  } finally {
    v8.setFlagsFromString("--liftoff");
  }
}

// The bytes with MARK, the flags set for TurboFan alone.
function optimisedBytes(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const marked = new Uint8Array(bytes.length + MARK.length);
  marked.set(bytes);
  marked.set(MARK, bytes.length);
  v8.setFlagsFromString("--no-liftoff");
  v8.setFlagsFromString("--no-wasm-lazy-compilation");
  return marked;
}

// How much bytecode TurboFan may inline into one JavaScript function
// (V8's default 920): what V8 spends optimising JavaScript while a boot
// waits for translations runs on the one spare core beside the worker and
// the optimised pages. Set when the translator was still JavaScript (its
// emitters took 20-80 ms a compile): with 300 the other threads' CPU fell
// 1.57 -> 1.37 s and boots 2,040 -> 1,950 ms (QEMU-normalised pairs:
// -0.062, 12 of 12), with no change in `bench blk`, `bench net` or
// `bench cpu`.
export const JS_INLINE_BUDGET = 300;

let tuned = false;
// Before the first translated module (in each thread that compiles them):
// baseline code, compiled eagerly, that V8 does not re-compile by itself,
// compilation hints read, and cheaper optimised compiles of JavaScript
// (process-wide, as every V8 flag is). Without dynamic tiering: V8 11's
// baseline compiler otherwise keeps a tier-up budget in every function,
// decremented at each loop back edge and return (five instructions, and a
// branch to a runtime call that, with tier-up off, does nothing): 6.5% of
// the machine code it made of a boot's pages (15.0 -> 14.0 MB).
export function tuneEngineForTranslation(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString("--no-wasm-lazy-compilation");
  v8.setFlagsFromString("--no-wasm-tier-up");
  v8.setFlagsFromString("--no-wasm-dynamic-tiering");
  v8.setFlagsFromString("--experimental-wasm-compilation-hints");
  v8.setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${JS_INLINE_BUDGET}`);
}

// The hint byte of the proposal: strategy (bits 0-1; 2: eager), baseline
// tier (bits 2-3) and top tier (bits 4-5), each 0 default, 1 baseline,
// 2 optimised (V8 11 and later; V8 before 10 numbered them from an
// interpreter tier, with 3 for optimised).
const HINT_BASELINE = 0x02 | 1 << 2 | 1 << 4;
const HINT_OPTIMISED = 0x02 | 2 << 2 | 2 << 4;
const HINT_INVALID_TIER = 0x02 | 3 << 2 | 3 << 4;
const HINTS_NAME = new TextEncoder().encode("compilationHints");

// The module's bytes with a hints section giving every function it
// defines the same hint; the section must come before the code section (id 10).
export function withTierHint(bytes: Uint8Array, hint: number): Uint8Array<ArrayBuffer> {
  const leb = (p: number): [number, number] => { // value, next offset
    let v = 0, shift = 0, b: number;
    do { b = bytes[p++]; v += (b & 0x7F) * 2 ** shift; shift += 7; } while (b & 0x80);
    return [v, p];
  };
  const encode = (v: number): number[] => { const o: number[] = []; do { o.push((v & 0x7F) | (v >= 0x80 ? 0x80 : 0)); v >>>= 7; } while (v); return o; };
  let p = 8, functions = 0;
  while (p < bytes.length && bytes[p] !== 10) {
    const id = bytes[p];
    const [len, body] = leb(p + 1);
    if (id === 3) functions = leb(body)[0];
    p = body + len;
  }
  if (p >= bytes.length) throw new Error("a module without a code section");
  const payload = [...encode(HINTS_NAME.length), ...HINTS_NAME, ...encode(functions), ...new Array<number>(functions).fill(hint)];
  const section = [0, ...encode(payload.length), ...payload];
  const out = new Uint8Array(bytes.length + section.length);
  out.set(bytes.subarray(0, p));
  out.set(section, p);
  out.set(bytes.subarray(p), p + section.length);
  return out;
}

// Does this V8 take the hints as tiers per module? It rejects a tier it
// does not know (3 since V8 11), and accepts the ones used here.
let perModule: boolean | undefined;
export function tiersPerModule(): boolean {
  if (perModule !== undefined) return perModule;
  tuneEngineForTranslation();
  // (module (func)): a type section, a function section, a code section
  const tiny = new Uint8Array([0, 0x61, 0x73, 0x6D, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0B]);
  // (Validation decodes the section without compiling anything.)
  const valid = (hint: number): boolean => WebAssembly.validate(withTierHint(tiny, hint));
  perModule = !valid(HINT_INVALID_TIER) && valid(HINT_BASELINE) && valid(HINT_OPTIMISED);
  return perModule;
}

// A translated page's module, compiled by the baseline or the optimising
// compiler; compileTranslationAsync compiles on V8's threads (null where the
// compiler can only be chosen by the process-wide flags, which must not
// change under a compile running elsewhere).
export function compileTranslation(bytes: Uint8Array<ArrayBuffer>, optimised: boolean): WebAssembly.Module {
  if (!tiersPerModule()) return optimised ? compileOptimised(bytes) : new WebAssembly.Module(bytes);
  return new WebAssembly.Module(withTierHint(bytes, optimised ? HINT_OPTIMISED : HINT_BASELINE));
}

// The translator (src/cpu/translator), compiled optimised, once per thread
// that translates: it runs on every page from the first.
export function compileTranslator(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  return tiersPerModule() ? new WebAssembly.Module(withTierHint(bytes, HINT_OPTIMISED)) : compileOptimised(bytes);
}

export function compileTranslationAsync(bytes: Uint8Array<ArrayBuffer>, optimised: boolean): Promise<WebAssembly.Module> | null {
  if (!tiersPerModule()) return null;
  return WebAssembly.compile(withTierHint(bytes, optimised ? HINT_OPTIMISED : HINT_BASELINE));
}

// The same on V8's threads, the flags set until it is done (the core's
// module, ahead of its use: core_module.ts; nothing else is compiled then).
// Not by a hint: after the core was compiled that way, without the flags
// ever set, the translator's thread took ~9 ms a baseline page instead of
// ~2.6 (TurboFan's time, though each named Liftoff), fell behind, and most
// optimised compiles were cancelled as obsolete: a boot took twice as long.
export function compileOptimisedAsync(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  return WebAssembly.compile(optimisedBytes(bytes)).finally(() => v8.setFlagsFromString("--liftoff"));
}
