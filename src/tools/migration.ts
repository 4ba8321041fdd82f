// Live migration between xents hosts over TCP.
//
// Handshake (lines): the destination sends "XENTS-MIGRATE 1 <nonce>"; the
// source answers "AUTH <HMAC-SHA256(key, 'src:'+nonce)> <its nonce>"; the
// destination proves itself with "AUTH <HMAC(key, 'dst:'+nonce')>". No guest
// byte crosses before both sides have shown they hold the shared key.
//
// Then the save stream (save_stream.ts): DOMAIN, KERNEL, RAMDISK, and with
// --live, every RAM page while the guest runs with log-dirty on, then rounds
// of the pages dirtied meanwhile until the stop rule holds (few enough dirty
// pages for the downtime target at the measured bandwidth, no progress, or
// the round limit). Stop-and-copy: pause, the last dirty pages, the magic
// pages, CONTEXT, XENSTORE, END.
//
// Commit: the destination builds the domain paused and says "READY"; the
// source says "GO" and from then on never resumes its copy; the destination
// unpauses and says "RUNNING", and only then is the source copy destroyed.
// If anything fails before GO the source resumes; if the link dies after GO
// the source copy stays paused: there are never two running copies.

import { connect, createServer, Server, Socket } from "node:net";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Toolstack } from "./toolstack.js";
import { contextMemory } from "../xen/public/domain_context.js";
import { StreamWriter, RecordParser, REC } from "./save_stream.js";
import { RestoreSession } from "./domain_restore.js";
import { writePreamble, writePages } from "./domain_save.js";
import { XEN_DOMCTL_SHADOW_OP } from "../xen/public/domctl.js";
import { LineFramer } from "./line_framer.js";

const RAM_BASE_GFN = 0x40000; // the log-dirty bitmap starts here (GUEST_RAM0_BASE)
const BATCH = 256;
const LINK_TIMEOUT_MS = 15_000; // a link that moves nothing this long is dead

export interface MigrateOptions {
  live: boolean;
  key: Uint8Array;
  maxRounds?: number;
  downtimeTargetMs?: number;
  progress?(p: MigrateProgress): void;
}
export interface MigrateProgress { phase: "precopy" | "stopcopy" | "commit"; round: number; pagesSent: number; totalPages: number; dirty: number; dirtyRatePps: number; bandwidthPps: number; expectedDowntimeMs: number; }
// downtimeMs runs from the pause to the destination's RUNNING arriving;
// pausedAt is the pause on this process's performance.now() clock.
export interface MigrateResult { rounds: number; pagesSent: number; totalMs: number; downtimeMs: number; pausedAt: number; destinationDomid: number; }

const hmac = (key: Uint8Array, what: string): string => createHmac("sha256", key).update(what).digest("hex");
function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex"), y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

// Lines from a socket until someone switches it to raw records.
class Lines {
  private waiting: ((l: string | null) => void)[] = [];
  private queue: string[] = [];
  private ended = false;
  private readonly framer = new LineFramer((l) => {
    const w = this.waiting.shift();
    if (w) w(l); else this.queue.push(l);
  }, 4096, "latin1");
  get raw(): ((d: Buffer) => void) | null { return this.framer.raw; }
  set raw(h: ((d: Buffer) => void) | null) { this.framer.raw = h; }
  constructor(sock: Socket) {
    sock.on("data", (d: Buffer) => { if (!this.framer.push(d)) sock.destroy(new Error("handshake line too long")); });
    const end = (): void => { this.ended = true; for (const w of this.waiting.splice(0)) w(null); };
    sock.on("close", end);
    sock.on("error", end);
  }
  next(timeoutMs: number): Promise<string | null> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    if (this.ended) return Promise.resolve(null);
    return new Promise((res) => {
      let t: ReturnType<typeof setTimeout> | undefined;
      const done = (l: string | null): void => { clearTimeout(t); res(l); };
      t = setTimeout(() => { this.waiting = this.waiting.filter((w) => w !== done); res(null); }, timeoutMs);
      this.waiting.push(done);
    });
  }
}

export class MigrationError extends Error {}

