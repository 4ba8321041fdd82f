// xenstored: the xs_wire protocol (io/xs_wire.h, docs/misc/xenstore.txt)
// over any connection — a guest's shared ring or a local socket — with
// permissions, quotas, watches (including @introduceDomain and
// @releaseDomain) and transactions that detect conflicting commits.

import { Store, TxStore, XsError, Caller, canAccess, isOwner, validPath, parent, parsePerm, permString, Perm, Node, type Guarded } from "./store.js";
import { XS, XS_NAMES, XSD_SOCKMSG_SIZE, XENSTORE_PAYLOAD_MAX, XENSTORE_ERROR } from "../../xen/public/io/xs_wire.js";

export const QUOTA = {
  nodesPerDomain: 1000,
  maxEntrySize: 2048,
  watchesPerDomain: 128,
  transactionsPerDomain: 10,
  outputQueueBytes: 256 * 1024, // a client that does not read its replies is cut off beyond this
  permsPerNode: 5, // quota-nb-perms-per-node of Xen 4.17's xenstored
};

export interface Transport {
  send(msg: Uint8Array): void; // one framed message
  // error: the ring's error field, for a client that broke the protocol (XENSTORE_ERROR)
  close(reason: string, error?: number): void;
}

interface Watch { path: string; abs: string; token: string; relative: boolean; }
export interface SavedWatch { path: string; token: string; }
// An open transaction: its view of the store, the generation of every node
// it looked at when it first did (a commit conflicts if any has changed
// since), and the watch events it will fire on commit.
interface Tx { id: number; store: TxStore; seen: Map<string, number | undefined>; changes: Change[]; }
// A change that fires watches, with what the permission check needs once
// the node may be gone (xenstored_watch.c: the node or its parent must be
// readable by the watcher, old permissions count too). `exact`: only
// watches on this very path (the nodes below a removed node).
interface Change { path: string; exact: boolean; node: Guarded | null; parent: Guarded | null; old?: Guarded; }

export class Connection {
  readonly watches: Watch[] = [];
  readonly txs = new Map<number, Tx>();
  private buf: Uint8Array = new Uint8Array(0);
  target: number | undefined;
  dead = false;
  constructor(readonly domid: number, readonly privileged: boolean, readonly isDomain: boolean, readonly transport: Transport, readonly name: string,
    private readonly knownSince?: (domid: number) => number | undefined) {}
  caller(): Caller { return { domid: this.domid, privileged: this.privileged, target: this.target, knownSince: this.knownSince }; }
  home(): string { return `/local/domain/${this.domid}`; }

  // Bytes from the client; complete messages are handed to `handle`.
  feed(data: Uint8Array, handle: (type: number, reqId: number, txId: number, payload: Uint8Array) => void): void {
    if (this.dead) return;
    const b = new Uint8Array(this.buf.length + data.length);
    b.set(this.buf);
    b.set(data, this.buf.length);
    let off = 0;
    while (b.length - off >= XSD_SOCKMSG_SIZE) {
      const dv = new DataView(b.buffer, b.byteOffset + off, XSD_SOCKMSG_SIZE);
      const len = dv.getUint32(12, true);
      if (len > XENSTORE_PAYLOAD_MAX) { this.kill(`payload of ${len} bytes exceeds ${XENSTORE_PAYLOAD_MAX}`, XENSTORE_ERROR.PROTO); return; }
      if (b.length - off < XSD_SOCKMSG_SIZE + len) break;
      const type = dv.getUint32(0, true), reqId = dv.getUint32(4, true), txId = dv.getUint32(8, true);
      const payload = b.slice(off + XSD_SOCKMSG_SIZE, off + XSD_SOCKMSG_SIZE + len);
      off += XSD_SOCKMSG_SIZE + len;
      handle(type, reqId, txId, payload);
      if (this.dead) return;
    }
    this.buf = b.slice(off);
  }

  kill(reason: string, error?: number): void {
    if (this.dead) return;
    this.dead = true;
    this.watches.length = 0;
    this.txs.clear();
    this.transport.close(reason, error);
  }
}

