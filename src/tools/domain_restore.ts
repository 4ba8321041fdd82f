// Rebuilding a domain from save-stream records (save_stream.ts), one record
// at a time, so that a migration can apply memory while it arrives. The
// records must come in order: DOMAIN, KERNEL, [RAMDISK], then PAGES (any
// number of times, the same page again when it was dirtied) and CONTEXT in
// any order, XENSTORE, END. The domain is created under its old id at the
// first record that needs it, and torn down again by abort().

import type { GuestConfig, Guest, SavedXenstore } from "./guest.js";
import type { Xc, ForeignWindow } from "./xc/xc.js";
import type { Xenstored } from "./xenstore/xenstored.js";
import type { BuiltDomain } from "./domain_builder.js";
import { pagingMemoryKiB } from "./domain_builder.js";
import { REC, StreamError, decodePages } from "./save_stream.js";
import { vdevNumber } from "./disk_spec.js";
import { validPath } from "./xenstore/store.js";
import { MAGIC_VUART_PFN } from "../xen/public/arch_arm.js";

export interface SavedDomain {
  name: string; uuid: string; maxPages: string; config: Omit<GuestConfig, "kernel" | "ramdisk">;
  built: { domid: number; storePort: number; consolePort: number; storeGfn: string; consoleGfn: string; memoryKiB: number };
}

// What a restore needs of the toolstack (toolstack.ts's Toolstack is one):
// libxc, its guests and xenstore, and adopting the rebuilt domain.
export interface RestoreTarget {
  readonly dom0: { readonly xc: Xc };
  readonly guests: ReadonlyMap<number, Guest>;
  readonly xenstored: Pick<Xenstored, "restoreWatches">;
  log(line: string): void;
  xsWrite(path: string, value: string, perms?: string[]): void;
  xenstoreRootsOf(domid: number, uuid: string): string[];
  adopt(domid: number, name: string, uuid: string, config: GuestConfig, built: BuiltDomain, paused: boolean): Guest;
  discardPartial(domid: number, uuid: string): void;
}

const WINDOW = 256; // pages mapped at a time (a save stream's records carry up to 256)

type Phase = "domain" | "kernel" | "ramdisk" | "body" | "end" | "done";

export class RestoreSession {
  private phase: Phase = "domain";
  private sv: SavedDomain | null = null;
  private kernel: Uint8Array | null = null;
  private ramdisk: Uint8Array | undefined;
  private ctx: Uint8Array | null = null;
  private xenstore: SavedXenstore | null = null;
  private domid = -1;
  private readonly populated = new Set<bigint>();
  private win: ForeignWindow | null = null; // the pages are written through it, record after record
  pagesReceived = 0;

  constructor(private readonly ts: RestoreTarget) {}

  expects(): number[] {
    switch (this.phase) {
      case "domain": return [REC.DOMAIN];
      case "kernel": return [REC.KERNEL];
      case "ramdisk": return [REC.RAMDISK, REC.PAGES, REC.CONTEXT, REC.XENSTORE];
      case "body": return [REC.PAGES, REC.CONTEXT, REC.XENSTORE];
      case "end": return [REC.END];
      default: return [];
    }
  }

  // Applies one record; true once END has arrived (call finish()).
  record(type: number, payload: Uint8Array): boolean {
    if (!this.expects().includes(type)) throw new StreamError(`unexpected record type ${type} while expecting ${this.expects().join("/")}`);
    const json = <T>(what: string): T => {
      try { return JSON.parse(Buffer.from(payload).toString("utf8")) as T; } catch { throw new StreamError(`the ${what} record is not valid JSON`); }
    };
    switch (type) {
      case REC.DOMAIN: {
        const sv = checkSavedDomain(json<unknown>("DOMAIN"));
        if ([...this.ts.guests.values()].some((x) => x.name === sv.name && x.state !== "destroyed")) throw new Error(`a domain named '${sv.name}' already exists`);
        this.sv = sv;
        this.phase = "kernel";
        return false;
      }
      case REC.KERNEL: this.kernel = payload; this.phase = "ramdisk"; return false;
      case REC.RAMDISK: this.ramdisk = payload; this.phase = "body"; return false;
      case REC.PAGES: this.pages(payload); this.phase = "body"; return false;
      case REC.CONTEXT: this.create(); this.ctx = payload; this.phase = "body"; return false;
      case REC.XENSTORE: this.xenstore = checkXenstore(json("XENSTORE")); this.phase = "end"; return false;
      case REC.END: {
        if (payload.length !== 8 || Number(new DataView(payload.buffer, payload.byteOffset, 8).getBigUint64(0, true)) !== this.pagesReceived) {
          throw new StreamError("the END record does not match the pages received");
        }
        if (!this.ctx) throw new StreamError("the stream has no CONTEXT record");
        this.phase = "done";
        return true;
      }
      default: throw new StreamError(`unknown record type ${type}`);
    }
  }

