// The background translator: a worker thread that turns a page's words into
// a compiled WebAssembly module (translate_page.ts, then V8's baseline or
// optimising compiler: engine.ts), so that the vCPU's thread only
// instantiates it. Requests come as messages from background.ts; results go
// back on the port it passed in, which the vCPU's thread reads
// synchronously between slices.
//
// Baseline requests go first: the vCPU interprets a page until its
// baseline code arrives, while a page waiting for its optimised compile
// runs its baseline code meanwhile (and an optimised compile takes ~15 ms,
// a baseline one ~2 ms). Requests are queued as they arrive and one is
// compiled per turn of the event loop, so those that arrived during a
// compile are seen before the next is chosen.

import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { translatePage } from "./translate_page.js";
import { compileOptimised } from "./engine.js";

export interface CompileRequest { id: number; words: Uint32Array; entries: number[]; optimize: boolean }
export type CompileResult =
  | { id: number; module: WebAssembly.Module; bytes: number; translated: number; called: number; ms: number }
  | { id: number; error: string; fatal?: boolean }; // fatal: the translator itself is gone

const results = (workerData as { results: MessagePort }).results;
const baseline: CompileRequest[] = [];
const optimised: CompileRequest[] = [];
let scheduled = false;

function compile(req: CompileRequest): void {
  const t0 = performance.now();
  try {
    const page = translatePage(req.words, req.entries);
    const module = req.optimize ? compileOptimised(page.bytes) : new WebAssembly.Module(page.bytes);
    results.postMessage({ id: req.id, module, bytes: page.bytes.length, translated: page.translated, called: page.called, ms: performance.now() - t0 } satisfies CompileResult);
  } catch (e) {
    results.postMessage({ id: req.id, error: (e as Error).message } satisfies CompileResult);
  }
}

function next(): void {
  scheduled = false;
  const req = baseline.shift() ?? optimised.shift();
  if (req) compile(req);
  if (baseline.length || optimised.length) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(next);
}

parentPort!.on("message", (req: CompileRequest) => {
  (req.optimize ? optimised : baseline).push(req);
  schedule();
});
