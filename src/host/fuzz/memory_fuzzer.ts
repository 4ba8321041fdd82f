// `xents fuzz memory`: sequences of memory_op, grant_table_op, event-channel
// and vCPU page registrations across a privileged domain and three guests,
// played against the real hypercall handlers, with the memory audit after
// every call. Single random calls never found the self-grant escape (issue
// 11); it needed a sequence of valid calls, so this fuzzer keeps what a
// guest would remember (its grant handles, where it mapped things) and
// mostly makes calls that succeed.
//
// Besides the audit it looks for data crossing domains: every page a guest
// populates must arrive zeroed, and is then stamped with its owner; a RAM
// page of one guest carrying another's stamp is a leak. At the end every
// domain is destroyed and the frame accounting must be back where it began.

import { Hypervisor } from "../../xen/hypervisor.js";
import { auditMemory } from "../../xen/audit.js";
import { PlayedGuest, RAM0_GFN } from "./played_guest.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";
import { XENMAPSPACE, DOMID_SELF } from "../../xen/public/xen.js";
import { GNTST, GTF_type_mask, GTF_permit_access, GTF_readonly } from "../../xen/public/grant_table.js";
import { GUEST_GNTTAB_BASE } from "../../xen/public/arch_arm.js";

export interface MemoryFuzzOptions {
  iterations: number;
  seed: number;
  auditEvery?: number; // 1: after every call
  hostMiB?: number;
}

// accounting_ok: every frame back once every domain is destroyed;
// distinct_results: "op result" pairs seen (an errno, a GNTST status, extents done/asked)
export interface MemoryFuzzReport extends FuzzFigures {
  target: "memory";
  hypercalls: number;
  errors: number; // calls that returned an error code (expected: most fuzzing is refused)
  audits: number;
  first_audit_failure: { iteration: number; op: string; findings: string[] } | null;
  frames_lost: number;
  ops: Record<string, { calls: number; ok: number }>;
}

const GNT_GFN = Number(GUEST_GNTTAB_BASE >> 12n);
const STAMP = 0xF022;
const GUEST_IDS = [1, 2, 3];
const GUEST_PAGES = 48;

interface Held { handle: number; gfn: number; }

