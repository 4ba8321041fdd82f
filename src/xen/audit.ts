// The memory audit: the separation invariants checked from the ground up,
// for tests, fuzzers and the debug option (XENTS_AUDIT=1). It walks every
// domain's stage-2 tables as the MMU would, in machine memory, and counts
// every reference it can find (allocations, stage-2 leaves, maptrack
// entries, pinned pages), then compares with what the frame allocator
// believes. It trusts none of the bookkeeping it checks:
//
// - every stage-2 table is a p2m frame of that domain, reached once;
// - every leaf maps machine RAM of kind RAM or SHARED, never a table;
// - a RAM leaf is the domain's own frame, a grant leaf has a live maptrack
//   entry for that gfn and frame, a foreign leaf is in a privileged domain
//   and maps another's RAM or grant-table frame (or one its dead owner
//   left), a shared leaf is the domain's own shared_info or grant-table frame;
// - the descriptor says exactly what the p2m's map says (frame, access);
// - every frame's reference count equals the references found, free
//   frames are on the free list once and nowhere else, and each owner's
//   page count is right;
// - the grant side's pin counts equal the mappings that exist.

import type { Domain } from "./domain.js";
import type { FrameAllocator } from "./frames.js";
import { OWNER_FREE, OWNER_XEN, OWNER_NONE, KIND_FREE, KIND_RAM, KIND_P2M, KIND_SHARED, KIND_IOMMU, KIND_NAMES } from "./frames.js";
import type { GrantTable } from "./grant_table.js";

export interface AuditSubject {
  readonly frames: FrameAllocator;
  readonly domains: ReadonlyMap<number, Domain>;
  readonly iommu: { tableFrames(): number[] };
}

const MAX_REPORTED = 40;
const gname = (domid: number, gfn: number): string => `d${domid} gfn 0x${gfn.toString(16)}`;

