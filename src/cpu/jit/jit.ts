// Translation of hot guest pages to WebAssembly: the policy around
// translate_page.ts. The core counts heat per machine frame and calls
// compile() (its imported jitCompile) when a frame gets hot; the function
// goes into the shared function table and the core records its slot in the
// frame's record (src/cpu/core/code_frames.ts). Live modules are bounded;
// past the bound the least recently compiled one goes.

import { translatePage, JIT_FUNCS, JIT_GLOBALS } from "./translate_page.js";
import { backgroundTranslator } from "./background.js";
import { compileTranslation } from "./engine.js";
import type { CompileResult } from "./compile_worker.js";

export interface JitOptions {
  enabled: boolean;
  // Block heads the interpreter runs in a frame before it is translated (0: at once).
  threshold: number;
  // Every this many guest instructions the core's vCPUs retire, the heat
  // of frames without code is halved (0: never), so the threshold counts
  // recent block heads.
  heatDecay?: number;
  maxModules: number;
  // At most this many entries a frame's translation is built from: the one
  // that made it hot and those from other pages that recurred while it was
  // cold; entries that keep missing (256 misses in the frame) make it
  // translate again with those that recur, up to this bound.
  maxEntries?: number;
  // Translate and compile on a worker thread (background.ts): the frame is
  // interpreted until its code is installed (between runs, or when the
  // core asks in the middle of one: jitPoll).
  // Off: at once, on the vCPU's thread (the differential tests' mode).
  background?: boolean;
  // A translation whose code has retired this many guest instructions is
  // compiled again by V8's optimising compiler (engine.ts); 0: never.
  optimizeAfter?: number;
  // Translate only the paths of a page the interpreter has run (and what
  // follows a call or an exception, which comes back), not everything its
  // entries reach; a path left out that runs later leaves translated code
  // for the interpreter, and the page is translated again with it when
  // that recurs.
  pruned?: boolean;
  // With the background translator: the process's other threads (V8's
  // compiler and GC threads; not the translator's) run this many nice
  // levels below the vCPU's (thread_priority.ts); 0: as they are.
  backgroundNice?: number;
}

// Measured on Linux boots and the guest tests (docs/ARCHITECTURE.md): pages
// run 3000 block heads, counted with halving every 5 M instructions, before
// they are translated (without the halving, 16000 was best: lower
// thresholds translated pages that did not run long enough to repay their
// compilation; 4000 until baseline code's loads and stores left it on a
// miss instead of calling the interpreter, which made that code ~23% smaller). A page's translation grows to at most 8 entries (4 were
// better while V8's own tier-up competed for the cores). On by default;
// XENTS_JIT=0 turns it off, XENTS_JIT_THRESHOLD sets the heat,
// XENTS_JIT_DECAY the instructions between halvings, XENTS_JIT_OPTIMIZE
// the instructions before a page's optimised compile, XENTS_JIT_NICE the
// nice levels V8's threads run below the vCPU's and the translator's.
export const JIT_DEFAULTS: JitOptions = { enabled: true, threshold: 3000, heatDecay: 5_000_000, maxModules: 4096, maxEntries: 8, background: true, optimizeAfter: 2_000_000, pruned: true, backgroundNice: 3 };

export function jitOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): JitOptions {
  const o = { ...JIT_DEFAULTS };
  if (env.XENTS_JIT !== undefined) o.enabled = env.XENTS_JIT !== "0";
  if (env.XENTS_JIT_BACKGROUND !== undefined) o.background = env.XENTS_JIT_BACKGROUND !== "0";
  if (env.XENTS_JIT_PRUNED !== undefined) o.pruned = env.XENTS_JIT_PRUNED !== "0";
  if (env.XENTS_JIT_MAX_ENTRIES !== undefined) {
    const m = Number(env.XENTS_JIT_MAX_ENTRIES);
    if (!Number.isInteger(m) || m < 1 || m > 1024) throw new Error(`XENTS_JIT_MAX_ENTRIES must be an integer from 1 to 1024 (got ${env.XENTS_JIT_MAX_ENTRIES})`);
    o.maxEntries = m;
  }
  if (env.XENTS_JIT_OPTIMIZE !== undefined) {
    const n = Number(env.XENTS_JIT_OPTIMIZE);
    if (!Number.isInteger(n) || n < 0 || n > 0x7FFFFFFF) throw new Error(`XENTS_JIT_OPTIMIZE must be an integer from 0 to 2147483647 (got ${env.XENTS_JIT_OPTIMIZE})`);
    o.optimizeAfter = n;
  }
  if (env.XENTS_JIT_DECAY !== undefined) {
    const n = Number(env.XENTS_JIT_DECAY);
    if (!Number.isInteger(n) || n < 0 || n > 0xFFFFFFFF) throw new Error(`XENTS_JIT_DECAY must be an integer from 0 to 4294967295 (got ${env.XENTS_JIT_DECAY})`);
    o.heatDecay = n;
  }
  if (env.XENTS_JIT_NICE !== undefined) {
    const n = env.XENTS_JIT_NICE.trim() === "" ? Number.NaN : Number(env.XENTS_JIT_NICE);
    if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`XENTS_JIT_NICE must be an integer from 0 to 19 (got ${env.XENTS_JIT_NICE})`);
    o.backgroundNice = n;
  }
  if (env.XENTS_JIT_THRESHOLD !== undefined) {
    const t = Number(env.XENTS_JIT_THRESHOLD);
    if (!Number.isInteger(t) || t < 0 || t > 65535) throw new Error(`XENTS_JIT_THRESHOLD must be an integer from 0 to 65535 (got ${env.XENTS_JIT_THRESHOLD})`);
    o.threshold = t;
  }
  return o;
}

