// Remus on the backup host: the copy of a protected domain, kept paused and
// one checkpoint behind nothing (protocol.ts has the stream; primary.ts the
// other side).
//
// The first checkpoint builds the domain as an incoming migration does,
// paused and not yet introduced to xenstore or the backends; the disks'
// replicas are raw files in $XENTS_HOME/remus/ (<name>-<uuid>-<vdev>.img). Every later checkpoint is
// held whole in memory as it arrives (the second buffer: the copy in place
// is the last complete checkpoint) and applied only once its END has come
// and every record in it has been checked: its pages over the domain's
// memory, its disk writes onto the replicas (then fdatasync), its context
// and xenstore kept for the take-over. Then "ACK <epoch>". A checkpoint
// half received is never applied.
//
// The primary lost (the link closes or fails, or nothing arrives within the
// timeout): with fail-over "auto" the copy takes over at once: the context
// goes in, the xenstore nodes come back with the disks pointing at the
// replicas, the console, xenstore and backends connect (netback announces
// its MAC as after a migration) and it runs. With "manual" it stays paused
// until `xents remus-takeover`. A corrupt stream or a STOP discards the copy:
// the primary runs on.

import type { Socket } from "node:net";
import { mkdirSync, openSync, ftruncateSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Toolstack } from "../toolstack.js";
import type { Guest } from "../guest.js";
import { RecordParser, REC, REC_NAMES, StreamError, decodePages } from "../save_stream.js";
import { RestoreSession, checkXenstore } from "../domain_restore.js";
import { RawImage } from "../backends/raw_image.js";
import type { Lines } from "../migration_link.js";
import { DISK_WRITE, checkHeader, decodeDisk, readU64, type RemusHeader } from "./protocol.js";
import { Arbiter, ARBITER_TTL_S } from "./arbiter.js";

const ARBITER_RETRY_MS = 100; // how often a backup that lost its primary asks the arbiter again

export interface RemusBackupStatus {
  role: "backup"; domain: string; domid: number | null; primary: string;
  state: "syncing" | "protecting" | "switching" | "primary-lost" | "running" | "discarded";
  why: string | null; failover: "auto" | "manual" | null; arbiter: string | null; interval_ms: number | null; timeout_ms: number | null;
  epoch: number; checkpoints: number; last_bytes: number; last_pages: number; last_apply_ms: number; replicas: string[];
}

type Phase = "header" | "initial" | "between" | "checkpoint" | "over";
interface Staged { type: number; payload: Uint8Array }

export class RemusBackup {
  private state: RemusBackupStatus["state"] = "syncing";
  private why: string | null = null;
  private phase: Phase = "header";
  private header: RemusHeader | null = null;
  private readonly session: RestoreSession;
  private readonly replicas = new Map<number, RawImage>();
  private staged: Staged[] = [];
  private stagedBytes = 0;
  private epoch = 0;
  private checkpoints = 0;
  private last = { bytes: 0, pages: 0, applyMs: 0 };
  private silence: ReturnType<typeof setTimeout> | null = null;
  private guest: Guest | null = null;
  private arb: Arbiter | null = null;
  private arbiterChecked: Promise<void> = Promise.resolve();
  private retry: ReturnType<typeof setTimeout> | null = null;
  onEnd: ((b: RemusBackup) => void) | null = null; // discarded, or running after a take-over
  // The other copies this host holds: a domain of the same name or uuid as
  // one of them is refused (the copies would collide when one takes over).
  peers: () => Iterable<RemusBackup> = () => [];

  // `who`: this host, as the arbiter records the copy that runs
  // `arbiterUrl`: this host's own way to the arbiter, where it differs from the primary's
  constructor(private readonly ts: Toolstack, private readonly dir: string, private readonly sock: Socket, private readonly lines: Lines, private readonly who: string,
    private readonly arbiterUrl?: string) {
    this.session = new RestoreSession(ts);
    this.primary = `${sock.remoteAddress ?? "?"}:${sock.remotePort ?? "?"}`;
  }
  readonly primary: string;
  private get over(): boolean { return this.phase === "over"; }
  get name(): string { return this.header?.name ?? "?"; }
  get uuid(): string | null { return this.header?.uuid ?? null; }
  // a copy is held (not yet running, not discarded)
  get holding(): boolean { return this.state === "syncing" || this.state === "protecting" || this.state === "switching" || this.state === "primary-lost"; }
  get domid(): number | null { return this.session.domainId >= 0 ? this.session.domainId : null; }