export function auditMemory(hv: AuditSubject): string[] {
  const fa = hv.frames;
  const n = fa.nframes;
  const found = new Uint32Array(n);
  const out: string[] = [];
  const bad = (s: string): void => { if (out.length < MAX_REPORTED) out.push(s); };
  const dv = fa.core.view;
  const ramBase = Number(fa.core.ramBase);
  // The frame a descriptor's output address names, or -1 if not machine RAM.
  const frameAt = (lo: number, hi: number): number => {
    const pa = (hi & 0xFFFF) * 2 ** 32 + ((lo & ~0xFFF) >>> 0);
    const f = (pa - ramBase) / 4096;
    return pa >= ramBase && f < n ? f : -1;
  };

  for (let f = 0; f < n; f++) if (fa.isAllocated(f)) found[f]++;
  const ramSeen = new Uint8Array(n); // a domain's own page is at one gfn

  const iommuFrames = new Set(hv.iommu.tableFrames());
  const tableOwner = new Map<number, number>(); // table frame -> domain
  const grantFrameOf = new Map<number, number>(); // grant-table frame -> its domain
  for (const d of hv.domains.values()) for (const f of d.gnttab.frames) grantFrameOf.set(f, d.id);
  for (const d of hv.domains.values()) {
    const p2m = d.p2m;
    const tables = p2m.tableCounts();
    const maptrack = new Map<number, { frame: number; readonly: boolean }>();
    for (const m of d.gnttab.allMappings()) {
      if (maptrack.has(m.gfn)) bad(`d${d.id}: two maptrack entries for gfn 0x${m.gfn.toString(16)}`);
      maptrack.set(m.gfn, m);
      found[m.frame]++;
    }
    const shared = new Set<number>([d.sharedInfoFrame, ...d.gnttab.frames]);
    let leaves = 0, grantLeaves = 0;
    const reached = new Set<number>();
    const useTable = (t: number, where: string): boolean => {
      if (t < 0) { bad(`d${d.id}: ${where} points outside machine RAM`); return false; }
      if (fa.kindOf(t) !== KIND_P2M || fa.ownerOf(t) !== OWNER_XEN) { bad(`d${d.id}: ${where} is frame ${t} of kind ${KIND_NAMES[fa.kindOf(t)]}, not a stage-2 table`); return false; }
      if (!tables.has(t)) { bad(`d${d.id}: ${where} is frame ${t}, not one of this p2m's tables`); return false; }
      const other = tableOwner.get(t);
      if (other !== undefined) { bad(`d${d.id}: ${where} is table ${t}, already used by d${other}`); return false; }
      if (reached.has(t)) { bad(`d${d.id}: ${where}: table ${t} reached twice`); return false; }
      reached.add(t);
      return true;
    };
    reached.add(p2m.root).add(p2m.root + 1);
    const l1Live = [0, 0];
    for (let l1 = 0; l1 < 1024; l1++) {
      const off1 = fa.hostOf(p2m.root) + l1 * 8;
      const lo1 = dv.getUint32(off1, true), hi1 = dv.getUint32(off1 + 4, true);
      if (lo1 === 0 && hi1 === 0) continue;
      l1Live[l1 >> 9]++;
      if ((lo1 & 3) !== 3) { bad(`d${d.id}: level-1 descriptor ${l1} is not a table (0x${hi1.toString(16)}${lo1.toString(16).padStart(8, "0")})`); continue; }
      const t2 = frameAt(lo1, hi1);
      if (!useTable(t2, `level-1 entry ${l1}`)) continue;
      let live2 = 0;
      for (let l2 = 0; l2 < 512; l2++) {
        const off2 = fa.hostOf(t2) + l2 * 8;
        const lo2 = dv.getUint32(off2, true), hi2 = dv.getUint32(off2 + 4, true);
        if (lo2 === 0 && hi2 === 0) continue;
        live2++;
        if ((lo2 & 3) !== 3) { bad(`d${d.id}: level-2 descriptor ${l1}/${l2} is not a table`); continue; }
        const t3 = frameAt(lo2, hi2);
        if (!useTable(t3, `level-2 entry ${l1}/${l2}`)) continue;
        let live3 = 0;
        for (let l3 = 0; l3 < 512; l3++) {
          const off3 = fa.hostOf(t3) + l3 * 8;
          const lo3 = dv.getUint32(off3, true), hi3 = dv.getUint32(off3 + 4, true);
          if (lo3 === 0 && hi3 === 0) continue;
          live3++;
          const gfn = l1 * 2 ** 18 + l2 * 512 + l3;
          leaves++;
          const f = frameAt(lo3, hi3);
          if (f < 0) { bad(`${gname(d.id, gfn)}: maps outside machine RAM`); continue; }
          found[f]++;
          const kind = fa.kindOf(f);
          if (kind !== KIND_RAM && kind !== KIND_SHARED) { bad(`${gname(d.id, gfn)}: maps frame ${f} of kind ${KIND_NAMES[kind]}`); continue; }
          const e = p2m.get(gfn);
          if (!e) { bad(`${gname(d.id, gfn)}: a descriptor the p2m does not know`); continue; }
          if (e.frame !== f) { bad(`${gname(d.id, gfn)}: descriptor maps frame ${f}, the p2m says ${e.frame}`); continue; }
          // the frame matched; the access bits must be what the entry's type gives
          const attrs = p2m.descriptorAttrs(gfn, e);
          if ((lo3 & 0xFFF) !== attrs.lo || (hi3 & 0xFFFF0000) >>> 0 !== attrs.hi) bad(`${gname(d.id, gfn)}: descriptor 0x${hi3.toString(16)}${lo3.toString(16).padStart(8, "0")} has the wrong attributes for ${e.type}`);
          switch (e.type) {
            case "ram":
              if (kind !== KIND_RAM || fa.ownerOf(f) !== d.id) bad(`${gname(d.id, gfn)}: RAM frame ${f} belongs to ${fa.ownerOf(f)}`);
              if (ramSeen[f]++) bad(`${gname(d.id, gfn)}: RAM frame ${f} is mapped as RAM at another gfn too`);
              break;
            case "grant": case "grant_ro": {
              grantLeaves++;
              const m = maptrack.get(gfn);
              if (!m || m.frame !== f || m.readonly !== (e.type === "grant_ro")) bad(`${gname(d.id, gfn)}: a grant mapping with no matching maptrack entry`);
              if (kind !== KIND_RAM) bad(`${gname(d.id, gfn)}: a grant of a ${KIND_NAMES[kind]} frame`);
              break;
            }
            case "foreign":
              if (!d.privileged) bad(`${gname(d.id, gfn)}: a foreign mapping in an unprivileged domain`);
              // another domain's RAM, or (acquire_resource) another domain's grant-table frame, kept after that domain died
              if (kind === KIND_SHARED) {
                const of = grantFrameOf.get(f);
                if (of === d.id || (of === undefined && fa.ownerOf(f) !== OWNER_NONE)) bad(`${gname(d.id, gfn)}: a foreign mapping of shared frame ${f}, which is no other domain's grant table`);
              } else if (kind !== KIND_RAM) bad(`${gname(d.id, gfn)}: a foreign mapping of a ${KIND_NAMES[kind]} frame`);
              break;
            case "xen":
              if (!shared.has(f) || d.sharedGfns.get(f) !== gfn) bad(`${gname(d.id, gfn)}: shared frame ${f} is not this domain's, or not known at this gfn`);
              break;
          }
        }
        if (tables.get(t3) !== live3) bad(`d${d.id}: level-3 table ${t3} has ${live3} live descriptors, counted ${tables.get(t3)}`);
        if (live3 === 0) bad(`d${d.id}: empty level-3 table ${t3} still linked`);
      }
      if (tables.get(t2) !== live2) bad(`d${d.id}: level-2 table ${t2} has ${live2} live descriptors, counted ${tables.get(t2)}`);
      if (live2 === 0) bad(`d${d.id}: empty level-2 table ${t2} still linked`);
    }
    if (tables.get(p2m.root) !== l1Live[0] || tables.get(p2m.root + 1) !== l1Live[1]) bad(`d${d.id}: root tables' live counts are off`);
    for (const t of tables.keys()) {
      if (!reached.has(t)) bad(`d${d.id}: table ${t} is in use but not linked`);
      tableOwner.set(t, d.id);
    }
    for (const t of p2m.poolFreeFrames()) {
      if (tables.has(t) || tableOwner.has(t)) bad(`d${d.id}: pool frame ${t} is also a table in use`);
      if (fa.kindOf(t) !== KIND_P2M || !fa.isAllocated(t)) bad(`d${d.id}: pool frame ${t} is not an allocated table frame`);
      tableOwner.set(t, d.id);
    }
    if (p2m.limited && tables.size - 2 > p2m.poolPages()) bad(`d${d.id}: ${tables.size - 2} tables from a pool of ${p2m.poolPages()}`);
    if (leaves !== p2m.size) bad(`d${d.id}: ${leaves} stage-2 leaves, ${p2m.size} p2m entries`);
    if (grantLeaves !== maptrack.size) bad(`d${d.id}: ${grantLeaves} grant leaves, ${maptrack.size} maptrack entries`);
    let pins = 0;
    for (const v of d.vcpus) if (v.vcpuInfo) { found[v.vcpuInfo.frame]++; pins++; }
    for (const f of d.evtchn.pinnedFrames()) { found[f]++; pins++; }
    if (pins !== d.pins) bad(`d${d.id}: ${pins} pinned pages found, ${d.pins} held`);
    for (const f of d.unmappedFrames) if (fa.ownerOf(f) !== d.id || fa.kindOf(f) !== KIND_RAM) bad(`d${d.id}: unmapped page ${f} is not its RAM`);
  }

  auditGrantPins(hv, bad);

  const onFreeList = fa.isFreeListed();
  const OWNER_BIAS = 8; // owners are domain ids or small negative markers
  const owned = new Int32Array(0x10000 + OWNER_BIAS);
  let liveOwner = -1;
  for (let f = 0; f < n; f++) {
    const owner = fa.ownerOf(f), kind = fa.kindOf(f), refs = fa.refsOf(f);
    if (found[f] !== refs) bad(`frame ${f} (${KIND_NAMES[kind]}, owner ${owner}): reference count ${refs}, references found ${found[f]}`);
    if (owner === OWNER_FREE) {
      if (kind !== KIND_FREE || refs !== 0 || onFreeList[f] !== 1) bad(`free frame ${f}: kind ${KIND_NAMES[kind]}, ${refs} refs, on the free list ${onFreeList[f]} times`);
      continue;
    }
    if (onFreeList[f]) bad(`frame ${f} is in use (owner ${owner}) and on the free list`);
    if (owner === OWNER_NONE) { if (fa.isAllocated(f) || refs === 0) bad(`unowned frame ${f}: allocated ${fa.isAllocated(f)}, ${refs} refs`); continue; }
    if (!fa.isAllocated(f)) bad(`frame ${f} has owner ${owner} but no allocation`);
    if ((kind === KIND_P2M || kind === KIND_SHARED || kind === KIND_IOMMU) && owner !== OWNER_XEN) bad(`${KIND_NAMES[kind]} frame ${f} owned by ${owner}`);
    if (kind === KIND_IOMMU && !iommuFrames.has(f)) bad(`iommu frame ${f} is not one of the SMMU's tables`);
    if (kind === KIND_RAM && owner !== liveOwner) {
      if (hv.domains.has(owner)) liveOwner = owner;
      else bad(`RAM frame ${f} owned by d${owner}, which does not exist`);
    }
    if (kind === KIND_P2M && !tableOwner.has(f)) bad(`table frame ${f} belongs to no p2m`);
    owned[owner + OWNER_BIAS]++;
  }
  const counted = fa.owners();
  for (const [owner, c] of counted) if (owned[owner + OWNER_BIAS] !== c) bad(`owner ${owner}: ${c} pages counted, ${owned[owner + OWNER_BIAS]} found`);
  for (let i = 0; i < owned.length; i++) if (owned[i] && !counted.has(i - OWNER_BIAS)) bad(`owner ${i - OWNER_BIAS}: no pages counted, ${owned[i]} found`);
  return out;
}

