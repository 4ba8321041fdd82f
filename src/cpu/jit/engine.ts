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
// The compiler is chosen by process-wide flags, read when a module is
// compiled: compileOptimised sets them around one compile. (Two threads
// compiling at the same moment may see each other's setting: that changes
// how fast some code runs, never what it does.)

import v8 from "node:v8";

// A custom section that makes the bytes differ from the baseline module's:
// V8 caches compiled modules by their bytes, and would hand back that one.
const MARK = new Uint8Array([0, 10, 9, ...new TextEncoder().encode("optimised")]);

export function compileOptimised(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  const marked = new Uint8Array(bytes.length + MARK.length);
  marked.set(bytes);
  marked.set(MARK, bytes.length);
  v8.setFlagsFromString("--no-liftoff");
  v8.setFlagsFromString("--no-wasm-lazy-compilation");
  try {
    return new WebAssembly.Module(marked);
  } finally {
    v8.setFlagsFromString("--liftoff");
  }
}

let tuned = false;
// Before the first translated module: baseline code, compiled eagerly, that
// V8 does not re-compile by itself.
export function tuneEngineForTranslation(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString("--no-wasm-lazy-compilation");
  v8.setFlagsFromString("--no-wasm-tier-up");
}