export interface JitStats {
  enabled: boolean;
  pages_translated: number;
  retranslations: number; // of a page already translated, with one more entry
  live_modules: number;
  evicted: number;
  invalidations: number;
  compile_ms: number; // on the vCPU's thread (translating, compiling, instantiating)
  background: boolean;
  worker_ms: number; // translating and compiling in the background, each request from its start to its result (an optimised one: while V8's threads compile it)
  dropped: number; // background translations whose page changed (or, optimised ones, whose translation went) before they were installed
  cancelled: number; // optimised compiles not made: the page was translated again while they waited
  wasm_bytes: number;
  instructions_translated: number; // run inside translated code
  instructions_optimized: number; // ... of which in optimised code
  calls: number; // entries into translated code from the run loop
  chained: number; // ... and from translated code leaving its page (jitChain)
  returned: number; // calls out of a page made as wasm calls that came back to their return point, where the caller's code went on (jitCall)
  // Instructions the interpreter ran at block heads translated code did not
  // take, by why: the frame below the heat threshold, waiting for the
  // background translator, left to the interpreter, translated but not from
  // that entry, a first block over the limit, a load or store off its fast
  // path (optimised code), a path its translation left out, or not RAM.
  interpreted: { cold: number; pending: number; blocked: number; not_head: number; no_fit: number; slow_path: number; untranslated: number; other: number };
  insns_inline: number; // over all translations: instructions translated inline ...
  insns_called: number; // ... and left to the interpreter
  errors: number; // pages the translator failed on (a bug; they stay interpreted)
  last_error: string;
  optimized: number; // translations compiled optimised: again, past optimizeAfter, or at once, translating an optimised page again
}

interface CoreSide {
  memory: WebAssembly.Memory;
  exports: Record<string, unknown>;
}

const RECORD = 8;
const SLOT_GROWTH = 64;
const FL_CODE = 1, FL_BLOCKED = 2, FL_PENDING = 4, MAX_INVALIDATIONS = 8; // code_frames.ts
const PENDING = 0xFFFFFFFF; // the core's JIT_PENDING
const GREW = 0x1000; // the core's GREW
export const EXEC_SLOTS = 8192; // code_frames.ts (the core says, jitExecSlots)
export const EXEC_MAP_BYTES = EXEC_SLOTS * (4 + 128);

