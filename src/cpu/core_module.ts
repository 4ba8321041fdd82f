// The core's WebAssembly module, compiled optimised once per process: the
// core is hot from its first instruction, and TurboFan takes ~50 ms over it.
// compileCoreAhead() starts that compile on V8's own threads, so that a
// command about to boot a guest does it while the rest of the program loads
// (~0.1 s of modules, on the main thread) rather than before the guest's
// build; coreModule() takes its result if it has arrived, and otherwise
// compiles (synchronously, as it always did before session 50).

import { readBuiltWasm } from "./built_wasm.js";
import { compileOptimised, compileOptimisedAsync } from "./jit/engine.js";

let compiled: WebAssembly.Module | undefined;
let source: "ahead" | "here" | undefined;
let ahead = false;

export function compileCoreAhead(): void {
  if (compiled || ahead) return;
  const pending = compileOptimisedAsync(readBuiltWasm("cpu.wasm"));
  ahead = true;
  // (A failure is the synchronous compile's to report.)
  pending.then((m) => { if (!compiled) { compiled = m; source = "ahead"; } }, () => {});
}

export function coreModule(): WebAssembly.Module {
  if (!compiled) { compiled = compileOptimised(readBuiltWasm("cpu.wasm")); source = "here"; }
  return compiled;
}

// Where this process's module came from (tests).
export function coreModuleSource(): "ahead" | "here" | undefined { return source; }
