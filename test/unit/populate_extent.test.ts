// populate_physmap maps an extent in one step (Domain.populateRange,
// P2m.setRam, FrameAllocator.allocMany) instead of page by page. Each case
// runs on two identical machines, one through the hypercall and one
// through the page-by-page path it replaced, and the states are compared:
// the same frames at the same gfns, counts, pool and audit. Where the old
// path left part of an extent mapped (a pool or heap that ran out in the
// middle of it), the new one must leave nothing of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import type { Domain } from "../../src/xen/domain.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { auditMemory } from "../../src/xen/audit.js";
import { KIND_RAM, OutOfFrames } from "../../src/xen/frames.js";
import { P2M_MAX_GFN } from "../../src/xen/p2m.js";
import { XEN_E } from "../../src/xen/public/xen.js";

interface Setup { pages?: number; maxPages?: number; poolPages?: number; logDirty?: boolean; premapped?: number[] }

// A domU (id 1) as the setup says, and a privileged domain (id 2) that may
// populate it with extents larger than 2 MiB.
function machine(s: Setup): { hv: Hypervisor; d: Domain; self: PlayedGuest; ctl: PlayedGuest } {
  const hv = new Hypervisor({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  const self = PlayedGuest.create(hv, { id: 1, pages: s.pages ?? 16, maxPages: s.maxPages ?? 4096, poolPages: s.poolPages ?? 64 });
  const ctl = PlayedGuest.create(hv, { id: 2, pages: 16, privileged: true });
  for (const g of s.premapped ?? []) assert.ok(self.d.populate(g));
  if (s.logDirty) self.d.p2m.setLogDirty(true);
  return { hv, d: self.d, self, ctl };
}

// The reservation loop as it was: checks per extent, then page by page.
function pageByPage(d: Domain, gfns: number[], order: number): number {
  const per = 1 << order, fa = d.svc.frames;
  let done = 0;
  for (const gfn of gfns) {
    if (gfn + per > P2M_MAX_GFN || gfn % per !== 0) break;
    if (d.totPages() + per > Number(d.maxPages) || fa.freeCount < per) break;
    let ok = true;
    for (let i = 0; i < per && ok; i++) ok = d.populate(gfn + i);
    if (!ok) break;
    done++;
  }
  return done;
}

function state(hv: Hypervisor, d: Domain) {
  return {
    entries: [...d.p2m.entries()].sort((a, b) => a[0] - b[0]).map(([g, e]) => `${g.toString(16)}:${e.frame}:${e.type}`),
    totPages: d.totPages(), free: hv.frames.freeCount, poolFree: d.p2m.poolFreeFrames().length,
    tables: d.p2m.tableFrames(), generation: d.p2m.generation,
  };
}

// The hypercall on one machine, the old loop on another: same result, same state, audits clean.
function compare(s: Setup, gfns: number[], order: number, by: "self" | "ctl" = "self"): { done: bigint; before: ReturnType<typeof state>; after: ReturnType<typeof state> } {
  const a = machine(s), b = machine(s);
  const before = state(a.hv, a.d);
  const done = a[by].reservation("populate", gfns, by === "self" ? 0x7FF0 : a.d.id, order);
  assert.equal(done, BigInt(pageByPage(b.d, gfns, order)), "extents done");
  const after = state(a.hv, a.d);
  assert.deepEqual(after, state(b.hv, b.d));
  assert.deepEqual(auditMemory(a.hv), []);
  assert.deepEqual(auditMemory(b.hv), []);
  return { done, before, after };
}

const ext = (first: number, n: number, order = 9): number[] => Array.from({ length: n }, (_, i) => first + i * (1 << order));
const R = RAM0_GFN + 4 * 512; // 2 MiB regions of their own, past the first pages

test("order-9 extents in new regions map the same frames at the same gfns as page by page", () => {
  const { done, before, after } = compare({}, ext(R, 6), 9);
  assert.equal(done, 6n);
  assert.equal(after.totPages - before.totPages, 6 * 512);
  assert.equal(after.generation - before.generation, 6 * 512, "one generation a page added");
});

test("an extent over gfns already mapped leaves them as they are and fills the rest", () => {
  const premapped = [R, R + 1, R + 300, R + 511, R + 512 + 7];
  const { done, before, after } = compare({ premapped }, ext(R, 3), 9);
  assert.equal(done, 3n);
  assert.equal(after.totPages - before.totPages, 3 * 512 - premapped.length);
  // an extent already fully there takes nothing
  const again = compare({ premapped }, [RAM0_GFN], 4);
  assert.equal(again.done, 1n);
  assert.deepEqual(again.after, again.before);
});

test("maxPages: the extent that would pass it is not populated at all, and the loop stops there", () => {
  const { done, before, after } = compare({ maxPages: 16 + 2 * 512 + 100 }, ext(R, 4), 9);
  assert.equal(done, 2n);
  assert.equal(after.totPages, before.totPages + 2 * 512);
  // gfns already mapped do not lift the per-extent check: room for the whole extent is needed, as before
  const full = compare({ maxPages: 16 + 500, premapped: [R, R + 1, R + 2, R + 3, R + 4, R + 5, R + 6, R + 7, R + 8, R + 9, R + 10, R + 11, R + 12] }, [R], 9);
  assert.equal(full.done, 0n);
});

test("a pool that runs out at an extent's boundary: the extents before it stay, that one and the rest do not", () => {
  // the first pages hold a level-2 and a level-3 table; each new 2 MiB region needs one more
  const { done, before, after } = compare({ poolPages: 5 }, ext(R, 6), 9);
  assert.equal(done, 3n);
  assert.equal(after.poolFree, 0);
  assert.equal(after.totPages, before.totPages + 3 * 512);
});

test("a pool that runs out in the middle of an extent leaves nothing of it (page by page left half of it)", () => {
  // an order-10 extent (from a privileged caller) spans two level-3 tables; the pool has one
  const a = machine({ poolPages: 3 });
  const before = state(a.hv, a.d);
  assert.equal(before.poolFree, 1);
  assert.equal(a.ctl.reservation("populate", [R], a.d.id, 10), 0n);
  assert.deepEqual(state(a.hv, a.d), before, "nothing of the extent stays");
  assert.deepEqual(auditMemory(a.hv), []);
  const b = machine({ poolPages: 3 });
  assert.equal(pageByPage(b.d, [R], 10), 0);
  assert.equal(b.d.totPages(), before.totPages + 512, "the old path's half extent, counted and not reported");
  // with the second table in the pool, the whole extent goes in, as page by page
  const c = compare({ poolPages: 4 }, [R, R + 1024], 10, "ctl");
  assert.equal(c.done, 1n);
  assert.equal(c.after.totPages, before.totPages + 1024);
});

test("an extent in a new 1 GiB region needs its level-2 table too: one short, nothing of it stays", () => {
  const at = RAM0_GFN + 2 ** 18; // order 10: a level-2 and two level-3 tables
  const a = machine({ poolPages: 4 });
  const before = state(a.hv, a.d);
  assert.equal(before.poolFree, 2);
  assert.equal(a.ctl.reservation("populate", [at], a.d.id, 10), 0n);
  assert.deepEqual(state(a.hv, a.d), before);
  assert.deepEqual(auditMemory(a.hv), []);
  const ok = compare({ poolPages: 5 }, [at], 10, "ctl");
  assert.equal(ok.done, 1n);
  assert.equal(ok.after.poolFree, 0);
});

test("log-dirty: new pages are mapped without write access, as page by page", () => {
  const { done } = compare({ logDirty: true, premapped: [R + 3] }, ext(R, 2), 9);
  assert.equal(done, 2n);
});

test("order-0 extents and the range checks behave as before", () => {
  assert.equal(compare({}, [R + 5, R + 9, R + 5, RAM0_GFN], 0).done, 4n);
  assert.equal(compare({}, [R + 1], 9).done, 0n, "a misaligned extent");
  assert.equal(compare({}, [P2M_MAX_GFN - 512, P2M_MAX_GFN], 9).done, 1n, "the last extent of the IPA space, then one past it");
});

test("a control domain's unlimited pool: its tables come from the heap, and an extent they cannot all fit in leaves nothing", () => {
  // privileged domain 2 populates itself in a new 1 GiB region: 512 frames and two tables
  for (const spare of [1, 2]) {
    const a = machine({});
    const fa = a.hv.frames;
    while (fa.freeCount > 512 + spare) a.d.unmappedFrames.push(fa.alloc(a.d.id, KIND_RAM)); // the rest of the heap to domain 1
    const d = a.ctl.d;
    d.maxPages = BigInt(d.totPages() + 512);
    const before = state(a.hv, d);
    const done = a.ctl.reservation("populate", [RAM0_GFN + 2 ** 18], 0x7FF0, 9);
    assert.deepEqual(auditMemory(a.hv), []);
    if (spare === 1) {
      assert.equal(done, 0n);
      assert.deepEqual(state(a.hv, d), before, "one table short: nothing taken");
    } else {
      assert.equal(done, 1n);
      assert.equal(fa.freeCount, 0);
      assert.equal(d.totPages(), before.totPages + 512);
    }
  }
});

test("populateRange and setRam refuse what populate refuses, leaving nothing", () => {
  const a = machine({ maxPages: 16 + 100 });
  const before = state(a.hv, a.d);
  assert.equal(a.d.populateRange(R, 101), false, "past maxPages");
  assert.equal(a.d.populateRange(R, 100), true);
  assert.equal(a.d.totPages(), 116);
  const mid = state(a.hv, a.d);
  assert.equal(a.d.p2m.setRam(P2M_MAX_GFN - 1, 2, () => assert.fail("not asked")), -XEN_E.EINVAL);
  assert.equal(a.d.p2m.setRam(-1, 2, () => assert.fail("not asked")), -XEN_E.EINVAL);
  assert.equal(a.d.p2m.setRam(R + 200, 10, () => null), -XEN_E.ENOMEM, "the allocation refused");
  assert.equal(a.d.p2m.setRam(R, 100, () => assert.fail("nothing to map: not asked")), 0);
  assert.throws(() => a.d.p2m.setRam(R + 200, 2, () => [a.ctl.d.p2m.get(RAM0_GFN)!.frame, 0]), /not this domain's RAM/);
  assert.deepEqual(state(a.hv, a.d), mid);
  assert.notDeepEqual(mid, before);
  assert.deepEqual(auditMemory(a.hv), []);
});

test("allocMany hands out the frames n allocs would, in their order, wiped, or none", () => {
  const hv1 = new Hypervisor({ ramBytes: 16 << 20, deterministic: true, log: () => {} });
  const hv2 = new Hypervisor({ ramBytes: 16 << 20, deterministic: true, log: () => {} });
  const [f1, f2] = [hv1.frames, hv2.frames];
  // dirty some frames on both, freed out of order
  for (const fa of [f1, f2]) {
    const got = Array.from({ length: 40 }, () => fa.alloc(7, KIND_RAM));
    for (const f of got) fa.core.bytes.fill(0xAB, fa.hostOf(f), fa.hostOf(f) + 4096);
    for (const f of [...got.filter((_, i) => i % 3), ...got.filter((_, i) => i % 3 === 0)]) fa.free(f);
  }
  const many = f1.allocMany(9, KIND_RAM, 50);
  const one = Array.from({ length: 50 }, () => f2.alloc(9, KIND_RAM));
  assert.deepEqual(many, one);
  assert.equal(f1.countOf(9), 50);
  assert.equal(f1.freeCount, f2.freeCount);
  for (const f of many) {
    assert.deepEqual([f1.ownerOf(f), f1.kindOf(f), f1.refsOf(f), f1.isAllocated(f)], [9, KIND_RAM, 1, true]);
    assert.ok(f1.core.bytes.subarray(f1.hostOf(f), f1.hostOf(f) + 4096).every((x) => x === 0), `frame ${f} wiped`);
  }
  const free = f1.freeCount;
  assert.throws(() => f1.allocMany(9, KIND_RAM, free + 1), OutOfFrames);
  assert.equal(f1.freeCount, free, "none taken");
  assert.deepEqual(f1.allocMany(9, KIND_RAM, 0), []);
  assert.equal(f1.owners().get(10), undefined, "no count for an owner given nothing");
  assert.deepEqual(f1.allocMany(10, KIND_RAM, 0), []);
  assert.equal(f1.owners().has(10), false);
});