function sameBits(a: Uint8Array, b: Uint8Array | null): boolean {
  if (!b) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Jit {
  readonly table: WebAssembly.Table;
  private readonly firstSlot: number;
  private slotFrame: Int32Array;
  private freeSlots: number[] = [];
  private order: number[] = []; // slots in compile order (oldest first), for eviction
  private core: CoreSide | null = null;
  private imports: WebAssembly.ModuleImports = {};
  private tab = 0;
  private frames = 0;
  private ramHost = 0;
  private execMap = 0;
  // The executed-instruction bits each slot's translation was made from.
  private slotRan: (Uint8Array | null)[] = [];
  private stats = { pages: 0, evicted: 0, ms: 0, bytes: 0, inline: 0, called: 0, errors: 0, retranslations: 0, workerMs: 0, dropped: 0, optimized: 0, cancelled: 0 };
  // Each slot's translation: which of its placements it is (an optimised
  // compile is installed only over the one it was made from) and the
  // entries it was built from (the optimised compile uses the same).
  private slotGen: number[] = [];
  private slotEntries: number[][] = [];
  private slotOptimised: boolean[] = [];
  // The optimised compiles out in the background: slot -> its generation
  // when asked, and the request.
  private readonly optimizing = new Map<number, { gen: number; id: number }>();
  // Frames being translated in the background: the request's id.
  private pending = new Map<number, number>();
  // Byte offsets where execution entered each translated frame.
  private entries = new Map<number, Set<number>>();
  // Retranslations refused to frames at maxEntries since their translation began (pastCap).
  private refused = new Map<number, number>();
  private lastError = "";

  constructor(readonly options: JitOptions, reservedSlots: number) {
    this.firstSlot = reservedSlots;
    this.table = new WebAssembly.Table({ element: "anyfunc", initial: reservedSlots });
    this.slotFrame = new Int32Array(reservedSlots);
  }

  // Called once the core instance exists. tab: wasm offset of the frame records.
  attach(core: CoreSide, tab: number, frames: number, ramHost: number, execMap: number): void {
    this.core = core;
    this.tab = tab; this.frames = frames; this.ramHost = ramHost; this.execMap = execMap;
    const e = core.exports;
    this.imports = { memory: core.memory, table: this.table };
    for (const f of JIT_FUNCS) this.imports[f] = e[f] as WebAssembly.ImportValue;
    for (const g of JIT_GLOBALS) this.imports[g] = e[g] as WebAssembly.Global;
    const setup = e.jitSetup as (tab: number, frames: number, ram: number, threshold: number, on: number, exec: number) => void;
    setup(tab, frames, ramHost, this.options.threshold, this.options.enabled ? 1 : 0, execMap);
    (e.jitSetOptimize as (n: number) => void)(this.options.optimizeAfter ?? 0);
    (e.jitSetHeatDecay as (n: number) => void)(this.options.heatDecay ?? 0);
    // The background translator starts now, beside the domain's build,
    // rather than at the first hot page (compile_worker.ts warms it up).
    if (this.options.enabled && this.options.background) backgroundTranslator(this.options.backgroundNice ?? 0);
  }

  // The core's jitCompile: translate frame f from the entries seen so far and
  // `entry`; the table slot, or 0 to leave it to the interpreter.
  compile(frame: number, entry: number): number {
    const core = this.core;
    if (!core || frame >= this.frames) return 0;
    // GREW: paths of the page its translation left out have run since; no
    // new entry, and worth translating again only if more has run.
    const grew = (entry & GREW) !== 0;
    entry &= 0xFFF;
    let entries = this.entries.get(frame);
    const current = this.record(frame).getUint32(0, true);
    const ran = this.ran(frame);
    // Not translated now (first time, or its code was written): start afresh.
    if (!entries || current === 0) { entries = new Set(); this.entries.set(frame, entries); this.refused.delete(frame); }
    else if (grew) { if (!ran || sameBits(ran, this.slotRan[current] ?? null)) return 0; }
    // (Past the cap only while more of the page has run since: code that
    // had not run when the page was translated, reached indirectly, as a
    // program's later phases are.)
    else if (entries.size >= (this.options.maxEntries ?? 1) && !(ran && !sameBits(ran, this.slotRan[current] ?? null)) && !this.pastCap(frame)) return 0;
    if (this.pending.has(frame)) return PENDING;
    // The optimised compile asked for the translation this one replaces
    // would be dropped on arrival (its slot no longer the frame's): if the
    // worker has not started it, it does not (in a boot 9 of 35 optimised
    // compiles, ~15 ms of the spare core each, were made for nothing).
    const asked = current !== 0 ? this.optimizing.get(current) : undefined;
    if (asked && asked.gen === this.slotGen[current]) backgroundTranslator()?.cancel(asked.id);
    const before = entries.size;
    if (!grew || before === 0) entries.add(entry);
    this.recentEntries(frame, entries);
    if (before > 0) this.stats.retranslations++;
    // A page whose code was hot enough to be optimised is translated again
    // (with one more entry) optimised at once, not baseline first and then
    // optimised again after as many instructions. Its old code runs
    // meanwhile.
    const optimise = before > 0 && current !== 0 && this.slotOptimised[current] === true;
    const t0 = performance.now();
    const words = new Uint32Array(core.memory.buffer, this.ramHost + frame * 4096, 1024);
    const bg = this.options.background ? backgroundTranslator() : null;
    if (bg) {
      // The worker gets a copy; another stays here to check at installation
      // that the page still holds what was translated.
      const snapshot = words.slice();
      const list = [...entries];
      const id = bg.post(words.slice(), list, optimise, ran, (r) => this.install(frame, id, snapshot, list, optimise, ran, r));
      this.pending.set(frame, id);
      this.stats.ms += performance.now() - t0;
      return PENDING;
    }
    let page: ReturnType<typeof translatePage>;
    let instance: WebAssembly.Instance;
    try {
      page = translatePage(words, entries, optimise, ran ?? undefined);
      const module = compileTranslation(page.bytes, optimise);
      instance = new WebAssembly.Instance(module, { env: this.imports });
    } catch (e) {
      this.failed(frame, (e as Error).message);
      return 0;
    }
    const slot = this.place(frame, instance, [...entries], ran, page.bytes.length, page.translated, page.called, optimise);
    this.stats.ms += performance.now() - t0;
    return slot;
  }

  // The instructions of `frame` the interpreter has run (a bit each), if it
  // still has them (code_frames.ts), else null: translate all its entries reach.
  // (At threshold 0 nothing has run when a page is translated: the
  // differential tests' mode, where everything is translated.)
  private ran(frame: number): Uint8Array | null {
    if (!this.execMap || !this.options.pruned || this.options.threshold === 0) return null;
    const slot = frame & (EXEC_SLOTS - 1);
    const mem = this.core!.memory.buffer;
    if (new Uint32Array(mem, this.execMap + slot * 4, 1)[0] !== frame + 1) return null;
    return new Uint8Array(mem, this.execMap + EXEC_SLOTS * 4 + slot * 128, 128).slice();
  }

  // The core's jitOptimize: the translation in `slot` (frame's) has run
  // enough to repay an optimised compile of the same page from the same
  // entries; it replaces the function in the slot when it is ready.
  optimize(frame: number, slot: number): void {
    const core = this.core;
    if (!core || frame >= this.frames || this.record(frame).getUint32(0, true) !== slot || this.slotFrame[slot] !== frame) return;
    // Along what has run by now: paths that ran since the baseline
    // translation are in its optimised successor.
    const gen = this.slotGen[slot], entries = this.slotEntries[slot], ran = this.ran(frame) ?? this.slotRan[slot] ?? null;
    const t0 = performance.now();
    const words = new Uint32Array(core.memory.buffer, this.ramHost + frame * 4096, 1024);
    const bg = this.options.background ? backgroundTranslator() : null;
    if (bg) {
      const snapshot = words.slice();
      const id = bg.post(words.slice(), entries, true, ran, (r) => {
        if (this.optimizing.get(slot)?.gen === gen) this.optimizing.delete(slot);
        this.installOptimized(frame, slot, gen, snapshot, ran, r);
      });
      this.optimizing.set(slot, { gen, id });
    } else {
      try {
        const module = compileTranslation(translatePage(words, entries, true, ran ?? undefined).bytes, true);
        this.swap(slot, new WebAssembly.Instance(module, { env: this.imports }), ran);
      } catch (e) {
        this.failed(frame, (e as Error).message);
      }
    }
    this.stats.ms += performance.now() - t0;
  }

  private installOptimized(frame: number, slot: number, gen: number, snapshot: Uint32Array, ran: Uint8Array | null, r: CompileResult): void {
    if ("cancelled" in r) { this.stats.cancelled++; return; }
    if ("error" in r) { if (!r.fatal) this.failed(frame, r.error); return; }
    this.stats.workerMs += r.ms;
    // Still the translation it was made from, of the same words (a write
    // invalidates the record; a slot freed and placed again has a new gen).
    if (this.slotGen[slot] !== gen || this.record(frame).getUint32(0, true) !== slot) { this.stats.dropped++; return; }
    if (!this.holds(frame, snapshot)) { this.stats.dropped++; return; }
    const t0 = performance.now();
    try {
      this.swap(slot, new WebAssembly.Instance(r.module, { env: this.imports }), ran);
    } catch (e) {
      this.failed(frame, (e as Error).message);
    }
    this.stats.ms += performance.now() - t0;
  }

  // Whether the frame still holds the words a translation was made from.
  private holds(frame: number, words: Uint32Array): boolean {
    const now = new Uint32Array(this.core!.memory.buffer, this.ramHost + frame * 4096, 1024);
    for (let i = 0; i < 1024; i++) if (now[i] !== words[i]) return false;
    return true;
  }

  // The same code, optimised, in place of the slot's function.
  private swap(slot: number, instance: WebAssembly.Instance, ran: Uint8Array | null): void {
    this.table.set(slot, instance.exports.f as () => void);
    this.slotRan[slot] = ran;
    this.slotOptimised[slot] = true;
    (this.core!.exports.jitSlotOptimised as (s: number) => void)(slot);
    this.stats.optimized++;
  }

  // Entries of `frame` that recur in the core's ring of recent entries
  // (those from another page while the frame was below the threshold, and
  // misses since), up to the bound: a one-off, such as an exception return
  // into the middle of a block, would only split a block.
  private recentEntries(frame: number, entries: Set<number>): void {
    const core = this.core!;
    const e = core.exports;
    const distinct = (e.jitRingEntries as (f: number) => number)(frame);
    const pairs = new Uint32Array(core.memory.buffer, (e.jitRingOut as () => number)(), 2 * distinct);
    const seen: [number, number][] = [];
    for (let i = 0; i < distinct; i++) seen.push([pairs[2 * i], pairs[2 * i + 1]]);
    // The most frequent first.
    const max = Math.max(this.options.maxEntries ?? 1, entries.size);
    for (const [off, n] of seen.sort((a, b) => b[1] - a[1])) {
      if (n < 2 || entries.size >= max) break;
      entries.add(off);
    }
  }

  // A page at maxEntries whose other entries keep missing (each call here
  // is another 256 misses) still gets one more entry each time its
  // refusals double: a hot function entered where its page's translation
  // has no head (a pointer call into a page whose entries are spent, as
  // zlib's inflate is on a boot) would otherwise be interpreted for good,
  // while compiles stay logarithmic in the misses.
  private pastCap(frame: number): boolean {
    const n = (this.refused.get(frame) ?? 0) + 1;
    this.refused.set(frame, n);
    return (n & (n - 1)) === 0 && n >= 2;
  }

  // A translator bug must not take the host down: the frame stays interpreted.
  private failed(frame: number, message: string): void {
    this.stats.errors++;
    if (!this.lastError) {
      this.lastError = `frame ${frame}: ${message}`;
      process.stderr.write(`xents: translating a guest page failed (left to the interpreter): ${this.lastError}\n`);
    }
  }

  private place(frame: number, instance: WebAssembly.Instance, entries: number[], ran: Uint8Array | null, bytes: number, inline: number, called: number, optimised: boolean): number {
    const slot = this.takeSlot();
    this.table.set(slot, instance.exports.f as () => void);
    this.slotFrame[slot] = frame;
    this.slotGen[slot] = (this.slotGen[slot] ?? 0) + 1;
    this.slotEntries[slot] = entries;
    this.slotRan[slot] = ran;
    this.slotOptimised[slot] = optimised;
    if (optimised) this.stats.optimized++;
    (this.core!.exports.jitSlotPlaced as (s: number, optimised: number) => void)(slot, optimised ? 1 : 0);
    this.order.push(slot);
    this.stats.pages++;
    this.stats.bytes += bytes;
    this.stats.inline += inline;
    this.stats.called += called;
    return slot;
  }

  // Between runs: install the background translations that have arrived.
  poll(): void {
    if (this.pending.size || this.optimizing.size) backgroundTranslator()?.drain();
    // A translator that could not start answers nothing: its frames go back to counting heat.
    if (this.pending.size && !backgroundTranslator()) for (const [frame, id] of this.pending) this.install(frame, id, null, [], false, null, { id, error: "no background translator", fatal: true });
  }

  private install(frame: number, id: number, snapshot: Uint32Array | null, entries: number[], optimised: boolean, ran: Uint8Array | null, r: CompileResult): void {
    if (this.pending.get(frame) !== id) return;
    this.pending.delete(frame);
    const t0 = performance.now();
    const rec = this.record(frame);
    const flags = rec.getUint8(6) & ~FL_PENDING;
    rec.setUint8(6, flags);
    if ("cancelled" in r) return; // (only optimised compiles of a translation are cancelled, not these)
    if ("error" in r) {
      // A page the translator failed on stays interpreted; if the translator
      // itself is gone, the frame counts heat again (and is translated here).
      if (!r.fatal) { this.failed(frame, r.error); rec.setUint8(6, flags | FL_BLOCKED); }
      return;
    }
    this.stats.workerMs += r.ms;
    // Written while it was translated (the frame was not code, so no write
    // was noticed): this translation is of words no longer there.
    if ((flags & FL_BLOCKED) !== 0 || snapshot === null || !this.holds(frame, snapshot)) {
      // Counted with the frame's invalidations: a page that keeps changing
      // under its translation is left to the interpreter (code_frames.ts).
      this.stats.dropped++;
      const n = rec.getUint8(7);
      rec.setUint8(7, Math.min(255, n + 1));
      if (n + 1 >= MAX_INVALIDATIONS) rec.setUint8(6, flags | FL_BLOCKED);
      return;
    }
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(r.module, { env: this.imports });
    } catch (e) {
      this.failed(frame, (e as Error).message);
      rec.setUint8(6, flags | FL_BLOCKED);
      return;
    }
    const slot = this.place(frame, instance, entries, ran, r.bytes, r.translated, r.called, optimised);
    rec.setUint32(0, slot, true);
    rec.setUint16(4, 0, true);
    rec.setUint8(6, FL_CODE);
    (this.core!.exports.jitFrameInstalled as (f: number) => void)(frame);
    this.stats.ms += performance.now() - t0;
  }

  private record(frame: number): DataView { return new DataView(this.core!.memory.buffer, this.tab + frame * RECORD, RECORD); }

  private takeSlot(): number {
    for (;;) {
      const s = this.freeSlots.pop();
      if (s !== undefined) return s;
      const room = this.options.maxModules - (this.table.length - this.firstSlot);
      if (room > 0) {
        // Grown SLOT_GROWTH slots at a time: V8 updates every instance
        // importing the table on each grow (~20 ms a boot, one at a time).
        const n = Math.min(SLOT_GROWTH, room);
        const slot = this.table.grow(n);
        if (slot + n > this.slotFrame.length) {
          const b = new Int32Array(Math.max(64, this.slotFrame.length * 2, slot + n));
          b.set(this.slotFrame);
          this.slotFrame = b;
        }
        for (let k = slot + n - 1; k > slot; k--) this.freeSlots.push(k);
        return slot;
      }
      this.reclaim();
    }
  }

  // Slots whose frame was invalidated are free; if none, the oldest translation goes.
  private reclaim(): void {
    const keep: number[] = [];
    for (const slot of this.order) {
      const r = this.record(this.slotFrame[slot]);
      if (r.getUint32(0, true) === slot) keep.push(slot);
      else { this.table.set(slot, null); this.freeSlots.push(slot); }
    }
    this.order = keep;
    if (this.freeSlots.length) return;
    const slot = this.order.shift()!;
    const r = this.record(this.slotFrame[slot]);
    // Not code any more: its TLB entries without a write tag only cost a slow store.
    r.setUint32(0, 0, true);
    r.setUint8(6, r.getUint8(6) & ~FL_CODE);
    this.table.set(slot, null);
    this.freeSlots.push(slot);
    this.stats.evicted++;
  }

  // Milliseconds spent translating so far (the run loop leaves it out of the core's measured speed).
  get compileMs(): number { return this.stats.ms; }

  snapshot(): JitStats {
    const e = this.core?.exports;
    const g = (n: string): number => Number(e ? (e[n] as WebAssembly.Global).value : 0);
    // The core's MISS_* reasons (src/cpu/core/jit.ts).
    const interp = (why: number): number => Number(e ? (e.jitInterpreted as (w: number) => bigint)(why) : 0);
    const live = this.order.filter((slot) => this.record(this.slotFrame[slot]).getUint32(0, true) === slot).length;
    return {
      enabled: this.options.enabled,
      pages_translated: this.stats.pages,
      retranslations: this.stats.retranslations,
      live_modules: live,
      evicted: this.stats.evicted,
      invalidations: g("jitInvalidations"),
      compile_ms: Math.round(this.stats.ms),
      background: !!this.options.background,
      worker_ms: Math.round(this.stats.workerMs),
      dropped: this.stats.dropped,
      cancelled: this.stats.cancelled,
      wasm_bytes: this.stats.bytes,
      instructions_translated: g("jitRetired"),
      instructions_optimized: g("jitRetiredOptimised"),
      calls: g("jitCalls"),
      chained: g("jitChains"),
      returned: g("jitReturns"),
      interpreted: {
        cold: interp(2), pending: interp(3), blocked: interp(4), not_head: interp(5), no_fit: interp(6), slow_path: interp(7), untranslated: interp(8), other: interp(1),
      },
      insns_inline: this.stats.inline,
      insns_called: this.stats.called,
      errors: this.stats.errors,
      last_error: this.lastError,
      optimized: this.stats.optimized,
    };
  }
}
