// A background translator's thread: it turns a page's words into a
// compiled WebAssembly module (translate_page.ts, then V8's baseline or
// optimising compiler: engine.ts), so that the vCPU's thread only
// instantiates it. Requests come as messages from background.ts; results go
// back on the port it passed in, which the vCPU's thread reads
// synchronously between slices.
//
// Requests are queued as they arrive and one is compiled per turn of the
// event loop, so those that arrived during a compile are seen before the
// next is chosen; baseline requests go first. An optimised compile (~15 ms
// against ~1 for a baseline one) is left to V8's threads, one at a time,
// so that baseline requests do not wait for it.

import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { translatePage, loadTranslator } from "./translate_page.js";
import { compileTranslation, compileTranslationAsync, tuneEngineForTranslation } from "./engine.js";

export interface CompileRequest { id: number; words: Uint32Array; entries: number[]; optimize: boolean; ran: Uint8Array | null }
// An optimised request the translation it was for has gone from (the page
// was translated again meanwhile): dropped if it is still waiting.
export interface CancelRequest { cancel: number }
export type CompileResult =
  | { id: number; module: WebAssembly.Module; bytes: number; translated: number; called: number; ms: number }
  | { id: number; error: string; fatal?: boolean } // fatal: the translator itself is gone
  | { id: number; cancelled: true };

// (At the vCPU's priority, where it was started: see thread_priority.ts.)
const { results, posted } = workerData as { results: MessagePort; posted: Int32Array };
// Each result is counted in `posted` after it is on the port, so that the
// vCPU's thread reads the port only when something is there (background.ts).
function reply(r: CompileResult): void {
  results.postMessage(r);
  Atomics.add(posted, 0, 1);
}
tuneEngineForTranslation();
// The translator compiled now, beside the domain's build, not for the first hot page.
loadTranslator();
const baseline: CompileRequest[] = [];
const optimised: CompileRequest[] = [];
let scheduled = false;
// Optimised compiles under way (one at a time: each takes a core for ~15 ms).
let optimising = 0;

function compile(req: CompileRequest): void {
  const t0 = performance.now();
  const fail = (e: unknown): void => reply({ id: req.id, error: (e as Error).message });
  try {
    const page = translatePage(req.words, req.entries, req.optimize, req.ran ?? undefined);
    const done = (module: WebAssembly.Module): void => {
      reply({ id: req.id, module, bytes: page.bytes.length, translated: page.translated, called: page.called, ms: performance.now() - t0 });
    };
    // An optimised compile runs on V8's own threads while this one goes on
    // with baseline requests (where V8 can be told the compiler per module:
    // engine.ts; else it compiles here, now).
    const pending = req.optimize ? compileTranslationAsync(page.bytes, true) : null;
    if (!pending) { done(compileTranslation(page.bytes, req.optimize)); return; }
    optimising++;
    pending.then(done).catch(fail).finally(() => { optimising--; schedule(); });
  } catch (e) {
    fail(e);
  }
}

function next(): void {
  scheduled = false;
  const req = baseline.shift() ?? (optimising === 0 ? optimised.shift() : undefined);
  if (req) compile(req);
  if (baseline.length || (optimised.length && optimising === 0)) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(next);
}

parentPort!.on("message", (m: CompileRequest | CancelRequest) => {
  if ("cancel" in m) {
    const i = optimised.findIndex((r) => r.id === m.cancel);
    if (i >= 0) { optimised.splice(i, 1); reply({ id: m.cancel, cancelled: true }); }
    return; // (under way or done: its result comes, and is dropped on arrival)
  }
  (m.optimize ? optimised : baseline).push(m);
  schedule();
});
