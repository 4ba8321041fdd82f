// `xents fuzz hypercalls`: an unprivileged guest with two vCPUs issuing
// random and mutated hypercalls — every sub-op of every hypercall, argument
// structs whose fields are plausible, extreme or wild, pointers into its
// memory or nowhere, huge counts, multicalls, calls from both vCPUs in turn —
// beside a victim with canary pages and a grant meant for Domain-0 only.
// After every call the memory audit runs; after every batch the victim's
// canaries and grants are checked. A guest that shuts itself down is
// destroyed and made again; at the end everything is destroyed and the
// frame accounting must be where it began.

import { Hypervisor } from "../../xen/hypervisor.js";
import { auditMemory } from "../../xen/audit.js";
import { PlayedGuest, RAM0_GFN } from "./played_guest.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";
import { StructBuf, Layout } from "../../xen/public/layout.js";
import * as X from "../../xen/public/xen.js";
import * as G from "../../xen/public/grant_table.js";
import * as E from "../../xen/public/event_channel.js";
import { GUEST_GNTTAB_BASE } from "../../xen/public/arch_arm.js";

export interface HypercallFuzzOptions { iterations: number; seed: number; auditEvery?: number }

export interface HypercallFuzzReport extends FuzzFigures {
  target: "hypercalls";
  hypercalls: number;
  audits: number;
  first_audit_failure: { iteration: number; call: string; findings: string[] } | null;
  incarnations: number; // times the attacker shut itself down and was made again
  frames_lost: number;
}

const ATTACKER = 1, VICTIM = 2;
const PAGES = 48;
const GNT_GFN = Number(GUEST_GNTTAB_BASE >> 12n);
const CANARY_FIRST = RAM0_GFN + 8, CANARY_PAGES = 16;
const BATCH = 64;

// The argument struct of each sub-op (others get random bytes).
const MEMORY: Record<number, Layout> = {
  [X.XENMEM.increase_reservation]: X.xen_memory_reservation, [X.XENMEM.decrease_reservation]: X.xen_memory_reservation,
  [X.XENMEM.populate_physmap]: X.xen_memory_reservation, [X.XENMEM.add_to_physmap]: X.xen_add_to_physmap,
  [X.XENMEM.add_to_physmap_batch]: X.xen_add_to_physmap_batch, [X.XENMEM.remove_from_physmap]: X.xen_remove_from_physmap,
  [X.XENMEM.acquire_resource]: X.xen_mem_acquire_resource,
};
const GRANT: Record<number, Layout> = {
  [G.GNTTABOP.map_grant_ref]: G.gnttab_map_grant_ref, [G.GNTTABOP.unmap_grant_ref]: G.gnttab_unmap_grant_ref,
  [G.GNTTABOP.setup_table]: G.gnttab_setup_table, [G.GNTTABOP.copy]: G.gnttab_copy, [G.GNTTABOP.query_size]: G.gnttab_query_size,
  [G.GNTTABOP.set_version]: G.gnttab_set_version, [G.GNTTABOP.get_version]: G.gnttab_get_version,
};
const EVTCHN: Record<number, Layout> = {
  [E.EVTCHNOP.alloc_unbound]: E.evtchn_alloc_unbound, [E.EVTCHNOP.bind_interdomain]: E.evtchn_bind_interdomain,
  [E.EVTCHNOP.bind_virq]: E.evtchn_bind_virq, [E.EVTCHNOP.bind_ipi]: E.evtchn_bind_ipi, [E.EVTCHNOP.close]: E.evtchn_close,
  [E.EVTCHNOP.send]: E.evtchn_send, [E.EVTCHNOP.status]: E.evtchn_status, [E.EVTCHNOP.bind_vcpu]: E.evtchn_bind_vcpu,
  [E.EVTCHNOP.unmask]: E.evtchn_unmask, [E.EVTCHNOP.reset]: E.evtchn_reset, [E.EVTCHNOP.init_control]: E.evtchn_init_control,
  [E.EVTCHNOP.expand_array]: E.evtchn_expand_array, [E.EVTCHNOP.set_priority]: E.evtchn_set_priority,
};
const SCHED: Record<number, Layout> = {
  [X.SCHEDOP.shutdown]: X.sched_shutdown, [X.SCHEDOP.poll]: X.sched_poll, [X.SCHEDOP.remote_shutdown]: X.sched_remote_shutdown,
};
const VCPU: Record<number, Layout> = {
  [X.VCPUOP.register_vcpu_info]: X.vcpu_register_vcpu_info, [X.VCPUOP.register_runstate_memory_area]: X.vcpu_register_runstate_memory_area,
};

