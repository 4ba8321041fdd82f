// The xenstore database: a tree of nodes with values and permissions, the
// permission rules of docs/misc/xenstore.txt and the XenBus wiki page (the
// first entry names the owner and the access of domains not listed; the
// owner and privileged domains may do anything; new nodes inherit their
// parent's permissions with the creating unprivileged domain as owner), and
// per-domain node quotas.

export type Access = "n" | "r" | "w" | "b";
// `ignore`: the entry names a domain that was gone (or not yet there) when
// the node last changed; it counts for nobody (Xen's XS_PERM_IGNORE).
export interface Perm { domid: number; access: Access; ignore?: true }

export interface Node {
  value: Uint8Array;
  perms: Perm[];
  children: Set<string>; // leaf names
  generation: number; // bumped on every change of this node (value, perms, children)
}

export class XsError extends Error {
  constructor(readonly code: string) { super(code); }
}

export const PATH_RE = /^[A-Za-z0-9\-/_@]+$/;
export const ABS_PATH_MAX = 3072;

export function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
export function leaf(path: string): string { return path.slice(path.lastIndexOf("/") + 1); }

export function validPath(path: string): boolean {
  if (!path.startsWith("/") || path.length > ABS_PATH_MAX) return false;
  if (path === "/") return true;
  if (path.endsWith("/") || path.includes("//")) return false;
  return PATH_RE.test(path);
}

export function permString(p: Perm): string { return `${p.access}${p.domid}`; }
export function parsePerm(s: string): Perm | null {
  const m = /^([nrwb])(\d+)$/.exec(s);
  if (!m) return null;
  const domid = Number(m[2]);
  if (domid > 0xFFFF) return null;
  return { access: m[1] as Access, domid };
}

export interface Caller {
  domid: number;
  privileged: boolean;
  target?: number; // SET_TARGET: acts for this domain
  // The generation at which xenstored learned that a domain exists
  // (undefined: it does not). A permission naming the caller counts only
  // on a node changed since then, so a new domain given a dead one's id
  // inherits none of its permissions (Xen's XSA-322 fix, XS_PERM_IGNORE).
  // Without it (the in-process clients of unit tests), every entry counts.
  knownSince?: (domid: number) => number | undefined;
}

// What a permission check reads of a node.
export type Guarded = Pick<Node, "perms" | "generation">;

// The caller's ids (its own and its target's) that a node's entries may name.
export function idsOf(n: Guarded, c: Caller): number[] {
  const ids = c.target === undefined ? [c.domid] : [c.domid, c.target];
  if (!c.knownSince) return ids;
  return ids.filter((id) => { const g = c.knownSince!(id); return g !== undefined && g <= n.generation; });
}

export function isOwner(n: Guarded, c: Caller): boolean { return c.privileged || idsOf(n, c).includes(n.perms[0].domid); }

export function canAccess(n: Guarded, c: Caller, want: "r" | "w"): boolean {
  if (c.privileged) return true;
  const ids = idsOf(n, c);
  if (!n.perms[0].ignore && ids.includes(n.perms[0].domid)) return true;
  const entries = n.perms.slice(1).filter((x) => !x.ignore);
  for (const id of ids) {
    const p = entries.find((x) => x.domid === id);
    if (p) { if (p.access === "b" || p.access === want) return true; }
  }
  if (entries.some((x) => ids.includes(x.domid))) return false;
  const d = n.perms[0].access;
  return d === "b" || d === want;
}

// A node's entries as they stand once it changes: those naming a domain
// that was not there at its last change are ignored from then on, and an
// owner that was not is replaced by Domain-0 (xenstored_domain.c
// domain_adjust_node_perms). The same array if nothing is stale.
function markStale(perms: Perm[], stale: (domid: number) => boolean): Perm[] {
  const dead = (p: Perm): boolean => !p.ignore && p.domid !== 0 && stale(p.domid);
  if (!perms.some(dead)) return perms;
  return perms.map((p, i) => (!dead(p) ? p : i === 0 ? { ...p, domid: 0 } : { ...p, ignore: true }));
}

export class Store {
  protected readonly nodes = new Map<string, Node>();
  private gen = 1;
  // Whether an entry naming `domid` on a node last changed at `generation`
  // is stale (xenstored knows which domains existed when); none by default.
  staleCheck: ((domid: number, generation: number) => boolean) | null = null;
  isStale(domid: number, generation: number): boolean { return this.staleCheck?.(domid, generation) ?? false; }
  // A node's entries as they count now (GET_PERMS shows these, a save keeps these).
  livePerms(n: Guarded): Perm[] { return markStale(n.perms, (d) => this.isStale(d, n.generation)).filter((p) => !p.ignore); }

  constructor(empty = false) {
    if (!empty) this.nodes.set("/", { value: new Uint8Array(0), perms: [{ domid: 0, access: "n" }], children: new Set(), generation: 0 });
  }

  nextGeneration(): number { return ++this.gen; }
  currentGeneration(): number { return this.gen; }