export function fuzzMemory(o: MemoryFuzzOptions): MemoryFuzzReport {
  const tally = new FuzzTally<MemoryFuzzReport>("memory", o, { hypercalls: 0, errors: 0, audits: 0, first_audit_failure: null, frames_lost: 0, ops: {} });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  const log: string[] = [];
  const hv = new Hypervisor({ ramBytes: (o.hostMiB ?? 64) << 20, deterministic: true, log: (l) => { if (log.length < 100) log.push(l); } });
  const freeAtStart = hv.frames.freeCount;
  const leak = (what: string): void => tally.leak(what);

  const guests = new Map<number, PlayedGuest>();
  const offers: { granter: number; ref: number; to: number; ro: boolean }[] = []; // grants set up lately, for mappers to find
  const held = new Map<number, Held[]>(); // grant mappings each domain remembers
  const stamp = (g: PlayedGuest, gfn: number): void => {
    const page = g.page(gfn);
    if (!page) return;
    if (page.some((b) => b !== 0)) leak(`d${g.d.id} gfn 0x${gfn.toString(16)}: a new page arrived with old contents`);
    const dv = new DataView(page.buffer, page.byteOffset, 16);
    dv.setUint16(0, STAMP, true);
    dv.setUint16(2, g.d.id, true);
    dv.setUint32(4, gfn, true);
  };
  const create = (id: number): PlayedGuest => {
    const g = PlayedGuest.create(hv, id === 0
      ? { id, privileged: true, pages: 32, maxPages: 64 }
      : { id, pages: GUEST_PAGES, maxPages: GUEST_PAGES + 32, poolPages: 24, maxGrantFrames: 4, maxMaptrackFrames: 1 });
    for (const [gfn] of g.d.p2m.entries()) if (gfn !== RAM0_GFN) stamp(g, gfn); // the first page holds arguments
    g.addToPhysmap(XENMAPSPACE.grant_table, 0n, GNT_GFN); // as a guest's kernel does at boot
    guests.set(id, g);
    held.set(id, []);
    return g;
  };
  create(0);
  for (const id of GUEST_IDS) create(id);

  const ids = [0, ...GUEST_IDS];
  const someone = (): PlayedGuest => guests.get(rng.pick(ids))!;
  const anyDomid = (): number => rng.chance(0.9) ? rng.pick(ids) : rng.pick([DOMID_SELF, 7, 0x7FF4]);
  // gfns where things happen: a third where this domain has something
  // mapped (whatever its type: a guest knows its own physmap), then near RAM
  // (populated or holes), fresh 2 MiB and 1 GiB regions (new tables), the
  // grant window, and addresses no guest may use; never the argument page
  let current: PlayedGuest = guests.get(0)!;
  const gfn = (): number => {
    const k = rng.int(100);
    if (k < 35) {
      const p2m = current.d.p2m;
      let i = rng.int(p2m.size);
      for (const [g] of p2m.entries()) if (i-- === 0) return g === RAM0_GFN ? RAM0_GFN + 1 : g;
    }
    if (k < 70) return RAM0_GFN + 1 + rng.int(160);
    if (k < 85) return RAM0_GFN + 512 * (1 + rng.int(3)) + rng.int(8);
    if (k < 92) return 3 * 2 ** 18 + rng.int(8);
    if (k < 97) return GNT_GFN + rng.int(4);
    return rng.pick([0, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1]);
  };
  // What the granter's table says before a call: may `to` map or copy `ref`?
  const grantAllows = (granter: number, ref: number, to: number, write: boolean): boolean => {
    const e = guests.get(granter)?.d.gnttab.entry(ref);
    return e !== undefined && (e.flags & GTF_type_mask) === GTF_permit_access && e.domid === to && !(write && (e.flags & GTF_readonly));
  };
  const hole = (): number => RAM0_GFN + 100 + rng.int(60); // never populated by the guests' own pages (some calls put things there)
  const offered = (to: number): { granter: number; ref: number; ro: boolean } => {
    const mine = offers.filter((f) => f.to === to);
    return mine.length && rng.chance(0.8) ? rng.pick(mine) : { granter: anyDomid(), ref: rng.int(16), ro: rng.chance(0.5) };
  };
  // What a call gave: whether it succeeded, and its result as reported in distinct_results.
  interface Result { ok: boolean; code: string }
  const rc = (v: bigint | number): Result => ({ ok: Number(v) === 0, code: String(v) });
  const count = (done: bigint, n: number): Result => ({ ok: done > 0n, code: `${done}/${n}` });
  const SKIPPED: Result = { ok: false, code: "skipped" }, DONE: Result = { ok: true, code: "done" };
  type Op = (g: PlayedGuest) => Result;
  const ops: [string, number, Op][] = [
    ["populate", 10, (g) => {
      const gs = Array.from({ length: 1 + rng.int(3) }, gfn);
      const empty = new Set(gs.filter((x) => !g.d.p2m.get(x))); // populating a present page leaves it as it is
      const n = g.reservation("populate", gs);
      for (const x of gs.slice(0, Math.max(0, Number(n)))) if (empty.delete(x) && g.d.p2m.get(x)?.type === "ram") stamp(g, x);
      return count(n, gs.length);
    }],
    ["decrease", 10, (g) => {
      const gs = Array.from({ length: 1 + rng.int(3) }, gfn).filter((x) => x !== RAM0_GFN);
      return count(g.reservation("decrease", gs), gs.length);
    }],
    ["remove_from_physmap", 7, (g) => {
      // sometimes where this guest mapped a grant, which must stay until it is unmapped (-EBUSY)
      const hs = held.get(g.d.id)!;
      const x = hs.length && rng.chance(0.25) ? rng.pick(hs).gfn : gfn();
      return x === RAM0_GFN ? SKIPPED : rc(g.removeFromPhysmap(x, rng.chance(0.8) ? DOMID_SELF : anyDomid()));
    }],
    ["add_to_physmap", 6, (g) => {
      const space = rng.pick([XENMAPSPACE.shared_info, XENMAPSPACE.grant_table, XENMAPSPACE.grant_table, XENMAPSPACE.gmfn]);
      const x = gfn();
      return x === RAM0_GFN ? SKIPPED : rc(g.addToPhysmap(space, BigInt(rng.int(6)), x, rng.chance(0.9) ? DOMID_SELF : anyDomid()));
    }],
    ["map_foreign", 6, (g) => {
      const d0 = rng.chance(0.7) ? guests.get(0)! : g;
      const x = gfn();
      if (x === RAM0_GFN) return SKIPPED;
      const [r, err] = d0.mapForeign(anyDomid(), gfn(), x);
      if (r === 0n && err === 0 && !d0.d.privileged) leak(`d${d0.d.id} made a foreign mapping`);
      return r === 0n ? rc(err) : rc(r);
    }],
    ["acquire_resource", 3, (g) => {
      // mostly the privileged domain mapping a guest's grant-table frames; the guests' own tries must fail
      const d0 = rng.chance(0.7) ? guests.get(0)! : g;
      const gs = Array.from({ length: 1 + rng.int(2) }, () => (rng.chance(0.7) ? hole() : gfn()));
      if (gs.includes(RAM0_GFN)) return SKIPPED;
      const r = d0.acquireResource(anyDomid(), BigInt(rng.int(6)), gs.length, rng.chance(0.9) ? gs : null);
      if (r.rc === 0n && !d0.d.privileged) leak(`d${d0.d.id} acquired another domain's grant table`);
      return rc(r.rc);
    }],
    ["set_grant", 9, (g) => {
      const at = g.d.sharedGfns.get(g.d.gnttab.frames[0]);
      if (at === undefined) return SKIPPED;
      const ref = rng.int(16);
      if (rng.chance(0.2)) { g.clearGrant(at, ref); return DONE; }
      const to = rng.chance(0.8) ? rng.pick(ids) : anyDomid();
      const ro = rng.chance(0.3);
      g.setGrant(at, ref, to, rng.chance(0.8) ? RAM0_GFN + 1 + rng.int(GUEST_PAGES - 1) : gfn(), ro);
      for (let i = offers.length - 1; i >= 0; i--) if (offers[i].granter === g.d.id && offers[i].ref === ref) offers.splice(i, 1);
      offers.push({ granter: g.d.id, ref, to, ro });
      if (offers.length > 64) offers.shift();
      return DONE;
    }],
    ["map_grant", 12, (g) => {
      const x = rng.chance(0.6) ? hole() : gfn();
      if (x === RAM0_GFN) return SKIPPED;
      const offer = offered(g.d.id);
      const ro = rng.chance(0.9) ? offer.ro : rng.chance(0.5);
      const allowed = grantAllows(offer.granter, offer.ref, g.d.id, !ro);
      const m = g.mapGrant(offer.granter, offer.ref, BigInt(x), ro);
      if (m.status === GNTST.okay) held.get(g.d.id)!.push({ handle: m.handle, gfn: x });
      if (m.status === GNTST.okay && !allowed) leak(`d${g.d.id} mapped grant ${offer.ref} of d${offer.granter}${ro ? "" : " writable"}, which was not granted to it`);
      return rc(m.status);
    }],
    ["unmap_grant", 4, (g) => {
      const hs = held.get(g.d.id)!;
      if (hs.length && rng.chance(0.85)) {
        const i = rng.int(hs.length);
        const h = hs[i];
        const st = g.unmapGrant(h.handle, rng.chance(0.9) ? BigInt(h.gfn) : BigInt(gfn())).status;
        if (st === GNTST.okay) hs.splice(i, 1);
        return rc(st);
      }
      return rc(g.unmapGrant(rng.int(1024), BigInt(gfn())).status);
    }],
    ["grant_copy", 4, (g) => {
      const side = (): { gref?: number; gfn?: number; dom: number } => {
        if (rng.chance(0.5)) { const f = offered(g.d.id); return { gref: f.ref, dom: f.granter }; }
        return { gfn: gfn(), dom: rng.chance(0.8) ? DOMID_SELF : anyDomid() };
      };
      const src = side(), dst = side();
      const allows = (x: { gref?: number; dom: number }, write: boolean): boolean => {
        const dom = x.dom === DOMID_SELF ? g.d.id : x.dom; // a gref of DOMID_SELF is one of our own grants (to ourselves)
        return x.gref !== undefined ? grantAllows(dom, x.gref, g.d.id, write) : dom === g.d.id;
      };
      const allowed = allows(src, false) && allows(dst, true);
      const st = g.grantCopy(src, dst, 1 + rng.int(4096 - 64), 64); // past the stamps
      if (st === GNTST.okay && !allowed) leak(`d${g.d.id} copied across domains without a grant (${JSON.stringify([src, dst])})`);
      return rc(st);
    }],
    ["init_control", 2, (g) => rc(g.initControl(gfn(), rng.chance(0.8) ? 0 : rng.int(4096)))],
    ["expand_array", 2, (g) => rc(g.expandArray(gfn()))],
    ["evtchn_reset", 1, (g) => rc(g.evtchnReset())],
    ["register_vcpu_info", 1, (g) => rc(g.registerVcpuInfo(gfn(), rng.chance(0.8) ? 64 * rng.int(60) : rng.int(4096)))],
    ["set_pool", 1, (g) => rc(g.d.p2m.setPoolPages(4 + rng.int(44)))],
    ["destroy_recreate", 0.3, (g) => {
      if (g.d.id === 0) return SKIPPED; // others keep their handles of its grants, to unmap later
      if (!hv.destroy(g.d)) throw new Error(`destroy of d${g.d.id} reported a failure`);
      create(g.d.id);
      return DONE;
    }],
  ];
  const total = ops.reduce((s, [, w]) => s + w, 0);
  const pickOp = (): [string, number, Op] => {
    let x = (rng.u32() / 4294967296) * total;
    for (const op of ops) { x -= op[1]; if (x < 0) return op; }
    return ops[ops.length - 1];
  };
  const every = o.auditEvery ?? 1;

  for (let it = 0; it < o.iterations; it++) {
    const [name, , op] = pickOp();
    const g = someone();
    current = g;
    const stat = (r.ops[name] ??= { calls: 0, ok: 0 });
    stat.calls++;
    const before = hv.stats.internalErrors;
    try {
      const res = op(g);
      if (res.ok) stat.ok++;
      else r.errors++;
      tally.result(`${name} ${res.code}`);
    } catch (e) { tally.exception(`iteration ${it} ${name} by d${g.d.id}`, e); }
    if (hv.stats.internalErrors !== before) r.host_exceptions += hv.stats.internalErrors - before;
    if ((it + 1) % every === 0) {
      r.audits++;
      const found = auditMemory(hv);
      if (found.length) {
        r.audit_failures++;
        r.first_audit_failure ??= { iteration: it, op: `${name} by d${g.d.id}`, findings: found.slice(0, 10) };
      }
    }
    if ((it + 1) % 64 === 0) scanStamps(guests, leak);
  }
  scanStamps(guests, leak);
  for (const g of guests.values()) if (!hv.destroy(g.d)) r.host_exceptions++;
  const final = auditMemory(hv);
  if (final.length) { r.audit_failures++; r.first_audit_failure ??= { iteration: o.iterations, op: "teardown", findings: final.slice(0, 10) }; }
  r.frames_lost = freeAtStart - hv.frames.freeCount;
  r.accounting_ok = r.frames_lost === 0 && hv.domains.size === 0;
  r.hypercalls = countCalls(r);
  return tally.finish();
}

// Each op but the bookkeeping ones is one hypercall.
function countCalls(r: MemoryFuzzReport): number {
  let n = 0;
  for (const [name, s] of Object.entries(r.ops)) if (name !== "set_grant" && name !== "set_pool" && name !== "destroy_recreate") n += s.calls;
  return n;
}

// Every guest's own RAM carries its own stamp or none.
function scanStamps(guests: Map<number, PlayedGuest>, leak: (what: string) => void): void {
  for (const g of guests.values()) {
    for (const [gfn, e] of g.d.p2m.entries()) {
      if (e.type !== "ram") continue;
      const page = g.page(gfn)!;
      const dv = new DataView(page.buffer, page.byteOffset, 8);
      if (dv.getUint16(0, true) === STAMP && dv.getUint16(2, true) !== g.d.id) leak(`d${g.d.id} gfn 0x${gfn.toString(16)} holds a page stamped by d${dv.getUint16(2, true)}`);
    }
  }
}