// ---- source
export async function migrateOut(ts: Toolstack, domid: number, host: string, port: number, o: MigrateOptions): Promise<MigrateResult> {
  const g = ts.guests.get(domid);
  if (!g || g.state !== "running") throw new MigrationError(`domain ${domid} is not running`);
  const why = ts.unmovable(g);
  if (why) throw new MigrationError(why);
  const xc = ts.dom0.xc;
  const t0 = performance.now();
  const sock = connect({ host, port });
  await new Promise<void>((res, rej) => { sock.once("connect", res); sock.once("error", (e) => rej(new MigrationError(`cannot reach ${host}:${port}: ${e.message}`))); });
  sock.setNoDelay(true);
  sock.setTimeout(LINK_TIMEOUT_MS, () => sock.destroy(new Error(`no progress on the link for ${LINK_TIMEOUT_MS / 1000} s`)));
  const lines = new Lines(sock);
  let paused = false, logDirty = false, committed = false;
  try {
    // mutual authentication
    const hello = await lines.next(10_000);
    const m = /^XENTS-MIGRATE 1 ([0-9a-f]{64})$/.exec(hello ?? "");
    if (!m) throw new MigrationError(`${host}:${port} is not a xents migration listener`);
    const mine = randomBytes(32).toString("hex");
    sock.write(`AUTH ${hmac(o.key, `src:${m[1]}`)} ${mine}\n`);
    const their = await lines.next(10_000);
    const a = /^AUTH ([0-9a-f]{64})$/.exec(their ?? "");
    if (!a || !sameHex(a[1], hmac(o.key, `dst:${mine}`))) throw new MigrationError(`the destination did not authenticate${their?.startsWith("ERR") ? `: ${their.slice(4)}` : ""}`);

    // the stream
    let failure: Error | null = null;
    sock.on("error", (e) => { failure = e; });
    const drain = async (): Promise<void> => {
      if (failure) throw new MigrationError(`the link to the destination failed: ${(failure as Error).message}`);
      if (sock.destroyed) throw new MigrationError("the destination closed the connection");
      if (sock.writableNeedDrain) await new Promise<void>((res) => { sock.once("drain", res); sock.once("close", res); });
    };
    const w = new StreamWriter({ write: (b) => { sock.write(b); } });
    // the RAM layout comes from the context, which needs a moment's pause;
    // with --live, dirty logging starts before the guest runs again
    xc.pause(domid);
    paused = true;
    let tPause = performance.now();
    const ctx0 = contextMemory(xc.getHvmContext(domid));
    if (o.live) {
      xc.shadowOp(domid, XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY);
      logDirty = true;
      xc.unpause(domid);
      paused = false;
    }
    writePreamble(w, g, ctx0.maxPages);
    await drain();
    const all: number[] = [];
    for (const [first, n] of ctx0.ram) for (let i = 0; i < n; i++) all.push(first + i);
    const ramPages = Math.max(0, ...all.map((x) => x - RAM_BASE_GFN + 1));
    let pagesSent = 0;
    // While the guest runs, each batch gives way to it (the guest and the
    // copy share this thread); once it is paused, the copy runs flat out.
    const send = async (gfns: number[]): Promise<void> => {
      for (let i = 0; i < gfns.length; i += BATCH) {
        const part = gfns.slice(i, i + BATCH).map(BigInt);
        writePages(ts.dom0.xc, w, domid, part);
        pagesSent += part.length;
        await drain();
        if (!paused) await new Promise<void>((res) => setImmediate(res));
      }
    };
    const dirtyList = (): number[] => {
      const bm = xc.dirtyBitmap(domid, ramPages);
      const out: number[] = [];
      for (let i = 0; i < ramPages; i++) if (bm[i >> 3] & (1 << (i & 7))) out.push(RAM_BASE_GFN + i);
      return out;
    };
    let rounds = 0;
    const target = o.downtimeTargetMs ?? 50, maxRounds = o.maxRounds ?? 30;
    if (o.live) {
      let batch = all, prevDirty = Infinity;
      for (;;) {
        rounds++;
        const r0 = performance.now();
        await send(batch);
        const dt = Math.max(1, performance.now() - r0);
        const bandwidth = batch.length / (dt / 1000); // pages per second
        const dirty = dirtyList();
        const rate = dirty.length / (dt / 1000);
        const expected = (dirty.length / Math.max(bandwidth, 1)) * 1000;
        o.progress?.({ phase: "precopy", round: rounds, pagesSent, totalPages: all.length, dirty: dirty.length, dirtyRatePps: Math.round(rate), bandwidthPps: Math.round(bandwidth), expectedDowntimeMs: Math.round(expected) });
        batch = dirty;
        if (expected <= target || dirty.length <= 16 || rounds >= maxRounds || (rounds > 3 && dirty.length > prevDirty * 0.95)) break;
        prevDirty = dirty.length;
      }
      xc.pause(domid);
      paused = true;
      tPause = performance.now();
      batch = [...new Set([...batch, ...dirtyList()])];
      o.progress?.({ phase: "stopcopy", round: rounds + 1, pagesSent, totalPages: all.length, dirty: batch.length, dirtyRatePps: 0, bandwidthPps: 0, expectedDowntimeMs: 0 });
      await send(batch.concat(all.filter((x) => x < RAM_BASE_GFN || x >= RAM_BASE_GFN + ramPages)));
    } else {
      await send(all);
    }
    const dbg = process.env.XENTS_MIGRATE_DEBUG ? (what: string): void => { process.stderr.write(`migrate: ${what} at +${Math.round(performance.now() - tPause)} ms\n`); } : (): void => {};
    dbg("final pages sent");
    w.record(REC.CONTEXT, xc.getHvmContext(domid));
    w.json(REC.XENSTORE, ts.xenstoreState(g));
    const end = new Uint8Array(8);
    new DataView(end.buffer).setBigUint64(0, BigInt(pagesSent), true);
    w.record(REC.END, end);
    await drain();
    dbg("END written");
    const ready = await lines.next(120_000);
    dbg("READY");
    const rm = /^READY (\d+)$/.exec(ready ?? "");
    if (!rm) throw new MigrationError(`the destination did not take the domain: ${ready ?? "the connection closed"}`);
    o.progress?.({ phase: "commit", round: rounds + 1, pagesSent, totalPages: all.length, dirty: 0, dirtyRatePps: 0, bandwidthPps: 0, expectedDowntimeMs: 0 });
    committed = true; // from here on the source copy never runs again
    sock.write("GO\n");
    const running = await lines.next(60_000);
    const tRun = performance.now();
    if (running !== "RUNNING") throw new MigrationError(`the destination did not confirm that the domain runs (${running ?? "connection lost"}); the source copy stays paused so that two copies never run`);
    if (logDirty) { try { xc.shadowOp(domid, XEN_DOMCTL_SHADOW_OP.OFF); } catch { /* going anyway */ } }
    dbg("RUNNING");
    ts.destroy(domid);
    dbg("source copy destroyed");
    sock.end();
    ts.log(`d${domid} (${g.name}): migrated to ${host}:${port}, ${rounds} rounds, ${pagesSent} pages, downtime ${Math.round(tRun - tPause)} ms`);
    return { rounds, pagesSent, totalMs: Math.round(performance.now() - t0), downtimeMs: Math.round(tRun - tPause), pausedAt: tPause, destinationDomid: Number(rm[1]) };
  } catch (e) {
    if (!committed) {
      if (logDirty) { try { xc.shadowOp(domid, XEN_DOMCTL_SHADOW_OP.OFF); } catch { /* the domain may be gone */ } }
      if (paused) { try { xc.unpause(domid); } catch { /* gone */ } }
    }
    sock.destroy();
    throw e instanceof MigrationError ? e : new MigrationError((e as Error).message);
  }
}