// Each granter's active entries equal the mappings that exist of its grants.
function auditGrantPins(hv: AuditSubject, bad: (s: string) => void): void {
  const pins = new Map<GrantTable, Map<number, { mapper: number; frame: number; readers: number; writers: number }>>();
  for (const d of hv.domains.values()) {
    for (const m of d.gnttab.allMappings()) {
      let t = pins.get(m.granter);
      if (!t) pins.set(m.granter, t = new Map());
      const a = t.get(m.ref) ?? { mapper: d.id, frame: m.frame, readers: 0, writers: 0 };
      if (a.mapper !== d.id || a.frame !== m.frame) bad(`grant ${m.ref} of d${m.granterId} mapped by d${a.mapper} and d${d.id}, or with two frames`);
      if (m.readonly) a.readers++; else a.writers++;
      t.set(m.ref, a);
    }
  }
  for (const d of hv.domains.values()) {
    const want = pins.get(d.gnttab) ?? new Map();
    for (const [ref, a] of d.gnttab.activeEntries()) {
      const w = want.get(ref);
      if (!w || w.readers !== a.readers || w.writers !== a.writers || w.mapper !== a.mapper || w.frame !== a.frame) bad(`d${d.id} grant ${ref}: active ${JSON.stringify(a)}, mappings found ${JSON.stringify(w ?? null)}`);
    }
    for (const ref of want.keys()) if (!d.gnttab.activeOf(ref)) bad(`d${d.id} grant ${ref}: mapped by d${want.get(ref)!.mapper} but not active`);
  }
}