  private create(): void {
    if (this.domid >= 0) return;
    const sv = this.sv!;
    const xc = this.ts.dom0.xc;
    const handle = new Uint8Array(Buffer.from(sv.uuid.replace(/-/g, ""), "hex"));
    try {
      this.domid = xc.createDomain({ maxVcpus: sv.config.vcpus, handle, domid: sv.built.domid });
    } catch (e) {
      throw new Error(`cannot recreate domain ${sv.built.domid}: ${(e as Error).message} (is the id in use on this host?)`);
    }
    xc.setPagingMempool(this.domid, pagingMemoryKiB(Number(sv.maxPages) * 4, sv.config.vcpus) * 1024n);
    xc.maxVcpus(this.domid, sv.config.vcpus);
    xc.maxMem(this.domid, BigInt(sv.maxPages) * 4n);
    // the emulated UART exists before the context that carries its state goes in
    if (sv.config.vuart) xc.vuartInit(this.domid, MAGIC_VUART_PFN, sv.config.backendDomid ?? 0);
  }

  private pages(payload: Uint8Array): void {
    this.create();
    const xc = this.ts.dom0.xc;
    const { gfns, page } = decodePages(payload);
    const n = gfns.length;
    const fresh = gfns.filter((g) => !this.populated.has(g));
    if (fresh.length && xc.populatePhysmap(this.domid, fresh) !== fresh.length) throw new Error("could not allocate the domain's memory");
    for (const g of fresh) this.populated.add(g);
    this.win ??= xc.foreignWindow(WINDOW);
    for (let i = 0; i < n; i += WINDOW) {
      const part = gfns.slice(i, i + WINDOW);
      this.win.map(this.domid, part);
      for (let k = 0; k < part.length; k++) this.win.page(k).set(page(i + k));
    }
    this.pagesReceived += n;
  }

  // Remus: the next checkpoint's records follow a complete one (its PAGES
  // over the memory in place, a new CONTEXT and XENSTORE, and an END that
  // counts this checkpoint's pages).
  nextCheckpoint(): void {
    if (this.phase !== "done") throw new StreamError("a checkpoint begins before the last one ended");
    this.phase = "body";
    this.pagesReceived = 0;
  }

  // Remus: the domain's disks are the backup's replicas (raw files), not
  // the paths the primary opened: in its configuration and in the saved
  // backend directories that blkback opens them from.
  redirectDisks(replicas: ReadonlyMap<number, string>): void {
    const sv = this.sv;
    if (!sv) return;
    sv.config = { ...sv.config, disks: (sv.config.disks ?? []).map((d) => (replicas.has(d.devid) ? { ...d, target: replicas.get(d.devid)!, format: "raw" } : d)) };
    for (const n of this.xenstore?.nodes ?? []) {
      const m = /^\/local\/domain\/0\/backend\/vbd\/\d+\/(\d+)\/(params|format)$/.exec(n.path);
      if (!m || !replicas.has(Number(m[1]))) continue;
      n.value = Buffer.from(m[2] === "params" ? replicas.get(Number(m[1]))! : "raw").toString("base64");
    }
  }

  // The domain runs (unless `paused`): context in, xenstore back, console and store reconnected.
  finish(paused: boolean): Guest {
    if (this.phase !== "done") throw new StreamError("the stream is not complete");
    this.closeWindow();
    const sv = this.sv!;
    const xc = this.ts.dom0.xc;
    // the saved nodes go back only where this domain's own lie: a stream
    // cannot write elsewhere in the store (Domain-0's, another guest's)
    const roots = this.ts.xenstoreRootsOf(this.domid, sv.uuid);
    const own = (p: string): boolean => roots.some((r) => p === r || p.startsWith(r + "/"));
    const stray = (this.xenstore?.nodes ?? []).find((n) => !own(n.path) || !validPath(n.path));
    if (stray) throw new StreamError(`the XENSTORE record has a node outside the domain's own directories: ${stray.path.slice(0, 100)}`);
    xc.setHvmContext(this.domid, this.ctx!);
    for (const n of this.xenstore?.nodes ?? []) this.ts.xsWrite(n.path, Buffer.from(n.value, "base64").toString("utf8"), n.perms);
    const b = sv.built;
    const built: BuiltDomain = { domid: this.domid, storePort: b.storePort, consolePort: b.consolePort, storeGfn: BigInt(b.storeGfn), consoleGfn: BigInt(b.consoleGfn), memoryKiB: b.memoryKiB, dtb: new Uint8Array(0) };
    const g = this.ts.adopt(this.domid, sv.name, sv.uuid, { ...sv.config, kernel: this.kernel!, ramdisk: this.ramdisk }, built, paused);
    const refused = this.ts.xenstored.restoreWatches(this.domid, this.xenstore?.watches ?? []);
    if (refused) this.ts.log(`d${this.domid} (${sv.name}): ${refused} saved xenstore watches refused`);
    this.ts.log(`d${this.domid} (${sv.name}): restored, ${this.pagesReceived} pages received`);
    return g;
  }

