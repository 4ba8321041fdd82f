// The translator's exports (AssemblyScript, build/translator.wasm): the
// caller writes a page's words, its entries and what of it has run into the
// buffers these name, calls translate(), and reads the module's bytes from
// out(); src/cpu/jit/translate_page.ts does that.

import { PageTranslator, TLB_ENTRIES } from "./page";

const t = new PageTranslator();

export function words(): usize { return changetype<usize>(t.words); }
export function entries(): usize { return changetype<usize>(t.entries); }
export function maxEntries(): i32 { return t.entries.length; }
export function ran(): usize { return changetype<usize>(t.ran); }
export function out(): usize { return changetype<usize>(t.out.buf); }
export function tlbEntries(): i32 { return TLB_ENTRIES; }

// Translates the page from its first nEntries entries (optimised: for
// V8's optimising compiler; hasRan: only along what ran() says has run):
// the module's length in out(), or -1 if it would not fit there.
export function translate(nEntries: i32, optimised: bool, hasRan: bool): i32 {
  return t.run(min(nEntries, t.entries.length), optimised, hasRan);
}

// What the last translation holds: its block heads, the instructions
// translated inline and left to the interpreter, its wasm loops and its
// stores of guest registers.
export function heads(): i32 { return t.nHeads; }
export function translated(): i32 { return t.translated; }
export function called(): i32 { return t.called; }
export function loops(): i32 { return t.loops; }
export function stores(): i32 { return t.stores; }