// ---- destination
export class MigrationListener {
  private server: Server | null = null;
  busy = false;
  resumedAt = 0; // performance.now() when the last incoming domain was unpaused
  constructor(private readonly ts: Toolstack, private readonly key: Uint8Array) {}

  listen(port: number, host = "0.0.0.0"): Promise<number> {
    return new Promise((res, rej) => {
      this.server = createServer((s) => { void this.accept(s); });
      this.server.once("error", rej);
      this.server.listen(port, host, () => {
        const a = this.server!.address();
        res(typeof a === "object" && a ? a.port : port);
      });
    });
  }

  private async accept(sock: Socket): Promise<void> {
    if (this.busy) { sock.end("ERR another migration is in progress\n"); return; }
    this.busy = true;
    sock.setTimeout(LINK_TIMEOUT_MS, () => sock.destroy(new Error(`no progress on the link for ${LINK_TIMEOUT_MS / 1000} s`)));
    const lines = new Lines(sock);
    const session = new RestoreSession(this.ts);
    let done = false;
    const fail = (why: string): void => {
      if (done) return;
      done = true;
      session.abort();
      this.ts.log(`migration in: ${why}`);
      if (!sock.destroyed) sock.end(`ERR ${why.replace(/\n/g, " ")}\n`);
    };
    try {
      const nonce = randomBytes(32).toString("hex");
      sock.write(`XENTS-MIGRATE 1 ${nonce}\n`);
      const auth = await lines.next(10_000);
      const m = /^AUTH ([0-9a-f]{64}) ([0-9a-f]{64})$/.exec(auth ?? "");
      if (!m || !sameHex(m[1], hmac(this.key, `src:${nonce}`))) { fail("authentication failed"); return; }
      sock.write(`AUTH ${hmac(this.key, `dst:${m[2]}`)}\n`);
      const parser = new RecordParser();
      const complete = new Promise<boolean>((res) => {
        lines.raw = (d) => {
          if (done) return;
          try {
            for (const r of parser.push(d)) if (session.record(r.type, r.payload)) { lines.raw = null; res(true); return; }
          } catch (e) { fail((e as Error).message); res(false); }
        };
        sock.once("close", () => res(false));
      });
      if (!(await complete)) { fail("the stream ended before the domain was complete"); return; }
      const g = session.finish(true);
      sock.write(`READY ${g.domid}\n`);
      const go = await lines.next(60_000);
      if (go !== "GO") { fail(`the source did not commit (${go ?? "connection lost"})`); return; }
      done = true;
      this.ts.dom0.xc.unpause(g.domid);
      this.resumedAt = performance.now();
      sock.end("RUNNING\n");
      this.ts.log(`migration in: d${g.domid} (${g.name}) running`);
    } catch (e) {
      fail((e as Error).message);
    } finally {
      this.busy = false;
    }
  }

  close(): Promise<void> {
    return new Promise((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}
