// The arbiter of Remus fail-over: etcd, which both hosts reach by another
// path than their replication link, decides which copy of a protected
// domain may run. A timeout alone cannot tell a dead primary from a cut
// link; a lease can.
//
// Two keys per domain (by uuid), under xents/remus/<uuid>/:
//   owner        the copy that may run, held under its host's lease (etcd
//                deletes it when the lease expires: the holder is dead, or
//                cut off from the arbiter and has paused itself);
//   no-takeover  written, without a lease, by a primary that goes on
//                without its backup (the backup lost): the backup's copy is
//                stale from then on and must never run.
// The primary claims `owner` when protection begins (clearing
// `no-takeover`) and keeps its lease alive; should a renewal not be
// answered within half the lease's time it pauses the domain itself, so it
// has stopped before etcd can let the backup take over. The backup, having
// lost the primary, takes `owner` only if it is gone and `no-takeover` is
// absent, in one transaction.
//
// etcd3 (Microsoft's client, on npm) speaks etcd's gRPC API; it is the
// client the issue names and is kept up to date with etcd 3.x.

import type { Etcd3, Lease } from "etcd3";
import { lazyPackage } from "../lazy_package.js";

const etcd3 = lazyPackage<typeof import("etcd3")>("etcd3");

export const ARBITER_TTL_S = 2; // the lease's time; etcd's least is 1.5 s with its default timing
const CALL_MS = 1_000; // one request to etcd, at most

export class ArbiterError extends Error {}

// etcd://host:port[,host:port...] -> the client's endpoints.
export function arbiterHosts(url: string): string[] {
  const m = /^etcd:\/\/([^/?#]+)\/?$/.exec(url);
  const hosts = m ? m[1].split(",") : [];
  if (!hosts.length || !hosts.every((h) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(h) || /^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(h))) {
    throw new ArbiterError(`the arbiter must be given as etcd://host:port (several as etcd://h1:p1,h2:p2), not '${url}'`);
  }
  return hosts.map((h) => `http://${h}`);
}

export type Takeover = { ok: true } | { ok: false; forbidden: boolean; why: string };

export class Arbiter {
  private readonly client: Etcd3;
  private lease: Lease | null = null;
  private keepalive: ReturnType<typeof setInterval> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastRenewed = 0; // when the last renewal that etcd answered was sent

  constructor(readonly url: string, private readonly uuid: string) {
    this.client = new (etcd3().Etcd3)({ hosts: arbiterHosts(url), dialTimeout: CALL_MS });
  }

  private key(k: "owner" | "no-takeover"): string { return `xents/remus/${this.uuid}/${k}`; }
  private opts(): { deadline: number } { return { deadline: Date.now() + CALL_MS }; }
  private async call<T>(what: string, p: Promise<T>): Promise<T> {
    try { return await p; } catch (e) { throw new ArbiterError(`the arbiter ${this.url} did not answer (${what}): ${(e as Error).message.split("\n")[0]}`); }
  }

  // Reachable at all (the backup checks before it says READY).
  async ping(): Promise<void> { await this.call("a read", this.client.get(this.key("owner")).options(this.opts()).string()); }

  async owner(): Promise<string | null> { return this.call("a read", this.client.get(this.key("owner")).options(this.opts()).string()); }

  private async grant(): Promise<Lease> {
    const lease = this.client.lease(ARBITER_TTL_S, { autoKeepAlive: false });
    await this.call("a lease", lease.grant());
    this.lease = lease;
    this.lastRenewed = Date.now();
    return lease;
  }

  // The primary, as protection begins: `who` owns the domain from now on,
  // unless another live copy does.
  async claim(who: string): Promise<void> {
    const lease = this.lease ?? await this.grant();
    const r = await this.call("a claim", this.client.if(this.key("owner"), "Create", "==", 0)
      .then(lease.put(this.key("owner")).value(who), this.client.delete().key(this.key("no-takeover")))
      .else(this.client.get(this.key("owner"))).options(this.opts()).commit());
    if (r.succeeded) return;
    const holder = r.responses[0]?.response_range?.kvs?.[0]?.value?.toString() ?? "?";
    if (holder !== who) throw new ArbiterError(`the arbiter says another copy runs this domain (${holder})`);
    // our own host's earlier claim (a copy that took over here and is protected again)
    await this.call("a claim", lease.put(this.key("owner")).value(who).options(this.opts()).exec());
    await this.call("a claim", this.client.delete().key(this.key("no-takeover")).options(this.opts()).exec());
  }

  // Keeps the lease alive; `lost` is called (once) when a renewal has not
  // been answered for half the lease's time: before etcd can expire it.
  hold(lost: (why: string) => void): void {
    const lease = this.lease;
    if (!lease) throw new ArbiterError("no lease to hold");
    const ttl = ARBITER_TTL_S * 1000;
    this.keepalive = setInterval(() => {
      const sent = Date.now();
      lease.keepaliveOnce(this.opts()).then((r) => { if (Number(r.TTL) > 0) this.lastRenewed = Math.max(this.lastRenewed, sent); }, () => { /* the watchdog decides */ });
    }, ttl / 4);
    this.keepalive.unref();
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastRenewed <= ttl / 2) return;
      this.stopHolding();
      lost(`the arbiter ${this.url} has not renewed this host's lease for ${Date.now() - this.lastRenewed} ms (it expires after ${ttl} ms)`);
    }, 50);
    this.watchdog.unref();
  }

  private stopHolding(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    if (this.watchdog) clearInterval(this.watchdog);
    this.keepalive = this.watchdog = null;
  }

  // The primary goes on without its backup: the backup's copy must never run.
  async forbidTakeover(): Promise<void> {
    await this.call("the no-takeover mark", this.client.put(this.key("no-takeover")).value(new Date().toISOString()).options(this.opts()).exec());
  }

  // The backup, having lost its primary: the domain is ours if nobody owns
  // it and the primary did not go on without us.
  async takeover(who: string): Promise<Takeover> {
    const lease = this.lease ?? await this.grant();
    // the lease was granted at the first attempt: renewed before each, so
    // that the key it may take does not lapse with it a moment later
    const sent = Date.now();
    const r0 = await this.call("a renewal", lease.keepaliveOnce(this.opts()));
    if (Number(r0.TTL) <= 0) { this.lease = null; return this.takeover(who); }
    this.lastRenewed = sent;
    const r = await this.call("a take-over", this.client.if(this.key("owner"), "Create", "==", 0).and(this.key("no-takeover"), "Create", "==", 0)
      .then(lease.put(this.key("owner")).value(who))
      .else(this.client.get(this.key("owner")), this.client.get(this.key("no-takeover"))).options(this.opts()).commit());
    if (r.succeeded) return { ok: true };
    const holder = r.responses[0]?.response_range?.kvs?.[0]?.value?.toString();
    const mark = r.responses[1]?.response_range?.kvs?.[0]?.value?.toString();
    if (mark) return { ok: false, forbidden: true, why: `the primary went on without this backup at ${mark} (the arbiter's no-takeover mark): this copy is stale` };
    return { ok: false, forbidden: false, why: `the arbiter says the primary still holds the domain (${holder ?? "?"})` };
  }

  // Protection is over and this host lets go of the domain (its owner key goes with the lease).
  async release(): Promise<void> {
    this.stopHolding();
    const lease = this.lease;
    this.lease = null;
    if (lease) await this.call("a release", lease.revoke(this.opts())).catch(() => { /* it expires by itself */ });
  }

  close(): void {
    this.stopHolding();
    this.client.close();
  }
}