  start(): void {
    this.sock.setTimeout(0); // the header's timeout watches this link (heard())
    const parser = new RecordParser();
    this.lines.raw = (d) => {
      if (this.phase === "over") return;
      this.heard();
      try {
        for (const r of parser.push(d)) { this.record(r.type, r.payload); if (this.over) return; }
      } catch (e) {
        this.fail(`the replication stream is bad: ${(e as Error).message}`);
      }
    };
    this.sock.on("close", () => this.linkLost("the link to the primary closed"));
    this.sock.on("error", (e) => this.linkLost(`the link to the primary failed: ${e.message}`));
  }

  // Any bytes from the primary show that it lives; a silence longer than
  // the timeout (once the header has said what it is) means it is lost.
  private heard(): void {
    if (this.silence) clearTimeout(this.silence);
    const t = this.header?.timeoutMs;
    if (t && this.phase !== "over") this.silence = setTimeout(() => this.linkLost(`nothing from the primary for ${t} ms`), t);
  }

  private record(type: number, payload: Uint8Array): void {
    switch (this.phase) {
      case "header": {
        if (type !== REC.REMUS) throw new StreamError(`expected REMUS, got ${REC_NAMES[type]}`);
        const h = checkHeader(payload);
        if ([...this.ts.guests.values()].some((x) => x.name === h.name && x.state !== "destroyed")) throw new StreamError(`a domain named '${h.name}' already exists here`);
        const other = [...this.peers()].find((x) => x !== this && x.holding && (x.name === h.name || x.uuid === h.uuid));
        if (other) throw new StreamError(`this host already holds a Remus copy of '${other.name}' (for ${other.primary})`);
        this.header = h;
        if (h.arbiter) {
          // reachable from here too, or this host cannot be a backup: checked before READY
          const arb = new Arbiter(this.arbiterUrl ?? h.arbiter, h.uuid);
          this.arb = arb;
          this.arbiterChecked = arb.ping();
          this.arbiterChecked.catch(() => { /* reported at READY */ });
        }
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        for (const d of h.disks) {
          // named for the domain's uuid too: two primaries' domains of one name never share a file
          const path = join(this.dir, `${h.name}-${h.uuid}-${d.vdev}.img`);
          const user = [...this.ts.guests.values()].find((x) => x.state !== "destroyed" && (x.config.disks ?? []).some((k) => k.target === path));
          if (user) throw new StreamError(`the replica ${path} is the disk of d${user.domid} (${user.name}), which runs here`);
          const fd = openSync(path, "w", 0o600);
          try { ftruncateSync(fd, d.bytes); } finally { closeSync(fd); }
          this.replicas.set(d.devid, new RawImage(path, false));
        }
        this.phase = "initial";
        this.heard();
        return;
      }
      case "initial":
        if (type === REC.DISK) { this.applyDisk(payload); return; }
        if (this.session.record(type, payload)) {
          this.syncReplicas();
          this.phase = "between";
          this.arbiterChecked.then(() => {
            if (this.over || this.state !== "syncing") return;
            this.state = "protecting";
            this.sock.write(`READY ${this.session.domainId}\n`);
            this.ts.log(`Remus: holding a copy of ${this.name} (d${this.session.domainId}) for ${this.primary}, every ${this.header!.intervalMs} ms, fail-over ${this.header!.failover}${this.arb ? ` (arbiter ${this.arb.url})` : ""}`);
          }, (e: Error) => this.fail(e.message));
        }
        return;
      case "between":
        if (type === REC.STOP) { this.stopped(payload); return; }
        if (type === REC.SWITCH) { this.switchIn(); return; }
        if (type !== REC.CHECKPOINT) throw new StreamError(`expected CHECKPOINT, got ${REC_NAMES[type]}`);
        if (readU64(payload, "CHECKPOINT") !== this.epoch + 1) throw new StreamError(`checkpoint ${readU64(payload, "CHECKPOINT")} follows ${this.epoch}`);
        this.staged = [];
        this.stagedBytes = 0;
        this.phase = "checkpoint";
        return;
      case "checkpoint":
        // checked now, applied only once the whole checkpoint is here
        if (type === REC.PAGES) decodePages(payload);
        else if (type === REC.DISK) this.checkDisk(payload);
        else if (type === REC.XENSTORE) checkXenstore(JSON.parse(Buffer.from(payload).toString("utf8")));
        else if (type !== REC.CONTEXT && type !== REC.END) throw new StreamError(`unexpected ${REC_NAMES[type]} in a checkpoint`);
        this.staged.push({ type, payload });
        this.stagedBytes += payload.length;
        if (type === REC.END) this.commit();
        return;
      default:
    }
  }