const name = (table: Record<string, number>, v: number): string => Object.entries(table).find(([, x]) => x === v)?.[0] ?? String(v);
const HC_NAMES = X.HYPERVISOR as unknown as Record<string, number>;

export function fuzzHypercalls(o: HypercallFuzzOptions): HypercallFuzzReport {
  const tally = new FuzzTally<HypercallFuzzReport>("hypercalls", o, { hypercalls: 0, audits: 0, first_audit_failure: null, incarnations: 0, frames_lost: 0 });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  const bugs: string[] = []; // the hypervisor's own BUG lines (an exception it caught in itself)
  const hv = new Hypervisor({ ramBytes: 64 << 20, deterministic: true, log: (l) => { if (l.startsWith("BUG") && bugs.length < 5) bugs.push(l); } });
  const freeAtStart = hv.frames.freeCount;
  const leak = (what: string): void => tally.leak(what);
  const exception = (where: string, e: unknown): void => tally.exception(where, e);

  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 16 });
  const victim = PlayedGuest.create(hv, { id: VICTIM, pages: 32, maxPages: 32 });
  victim.addToPhysmap(X.XENMAPSPACE.grant_table, 0n, GNT_GFN);
  const canary = (page: number, i: number): number => (0xC0 + page * 7 + i * 13) & 0xFF;
  const canaryFrames: number[] = [];
  for (let p = 0; p < CANARY_PAGES; p++) {
    victim.write(BigInt(CANARY_FIRST + p) << 12n, Uint8Array.from({ length: 4096 }, (_, i) => canary(p, i)));
    canaryFrames.push(victim.d.p2m.get(CANARY_FIRST + p)!.frame);
  }
  victim.setGrant(GNT_GFN, 5, 0, CANARY_FIRST); // Domain-0's alone
  const victimPort = Number(victim.callStruct(X.HYPERVISOR.event_channel_op, BigInt(E.EVTCHNOP.alloc_unbound), E.evtchn_alloc_unbound,
    (s) => s.set("dom", X.DOMID_SELF).set("remote_dom", 0)).out.num("port"));
  let attacker = makeAttacker();

  function makeAttacker(): PlayedGuest {
    const g = PlayedGuest.create(hv, { id: ATTACKER, pages: PAGES, maxPages: PAGES + 32, vcpus: 2, poolPages: 32 });
    g.addToPhysmap(X.XENMAPSPACE.grant_table, 0n, GNT_GFN);
    return g;
  }

  // ---- values a guest might put in a field
  const gfn = (): number => {
    switch (rng.int(6)) {
      case 0: case 1: return RAM0_GFN + 1 + rng.int(PAGES + 64);
      case 2: return CANARY_FIRST + rng.int(CANARY_PAGES); // the victim's gfns (also the attacker's own there)
      case 3: return GNT_GFN + rng.int(4);
      case 4: return RAM0_GFN + 512 * (1 + rng.int(4)) + rng.int(4);
      default: return rng.pick([0, 1, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1]);
    }
  };
  const domid = (): number => rng.pick([X.DOMID_SELF, X.DOMID_SELF, ATTACKER, VICTIM, 0, 0x7FF1, 0x7FF2, 0x7FF4, 3, 0xFFFF]);
  const scratchPtr = (): bigint => attacker.scratch + BigInt(1024 + 8 * rng.int(300));
  const pointer = (): bigint => rng.chance(0.8) ? scratchPtr() : rng.pick([0n, 1n, 0xDEAD0000n, BigInt(RAM0_GFN + 2000) << 12n, (1n << 64n) - 8n, GUEST_GNTTAB_BASE]);
  const count = (): number => rng.chance(0.7) ? rng.int(4) : rng.pick([0, 16, 512, 513, 4096, 65535, 0xFFFFFFFF]);
  const anyValue = (): bigint => {
    switch (rng.int(5)) {
      case 0: return BigInt(rng.int(16));
      case 1: return BigInt(rng.u32());
      case 2: return (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
      case 3: return rng.pick([0n, 1n, 0xFFn, 0xFFFFn, 0x7FFFn, 0xFFFFFFFFn, (1n << 63n), (1n << 64n) - 1n]);
      default: return BigInt(gfn());
    }
  };
  const fieldValue = (f: string): bigint => {
    if (rng.chance(0.1)) return anyValue();
    if (/dom/.test(f)) return BigInt(domid());
    if (/^(host_addr|addr)$/.test(f)) return BigInt(gfn()) << 12n;
    if (/gfn|gpfn|mfn|^idx$|frame$/.test(f)) return BigInt(gfn());
    if (/^(extent_start|buffer|ctxt|idxs|gpfns|errs|frame_list|ports|dirty_bitmap)$/.test(f)) return pointer();
    if (/port/.test(f)) return BigInt(rng.chance(0.5) ? rng.int(8) : rng.pick([victimPort, 1023, 4095, 131071, 0xFFFFFFFF]));
    if (/^ref$/.test(f)) return BigInt(rng.chance(0.7) ? rng.int(24) : rng.pick([511, 512, 32767, 0xFFFFFFFF]));
    if (/vcpu/.test(f)) return BigInt(rng.int(4));
    if (/^(nr_extents|size|nr_ports|len|nr_frames|count)$/.test(f)) return BigInt(count());
    if (/order/.test(f)) return BigInt(rng.chance(0.8) ? 0 : rng.int(20));
    if (/space/.test(f)) return BigInt(rng.int(7));
    if (/offset/.test(f)) return BigInt(rng.chance(0.8) ? 8 * rng.int(64) : rng.int(8192));
    if (/handle/.test(f)) return BigInt(rng.chance(0.8) ? rng.int(40) : rng.u32());
    if (/flags/.test(f)) return BigInt(rng.int(64));
    if (/^(version|index|priority|reason|virq)$/.test(f)) return BigInt(rng.int(48));
    return anyValue();
  };
  const fill = (layout: Layout): StructBuf<string> => {
    const s = new StructBuf(layout);
    for (const [f, def] of Object.entries(layout.fields)) {
      if (def.type === "bytes") { if (rng.chance(0.5)) for (let i = 0; i < def.size; i++) s.sub(f)[i] = rng.int(256); continue; }
      s.set(f, fieldValue(f));
    }
    return s;
  };
  // argument structs written at the scratch page; returns their address
  const structs = (layout: Layout | undefined, n: number): bigint => {
    const va = attacker.scratch;
    const bytes = new Uint8Array(Math.min(Math.max(n, 1), 16) * (layout?.size ?? 64));
    if (layout) for (let i = 0; i * layout.size < bytes.length; i++) bytes.set(fill(layout).bytes, i * layout.size);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
    attacker.tryWrite(va, bytes);
    // the array side of batch calls (lists, idxs, errs, ports) gets plausible values too
    const list = new Uint8Array(2400);
    const dv = new DataView(list.buffer);
    for (let i = 0; i < list.length / 8; i++) dv.setBigUint64(i * 8, rng.chance(0.8) ? BigInt(gfn()) : anyValue(), true);
    attacker.tryWrite(attacker.scratch + 1024n, list);
    return rng.chance(0.95) ? va : pointer();
  };

  // A quarter of the calls that give a guest memory, grant frames or ports are
  // written as a kernel writes them, so that the fuzz reaches the paths
  // behind success (allocation, p2m growth, frame lists), not only the
  // argument checks; mutation alone rarely gets all of a struct right.
  const wellFormedReservation = (cmd: number): bigint => {
    const n = 1 + rng.int(4);
    const s = new StructBuf(X.xen_memory_reservation).set("extent_start", attacker.scratch + 1024n).set("nr_extents", n)
      .set("extent_order", 0).set("mem_flags", 0).set("domid", X.DOMID_SELF);
    const list = new DataView(new ArrayBuffer(8 * n));
    // populate: gfns beyond the guest's RAM, often free; decrease: in it
    const base = cmd === X.XENMEM.decrease_reservation ? RAM0_GFN + 1 : RAM0_GFN + PAGES;
    for (let i = 0; i < n; i++) list.setBigUint64(8 * i, BigInt(base + rng.int(64)), true);
    attacker.tryWrite(attacker.scratch, s.bytes);
    attacker.tryWrite(attacker.scratch + 1024n, new Uint8Array(list.buffer));
    return attacker.scratch;
  };
  const wellFormedSetupTable = (): bigint => {
    const s = new StructBuf(G.gnttab_setup_table).set("dom", X.DOMID_SELF).set("nr_frames", 1 + rng.int(4)).set("frame_list", attacker.scratch + 1024n);
    attacker.tryWrite(attacker.scratch, s.bytes);
    return attacker.scratch;
  };

  // One hypercall as the attacker might make it: [label, nr, args].
  const call = (): [string, number, bigint[]] => {
    const pick = rng.int(100);
    if (pick < 3) { const nr = rng.int(64); return [`hc${nr}`, nr, [anyValue(), pointer(), BigInt(count()), anyValue(), anyValue()]]; }
    const nr = rng.pick(Object.values(X.HYPERVISOR));
    const label = name(HC_NAMES, nr);
    const sub = <T extends Record<string, number>>(table: T): number => rng.chance(0.9) ? rng.pick(Object.values(table)) : rng.int(64);
    switch (nr) {
      case X.HYPERVISOR.memory_op: {
        const cmd = sub(X.XENMEM);
        const extent = rng.chance(0.9) ? 0n : BigInt(rng.int(1 << 20));
        // half of them: a guest at its maximum populates only after giving memory back, so success hangs on a few calls
        if (MEMORY[cmd] === X.xen_memory_reservation && rng.chance(0.5)) return [`${label}:${name(X.XENMEM, cmd)}`, nr, [BigInt(cmd), wellFormedReservation(cmd)]];
        return [`${label}:${name(X.XENMEM, cmd)}`, nr, [BigInt(cmd) | (extent << 6n), structs(MEMORY[cmd], 1)]];
      }
      case X.HYPERVISOR.grant_table_op: {
        const cmd = sub(G.GNTTABOP), n = count();
        if (cmd === G.GNTTABOP.setup_table && rng.chance(0.25)) return [`${label}:setup_table`, nr, [BigInt(cmd), wellFormedSetupTable(), 1n]];
        return [`${label}:${name(G.GNTTABOP, cmd)}`, nr, [BigInt(cmd), structs(GRANT[cmd], n), BigInt(n)]];
      }
      case X.HYPERVISOR.event_channel_op: {
        const cmd = sub(E.EVTCHNOP);
        if (cmd === E.EVTCHNOP.alloc_unbound && rng.chance(0.25)) {
          attacker.tryWrite(attacker.scratch, new StructBuf(E.evtchn_alloc_unbound).set("dom", X.DOMID_SELF).set("remote_dom", rng.pick([0, VICTIM, ATTACKER])).bytes);
          return [`${label}:alloc_unbound`, nr, [BigInt(cmd), attacker.scratch]];
        }
        return [`${label}:${name(E.EVTCHNOP, cmd)}`, nr, [BigInt(cmd), structs(EVTCHN[cmd], 1)]];
      }
      case X.HYPERVISOR.sched_op: {
        const cmd = sub(X.SCHEDOP);
        return [`${label}:${name(X.SCHEDOP, cmd)}`, nr, [BigInt(cmd), structs(SCHED[cmd], 1)]];
      }
      case X.HYPERVISOR.vcpu_op: {
        const cmd = sub(X.VCPUOP);
        return [`${label}:${name(X.VCPUOP, cmd)}`, nr, [BigInt(cmd), BigInt(rng.int(4)), structs(VCPU[cmd], 1)]];
      }
      case X.HYPERVISOR.hvm_op: {
        const cmd = sub(X.HVMOP);
        return [`${label}:${name(X.HVMOP, cmd)}`, nr, [BigInt(cmd), structs(X.xen_hvm_param, 1)]];
      }
      case X.HYPERVISOR.xen_version: {
        const cmd = sub(X.XENVER);
        return [`${label}:${name(X.XENVER, cmd)}`, nr, [BigInt(cmd), structs(undefined, 1)]];
      }
      case X.HYPERVISOR.console_io: {
        const cmd = rng.int(3);
        return [`${label}:${cmd}`, nr, [BigInt(cmd), BigInt(rng.chance(0.8) ? rng.int(200) : count()), structs(undefined, 1)]];
      }
      case X.HYPERVISOR.multicall: {
        const n = rng.chance(0.8) ? rng.int(6) : count();
        const entries = new Uint8Array(Math.min(n, 12) * X.multicall_entry.size);
        for (let i = 0; i * X.multicall_entry.size < entries.length; i++) {
          const e = new StructBuf(X.multicall_entry).set("op", rng.pick(Object.values(X.HYPERVISOR)));
          const args = new DataView(e.sub("args").buffer, e.sub("args").byteOffset, 48);
          for (let k = 0; k < 6; k++) args.setBigUint64(k * 8, k === 1 ? scratchPtr() : BigInt.asUintN(64, anyValue()), true);
          entries.set(e.bytes, i * X.multicall_entry.size);
        }
        attacker.tryWrite(attacker.scratch + 4096n, entries);
        return [`${label}`, nr, [attacker.scratch + 4096n, BigInt(n)]];
      }
      default: return [label, nr, [BigInt(rng.int(40)), pointer(), BigInt(count()), anyValue(), anyValue()]];
    }
  };

  const snapshot = victim.d.p2m.size;
  const checkVictim = (): void => {
    for (let p = 0; p < CANARY_PAGES; p++) {
      const e = victim.d.p2m.get(CANARY_FIRST + p);
      if (!e || e.frame !== canaryFrames[p]) { leak(`the victim's canary page ${p} moved`); continue; }
      const page = victim.page(CANARY_FIRST + p)!;
      for (let i = 0; i < 4096; i += 257) if (page[i] !== canary(p, i)) { leak(`the victim's canary page ${p} changed at ${i}`); break; }
    }
    if (victim.d.p2m.size !== snapshot) leak("the victim's memory map changed");
    for (const m of attacker.d.gnttab.allMappings()) if (m.granterId === VICTIM) leak(`the attacker mapped the victim's grant ${m.ref}`);
    for (const [, e] of attacker.d.p2m.entries()) if (e.type === "foreign") { leak("the attacker holds a foreign mapping"); break; }
    if (victim.d.shutdown !== null) leak("the victim was shut down");
    const st = victim.d.evtchn.get(victimPort);
    if (!st || st.state !== "unbound" || st.remoteDom !== 0) leak("the victim's port for Domain-0 was taken");
  };

  for (let it = 0; it < o.iterations; it++) {
    const [label, nr, args] = call();
    let rc: bigint;
    try {
      rc = attacker.callOn(it & 1, nr, ...args);
      r.hypercalls++;
    } catch (e) { exception(`iteration ${it} ${label}`, e); rc = -9999n; }
    tally.result(`${label} ${rc < -4096n || rc > 4096n ? "big" : rc}`);
    if ((it + 1) % (o.auditEvery ?? 1) === 0) {
      r.audits++;
      const found = auditMemory(hv);
      if (found.length) { r.audit_failures++; r.first_audit_failure ??= { iteration: it, call: label, findings: found.slice(0, 10) }; }
    }
    if ((it + 1) % BATCH === 0) checkVictim();
    if (attacker.d.shutdown !== null) {
      // shut down or crashed itself: gone, and a new one takes its place
      try { if (!hv.destroy(attacker.d)) r.host_exceptions++; } catch (e) { exception("destroy", e); }
      const found = auditMemory(hv);
      if (found.length) { r.audit_failures++; r.first_audit_failure ??= { iteration: it, call: "destroy", findings: found.slice(0, 10) }; }
      attacker = makeAttacker();
      r.incarnations++;
    }
  }
  checkVictim();
  for (const g of [attacker, victim, d0]) { try { if (!hv.destroy(g.d)) r.host_exceptions++; } catch (e) { exception("teardown", e); } }
  const final = auditMemory(hv);
  if (final.length) { r.audit_failures++; r.first_audit_failure ??= { iteration: o.iterations, call: "teardown", findings: final.slice(0, 10) }; }
  r.frames_lost = freeAtStart - hv.frames.freeCount;
  r.accounting_ok = r.frames_lost === 0 && hv.domains.size === 0;
  r.host_exceptions += hv.stats.internalErrors;
  for (const b of bugs) tally.note(b);
  return tally.finish();
}
