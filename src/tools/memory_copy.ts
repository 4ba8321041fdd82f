// A running domain's memory into a save stream (save_stream.ts), for live
// migration and Remus: the RAM layout, every page while the guest runs with
// log-dirty on, rounds of the pages dirtied meanwhile, and the pages
// dirtied since the last look.

import type { Xc, ForeignWindow } from "./xc/xc.js";
import type { StreamWriter } from "./save_stream.js";
import { contextMemory } from "../xen/public/domain_context.js";
import { writePages } from "./domain_save.js";
import { XEN_DOMCTL_SHADOW_OP } from "../xen/public/domctl.js";

const RAM_BASE_GFN = 0x40000; // the log-dirty bitmap starts here (GUEST_RAM0_BASE)
const BATCH = 256;

export interface CopyProgress { phase: "precopy" | "stopcopy"; round: number; pagesSent: number; totalPages: number; dirty: number; dirtyRatePps: number; bandwidthPps: number; expectedDowntimeMs: number; }

export class MemoryCopy {
  paused = false;
  logDirty = false;
  pagesSent = 0;
  tPause = 0; // performance.now() of the last pause
  readonly all: number[] = []; // every populated gfn, RAM and the pages around it
  maxPages = "0";
  private ramPages = 0;
  private win: ForeignWindow | null = null; // the pages are read through it, batch after batch (release() unmaps it)

  // `drain` waits while the link's buffer is full and throws if it failed.
  constructor(private readonly xc: Xc, private readonly domid: number, private readonly w: StreamWriter, private readonly drain: () => Promise<void>) {}

  // The RAM layout comes from the context, which needs a moment's pause.
  // Dirty logging starts before the guest runs again (`live`), and also when
  // it stays paused: its backends still write its pages (a frame arriving,
  // an event raised) while the copy goes out, and stop() sends those again.
  begin(live: boolean): void {
    this.pause();
    const ctx0 = contextMemory(this.xc.getHvmContext(this.domid));
    this.maxPages = ctx0.maxPages;
    for (const [first, n] of ctx0.ram) for (let i = 0; i < n; i++) this.all.push(first + i);
    this.ramPages = Math.max(0, ...this.all.map((x) => x - RAM_BASE_GFN + 1));
    this.xc.shadowOp(this.domid, XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY);
    this.logDirty = true;
    if (live) this.unpause();
  }

  pause(): void { this.xc.pause(this.domid); this.paused = true; this.tPause = performance.now(); }
  unpause(): void { this.xc.unpause(this.domid); this.paused = false; }
  stopLogDirty(): void {
    if (!this.logDirty) return;
    this.logDirty = false;
    try { this.xc.shadowOp(this.domid, XEN_DOMCTL_SHADOW_OP.OFF); } catch { /* the domain may be gone */ }
  }
  // The copy is over: the window onto the domain's pages goes (it holds
  // references to the last batch's frames).
  release(): void {
    this.win?.close();
    this.win = null;
  }

  // Pages written in batches; while the guest runs, each batch gives way to
  // it (the guest and the copy share this thread); paused, flat out.
  // `during`: told after each batch (a round of a large domain takes seconds).
  async send(gfns: number[], during?: () => void): Promise<void> {
    for (let i = 0; i < gfns.length; i += BATCH) {
      this.sendNow(gfns.slice(i, i + BATCH));
      during?.();
      await this.drain();
      if (!this.paused) await new Promise<void>((res) => setImmediate(res));
    }
  }
  // The same at once, into the link's buffer (a Remus checkpoint, taken
  // while the guest is paused and sent after it runs again).
  sendNow(gfns: number[]): void {
    for (let i = 0; i < gfns.length; i += BATCH) {
      const part = gfns.slice(i, i + BATCH).map(BigInt);
      this.win ??= this.xc.foreignWindow(BATCH);
      writePages(this.win, this.w, this.domid, part);
      this.pagesSent += part.length;
    }
  }

  // The RAM pages written since the last look (log-dirty's CLEAN).
  dirty(): number[] {
    const bm = this.xc.dirtyBitmap(this.domid, this.ramPages);
    const out: number[] = [];
    for (let i = 0; i < this.ramPages; i++) if (bm[i >> 3] & (1 << (i & 7))) out.push(RAM_BASE_GFN + i);
    return out;
  }
  // The pages outside the log (the magic pages: console and xenstore rings), sent at every stop.
  outsideRam(): number[] { return this.all.filter((x) => x < RAM_BASE_GFN || x >= RAM_BASE_GFN + this.ramPages); }

  // The domain paused: `pending`, the pages dirtied since the last look and
  // the pages outside the log, read now, then `atStop` (which writes the
  // domain's context), all in one turn of the event loop. Backends serving
  // the paused domain write its pages between turns: the copy and the
  // context must be of one moment, or the destination gets event links,
  // ring indexes and pending bits that do not agree (a FIFO event queue
  // whose tail the context names but whose links the copied pages lack).
  stop(pending: number[], atStop: () => void): void {
    this.sendNow([...new Set([...pending, ...this.dirty(), ...this.outsideRam()])]);
    atStop();
  }

  // Live rounds until the stop rule holds (few enough dirty pages for the
  // downtime target at the measured bandwidth, no progress, or the round
  // limit); then the pause and the last pages and the context (stop()).
  // Returns the rounds run.
  async live(o: { maxRounds?: number; downtimeTargetMs?: number; progress?(p: CopyProgress): void }, atStop: () => void): Promise<number> {
    const target = o.downtimeTargetMs ?? 50, maxRounds = o.maxRounds ?? 30;
    let batch = this.all, prevDirty = Infinity, rounds = 0;
    for (;;) {
      rounds++;
      const r0 = performance.now();
      // how the round goes, every 100 ms of it
      let told = r0;
      const sent0 = this.pagesSent;
      await this.send(batch, () => {
        const now = performance.now();
        if (!o.progress || now - told < 100) return;
        told = now;
        const bw = ((this.pagesSent - sent0) / Math.max(1, now - r0)) * 1000;
        o.progress({ phase: "precopy", round: rounds, pagesSent: this.pagesSent, totalPages: this.all.length, dirty: 0, dirtyRatePps: 0, bandwidthPps: Math.round(bw), expectedDowntimeMs: 0 });
      });
      const dt = Math.max(1, performance.now() - r0);
      const bandwidth = batch.length / (dt / 1000); // pages per second
      const dirty = this.dirty();
      const rate = dirty.length / (dt / 1000);
      const expected = (dirty.length / Math.max(bandwidth, 1)) * 1000;
      o.progress?.({ phase: "precopy", round: rounds, pagesSent: this.pagesSent, totalPages: this.all.length, dirty: dirty.length, dirtyRatePps: Math.round(rate), bandwidthPps: Math.round(bandwidth), expectedDowntimeMs: Math.round(expected) });
      batch = dirty;
      if (expected <= target || dirty.length <= 16 || rounds >= maxRounds || (rounds > 3 && dirty.length > prevDirty * 0.95)) break;
      prevDirty = dirty.length;
    }
    this.pause();
    batch = [...new Set([...batch, ...this.dirty()])];
    o.progress?.({ phase: "stopcopy", round: rounds + 1, pagesSent: this.pagesSent, totalPages: this.all.length, dirty: batch.length, dirtyRatePps: 0, bandwidthPps: 0, expectedDowntimeMs: 0 });
    this.stop(batch, atStop);
    return rounds;
  }
}
