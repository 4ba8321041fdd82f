// AArch64 -> WebAssembly for one 4 KiB page of guest code: the translator
// itself is AssemblyScript (src/cpu/translator, built to
// build/translator.wasm, where the generated code is described); this loads
// it, once per thread that translates, and hands it pages.
//
// As JavaScript the translator cost V8's optimising compiler ~0.8 s of the
// spare core in a Linux boot's first seconds, and a warm-up beside the
// domain's build to have it optimised before the first hot page; compiled
// once as WebAssembly it runs at full speed from the first page, ~3x as
// fast as the optimised JavaScript did.

import { compileTranslator } from "./engine.js";
import { readBuiltWasm } from "../built_wasm.js";

// What a translated module imports from the core besides env.memory, in
// this order of index (the translator's page.ts numbers them so).
export const JIT_FUNCS = ["jitStep", "jitMrs", "jitDcZva", "jitExclusive", "jitCall"] as const;
export const JIT_GLOBALS = ["pc", "instret", "nzcv"] as const;
// Entries in each of the core's direct-mapped TLB sets (tlb_sets.ts), 32
// bytes each: translated code probes them inline (page.ts says the same;
// checked when the translator loads).
export const TLB_ENTRIES = 4096;

// loops: blocks that branch to their own head (wasm loops); stores: stores
// of guest registers to the vCPU block in the code.
export interface TranslatedPage { bytes: Uint8Array<ArrayBuffer>; heads: number; translated: number; called: number; loops: number; stores: number }

export interface TranslatorExports {
  memory: WebAssembly.Memory;
  words(): number; entries(): number; maxEntries(): number; ran(): number; out(): number; tlbEntries(): number;
  translate(nEntries: number, optimised: number, hasRan: number): number;
  heads(): number; translated(): number; called(): number; loops(): number; stores(): number;
}

let translator: TranslatorExports | null = null;

// An AssemblyScript abort (a bug in the translator) as an Error with its
// message: the page stays interpreted and the profile says why.
function abortFrom(memory: () => WebAssembly.Memory): (msg: number, file: number, line: number, col: number) => never {
  const str = (p: number): string => {
    if (!p) return "";
    const len = new Uint32Array(memory().buffer, p - 4, 1)[0] >>> 1;
    return String.fromCharCode(...new Uint16Array(memory().buffer, p, len));
  };
  return (msg, file, line, col) => { throw new Error(`the translator failed: ${str(msg)} (${str(file)}:${line}:${col})`); };
}

// A translator of its own (compiled optimised; the module is compiled once).
let compiled: WebAssembly.Module | null = null;
export function instantiateTranslator(): TranslatorExports {
  compiled ??= compileTranslator(readBuiltWasm("translator.wasm"));
  let memory: WebAssembly.Memory | null = null;
  const e = new WebAssembly.Instance(compiled, { env: { abort: abortFrom(() => memory!) } }).exports as unknown as TranslatorExports;
  memory = e.memory;
  if (e.tlbEntries() !== TLB_ENTRIES) throw new Error(`the translator probes ${e.tlbEntries()} TLB entries, the core has ${TLB_ENTRIES}`);
  return e;
}

// The translator of this thread (made on first use: the background
// translator's thread makes it as it starts).
export function loadTranslator(): TranslatorExports {
  translator ??= instantiateTranslator();
  return translator;
}

// words: the page's 1024 instruction words; entries: byte offsets where
// execution has entered the page (block heads to translate from).
// optimised: for V8's optimising compiler (its dispatch over the heads is
// a br_table, which V8's baseline compiler makes a compare and a jump per
// instruction of the page).
// ran: the instructions that have run, a bit each (bit i & 7 of byte i >> 3
// for the i-th word): only those are translated, with the entries and what
// follows a call, an exception or an instruction left to the interpreter
// (each comes back there); a branch or fall-through to the rest returns 5
// with pc and instret set.
export function translatePage(words: Uint32Array, entries: Iterable<number>, optimised = false, ran?: Uint8Array): TranslatedPage {
  return translateWith(loadTranslator(), words, entries, optimised, ran);
}

// The same with a given translator.
export function translateWith(t: TranslatorExports, words: Uint32Array, entries: Iterable<number>, optimised = false, ran?: Uint8Array): TranslatedPage {
  const buf = t.memory.buffer;
  new Uint32Array(buf, t.words(), 1024).set(words.subarray(0, 1024));
  const list = new Int32Array(buf, t.entries(), t.maxEntries());
  let n = 0;
  for (const e of entries) { if (n === list.length) break; list[n++] = e; }
  if (ran) new Uint8Array(buf, t.ran(), 128).set(ran.subarray(0, 128));
  const len = t.translate(n, optimised ? 1 : 0, ran ? 1 : 0);
  if (len < 0) throw new Error("the page's translation does not fit the translator's buffer");
  const bytes = new Uint8Array(len);
  bytes.set(new Uint8Array(t.memory.buffer, t.out(), len));
  return { bytes, heads: t.heads(), translated: t.translated(), called: t.called(), loops: t.loops(), stores: t.stores() };
}
