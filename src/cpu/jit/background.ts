// One background translator per process (compile_worker.ts), shared by every
// core in it. Results are read synchronously (receiveMessageOnPort), so a
// core installs them between its slices without waiting for the event loop,
// and the worker never keeps the process alive.

import { Worker, MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import type { CancelRequest, CompileRequest, CompileResult } from "./compile_worker.js";
import { lowerOtherThreads } from "./thread_priority.js";

export type ResultHandler = (r: CompileResult) => void;

class BackgroundTranslator {
  private readonly worker: Worker;
  private readonly results: MessagePort;
  // Results the worker has posted (it counts each after posting it), and
  // how many of those drain() has read: the port is read only for those.
  // Most of a boot's ~3,500 polls find nothing (the reads cost ~3 ms).
  private readonly posted = new Int32Array(new SharedArrayBuffer(4));
  private seen = 0;
  private nextId = 1;
  private readonly owners = new Map<number, ResultHandler>();
  failed: string | null = null;

  // nice: how many nice levels below the calling (vCPU's) thread the
  // process's other threads run; the translator's stays at the caller's
  // (thread_priority.ts).
  constructor(nice: number) {
    const { port1, port2 } = new MessageChannel();
    this.results = port1;
    lowerOtherThreads(nice);
    // (The process's own options, but not --input-type: it is for the main
    // script given with -e, and a worker started from a file refuses it.
    // Given explicitly only then: Node refuses V8's options given so, and
    // passes them on when it copies the process's.)
    const execArgv = process.execArgv.some((a) => a.startsWith("--input-type")) ? process.execArgv.filter((a) => !a.startsWith("--input-type")) : undefined;
    this.worker = new Worker(new URL("./compile_worker.js", import.meta.url), { workerData: { results: port2, posted: this.posted }, transferList: [port2], execArgv });
    this.worker.unref();
    this.results.unref();
    this.worker.on("error", (e) => this.fail(`the background translator failed: ${e.message}`));
    this.worker.on("exit", (code) => this.fail(`the background translator exited (${code})`));
  }

  // Owners of requests still out learn that they will not be answered.
  private fail(why: string): void {
    if (this.failed) return;
    this.failed = why;
    process.stderr.write(`xents: ${why}; pages are translated on the vCPU's thread from now on\n`);
    for (const [id, h] of this.owners) h({ id, error: why, fatal: true });
    this.owners.clear();
  }

  // optimize: compiled by V8's optimising compiler (engine.ts).
  // ran: the instructions of the page that have run (translate_page.ts), or null.
  post(words: Uint32Array<ArrayBuffer>, entries: number[], optimize: boolean, ran: Uint8Array | null, onResult: ResultHandler): number {
    const id = this.nextId++;
    this.owners.set(id, onResult);
    this.worker.postMessage({ id, words, entries, optimize, ran } satisfies CompileRequest, [words.buffer]);
    return id;
  }

  // An optimised request no longer wanted: the worker drops it if it has
  // not started it (its handler then gets { cancelled: true }).
  cancel(id: number): void {
    if (this.owners.has(id)) this.worker.postMessage({ cancel: id } satisfies CancelRequest);
  }

  // Hands every result that has arrived to its owner: as many as were
  // counted (a result is on the port before it is counted; one not counted
  // yet is read next time).
  drain(): void {
    const posted = Atomics.load(this.posted, 0);
    while (this.seen !== posted) {
      const m = receiveMessageOnPort(this.results);
      if (!m) break;
      this.seen = (this.seen + 1) | 0; // (the counter wraps as an Int32Array's element does)
      const r = m.message as CompileResult;
      const h = this.owners.get(r.id);
      this.owners.delete(r.id);
      h?.(r);
    }
  }

  get outstanding(): number { return this.owners.size; }
}

let shared: BackgroundTranslator | null = null;

let unavailable = false;

// The process's translator (started on first use, with the first caller's
// `nice`), or null if it cannot run (then translation happens on the
// caller's thread).
export function backgroundTranslator(nice = 0): BackgroundTranslator | null {
  if (unavailable) return null;
  if (!shared) {
    try { shared = new BackgroundTranslator(nice); } catch { unavailable = true; return null; }
  }
  return shared.failed ? null : shared;
}
