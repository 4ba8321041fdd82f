// The xenstore database: a tree of nodes with values and permissions, the
// permission rules of docs/misc/xenstore.txt and the XenBus wiki page (the
// first entry names the owner and the access of domains not listed; the
// owner and privileged domains may do anything; new nodes inherit their
// parent's permissions with the creating unprivileged domain as owner), and
// per-domain node quotas.

export type Access = "n" | "r" | "w" | "b";
export interface Perm { domid: number; access: Access; }

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
}

export function canAccess(n: Node, c: Caller, want: "r" | "w"): boolean {
  if (c.privileged) return true;
  const ids = c.target === undefined ? [c.domid] : [c.domid, c.target];
  if (ids.includes(n.perms[0].domid)) return true;
  for (const id of ids) {
    const p = n.perms.slice(1).find((x) => x.domid === id);
    if (p) { if (p.access === "b" || p.access === want) return true; }
  }
  if (n.perms.slice(1).some((x) => ids.includes(x.domid))) return false;
  const d = n.perms[0].access;
  return d === "b" || d === want;
}

export class Store {
  nodes = new Map<string, Node>();
  private gen = 1;

  constructor() {
    this.nodes.set("/", { value: new Uint8Array(0), perms: [{ domid: 0, access: "n" }], children: new Set(), generation: 0 });
  }

  nextGeneration(): number { return ++this.gen; }

  clone(): Store {
    const s = new Store();
    s.gen = this.gen;
    s.nodes = new Map();
    for (const [p, n] of this.nodes) s.nodes.set(p, { value: n.value, perms: n.perms.map((x) => ({ ...x })), children: new Set(n.children), generation: n.generation });
    return s;
  }

  get(path: string): Node | undefined { return this.nodes.get(path); }

  // Nodes owned by a domain (quota accounting).
  countOwned(domid: number): number {
    let n = 0;
    for (const node of this.nodes.values()) if (node.perms[0].domid === domid) n++;
    return n;
  }

  private touch(n: Node): void { n.generation = this.nextGeneration(); }

  // Creates the node and any missing parents. Returns the paths created.
  create(path: string, c: Caller, value?: Uint8Array): string[] {
    const created: string[] = [];
    const make = (p: string): Node => {
      const existing = this.nodes.get(p);
      if (existing) return existing;
      const par = make(parent(p));
      if (!canAccess(par, c, "w")) throw new XsError("EACCES");
      const perms = par.perms.map((x) => ({ ...x }));
      if (!c.privileged) perms[0] = { ...perms[0], domid: c.domid };
      const n: Node = { value: new Uint8Array(0), perms, children: new Set(), generation: this.nextGeneration() };
      this.nodes.set(p, n);
      par.children.add(leaf(p));
      this.touch(par);
      created.push(p);
      return n;
    };
    const n = make(path);
    if (value !== undefined) { n.value = value; this.touch(n); }
    return created;
  }

  // Removes a node and its subtree; returns the removed paths (deepest first).
  remove(path: string): string[] {
    const n = this.nodes.get(path);
    if (!n || path === "/") return [];
    const removed: string[] = [];
    const walk = (p: string, node: Node): void => {
      for (const ch of node.children) {
        const cp = p === "/" ? `/${ch}` : `${p}/${ch}`;
        const cn = this.nodes.get(cp);
        if (cn) walk(cp, cn);
      }
      this.nodes.delete(p);
      removed.push(p);
    };
    walk(path, n);
    const par = this.nodes.get(parent(path));
    if (par) { par.children.delete(leaf(path)); this.touch(par); }
    return removed;
  }

  setValue(path: string, value: Uint8Array): void {
    const n = this.nodes.get(path);
    if (!n) throw new XsError("ENOENT");
    n.value = value;
    this.touch(n);
  }
  setPerms(path: string, perms: Perm[]): void {
    const n = this.nodes.get(path);
    if (!n) throw new XsError("ENOENT");
    n.perms = perms;
    this.touch(n);
  }
}