  private checkDisk(payload: Uint8Array): void {
    const d = decodeDisk(payload);
    const img = this.replicas.get(d.devid);
    if (!img) throw new StreamError(`a DISK record for disk ${d.devid}, which is not replicated`);
    if (d.offset + d.length > img.bytes) throw new StreamError(`a DISK record beyond the end of disk ${d.devid}`);
  }
  private applyDisk(payload: Uint8Array): void {
    this.checkDisk(payload);
    const d = decodeDisk(payload);
    const img = this.replicas.get(d.devid)!;
    if (d.op === DISK_WRITE) img.write(d.offset, d.data!); else img.discard(d.offset, d.length);
  }
  private syncReplicas(): void { for (const r of this.replicas.values()) r.flush(); }

  // The whole checkpoint is here and checked: into the copy, then ACK.
  private commit(): void {
    const t0 = performance.now();
    const s = this.session;
    s.nextCheckpoint();
    let pages = 0;
    for (const r of this.staged) {
      if (r.type === REC.DISK) this.applyDisk(r.payload);
      else { if (r.type === REC.PAGES) pages += decodePages(r.payload).gfns.length; s.record(r.type, r.payload); }
    }
    this.syncReplicas();
    this.epoch++;
    this.checkpoints++;
    this.last = { bytes: this.stagedBytes, pages, applyMs: performance.now() - t0 };
    this.staged = [];
    this.stagedBytes = 0;
    this.phase = "between";
    this.sock.write(`ACK ${this.epoch}\n`);
  }

  private stopped(payload: Uint8Array): void {
    let reason = "";
    try { reason = String((JSON.parse(Buffer.from(payload).toString("utf8")) as { reason?: unknown }).reason ?? ""); } catch { /* the reason is for the log only */ }
    this.discard(`the primary ended protection${reason ? `: ${reason.slice(0, 200)}` : ""}`);
    if (!this.sock.destroyed) this.sock.end("STOPPED\n");
  }

  private fail(why: string): void {
    if (this.phase === "over") return;
    if (!this.sock.destroyed) this.sock.end(`ERR ${why.replace(/\n/g, " ")}\n`);
    this.discard(why);
  }

  // The copy and its replicas go; the primary (if it lives) runs on.
  private discard(why: string): void {
    if (this.phase === "over") return;
    this.phase = "over";
    if (this.silence) clearTimeout(this.silence);
    this.state = "discarded";
    this.why = why;
    if (this.retry) clearTimeout(this.retry);
    this.session.abort();
    for (const r of this.replicas.values()) { r.close(); try { rmSync(r.path, { force: true }); } catch { /* best effort */ } }
    this.arb?.close();
    this.arb = null;
    this.ts.log(`Remus: copy of ${this.name} discarded: ${why}`);
    this.onEnd?.(this);
  }

  private linkLost(why: string): void {
    if (this.phase === "over" || this.state === "primary-lost" || this.state === "switching") return;
    if (this.state !== "protecting") { this.discard(`${why} before the first checkpoint was whole`); return; }
    if (this.silence) clearTimeout(this.silence);
    this.sock.destroy();
    this.state = "primary-lost";
    this.why = why;
    // a checkpoint half received is dropped: the copy is the last whole one
    this.staged = [];
    this.ts.log(`Remus: ${this.name}'s primary ${this.primary} is lost (${why}); the copy is at checkpoint ${this.epoch}`);
    if (this.header!.failover === "manual") {
      this.ts.log(`Remus: fail-over is manual: 'xents remus-takeover ${this.name}' runs the copy here once the primary is known to be dead`);
      return;
    }
    if (!this.arb) { this.takeOver(); return; }
    this.askArbiter("primary-lost", () => this.takeOver(), (w) => this.discard(w), (w) => { this.why = `${why}; ${w}: waiting`; return true; });
  }

