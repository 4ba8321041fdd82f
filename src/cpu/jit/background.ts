// One background translator per process, shared by every core in it: two
// worker threads (compile_worker.ts), one for baseline compiles and one for
// optimised ones. Results are read synchronously (receiveMessageOnPort), so
// a core installs them between its slices without waiting for the event
// loop, and the workers never keep the process alive.
//
// Why two (where each module can say which compiler it wants: engine.ts;
// elsewhere one thread compiles both): a page waiting for its baseline code is interpreted meanwhile
// (~15 ns an instruction), while one waiting for its optimised compile runs
// baseline code; an optimised compile takes ~25 ms and a baseline one ~2.
// Behind one worker, baseline requests waited for the optimised compile
// under way: without optimised compiles at all, a Linux boot interpreted
// ~12 M instructions waiting for baseline code, against ~22 M with them.
// The optimising worker runs at the lowest priority the host gives a thread,
// so that it takes what the vCPU and the baseline worker leave of the cores.

import { Worker, MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import type { CompileRequest, CompileResult } from "./compile_worker.js";
import { tiersPerModule } from "./engine.js";

export type ResultHandler = (r: CompileResult) => void;

interface Lane { worker: Worker; results: MessagePort }

class BackgroundTranslator {
  private readonly baseline: Lane;
  private readonly optimising: Lane | null = null;
  private nextId = 1;
  private readonly owners = new Map<number, ResultHandler>();
  failed: string | null = null;

  constructor() {
    this.baseline = this.lane(false);
    if (!tiersPerModule()) return;
    try { this.optimising = this.lane(true); } catch (e) { void this.baseline.worker.terminate(); throw e; }
  }

  private lane(optimising: boolean): Lane {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL("./compile_worker.js", import.meta.url), { workerData: { results: port2, optimising }, transferList: [port2] });
    worker.unref();
    port1.unref();
    worker.on("error", (e) => this.fail(`the background translator failed: ${e.message}`));
    worker.on("exit", (code) => this.fail(`the background translator exited (${code})`));
    return { worker, results: port1 };
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
  post(words: Uint32Array<ArrayBuffer>, entries: number[], optimize: boolean, onResult: ResultHandler): number {
    const id = this.nextId++;
    this.owners.set(id, onResult);
    (optimize && this.optimising ? this.optimising : this.baseline).worker.postMessage({ id, words, entries, optimize } satisfies CompileRequest, [words.buffer]);
    return id;
  }

  // Hands every result that has arrived to its owner.
  drain(): void {
    this.drainLane(this.baseline);
    if (this.optimising) this.drainLane(this.optimising);
  }

  private drainLane(lane: Lane): void {
    for (let m = receiveMessageOnPort(lane.results); m; m = receiveMessageOnPort(lane.results)) {
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

// The process's translator (started on first use), or null if it cannot run
// (then translation happens on the caller's thread).
export function backgroundTranslator(): BackgroundTranslator | null {
  if (unavailable) return null;
  if (!shared) {
    try { shared = new BackgroundTranslator(); } catch { unavailable = true; return null; }
  }
  return shared.failed ? null : shared;
}