export interface XenstoredHost {
  // INTRODUCE: connect to a domain's ring (gfn) and event channel; returns its transport.
  introduce(domid: number, gfn: bigint, port: number, conn: (t: Transport) => Connection): void;
  release(domid: number): void;
  log(line: string): void;
  // Whether a domain exists now (a permission naming one that does not is
  // ignored, as Xen's xenstored asks the hypervisor); all do if absent.
  domainExists?(domid: number): boolean;
}

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));
// Control characters (a newline above all) never reach the host's log from a client.
const printable = (s: string): string => s.replace(/[\x00-\x1F\x7F]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`);
const guarded = (n: Node | undefined): Guarded | null => (n ? { perms: n.perms, generation: n.generation } : null);
// @introduceDomain and @releaseDomain: permissions dom0 sets, never stale
const specialNode = (perms: Perm[]): Guarded => ({ perms, generation: Number.MAX_SAFE_INTEGER });
const OK = enc("OK\0");

function frame(type: number, reqId: number, txId: number, payload: Uint8Array): Uint8Array {
  const m = new Uint8Array(XSD_SOCKMSG_SIZE + payload.length);
  const dv = new DataView(m.buffer);
  dv.setUint32(0, type, true); dv.setUint32(4, reqId, true); dv.setUint32(8, txId, true); dv.setUint32(12, payload.length, true);
  m.set(payload, XSD_SOCKMSG_SIZE);
  return m;
}

// The watch events a removal gives: every node of the subtree, the top one
// for watches on it or above, the others for watches on them exactly, each
// with the permissions it had (xenstored_core.c delnode_sub).
function removalChanges(store: Store, path: string): Change[] {
  const out: Change[] = [];
  const walk = (p: string, node: Node, par: Guarded | null): void => {
    out.push({ path: p, exact: p !== path, node: guarded(node), parent: par });
    for (const ch of node.children) { const cn = store.get(`${p}/${ch}`); if (cn) walk(`${p}/${ch}`, cn, guarded(node)); }
  };
  const n = store.get(path);
  if (n) walk(path, n, guarded(store.get(parent(path))));
  return out;
}

// Split a payload into its nul-terminated strings; the last piece (after the final nul) is returned as `rest`.
function strings(p: Uint8Array): { parts: string[]; rest: Uint8Array } {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) { parts.push(Buffer.from(p.subarray(start, i)).toString("utf8")); start = i + 1; }
  }
  return { parts, rest: p.subarray(start) };
}

export class Xenstored {
  readonly store = new Store();
  readonly connections = new Set<Connection>();
  readonly domains = new Map<number, Connection>(); // introduced domains
  private nextTx = 1;
  private releasedReported = new Set<number>();
  // @introduceDomain and @releaseDomain: who may see their events (dom0 may change it)
  private readonly specialPerms = new Map<string, Perm[]>([
    ["@introduceDomain", [{ domid: 0, access: "n" }]], ["@releaseDomain", [{ domid: 0, access: "n" }]],
  ]);
  stats = { requests: 0, errors: 0, watchEvents: 0, bugs: 0 };
  // The generation after which each domain xenstored knows of existed (its
  // permissions count only on nodes changed since); forgotten when it is
  // released, so a new domain under the same id starts afresh.
  private readonly known = new Map<number, number>([[0, 0]]);
  private readonly knownSince = (domid: number): number | undefined => this.known.get(domid);

  constructor(private readonly host: XenstoredHost) {
    this.store.staleCheck = (domid, generation) => { const k = this.known.get(domid); return k === undefined || k > generation; };
    // the tree every Xen host starts with
    const dom0: Caller = { domid: 0, privileged: true };
    for (const p of ["/local", "/local/domain", "/local/domain/0", "/vm", "/tool"]) this.store.create(p, dom0);
    this.store.setPerms("/local", [{ domid: 0, access: "r" }]);
    this.store.setPerms("/local/domain", [{ domid: 0, access: "r" }]);
  }

  connect(domid: number, privileged: boolean, isDomain: boolean, transport: Transport, name: string): Connection {
    if (!privileged) this.learn(domid);
    const c = new Connection(domid, privileged, isDomain, transport, name, this.knownSince);
    this.connections.add(c);
    return c;
  }
  disconnect(c: Connection): void {
    c.kill("disconnected");
    this.connections.delete(c);
  }

  input(c: Connection, data: Uint8Array): void {
    c.feed(data, (type, reqId, txId, payload) => this.request(c, type, reqId, txId, payload));
  }

  private reply(c: Connection, type: number, reqId: number, txId: number, payload: Uint8Array): void {
    if (c.dead) return;
    if (payload.length > XENSTORE_PAYLOAD_MAX) { this.error(c, reqId, txId, "E2BIG"); return; } // as Xen's send_reply
    c.transport.send(frame(type, reqId, txId, payload));
  }
  private error(c: Connection, reqId: number, txId: number, code: string): void {
    this.stats.errors++;
    this.reply(c, XS.ERROR, reqId, txId, enc(code + "\0"));
  }

  // Absolute path of a request path (relative ones only for domains).
  // Special paths (@introduceDomain, @releaseDomain) only where a watch is
  // set or removed; anywhere else they name no node (EINVAL, as Xen's
  // is_valid_nodename), so no client can create one.
  private abs(c: Connection, p: string, special = false): string {
    if (p.startsWith("@")) { if (special) return p; throw new XsError("EINVAL"); }
    const a = p.startsWith("/") ? p : (c.isDomain ? `${c.home()}/${p}` : "");
    if (!a || !validPath(a)) throw new XsError("EINVAL");
    return a;
  }

  request(c: Connection, type: number, reqId: number, txId: number, payload: Uint8Array): void {
    this.stats.requests++;
    try {
      const out = this.dispatch(c, type, txId, payload);
      if (out === null) return; // reply already sent
      this.reply(c, type, reqId, type === XS.TRANSACTION_START ? 0 : txId, out);
      if (type === XS.WATCH) this.initialWatchEvent(c);
    } catch (e) {
      if (e instanceof XsError) { this.error(c, reqId, txId, e.code); return; }
      // a bug of xenstored's, never a reason for the host to go down: logged, and the client told
      this.stats.bugs++;
      this.host.log(`xenstored: BUG handling ${this.describe(type)} from ${c.name}: ${(e as Error).stack?.split("\n").slice(0, 4).join(" | ") ?? String(e)}`);
      this.error(c, reqId, txId, "EIO");
    }
  }

  private pendingInitial: { c: Connection; w: Watch } | null = null;
  private initialWatchEvent(c: Connection): void {
    const p = this.pendingInitial;
    this.pendingInitial = null;
    if (p && p.c === c) this.sendEvent(c, p.w, p.w.path);
  }

  private txOf(c: Connection, txId: number): Tx | null {
    if (txId === 0) return null;
    const t = c.txs.get(txId);
    if (!t) throw new XsError("ENOENT");
    return t;
  }

  private dispatch(c: Connection, type: number, txId: number, payload: Uint8Array): Uint8Array | null {
    const { parts, rest } = strings(payload);
    const arg = (i: number): string => { if (parts[i] === undefined) throw new XsError("EINVAL"); return parts[i]; };
    const tx = type === XS.TRANSACTION_START || type === XS.WATCH || type === XS.UNWATCH ? null : this.txOf(c, txId);
    const store = tx ? tx.store : this.store;
    const touch = (path: string): void => { if (tx && !tx.seen.has(path)) tx.seen.set(path, this.store.get(path)?.generation); };
    const changed = (ch: Change[]): void => { if (tx) tx.changes.push(...ch); else this.fire(ch); };
    const who = c.caller();
    const readable = (path: string): ReturnType<Store["get"]> => {
      touch(path);
      const n = store.get(path);
      if (!n) throw this.missing(store, who, path);
      if (!canAccess(n, who, "r")) throw new XsError("EACCES");
      return n;
    };
    switch (type) {
      case XS.READ: {
        const n = readable(this.abs(c, arg(0)))!;
        return n.value;
      }
      case XS.DIRECTORY: {
        const n = readable(this.abs(c, arg(0)))!;
        return enc([...n.children].map((x) => x + "\0").join(""));
      }
      case XS.DIRECTORY_PART: {
        const n = readable(this.abs(c, arg(0)))!;
        const offset = Number(arg(1));
        if (!Number.isInteger(offset) || offset < 0) throw new XsError("EINVAL");
        const all = Buffer.from([...n.children].map((x) => x + "\0").join(""));
        const gen = `${n.generation}\0`;
        const room = XENSTORE_PAYLOAD_MAX - gen.length - 1;
        let chunk = all.subarray(Math.min(offset, all.length));
        let end = "";
        if (chunk.length <= room) end = "\0";
        else {
          let cut = room;
          while (cut > 0 && chunk[cut - 1] !== 0) cut--;
          chunk = chunk.subarray(0, cut);
        }
        return new Uint8Array(Buffer.concat([Buffer.from(gen), chunk, Buffer.from(end)]));
      }
      case XS.GET_PERMS: {
        const sp = this.specialPerms.get(arg(0));
        if (sp) return enc(sp.map((p) => permString(p) + "\0").join(""));
        const n = readable(this.abs(c, arg(0)))!;
        return enc(store.livePerms(n).map((p) => permString(p) + "\0").join(""));
      }
      case XS.WRITE: {
        // <path>|<value|>: the value is everything after the first nul
        const nul = payload.indexOf(0);
        if (nul < 0) throw new XsError("EINVAL");
        const path = this.abs(c, Buffer.from(payload.subarray(0, nul)).toString("utf8"));
        const value = payload.slice(nul + 1);
        if (!c.privileged && value.length > QUOTA.maxEntrySize) throw new XsError("ENOSPC");
        this.write(store, c, path, value, touch, changed);
        return OK;
      }
      case XS.MKDIR: {
        const path = this.abs(c, arg(0));
        if (store.get(path)) { touch(path); return OK; }
        this.write(store, c, path, undefined, touch, changed);
        return OK;
      }
      case XS.RM: {
        const path = this.abs(c, arg(0));
        if (path === "/") throw new XsError("EINVAL");
        touch(path);
        const n = store.get(path);
        if (!n) {
          const err = this.missing(store, who, path);
          if (err.code === "ENOENT" && store.get(parent(path))) return OK; // already gone, the parent is there: fine
          throw err;
        }
        const par = store.get(parent(path))!;
        if (!canAccess(n, who, "w") || !canAccess(par, who, "w")) throw new XsError("EACCES");
        touch(parent(path));
        // watches fire for every node removed, seen with the permissions it had
        const gone = removalChanges(store, path);
        const removed = store.remove(path);
        for (const p of removed) touch(p);
        changed(gone);
        return OK;
      }
      case XS.SET_PERMS: {
        const perms: Perm[] = [];
        for (const s of parts.slice(1)) { const p = parsePerm(s); if (!p) throw new XsError("EINVAL"); perms.push(p); }
        if (perms.length === 0) throw new XsError("EINVAL");
        if (!c.privileged && perms.length > QUOTA.permsPerNode) throw new XsError("ENOSPC");
        const special = this.specialPerms.get(arg(0));
        if (special) {
          if (!c.privileged && !isOwner(specialNode(special), who)) throw new XsError("EACCES");
          this.specialPerms.set(arg(0), perms);
          return OK;
        }
        const path = this.abs(c, arg(0));
        touch(path);
        const n = store.get(path);
        if (!n) throw this.missing(store, who, path);
        // only the owner (or a privileged domain) changes permissions, and an
        // unprivileged owner cannot give the node away (xenstored_core.c do_set_perms)
        if (!canAccess(n, who, "w") || !isOwner(n, who)) throw new XsError("EACCES");
        if (!c.privileged && perms[0].domid !== n.perms[0].domid) throw new XsError("EPERM");
        const old = guarded(n) ?? undefined;
        for (const p of perms) this.learn(p.domid);
        store.setPerms(path, perms);
        changed([{ ...this.changeAt(store, path), old }]);
        return OK;
      }
      case XS.WATCH: {
        const path = arg(0), token = arg(1);
        const abs = this.abs(c, path, true);
        if (!c.privileged && c.watches.length >= QUOTA.watchesPerDomain) throw new XsError("E2BIG");
        if (c.watches.some((w) => w.abs === abs && w.token === token)) throw new XsError("EEXIST");
        const w: Watch = { path, abs, token, relative: !path.startsWith("/") && !path.startsWith("@") };
        c.watches.push(w);
        this.pendingInitial = { c, w };
        return OK;
      }
      case XS.UNWATCH: {
        const abs = this.abs(c, arg(0), true), token = arg(1);
        const i = c.watches.findIndex((w) => w.abs === abs && w.token === token);
        if (i < 0) throw new XsError("ENOENT");
        c.watches.splice(i, 1);
        return OK;
      }
      case XS.TRANSACTION_START: {
        if (txId !== 0) throw new XsError("EINVAL");
        if (!c.privileged && c.txs.size >= QUOTA.transactionsPerDomain) throw new XsError("ENOSPC");
        const id = this.nextTx++ >>> 0 || this.nextTx++;
        c.txs.set(id, { id, store: new TxStore(this.store), seen: new Map(), changes: [] });
        return enc(`${id}\0`);
      }
      case XS.TRANSACTION_END: {
        if (!tx) throw new XsError("EINVAL");
        c.txs.delete(tx.id);
        const commit = arg(0);
        if (commit === "F") return OK;
        if (commit !== "T") throw new XsError("EINVAL");
        // conflict: a node this transaction looked at changed since it started
        for (const [p, gen] of tx.seen) if (this.store.get(p)?.generation !== gen) throw new XsError("EAGAIN");
        // the node quota holds for what the store would be after the commit
        // (parallel transactions each under it must not add up beyond it)
        if (!c.privileged && tx.store.countOwned(c.domid) > QUOTA.nodesPerDomain) throw new XsError("ENOSPC");
        this.store.commit(tx.store.changes());
        this.fire(tx.changes);
        return OK;
      }
      case XS.GET_DOMAIN_PATH: {
        const d = Number(arg(0));
        if (!Number.isInteger(d) || d < 0 || d > 0xFFFF) throw new XsError("EINVAL");
        return enc(`/local/domain/${d}\0`);
      }
      case XS.IS_DOMAIN_INTRODUCED: {
        const d = Number(arg(0));
        return enc(d === 0 || this.domains.has(d) ? "T\0" : "F\0");
      }
      case XS.INTRODUCE: {
        if (!c.privileged) throw new XsError("EACCES");
        const d = Number(arg(0)), port = Number(arg(2));
        if (!/^\d{1,20}$/.test(arg(1)) || !Number.isInteger(d) || d <= 0 || d >= 0x7FF0 || !Number.isInteger(port) || port < 0) throw new XsError("EINVAL");
        if (this.domains.has(d)) return OK; // already talking to it
        try {
          this.host.introduce(d, BigInt.asUintN(64, BigInt(arg(1))), port, (t) => {
            const conn = this.connect(d, false, true, t, `domain ${d}`);
            this.domains.set(d, conn);
            return conn;
          });
        } catch (e) {
          // no such domain, no such page or port: as Xen's do_introduce, EINVAL
          this.host.log(`xenstored: INTRODUCE of d${d} refused: ${(e as Error).message}`);
          throw new XsError("EINVAL");
        }
        this.releasedReported.delete(d);
        this.fire([this.special("@introduceDomain")]);
        return OK;
      }
      case XS.RELEASE: {
        if (!c.privileged) throw new XsError("EACCES");
        const d = Number(arg(0));
        if (!this.domains.has(d)) throw new XsError("ENOENT");
        this.releaseDomain(d);
        return OK;
      }
      case XS.RESUME: {
        if (!c.privileged) throw new XsError("EACCES");
        const d = Number(arg(0));
        if (!this.domains.has(d)) throw new XsError("ENOENT");
        this.releasedReported.delete(d);
        return OK;
      }
      case XS.SET_TARGET: {
        if (!c.privileged) throw new XsError("EACCES");
        const d = Number(arg(0)), t = Number(arg(1));
        const conn = this.domains.get(d);
        if (!conn) throw new XsError("ENOENT");
        conn.target = t;
        return OK;
      }
      case XS.RESET_WATCHES:
        c.watches.length = 0;
        c.txs.clear();
        return OK;
      case XS.CONTROL: {
        if (!c.privileged) throw new XsError("EACCES"); // as Xen's do_control
        const cmd = parts[0] ?? "";
        if (cmd === "help") return enc("check\nhelp\nlog\nprint\n\0");
        if (cmd === "print") { this.host.log(`${c.name}: ${printable(parts[1] ?? "")}`); return OK; }
        if (cmd === "check" || cmd === "log") return OK;
        throw new XsError("EINVAL");
      }
      default:
        void rest;
        throw new XsError(type >= XS.TYPE_COUNT ? "ENOSYS" : "EINVAL");
    }
  }

  private write(store: Store, c: Connection, path: string, value: Uint8Array | undefined, touch: (p: string) => void, changed: (ch: Change[]) => void): void {
    const who = c.caller();
    touch(path);
    const existing = store.get(path);
    if (existing) {
      if (!canAccess(existing, who, "w")) throw new XsError("EACCES");
      if (value !== undefined) store.setValue(path, value);
      changed([this.changeAt(store, path)]);
      return;
    }
    // creation: quota on nodes owned by the creator
    if (!c.privileged) {
      let missing = 0;
      for (let p = path; !store.get(p); p = parent(p)) missing++;
      if (store.countOwned(c.domid) + missing > QUOTA.nodesPerDomain) throw new XsError("ENOSPC");
    }
    for (let p = parent(path); ; p = parent(p)) { touch(p); if (store.get(p) || p === "/") break; }
    const created = store.create(path, who, value);
    for (const p of created) touch(p);
    changed([path, ...created.filter((p) => p !== path)].map((p) => this.changeAt(store, p)));
  }

  // ---- watches
  private matches(watchAbs: string, path: string): boolean {
    if (watchAbs.startsWith("@") || path.startsWith("@")) return watchAbs === path;
    return path === watchAbs || watchAbs === "/" || path.startsWith(watchAbs + "/");
  }

  // The toolstack's own writes and removals (as Domain-0, in-process), with
  // the same watch events a request would give.
  writeLocal(path: string, value: Uint8Array, perms?: Perm[]): void {
    const s = this.store;
    const old = guarded(s.get(path)) ?? undefined;
    const created = s.get(path) ? [] : s.create(path, { domid: 0, privileged: true }, value);
    if (!created.length) s.setValue(path, value);
    if (perms) { for (const p of perms) this.learn(p.domid); s.setPerms(path, perms); }
    this.fire([{ ...this.changeAt(s, path), old }, ...created.filter((p) => p !== path).map((p) => this.changeAt(s, p))]);
  }
  // The toolstack granting a node's permissions afresh (the same entries):
  // they count again for domains learned after the node last changed.
  setPermsLocal(path: string, perms: Perm[]): void {
    const old = guarded(this.store.get(path));
    if (!old) return;
    for (const p of perms) this.learn(p.domid);
    this.store.setPerms(path, perms);
    this.fire([{ ...this.changeAt(this.store, path), old }]);
  }
  removeLocal(path: string): void {
    if (!this.store.get(path) || path === "/") return;
    const gone = removalChanges(this.store, path);
    this.store.remove(path);
    this.fire(gone);
  }

  // A domain's watches as it registered them, for save and migration: the
  // guest does not register them again after a transparent restore.
  watchesOf(domid: number): SavedWatch[] {
    return (this.domains.get(domid)?.watches ?? []).map((w) => ({ path: w.path, token: w.token }));
  }
  // Gives a restored domain's connection its watches back (no initial
  // events: nothing changed for the guest). Returns how many were refused
  // (bad path, over the quota, duplicates).
  restoreWatches(domid: number, watches: SavedWatch[]): number {
    const c = this.domains.get(domid);
    if (!c) return watches.length;
    let refused = 0;
    for (const w of watches) {
      let abs: string;
      try { abs = this.abs(c, w.path, true); } catch { refused++; continue; }
      if (c.watches.length >= QUOTA.watchesPerDomain || c.watches.some((x) => x.abs === abs && x.token === w.token)) { refused++; continue; }
      c.watches.push({ path: w.path, abs, token: w.token, relative: !w.path.startsWith("/") && !w.path.startsWith("@") });
    }
    return refused;
  }

  // A change of a node that is there, with its parent's permissions.
  private changeAt(store: Store, path: string): Change {
    return { path, exact: false, node: guarded(store.get(path)), parent: guarded(store.get(parent(path))) };
  }
  private special(path: string): Change { return { path, exact: true, node: null, parent: null }; }

  // A missing node: ENOENT only if the caller may read the nearest node
  // above it, EACCES otherwise (xenstored_core.c errno_from_parents), so
  // that nobody learns what exists where they may not look.
  private missing(store: Store, who: Caller, path: string): XsError {
    let p = path;
    for (;;) {
      p = parent(p);
      const n = store.get(p);
      if (n) return new XsError(canAccess(n, who, "r") ? "ENOENT" : "EACCES");
      if (p === "/") return new XsError("ENOENT");
    }
  }

  private permitted(c: Connection, ch: Change): boolean {
    const sp = this.specialPerms.get(ch.path);
    if (sp) return canAccess(specialNode(sp), c.caller(), "r");
    const who = c.caller();
    if (ch.old && canAccess(ch.old, who, "r")) return true;
    if (ch.node && canAccess(ch.node, who, "r")) return true;
    return ch.parent !== null && canAccess(ch.parent, who, "r");
  }

  fire(changes: Change[]): void {
    for (const c of this.connections) {
      if (c.dead) continue;
      for (const w of c.watches) {
        const sent = new Set<string>();
        for (const ch of changes) {
          if (sent.has(ch.path)) continue;
          if (ch.exact ? w.abs !== ch.path : !this.matches(w.abs, ch.path)) continue;
          if (!this.permitted(c, ch)) continue;
          sent.add(ch.path);
          this.sendEvent(c, w, ch.path);
        }
      }
    }
  }

  private sendEvent(c: Connection, w: Watch, absPath: string): void {
    let p = absPath;
    if (w.relative && p.startsWith(c.home() + "/")) p = p.slice(c.home().length + 1);
    else if (w.relative && p === c.home()) p = "";
    this.stats.watchEvents++;
    this.reply(c, XS.WATCH_EVENT, 0, 0, enc(`${p}\0${w.token}\0`));
  }

  // A domain shut down or died: tell @releaseDomain watchers once.
  domainGone(domid: number, destroyed: boolean): void {
    if (!this.releasedReported.has(domid)) {
      this.releasedReported.add(domid);
      this.fire([this.special("@releaseDomain")]);
    }
    if (destroyed) this.known.delete(domid);
    if (destroyed && this.domains.has(domid)) this.releaseDomain(domid);
  }

  // A domain named in a permission or connecting: from now on, if it exists.
  private learn(domid: number): void {
    if (this.known.has(domid) || this.host.domainExists?.(domid) === false) return;
    this.known.set(domid, this.store.currentGeneration() + 1);
  }

  private releaseDomain(domid: number): void {
    const conn = this.domains.get(domid);
    this.domains.delete(domid);
    if (conn) this.disconnect(conn);
    this.host.release(domid);
    // nodes the domain still owns go with it (XSA-419)
    const owned = [...this.store.entries()].filter(([p, n]) => n.perms[0].domid === domid && p !== "/").map(([p]) => p);
    owned.sort((a, b) => b.length - a.length);
    for (const p of owned) if (this.store.get(p)) this.store.remove(p);
    this.fire([this.special("@releaseDomain")]);
  }

  describe(type: number): string { return XS_NAMES[type] ?? `type ${type}`; }
}
