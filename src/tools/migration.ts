// Live migration between xents hosts over TCP, on the authenticated link
// of migration_link.ts.
//
// The save stream (save_stream.ts): DOMAIN, KERNEL, RAMDISK, and with
// --live, every RAM page while the guest runs with log-dirty on, then rounds
// of the pages dirtied meanwhile until the stop rule holds (few enough dirty
// pages for the downtime target at the measured bandwidth, no progress, or
// the round limit; memory_copy.ts). Stop-and-copy: pause, the last dirty
// pages, the magic pages, CONTEXT, XENSTORE, END.
//
// Commit: the destination builds the domain paused and says "READY"; the
// source says "GO" and from then on never resumes its copy; the destination
// unpauses and says "RUNNING", and only then is the source copy destroyed.
// If anything fails before GO the source resumes; if the link dies after GO
// the source copy stays paused: there are never two running copies.

import { createServer, Server, Socket } from "node:net";
import type { Toolstack } from "./toolstack.js";
import { StreamWriter, RecordParser, REC, u64Record } from "./save_stream.js";
import { RestoreSession } from "./domain_restore.js";
import { writePreamble } from "./domain_save.js";
import { MemoryCopy } from "./memory_copy.js";
import { Lines, LINK_TIMEOUT_MS, acceptLink, connectLink, linkDrain } from "./migration_link.js";

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
export interface MigrateResult { rounds: number; pagesSent: number; totalPages: number; totalMs: number; downtimeMs: number; pausedAt: number; destinationDomid: number; }

export class MigrationError extends Error {}

// ---- source
export async function migrateOut(ts: Toolstack, domid: number, host: string, port: number, o: MigrateOptions): Promise<MigrateResult> {
  const g = ts.guests.get(domid);
  if (!g || g.state !== "running") throw new MigrationError(`domain ${domid} is not running`);
  const why = ts.unmovable(g);
  if (why) throw new MigrationError(why);
  const xc = ts.dom0.xc;
  const t0 = performance.now();
  let link: Awaited<ReturnType<typeof connectLink>>;
  try { link = await connectLink(host, port, o.key, "migrate"); } catch (e) { throw new MigrationError((e as Error).message); }
  const { sock, lines } = link;
  const w = new StreamWriter({ write: (b) => { sock.write(b); } });
  const mem = new MemoryCopy(xc, domid, w, linkDrain(sock, "destination", (m) => new MigrationError(m)));
  let committed = false;
  try {
    mem.begin(o.live);
    writePreamble(w, g, mem.maxPages);
    let rounds = 0;
    // the context, with the last pages (MemoryCopy.stop)
    const atStop = (): void => {
      w.record(REC.CONTEXT, xc.getHvmContext(domid));
      w.json(REC.XENSTORE, ts.xenstoreState(g));
      w.record(REC.END, u64Record(mem.pagesSent));
    };
    if (o.live) rounds = await mem.live({ maxRounds: o.maxRounds, downtimeTargetMs: o.downtimeTargetMs, progress: o.progress }, atStop);
    else { await mem.send(mem.all); mem.stop([], atStop); }
    const tPause = mem.tPause, pagesSent = mem.pagesSent;
    const dbg = process.env.XENTS_MIGRATE_DEBUG ? (what: string): void => { process.stderr.write(`migrate: ${what} at +${Math.round(performance.now() - tPause)} ms\n`); } : (): void => {};
    dbg("final pages and context queued");
    await linkDrain(sock, "destination", (m) => new MigrationError(m))();
    dbg("END written");
    const ready = await lines.next(120_000);
    dbg("READY");
    const rm = /^READY (\d+)$/.exec(ready ?? "");
    if (!rm) throw new MigrationError(`the destination did not take the domain: ${ready ?? "the connection closed"}`);
    o.progress?.({ phase: "commit", round: rounds + 1, pagesSent, totalPages: mem.all.length, dirty: 0, dirtyRatePps: 0, bandwidthPps: 0, expectedDowntimeMs: 0 });
    committed = true; // from here on the source copy never runs again
    sock.write("GO\n");
    const running = await lines.next(60_000);
    const tRun = performance.now();
    if (running !== "RUNNING") throw new MigrationError(`the destination did not confirm that the domain runs (${running ?? "connection lost"}); the source copy stays paused so that two copies never run`);
    mem.stopLogDirty();
    mem.release();
    dbg("RUNNING");
    ts.destroy(domid);
    dbg("source copy destroyed");
    sock.end();
    ts.log(`d${domid} (${g.name}): migrated to ${host}:${port}, ${rounds} rounds, ${pagesSent} pages, downtime ${Math.round(tRun - tPause)} ms`);
    return { rounds, pagesSent, totalPages: mem.all.length, totalMs: Math.round(performance.now() - t0), downtimeMs: Math.round(tRun - tPause), pausedAt: tPause, destinationDomid: Number(rm[1]) };
  } catch (e) {
    if (!committed) {
      mem.stopLogDirty();
      if (mem.paused) { try { mem.unpause(); } catch { /* gone */ } }
    }
    mem.release();
    sock.destroy();
    const refused = lines.refusal();
    if (refused && !committed) throw new MigrationError(`the destination refused: ${refused}`);
    throw e instanceof MigrationError ? e : new MigrationError((e as Error).message);
  }
}

// ---- destination
export class MigrationListener {
  private server: Server | null = null;
  busy = false;
  resumedAt = 0; // performance.now() when the last incoming domain was unpaused
  received = 0; // domains that arrived and run here
  // who takes a link whose source asked for Remus replication (remus/backup.ts)
  remus: ((sock: Socket, lines: Lines) => void) | null = null;
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
      const mode = await acceptLink(sock, lines, this.key);
      if (mode === null) { fail("authentication failed"); return; }
      if (mode === "remus") {
        if (!this.remus) { fail("this host does not take Remus backups"); return; }
        done = true;
        this.busy = false;
        this.remus(sock, lines);
        return;
      }
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
      this.received++;
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
