// Remus on the primary host: a running domain checkpointed to a backup host
// every interval (Cully et al., NSDI 2008), on the migration link
// (protocol.ts has the stream).
//
// Protection begins with a live migration that does not let go: the disks'
// contents (non-zero blocks) while the guest runs and its writes are
// logged, then memory in live rounds; at the pause, the last pages, the
// writes logged meanwhile, the context and xenstore. The backup builds the
// domain paused and says READY; the guest runs on here.
//
// Each epoch: the guest runs for the interval; it is paused, the pages it
// dirtied (log-dirty, with the pages backends hold writable grant mappings
// of), its disk writes, context and xenstore state are copied into the
// link's buffer, and it runs again at once while the checkpoint travels.
// Frames it sent during the epoch are held (output_buffer.ts) until the
// backup acknowledges the checkpoint; so a write the guest was told is done
// is on the backup before any output that could reveal it leaves. The next
// checkpoint is due an interval after the last one was due (a fixed rate),
// or is taken when the acknowledgement comes if that is later.
//
// The backup lost (link error, or no acknowledgement within half the
// timeout, so that a backup that is alive hears STOP before its own
// timeout would make it take over):
// the held output goes out, replication ends and the domain runs on here,
// unprotected, with the reason in the status and the log.

import type { Socket } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import type { Toolstack } from "../toolstack.js";
import type { Guest } from "../guest.js";
import { StreamWriter, REC, u64Record } from "../save_stream.js";
import { writePreamble } from "../domain_save.js";
import { MemoryCopy } from "../memory_copy.js";
import { Lines, connectLink, linkDrain } from "../migration_link.js";
import { DiskLog } from "./disk_log.js";
import { OutputBuffer } from "./output_buffer.js";
import { DISK_WRITE, encodeDisk, type RemusHeader } from "./protocol.js";
import { Arbiter, ARBITER_TTL_S } from "./arbiter.js";

export interface RemusOptions {
  key: Uint8Array;
  intervalMs: number;
  timeoutMs: number; // the primary's silence that starts fail-over; a backup silent half as long ends protection
  netBuffer: boolean;
  disk: boolean; // replicate the disks (false: the backup opens the same paths, shared storage)
  failover: "auto" | "manual";
  arbiter: string | null; // etcd://host:port, deciding which copy may run (arbiter.ts)
  who: string; // this host, as the arbiter records the copy that runs
}

export interface RemusPrimaryStatus {
  role: "primary"; domain: string; domid: number; backup: string;
  state: "syncing" | "protected" | "switching" | "switched" | "unprotected" | "stopped" | "fenced"; why: string | null;
  interval_ms: number; timeout_ms: number; net_buffer: boolean; disk: boolean; failover: "auto" | "manual"; arbiter: string | null;
  epoch: number; checkpoints: number;
  last_pause_ms: number; mean_pause_ms: number; last_pages: number; last_bytes: number; last_ack_ms: number;
  held_frames: number; released_frames: number; disk_writes: number; initial_sync_ms: number;
  // where a pause goes, on average: reading the dirty log, copying the pages,
  // the hypervisor's context, the xenstore subtree (and the disk log)
  mean_pause_parts_ms: { dirty_log: number; pages: number; context: number; xenstore: number };
}

// Fault injection for the tests: with XENTS_FAULT_REMUS naming a file, this
// host process kills itself (SIGKILL, as a machine that dies there) when
// that file says "mid-checkpoint" (once half of the next checkpoint, its
// pages, is written to the backup, its END never), "after-ack" (just
// after the next acknowledgement released the epoch's output) or
// "mid-epoch" (half an interval after the next acknowledgement, the guest
// running and its output of the epoch held).
function faultArmed(point: "mid-checkpoint" | "after-ack" | "mid-epoch"): boolean {
  const f = process.env.XENTS_FAULT_REMUS;
  if (!f || !existsSync(f)) return false;
  try { return readFileSync(f, "utf8").trim() === point; } catch { return false; }
}
function dieNow(): void { process.kill(process.pid, "SIGKILL"); }

const BLOCK = 64 << 10; // the unit of the disks' first copy; blocks of zeros are not sent
const READY_TIMEOUT_MS = 120_000;

export class RemusError extends Error {}

