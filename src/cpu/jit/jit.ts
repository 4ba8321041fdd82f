// Translation of hot guest pages to WebAssembly: the policy around
// translate_page.ts. The core counts heat per machine frame and calls
// compile() (its imported jitCompile) when a frame gets hot; the function
// goes into the shared function table and the core records its slot in the
// frame's record (src/cpu/core/code_frames.ts). Live modules are bounded;
// past the bound the least recently compiled one goes.

import { translatePage, JIT_FUNCS, JIT_GLOBALS } from "./translate_page.js";

export interface JitOptions {
  enabled: boolean;
  // Block heads the interpreter runs in a frame before it is translated (0: at once).
  threshold: number;
  maxModules: number;
  // Entries a frame's translation may be built from: past the first, an
  // entry that keeps missing (1024 times) makes the page translate again.
  maxEntries?: number;
}

// Measured on Linux boots and the guest tests (docs/ARCHITECTURE.md): pages
// run 16000 block heads before they are translated, one entry each; lower
// thresholds translate pages that do not run long enough to repay their
// compilation. On by default; XENTS_JIT=0 turns it off, XENTS_JIT_THRESHOLD
// sets the heat.
export const JIT_DEFAULTS: JitOptions = { enabled: true, threshold: 16000, maxModules: 4096, maxEntries: 1 };

export function jitOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): JitOptions {
  const o = { ...JIT_DEFAULTS };
  if (env.XENTS_JIT !== undefined) o.enabled = env.XENTS_JIT !== "0";
  if (env.XENTS_JIT_MAX_ENTRIES !== undefined) {
    const m = Number(env.XENTS_JIT_MAX_ENTRIES);
    if (!Number.isInteger(m) || m < 1 || m > 1024) throw new Error(`XENTS_JIT_MAX_ENTRIES must be an integer from 1 to 1024 (got ${env.XENTS_JIT_MAX_ENTRIES})`);
    o.maxEntries = m;
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
  compile_ms: number;
  wasm_bytes: number;
  instructions_translated: number; // run inside translated code
  insns_inline: number; // over all translations: instructions translated inline ...
  insns_called: number; // ... and left to the interpreter
  errors: number; // pages the translator failed on (a bug; they stay interpreted)
  last_error: string;
}

interface CoreSide {
  memory: WebAssembly.Memory;
  exports: Record<string, unknown>;
}

const RECORD = 8;
const FL_CODE = 1;

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
  private stats = { pages: 0, evicted: 0, ms: 0, bytes: 0, inline: 0, called: 0, errors: 0, retranslations: 0 };
  // Byte offsets where execution entered each translated frame.
  private entries = new Map<number, Set<number>>();
  private lastError = "";

  constructor(readonly options: JitOptions, reservedSlots: number) {
    this.firstSlot = reservedSlots;
    this.table = new WebAssembly.Table({ element: "anyfunc", initial: reservedSlots });
    this.slotFrame = new Int32Array(reservedSlots);
  }

  // Called once the core instance exists. tab: wasm offset of the frame records.
  attach(core: CoreSide, tab: number, frames: number, ramHost: number): void {
    this.core = core;
    this.tab = tab; this.frames = frames; this.ramHost = ramHost;
    const e = core.exports;
    this.imports = { memory: core.memory };
    for (const f of JIT_FUNCS) this.imports[f.name] = e[f.name] as WebAssembly.ImportValue;
    for (const g of JIT_GLOBALS) this.imports[g.name] = e[g.name] as WebAssembly.Global;
    const setup = e.jitSetup as (tab: number, frames: number, ram: number, threshold: number, on: number) => void;
    setup(tab, frames, ramHost, this.options.threshold, this.options.enabled ? 1 : 0);
  }

  // The core's jitCompile: translate frame f from the entries seen so far and
  // `entry`; the table slot, or 0 to leave it to the interpreter.
  compile(frame: number, entry: number): number {
    const core = this.core;
    if (!core || frame >= this.frames) return 0;
    let entries = this.entries.get(frame);
    // Not translated now (first time, or its code was written): start afresh.
    if (!entries || this.record(frame).getUint32(0, true) === 0) { entries = new Set(); this.entries.set(frame, entries); }
    else if (entries.size >= (this.options.maxEntries ?? 1)) return 0;
    entries.add(entry);
    if (entries.size > 1) this.stats.retranslations++;
    const t0 = performance.now();
    const words = new Uint32Array(core.memory.buffer, this.ramHost + frame * 4096, 1024);
    let page: ReturnType<typeof translatePage>;
    let instance: WebAssembly.Instance;
    try {
      page = translatePage(words, entries);
      instance = new WebAssembly.Instance(new WebAssembly.Module(page.bytes), { env: this.imports });
    } catch (e) {
      // A translator bug must not take the host down: the frame stays interpreted.
      this.stats.errors++;
      if (!this.lastError) {
        this.lastError = `frame ${frame}: ${(e as Error).message}`;
        process.stderr.write(`xents: translating a guest page failed (left to the interpreter): ${this.lastError}\n`);
      }
      return 0;
    }
    const slot = this.takeSlot();
    this.table.set(slot, instance.exports.f as () => void);
    this.slotFrame[slot] = frame;
    this.order.push(slot);
    this.stats.pages++;
    this.stats.bytes += page.bytes.length;
    this.stats.inline += page.translated;
    this.stats.called += page.called;
    this.stats.ms += performance.now() - t0;
    return slot;
  }

  private record(frame: number): DataView { return new DataView(this.core!.memory.buffer, this.tab + frame * RECORD, RECORD); }

  private takeSlot(): number {
    for (;;) {
      const s = this.freeSlots.pop();
      if (s !== undefined) return s;
      if (this.table.length - this.firstSlot < this.options.maxModules) {
        const slot = this.table.grow(1);
        if (slot >= this.slotFrame.length) {
          const b = new Int32Array(Math.max(64, this.slotFrame.length * 2));
          b.set(this.slotFrame);
          this.slotFrame = b;
        }
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
    const live = this.order.filter((slot) => this.record(this.slotFrame[slot]).getUint32(0, true) === slot).length;
    return {
      enabled: this.options.enabled,
      pages_translated: this.stats.pages,
      retranslations: this.stats.retranslations,
      live_modules: live,
      evicted: this.stats.evicted,
      invalidations: g("jitInvalidations"),
      compile_ms: Math.round(this.stats.ms),
      wasm_bytes: this.stats.bytes,
      instructions_translated: g("jitRetired"),
      insns_inline: this.stats.inline,
      insns_called: this.stats.called,
      errors: this.stats.errors,
      last_error: this.lastError,
    };
  }
}