  // The primary hands the domain over (remus-switch): its guest is paused
  // after the checkpoint just acknowledged, and its claim at the arbiter is
  // gone. The copy runs (once the arbiter gives it the domain), then
  // "SWITCHED <domid>"; or "ERR <why>" and the copy goes.
  private switchIn(): void {
    if (this.state !== "protecting") throw new StreamError(`a switch-over while the copy is ${this.state}`);
    if (this.silence) clearTimeout(this.silence);
    this.state = "switching";
    this.why = "the primary switches the domain over to this host";
    this.ts.log(`Remus: ${this.name}'s primary ${this.primary} switches it over to this host`);
    const run = (): void => {
      if (this.state !== "switching") return;
      try {
        const g = this.runCopy("the primary switched the domain over to this host");
        if (!this.sock.destroyed) this.sock.end(`SWITCHED ${g.domid}\n`);
      } catch (e) {
        if (!this.sock.destroyed) this.sock.end(`ERR ${(e as Error).message.replace(/\n/g, " ")}\n`);
      }
    };
    if (!this.arb) { run(); return; }
    // the primary's lease was revoked; should that not have reached etcd, it lapses by itself
    const until = Date.now() + 2 * ARBITER_TTL_S * 1000 + 1000;
    const refused = (why: string): void => this.fail(`the switch-over failed: ${why}`);
    this.askArbiter("switching", run, refused, (why) => { if (Date.now() < until) return true; refused(why); return false; });
  }

  // Asks the arbiter for the domain, again every ARBITER_RETRY_MS while the
  // copy stays in `state`: given, `granted`; refused for good (the
  // no-takeover mark), `refused`; not yet (the other's lease lives, or etcd
  // does not answer), `waiting`, which says whether to ask again.
  private askArbiter(state: RemusBackupStatus["state"], granted: () => void, refused: (why: string) => void, waiting: (why: string) => boolean): void {
    const ask = (): void => {
      this.retry = null;
      const arb = this.arb;
      if (this.state !== state || !arb) return;
      const notYet = (why: string): void => { if (this.state === state && waiting(why)) this.retry = setTimeout(ask, ARBITER_RETRY_MS); };
      arb.takeover(this.who).then((r) => {
        if (this.state !== state) return;
        if (r.ok) granted();
        else if (r.forbidden) refused(r.why);
        else notYet(r.why);
      }, (e: Error) => notYet(e.message));
    };
    ask();
  }

  // `xents remus-takeover`: with an arbiter, only once it gives this copy the domain.
  async requestTakeover(): Promise<Guest> {
    if (this.state !== "primary-lost") return this.takeOver(); // (which says why not)
    if (this.arb) {
      const r = await this.arb.takeover(this.who);
      if (!r.ok) throw new Error(`the copy of ${this.name} cannot take over: ${r.why}`);
    }
    return this.takeOver();
  }

  // The copy runs, from the last whole checkpoint.
  takeOver(): Guest {
    if (this.state !== "primary-lost") throw new Error(`the copy of ${this.name} cannot take over: ${this.state === "protecting" ? "its primary is alive (the link is up)" : this.state}`);
    return this.runCopy(this.why ?? "the primary was lost");
  }
  private runCopy(why: string): Guest {
    this.phase = "over";
    if (this.retry) clearTimeout(this.retry);
    // the domain is ours at the arbiter now; its lease is kept alive while this copy runs
    this.arb?.hold((w) => this.ts.log(`Remus: ${this.name}: ${w} (this copy runs on: no other may)`));
    const paths = new Map<number, string>();
    for (const [devid, r] of this.replicas) { paths.set(devid, r.path); r.close(); }
    this.session.redirectDisks(paths);
    let g: Guest;
    try { g = this.session.finish(false); } catch (e) {
      this.phase = "checkpoint"; // (so that discard runs)
      this.discard(`the take-over failed: ${(e as Error).message}`);
      throw e;
    }
    this.guest = g;
    this.state = "running";
    this.why = why;
    this.ts.log(`Remus: d${g.domid} (${g.name}) took over from checkpoint ${this.epoch}`);
    this.onEnd?.(this);
    return g;
  }

  // The copy that took over here is protected again: the new primary's
  // claim holds the domain at the arbiter now, and this lease can go.
  releaseArbiter(): void {
    const arb = this.arb;
    this.arb = null;
    if (arb) void arb.release().finally(() => arb.close());
  }

  status(): RemusBackupStatus {
    return {
      role: "backup", domain: this.name, domid: this.guest?.domid ?? this.domid, primary: this.primary, state: this.state, why: this.why,
      failover: this.header?.failover ?? null, arbiter: this.header?.arbiter ?? null, interval_ms: this.header?.intervalMs ?? null, timeout_ms: this.header?.timeoutMs ?? null,
      epoch: this.epoch, checkpoints: this.checkpoints, last_bytes: this.last.bytes, last_pages: this.last.pages,
      last_apply_ms: Math.round(this.last.applyMs * 10) / 10, replicas: [...this.replicas.values()].map((r) => r.path),
    };
  }
}
