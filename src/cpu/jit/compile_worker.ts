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
import { translatePage } from "./translate_page.js";
import { compileTranslation, compileTranslationAsync, tuneEngineForTranslation } from "./engine.js";

export interface CompileRequest { id: number; words: Uint32Array; entries: number[]; optimize: boolean; ran: Uint8Array | null }
export type CompileResult =
  | { id: number; module: WebAssembly.Module; bytes: number; translated: number; called: number; ms: number }
  | { id: number; error: string; fatal?: boolean }; // fatal: the translator itself is gone

const results = (workerData as { results: MessagePort }).results;
tuneEngineForTranslation();
const baseline: CompileRequest[] = [];
const optimised: CompileRequest[] = [];
let scheduled = false;
// Optimised compiles under way (one at a time: each takes a core for ~15 ms).
let optimising = 0;

function compile(req: CompileRequest): void {
  const t0 = performance.now();
  const fail = (e: unknown): void => results.postMessage({ id: req.id, error: (e as Error).message } satisfies CompileResult);
  try {
    const page = translatePage(req.words, req.entries, req.optimize, req.ran ?? undefined);
    const done = (module: WebAssembly.Module): void => {
      results.postMessage({ id: req.id, module, bytes: page.bytes.length, translated: page.translated, called: page.called, ms: performance.now() - t0 } satisfies CompileResult);
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

// Warming up: the translator is JavaScript that V8 optimises as it runs,
// and a cold one takes about three times as long a page, in the first
// requests of a boot, when they come fastest. The worker starts with its
// core (during the domain's build) and, while no request waits,
// translates a page of the instructions kernels are made of a few times.
// Measured on a boot's first hundred pages: 403 ms cold, 147 ms after 30
// warm-up translations.
const WARM_UP = [
  0xd503233f, 0xa9bd7bfd, 0x910003fd, 0xa90153f3, 0xaa0003f3, 0xf9400401, 0xb8637802, 0x38401424, // paciasp; stp pre; mov sp; stp; mov; ldr; ldr reg; ldrb post
  0xb9800425, 0x79400446, 0xf9000a64, 0x38001e64, 0x91004000, 0xcb010042, 0xab040c63, 0xf101007f, // ldrsw; ldrh; str; strb pre; add; sub; adds shifted; cmp
  0x54000208, 0x92781ca5, 0x2a0700c6, 0xcac91d08, 0xd2a2468a, 0xf28acf0a, 0xd3442d8b, 0xd37df1ad, // b.hi; and imm; orr; eor ror; movz; movk; ubfx; lsl
  0x9a9011ee, 0x1a911631, 0xfa423024, 0x9b020c32, 0x9ac40862, 0xb4000060, 0x37180041, 0x97ffffe1, // csel; cinc; ccmp; madd; udiv; cbz; tbnz; bl
  0xa94153f3, 0xa8c37bfd, 0xd50323bf, 0xd65f03c0, 0xaa1e03e9, 0xd503201f, 0xd538d080, 0xd50342df, // ldp; ldp post; autiasp; ret; mov x9, x30; nop; mrs; msr daifset
  0xc85f7c01, 0x91000421, 0xc8027c01, 0x35ffff22, 0xd63f0060, 0xd61f0080, 0xd4000001, //             ldxr; add; stxr; cbnz; blr; br; svc
];
let warmUps = 30;
function warmUp(): void {
  // Five copies, then B to itself (so the walk stops there, ~250
  // instructions: a few ms cold, and a request waits at most that long).
  const words = new Uint32Array(1024);
  for (let i = 0; i < 5 * WARM_UP.length; i++) words[i] = WARM_UP[i % WARM_UP.length];
  words[5 * WARM_UP.length] = 0x14000000;
  translatePage(words, Array.from({ length: 1 + (warmUps % 5) }, (_, k) => k * WARM_UP.length * 4));
  warmUps--;
}

function next(): void {
  scheduled = false;
  const req = baseline.shift() ?? (optimising === 0 ? optimised.shift() : undefined);
  if (req) compile(req);
  else if (warmUps > 0) warmUp();
  if (baseline.length || (optimised.length && optimising === 0) || warmUps > 0) schedule();
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
schedule();