export class RemusPrimary {
  private state: RemusPrimaryStatus["state"] = "syncing";
  private why: string | null = null;
  private epoch = 0;
  private checkpoints = 0;
  private awaiting = 0; // the epoch whose acknowledgement is awaited, 0 when none
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private resumedAt = 0;
  private due = 0; // when the last checkpoint was due (or the guest first ran protected)
  private sentAt = 0;
  private pauseTotal = 0;
  private readonly parts = { dirty_log: 0, pages: 0, context: 0, xenstore: 0 };
  private last = { pauseMs: 0, pages: 0, bytes: 0 };
  private lastAckMs = 0;
  private initialSyncMs = 0;
  private readonly log: DiskLog | null;
  private readonly out: OutputBuffer | null;
  private stopWaiter: ((ok: boolean) => void) | null = null;
  private ending = false; // the backup is lost and the arbiter is being told (output still held)
  private arb: Arbiter | null = null;
  private fenceWhy: string | null = null; // the arbiter's lease lapsed before replication ran
  private switching = false; // remus-switch has begun: no more checkpoints but its own
  private ackWaiter: { res: () => void; rej: (e: Error) => void } | null = null; // remus-switch waits for an acknowledgement
  private answerWaiter: ((line: string | null) => void) | null = null; // ... and for the backup's answer to SWITCH
  onEnd: ((p: RemusPrimary) => void) | null = null; // protection is over (stopped or lost)

  private constructor(private readonly ts: Toolstack, readonly g: Guest, readonly backup: string, private readonly o: RemusOptions,
    private readonly sock: Socket, private readonly lines: Lines, private readonly mem: MemoryCopy, private readonly w: StreamWriter,
    private readonly sent: { bytes: number }, private readonly disks: number[]) {
    this.log = disks.length ? new DiskLog(new Set(disks)) : null;
    this.out = o.netBuffer ? new OutputBuffer() : null;
  }

  // Connects, sends the first checkpoint and returns once the backup holds
  // it; replication then goes on by itself.
  static async start(ts: Toolstack, domid: number, host: string, port: number, o: RemusOptions): Promise<RemusPrimary> {
    const g = ts.guests.get(domid);
    if (!g || g.state !== "running") throw new RemusError(`domain ${domid} is not running`);
    const why = ts.unmovable(g);
    if (why) throw new RemusError(why.replace("saved or migrated", "saved, migrated or protected"));
    const disks = o.disk ? (g.config.disks ?? []).map((d) => d.devid) : [];
    const sizes = disks.map((devid) => {
      const img = ts.blkback.image(domid, devid);
      if (!img) throw new RemusError(`${g.name}'s disk ${devid} is not connected yet: protect it once the guest has its disks`);
      return img.bytes;
    });
    // the arbiter first: this copy owns the domain, or nothing happens; its
    // lease is renewed from the claim on (connecting to the backup may take
    // longer than the lease lasts)
    let arb: Arbiter | null = null;
    let primary: RemusPrimary | null = null, lapsed: string | null = null;
    if (o.arbiter) {
      arb = new Arbiter(o.arbiter, g.uuid);
      try { await arb.claim(o.who); } catch (e) { arb.close(); throw new RemusError((e as Error).message); }
      arb.hold((why) => { if (primary) primary.fence(why); else lapsed = why; });
    }
    let link: Awaited<ReturnType<typeof connectLink>>;
    try {
      link = await connectLink(host, port, o.key, "remus");
      if (lapsed) { link.sock.destroy(); throw new Error(lapsed); }
    } catch (e) { await arb?.release(); arb?.close(); throw new RemusError((e as Error).message); }
    const { sock, lines } = link;
    const sent = { bytes: 0 };
    const w = new StreamWriter({ write: (b) => { sent.bytes += b.length; sock.write(b); } });
    const drain = linkDrain(sock, "backup", (m) => new RemusError(m));
    const mem = new MemoryCopy(ts.dom0.xc, domid, w, drain);
    const p = new RemusPrimary(ts, g, `${host}:${port}`, o, sock, lines, mem, w, sent, disks);
    p.arb = arb;
    primary = p;
    const t0 = performance.now();
    try {
      const header: RemusHeader = {
        version: 1, name: g.name, uuid: g.uuid, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, failover: o.failover, arbiter: o.arbiter,
        disks: disks.map((devid, i) => ({ devid, vdev: (g.config.disks ?? []).find((d) => d.devid === devid)!.vdev, bytes: sizes[i] })),
      };
      w.json(REC.REMUS, header);
      if (p.log) ts.blkback.taps.set(domid, p.log);
      for (const [i, devid] of disks.entries()) await p.copyDisk(devid, sizes[i], drain);
      mem.begin(true);
      writePreamble(w, g, mem.maxPages);
      // paused: the last pages, the writes made while the disks were copied,
      // then the rest of the first checkpoint, of one moment (MemoryCopy.stop)
      await mem.live({}, () => {
        for (const e of p.log?.take() ?? []) w.record(REC.DISK, e);
        w.record(REC.CONTEXT, ts.dom0.xc.getHvmContext(domid));
        w.json(REC.XENSTORE, ts.xenstoreState(g));
        w.record(REC.END, u64Record(mem.pagesSent));
      });
      await drain();
      const ready = await lines.next(READY_TIMEOUT_MS);
      if (!/^READY \d+$/.test(ready ?? "")) throw new RemusError(`the backup did not take the domain: ${ready ?? "the connection closed"}`);
      if (p.fenceWhy) throw new RemusError(p.fenceWhy);
    } catch (e) {
      ts.blkback.taps.delete(domid);
      mem.stopLogDirty();
      mem.release();
      if (mem.paused && !p.fenceWhy) { try { mem.unpause(); } catch { /* gone */ } }
      sock.destroy();
      if (arb) { await arb.release(); arb.close(); }
      const refused = lines.refusal();
      if (refused) throw new RemusError(`the backup refused: ${refused}`);
      throw e instanceof RemusError ? e : new RemusError((e as Error).message);
    }
    p.initialSyncMs = Math.round(performance.now() - t0);
    p.run();
    ts.log(`d${domid} (${g.name}): Remus protection to ${host}:${port}: first checkpoint in ${p.initialSyncMs} ms, then every ${o.intervalMs} ms`);
    return p;
  }