  get(path: string): Node | undefined { return this.nodes.get(path); }
  // A node this store may change in place (a transaction copies it first).
  protected mutable(path: string): Node | undefined { return this.nodes.get(path); }
  protected put(path: string, n: Node): void { this.nodes.set(path, n); }
  protected drop(path: string): void { this.nodes.delete(path); }
  entries(): IterableIterator<[string, Node]> { return this.nodes.entries(); }
  size(): number { return this.nodes.size; }

  // A committed transaction's changes (TxStore.changes()), each node a new generation.
  commit(changes: ReadonlyMap<string, Node | null>): void {
    for (const [p, n] of changes) {
      if (n) this.nodes.set(p, { ...copyNode(n), generation: this.nextGeneration() });
      else this.nodes.delete(p);
    }
  }

  // Nodes owned by a domain (quota accounting).
  countOwned(domid: number): number {
    let n = 0;
    for (const node of this.nodes.values()) if (node.perms[0].domid === domid) n++;
    return n;
  }

  // A change of a node: its stale entries are marked first, except when its
  // permissions are being set anew (they are then the caller's, fresh).
  private touch(n: Node, regrant = false): void {
    if (!regrant) { const g = n.generation; n.perms = markStale(n.perms, (d) => this.isStale(d, g)); }
    n.generation = this.nextGeneration();
  }

  // Creates the node and any missing parents. Returns the paths created.
  create(path: string, c: Caller, value?: Uint8Array): string[] {
    const created: string[] = [];
    const make = (p: string): void => {
      if (this.get(p)) return;
      make(parent(p));
      const par = this.mutable(parent(p))!;
      if (!canAccess(par, c, "w")) throw new XsError("EACCES");
      const perms = markStale(par.perms, (d) => this.isStale(d, par.generation)).map((x) => ({ ...x }));
      if (!c.privileged) perms[0] = { ...perms[0], domid: c.domid };
      this.put(p, { value: new Uint8Array(0), perms, children: new Set(), generation: this.nextGeneration() });
      par.children.add(leaf(p));
      this.touch(par);
      created.push(p);
    };
    make(path);
    if (value !== undefined) { const n = this.mutable(path)!; n.value = value; this.touch(n); }
    return created;
  }

  // Removes a node and its subtree; returns the removed paths (deepest first).
  remove(path: string): string[] {
    const n = this.get(path);
    if (!n || path === "/") return [];
    const removed: string[] = [];
    const walk = (p: string, node: Node): void => {
      for (const ch of node.children) {
        const cp = p === "/" ? `/${ch}` : `${p}/${ch}`;
        const cn = this.get(cp);
        if (cn) walk(cp, cn);
      }
      this.drop(p);
      removed.push(p);
    };
    walk(path, n);
    const par = this.mutable(parent(path));
    if (par) { par.children.delete(leaf(path)); this.touch(par); }
    return removed;
  }

  setValue(path: string, value: Uint8Array): void {
    const n = this.mutable(path);
    if (!n) throw new XsError("ENOENT");
    n.value = value;
    this.touch(n);
  }
  setPerms(path: string, perms: Perm[]): void {
    const n = this.mutable(path);
    if (!n) throw new XsError("ENOENT");
    n.perms = perms;
    this.touch(n, true);
  }
}

const copyNode = (n: Node): Node => ({ value: n.value, perms: n.perms.map((x) => ({ ...x })), children: new Set(n.children), generation: n.generation });

// A transaction's view: the store beneath with this transaction's changes
// laid over it. Only what the transaction changes is copied (a removed node
// is kept as null), so an open transaction costs what it wrote, never a copy
// of the whole store.
export class TxStore extends Store {
  private readonly overlay = new Map<string, Node | null>();

  constructor(readonly base: Store) { super(true); }

  override get(path: string): Node | undefined {
    const o = this.overlay.get(path);
    if (o !== undefined) return o ?? undefined;
    return this.base.get(path);
  }
  protected override mutable(path: string): Node | undefined {
    const o = this.overlay.get(path);
    if (o !== undefined) return o ?? undefined;
    const b = this.base.get(path);
    if (!b) return undefined;
    const c = copyNode(b);
    this.overlay.set(path, c);
    return c;
  }
  protected override put(path: string, n: Node): void { this.overlay.set(path, n); }
  protected override drop(path: string): void { this.overlay.set(path, null); }
  override nextGeneration(): number { return this.base.nextGeneration(); }
  override currentGeneration(): number { return this.base.currentGeneration(); }
  override isStale(domid: number, generation: number): boolean { return this.base.isStale(domid, generation); }

  override countOwned(domid: number): number {
    let n = this.base.countOwned(domid);
    for (const [p, o] of this.overlay) {
      if (this.base.get(p)?.perms[0].domid === domid) n--;
      if (o?.perms[0].domid === domid) n++;
    }
    return n;
  }
  // What the transaction changed: path -> the node, or null if removed.
  changes(): ReadonlyMap<string, Node | null> { return this.overlay; }
  changedNodes(): number { return this.overlay.size; }
}