  abort(): void {
    this.closeWindow();
    if (this.domid >= 0 && this.sv) this.ts.discardPartial(this.domid, this.sv.uuid);
    this.domid = -1;
  }

  private closeWindow(): void {
    this.win?.close();
    this.win = null;
  }

  get domainId(): number { return this.domid; }
}

// The XENSTORE record: { nodes, watches }, or (streams before watches were
// carried) the list of nodes alone. Every field is checked.
export function checkXenstore(v: unknown): SavedXenstore {
  const rec = Array.isArray(v) ? { nodes: v, watches: [] } : v;
  if (typeof rec !== "object" || rec === null) throw new StreamError("the XENSTORE record is not an object");
  const { nodes, watches } = rec as { nodes?: unknown; watches?: unknown };
  const str = (x: unknown): x is string => typeof x === "string";
  if (!Array.isArray(nodes) || !nodes.every((n: unknown) => typeof n === "object" && n !== null && str((n as { path?: unknown }).path)
    && str((n as { value?: unknown }).value) && Array.isArray((n as { perms?: unknown }).perms) && ((n as { perms: unknown[] }).perms).every((p) => str(p) && /^[nrwb]\d{1,5}$/.test(p)))) {
    throw new StreamError("the XENSTORE record's nodes are malformed");
  }
  if (!Array.isArray(watches) || !watches.every((w: unknown) => typeof w === "object" && w !== null && str((w as { path?: unknown }).path) && str((w as { token?: unknown }).token))) {
    throw new StreamError("the XENSTORE record's watches are malformed");
  }
  return { nodes: nodes as SavedXenstore["nodes"], watches: watches as SavedXenstore["watches"] };
}

// The DOMAIN record, every field checked before anything is built from it.
function checkSavedDomain(v: unknown): SavedDomain {
  const bad = (what: string): never => { throw new StreamError(`the DOMAIN record's ${what}`); };
  const obj = (x: unknown, what: string): Record<string, unknown> => (typeof x === "object" && x !== null && !Array.isArray(x) ? x as Record<string, unknown> : bad(`${what} is not an object`));
  const o = obj(v, "content");
  const int = (x: unknown, what: string, min: number, max: number): void => { if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) bad(`${what} is not a whole number from ${min} to ${max}`); };
  const decimal = (x: unknown, what: string): void => { if (typeof x !== "string" || !/^\d{1,19}$/.test(x)) bad(`${what} is not a decimal number`); };
  if (typeof o.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(o.name)) bad("name is not a domain name");
  if (typeof o.uuid !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(o.uuid)) bad("uuid is not a UUID");
  decimal(o.maxPages, "maxPages");
  const b = obj(o.built, "built");
  int(b.domid, "domid", 1, 0x7FEF); int(b.storePort, "store port", 1, 1 << 17); int(b.consolePort, "console port", 1, 1 << 17);
  decimal(b.storeGfn, "store gfn"); decimal(b.consoleGfn, "console gfn"); int(b.memoryKiB, "memoryKiB", 1, 2 ** 40);
  const c = obj(o.config, "config");
  if (typeof c.name !== "string") bad("config name is not text");
  int(c.memoryMiB, "memory", 16, 1 << 20); int(c.vcpus, "vcpus", 1, 128);
  if (typeof c.cmdline !== "string") bad("command line is not text");
  for (const k of ["vuart", "paused"]) if (c[k] !== undefined && typeof c[k] !== "boolean") bad(`${k} is not true or false`);
  for (const k of ["onPoweroff", "onReboot", "onCrash"]) if (c[k] !== undefined && !["destroy", "restart", "preserve"].includes(c[k] as string)) bad(`${k} is not an action`);
  if (c.backendDomid !== undefined) int(c.backendDomid, "backend domain", 0, 0x7FEF);
  if (c.handle !== undefined) bad("config carries a handle"); // the uuid is the handle
  const disks = c.disks ?? [], vifs = c.vifs ?? [];
  if (!Array.isArray(disks) || disks.length > 64) bad("disks are not a list");
  for (const d of disks as unknown[]) {
    const x = obj(d, "disk");
    if (typeof x.target !== "string" || !x.target || !["raw", "qcow2"].includes(x.format as string) || typeof x.vdev !== "string"
      || typeof x.readonly !== "boolean" || typeof x.discard !== "boolean" || !["disk", "cdrom"].includes(x.devtype as string)) bad("disk is malformed");
    let devid = -1;
    try { devid = vdevNumber(x.vdev as string); } catch { bad(`disk vdev ${String(x.vdev)} is not a device name`); }
    if (x.devid !== devid) bad("disk's device id does not match its vdev");
  }
  if (!Array.isArray(vifs) || vifs.length > 64) bad("vifs are not a list");
  for (const f of vifs as unknown[]) {
    const x = obj(f, "vif");
    if (typeof x.mac !== "string" || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(x.mac) || typeof x.bridge !== "string" || !/^[A-Za-z0-9_.-]{1,15}$/.test(x.bridge)) bad("vif is malformed");
  }
  return v as SavedDomain;
}