  // The disk's contents as its guest sees them, a block at a time while the
  // guest runs (its writes meanwhile are in the log, sent after).
  private async copyDisk(devid: number, size: number, drain: () => Promise<void>): Promise<void> {
    const buf = new Uint8Array(BLOCK);
    for (let off = 0; off < size; off += BLOCK) {
      const img = this.ts.blkback.image(this.g.domid, devid);
      if (!img) throw new RemusError(`disk ${devid} went away while it was copied`);
      const n = Math.min(BLOCK, size - off);
      const b = buf.subarray(0, n);
      img.read(off, b);
      if (b.some((x) => x !== 0)) this.w.record(REC.DISK, encodeDisk(devid, DISK_WRITE, off, n, b));
      if ((off / BLOCK) % 16 === 15) { await drain(); await new Promise<void>((res) => setImmediate(res)); }
    }
  }

  private run(): void {
    this.state = "protected";
    this.sock.setTimeout(0); // the acknowledgements' timeout watches this link now
    this.lines.onLine((l) => this.line(l));
    this.sock.on("close", () => this.lost("the link to the backup closed"));
    this.sock.on("error", (e) => this.lost(`the link to the backup failed: ${e.message}`));
    if (this.out) this.ts.netback.holds.set(this.g.domid, this.out);
    this.mem.unpause();
    this.resumedAt = this.due = performance.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.state !== "protected" || this.awaiting || this.switching) return;
    // At a fixed rate, as Remus counts epochs: each checkpoint is due an
    // interval after the last one was due (the pause included), so 25 ms
    // means 40 a second while the pause and the acknowledgement fit in it
    // and a timer that fires late does not push the next ones back. One
    // that falls a whole interval behind (a late acknowledgement) starts
    // the count again from now.
    const now = performance.now();
    this.due = this.due + this.o.intervalMs < now ? now : this.due + this.o.intervalMs;
    const wait = Math.max(0, this.due - now);
    this.timer = setTimeout(() => { this.timer = null; this.checkpoint(); }, wait);
  }

  // One checkpoint: taken while the guest is paused, sent while it runs.
  private checkpoint(): void {
    if (this.state !== "protected" || this.ending || this.switching) return;
    if (this.ts.guests.get(this.g.domid) !== this.g || this.g.state !== "running") { this.end("the domain is gone from this host", true); return; }
    this.capture(false);
  }

  // The next checkpoint into the link's buffer, the guest paused while it
  // is taken; it runs again after unless `stayPaused` (remus-switch's last
  // one). Awaits its acknowledgement (false if the checkpoint failed and
  // protection ended).
  private capture(stayPaused: boolean): boolean {
    const g = this.g, xc = this.ts.dom0.xc;
    const bytes0 = this.sent.bytes, w = this.w;
    const epoch = ++this.epoch;
    const t0 = performance.now();
    let pages = 0;
    try {
      this.mem.pause();
      const dirty = [...new Set([...this.mem.dirty(), ...this.mem.outsideRam()])];
      const t1 = performance.now();
      w.record(REC.CHECKPOINT, u64Record(epoch));
      const sent0 = this.mem.pagesSent;
      this.mem.sendNow(dirty);
      pages = this.mem.pagesSent - sent0;
      if (faultArmed("mid-checkpoint")) { this.sock.write(new Uint8Array(0), dieNow); return false; }
      const t2 = performance.now();
      w.record(REC.CONTEXT, xc.getHvmContext(g.domid));
      const t3 = performance.now();
      for (const e of this.log?.take() ?? []) w.record(REC.DISK, e);
      w.json(REC.XENSTORE, this.ts.xenstoreState(g));
      w.record(REC.END, u64Record(pages));
      const t4 = performance.now();
      this.parts.dirty_log += t1 - t0; this.parts.pages += t2 - t1; this.parts.context += t3 - t2; this.parts.xenstore += t4 - t3;
      this.out?.seal(epoch);
    } catch (e) {
      if (this.mem.paused) { try { this.mem.unpause(); } catch { /* gone */ } }
      this.end(`a checkpoint failed: ${(e as Error).message}`, false);
      return false;
    } finally {
      if (this.mem.paused && !stayPaused) this.mem.unpause();
    }
    this.resumedAt = performance.now();
    const pauseMs = this.resumedAt - t0;
    this.sentAt = this.resumedAt;
    this.pauseTotal += pauseMs;
    this.last = { pauseMs, pages, bytes: 0 };
    this.awaiting = epoch;
    // half the timeout: a primary gives up on a silent backup (and says
    // STOP) before that backup, hearing nothing, would give up on it
    const ackMs = Math.round(this.o.timeoutMs / 2);
    this.ackTimer = setTimeout(() => this.lost(`no acknowledgement of checkpoint ${epoch} in ${ackMs} ms`), ackMs);
    this.last.bytes = this.sent.bytes - bytes0;
    return true;
  }

  private line(l: string): void {
    if (this.ending) return;
    const ack = /^ACK (\d+)$/.exec(l);
    if (ack && Number(ack[1]) === this.awaiting) {
      if (this.ackTimer) clearTimeout(this.ackTimer);
      this.ackTimer = null;
      this.out?.release(this.awaiting);
      if (faultArmed("after-ack")) dieNow();
      if (faultArmed("mid-epoch")) setTimeout(dieNow, this.o.intervalMs / 2);
      this.checkpoints++;
      this.lastAckMs = performance.now() - this.sentAt;
      this.awaiting = 0;
      const w = this.ackWaiter;
      this.ackWaiter = null;
      if (w) w.res(); else this.schedule();
      return;
    }
    if (l === "STOPPED" && this.stopWaiter) { this.stopWaiter(true); return; }
    if (this.answerWaiter) { this.answerWaiter(l); return; }
    this.lost(l.startsWith("ERR ") ? `the backup gave up: ${l.slice(4)}` : `the backup said '${l.slice(0, 80)}'`);
  }

  // The backup is lost. With an arbiter, the domain's output stays held
  // until the arbiter has the mark that keeps the backup's (now stale) copy
  // from ever running; a primary that cannot leave that mark stops.
  private lost(why: string): void {
    if (this.state !== "protected" || this.ending) return;
    const arb = this.arb;
    if (!arb) { this.goOnUnprotected(why); return; }
    this.ending = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.sayStop(why);
    arb.forbidTakeover().then(() => this.goOnUnprotected(why), (e: Error) => this.fence(`${why}, and the arbiter could not be told (${e.message})`));
  }
  private goOnUnprotected(why: string): void {
    if (this.state !== "protected") return;
    this.ts.log(`d${this.g.domid} (${this.g.name}): Remus: ${why}; the domain runs on here, unprotected`);
    this.end(why, true);
    this.state = "unprotected";
  }

  // This copy may no longer run (the arbiter's lease lapsed, or the backup
  // was lost and the arbiter could not be told): the domain is paused, its
  // held output dropped (the backup's copy may run from before it), and
  // replication ends without a STOP, so the backup may take over.
  private fence(why: string): void {
    if (this.state === "syncing") { this.fenceWhy = why; try { this.ts.dom0.xc.pause(this.g.domid); } catch { /* gone */ } return; }
    if (this.state !== "protected") return;
    try { this.ts.dom0.xc.pause(this.g.domid); } catch { /* gone */ }
    this.out?.drop();
    this.ts.log(`d${this.g.domid} (${this.g.name}): Remus: paused: ${why}; the backup may take over`);
    this.end(why, false);
    this.state = "fenced";
  }

  // Replication ends: the output held goes out, the logs stop, the link closes.
  private end(why: string, tellBackup: boolean): void {
    if (this.state !== "protected") return;
    this.state = "stopped";
    this.why = why;
    const waiter = this.ackWaiter;
    this.ackWaiter = null;
    waiter?.rej(new RemusError(why));
    if (this.timer) clearTimeout(this.timer);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.timer = this.ackTimer = null;
    this.letGo();
    const arb = this.arb;
    this.arb = null;
    if (arb) void arb.release().finally(() => arb.close());
    if (tellBackup) this.sayStop(why); else this.sock.destroy();
    this.onEnd?.(this);
  }

  // STOP, if the link still carries anything: a backup that is slow rather
  // than dead discards its copy instead of taking over while this one runs.
  private sayStop(why: string): void {
    if (this.sock.destroyed) return;
    this.w.json(REC.STOP, { reason: why });
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 5_000).unref();
  }

  // `xents remus-switch`: the domain moves to the backup, whose copy runs
  // from a last checkpoint taken with the guest paused; this copy goes. A
  // planned fail-over (fail-back, after a take-over, is protecting the copy
  // towards the old primary and switching to it): its disks are the
  // backup's replicas, so no shared storage is needed. The arbiter's claim
  // passes with it. Should the backup not confirm, the copy here runs on
  // only where it is certain the other does not: the backup refused, or
  // the arbiter gives this host the domain back; otherwise it stays paused.
  async switchOver(): Promise<{ domid: number }> {
    if (this.state !== "protected" || this.ending || this.switching) throw new RemusError(`${this.g.name} is not protected${this.switching ? " (a switch-over is under way)" : ""}`);
    this.switching = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const acked = (): Promise<void> => new Promise((res, rej) => { this.ackWaiter = { res, rej }; });
    try {
      if (this.awaiting) await acked(); // the checkpoint under way
      if (this.ts.guests.get(this.g.domid) !== this.g || this.g.state !== "running") throw new RemusError("the domain is gone from this host");
      if (!this.capture(true)) throw new RemusError(this.why ?? "the last checkpoint failed");
      await acked();
    } catch (e) {
      this.switching = false;
      const now = this.state as RemusPrimaryStatus["state"]; // (changed while this waited)
      if (this.mem.paused && now !== "fenced") { try { this.mem.unpause(); } catch { /* gone */ } }
      this.schedule();
      throw new RemusError(`the switch-over did not begin: ${(e as Error).message}${now === "protected" ? " (protection goes on)" : ""}`);
    }
    // the backup holds every change and the guest is paused here: from now
    // on only the answer to SWITCH decides which copy runs
    this.state = "switching";
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const arb = this.arb;
    this.arb = null;
    if (arb) await arb.release(); // the owner key goes: the backup may take it
    const answer = new Promise<string | null>((res) => {
      this.answerWaiter = res;
      this.sock.once("close", () => res(null));
      // the backup runs its copy at once, or once the arbiter lets it (it gives up after twice the lease)
      setTimeout(() => res(null), this.o.arbiter ? 2 * ARBITER_TTL_S * 1000 + 3000 : Math.max(5000, 2 * this.o.timeoutMs)).unref();
    });
    this.w.json(REC.SWITCH, {});
    const line = await answer;
    this.answerWaiter = null;
    const m = /^SWITCHED (\d+)$/.exec(line ?? "");
    if (m) {
      arb?.close();
      this.finishSwitch(`switched over to ${this.backup}, where it runs as d${m[1]}`);
      this.ts.destroy(this.g.domid);
      this.sock.end();
      this.ts.log(`d${this.g.domid} (${this.g.name}): Remus: switched over to ${this.backup} (d${m[1]} there); this copy is destroyed`);
      return { domid: Number(m[1]) };
    }
    const why = line === null ? "the backup did not answer" : line.startsWith("ERR ") ? `the backup refused: ${line.slice(4)}` : `the backup said '${line.slice(0, 80)}'`;
    this.sock.destroy();
    // which copy may run: the arbiter's word, or the backup's refusal
    let mine = line !== null && line.startsWith("ERR ");
    if (arb) {
      // the domain back, and the mark that keeps the backup's copy from
      // ever running (as a primary that lost its backup leaves it)
      try { await arb.claim(this.o.who); await arb.forbidTakeover(); mine = true; } catch (e) { mine = false; this.ts.log(`d${this.g.domid} (${this.g.name}): Remus: ${(e as Error).message}`); }
      await arb.release();
      arb.close();
    }
    if (mine) {
      this.finishSwitch(`the switch-over failed (${why}); the domain runs on here, unprotected`, "unprotected");
      this.mem.unpause();
      throw new RemusError(`${why}: ${this.g.name} runs on here, unprotected`);
    }
    this.finishSwitch(`the switch-over was not confirmed (${why}): this copy stays paused so that two never run; if the backup's copy runs, destroy this one, else unpause it`, "fenced");
    throw new RemusError(`${why}: ${this.g.name} stays paused here, as the backup's copy may run (xl list there; unpause or destroy this one)`);
  }

  // The switch-over's end.
  private finishSwitch(why: string, state: RemusPrimaryStatus["state"] = "switched"): void {
    this.state = state;
    this.why = why;
    this.letGo();
    this.onEnd?.(this);
  }

  // Replication's hold on the domain goes: its output (what is held goes
  // out), its disk writes' log, log-dirty and the window onto its pages.
  private letGo(): void {
    if (this.ts.netback.holds.get(this.g.domid) === this.out) this.ts.netback.holds.delete(this.g.domid);
    if (this.ts.blkback.taps.get(this.g.domid) === this.log) this.ts.blkback.taps.delete(this.g.domid);
    this.out?.releaseAll();
    if (this.ts.guests.get(this.g.domid) === this.g) this.mem.stopLogDirty();
    this.mem.release();
  }

  // `xents remus-stop`: the primary runs on, the backup discards its copy.
  async stop(): Promise<void> {
    if (this.state === "switching") throw new RemusError(`${this.g.name} is being switched over to ${this.backup}`);
    if (this.state !== "protected") return;
    const acked = new Promise<boolean>((res) => { this.stopWaiter = res; setTimeout(() => res(false), 5_000).unref(); });
    this.end("protection stopped", true);
    const ok = await acked;
    this.ts.log(`d${this.g.domid} (${this.g.name}): Remus protection stopped${ok ? "" : " (the backup did not confirm that it discarded its copy)"}`);
  }

  status(): RemusPrimaryStatus {
    return {
      role: "primary", domain: this.g.name, domid: this.g.domid, backup: this.backup, state: this.state, why: this.why,
      interval_ms: this.o.intervalMs, timeout_ms: this.o.timeoutMs, net_buffer: this.o.netBuffer, disk: this.disks.length > 0, failover: this.o.failover, arbiter: this.o.arbiter,
      epoch: this.epoch, checkpoints: this.checkpoints,
      last_pause_ms: round1(this.last.pauseMs), mean_pause_ms: round1(this.pauseTotal / Math.max(1, this.epoch)),
      last_pages: this.last.pages, last_bytes: this.last.bytes, last_ack_ms: round1(this.lastAckMs),
      held_frames: this.out?.held ?? 0, released_frames: this.out?.released ?? 0, disk_writes: this.log?.writes ?? 0, initial_sync_ms: this.initialSyncMs,
      mean_pause_parts_ms: {
        dirty_log: round1(this.parts.dirty_log / Math.max(1, this.epoch)), pages: round1(this.parts.pages / Math.max(1, this.epoch)),
        context: round1(this.parts.context / Math.max(1, this.epoch)), xenstore: round1(this.parts.xenstore / Math.max(1, this.epoch)),
      },
    };
  }
  // protecting, or handing the domain over (nothing else may start meanwhile)
  get active(): boolean { return this.state === "protected" || this.state === "switching"; }
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
