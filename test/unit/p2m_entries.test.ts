// The p2m's lookups (P2m.get, has, typeAt, frameAt, size, entries, maxGfn,
// hostAddr, contiguous) against a plain Map of what was mapped, over random sets,
// extents and removals of every type across level-3 blocks: the lookups
// keep 512 gfns to a block and drop a block when its last entry goes, so
// the cases cross block boundaries, empty blocks and fill them again. The
// memory audit checks the stage-2 tables against the lookups as it goes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest } from "../../src/host/fuzz/played_guest.js";
import { auditMemory } from "../../src/xen/audit.js";
import { FuzzRng, parseSeed } from "../../src/host/fuzz/rng.js";
import type { P2mEntry } from "../../src/xen/p2m.js";

test("the p2m's lookups agree with a Map of every entry made and removed", () => {
  const seed = parseSeed(process.env.XENTS_SEED);
  process.stderr.write(`p2m lookups seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  const rng = new FuzzRng(seed);
  const hv = new Hypervisor({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
  // (privileged: foreign entries; a grant entry has a maptrack entry, made by the grant ops only)
  const d = PlayedGuest.create(hv, { id: 1, pages: 16, maxPages: 8192, poolPages: 64, privileged: true }).d;
  const other = PlayedGuest.create(hv, { id: 2, pages: 64 }).d;
  const lender = [...other.p2m.entries()].map(([, e]) => e.frame);
  const p2m = d.p2m;
  const model = new Map<number, P2mEntry>([...p2m.entries()]);
  // gfns in three 2 MiB blocks (and their edges), and a few far away in a
  // block of their own that often empties
  const base = 0x48000, far = 0x300000;
  const gfn = (): number => rng.chance(0.3) ? far + rng.int(2) : base + rng.int(3 * 512);
  const probes = [...Array.from({ length: 3 * 512 + 2 }, (_, i) => base - 1 + i), far, far + 1, far + 2];
  let steps = 0;
  for (let i = 0; i < 3000; i++) {
    const g = gfn();
    const k = rng.int(10);
    if (k < 3) {
      const n = 1 + rng.int(g >= far ? 2 - (g - far) : 700);
      if (!d.populateRange(g, n)) continue;
      for (let j = 0; j < n; j++) if (!model.has(g + j)) model.set(g + j, p2m.get(g + j)!);
      for (let j = 0; j < n; j++) assert.equal(p2m.get(g + j)?.type, model.get(g + j)!.type);
    } else if (k < 6 && !model.has(g)) {
      const e: P2mEntry = { frame: rng.pick(lender), type: "foreign" };
      if (p2m.set(g, e) !== 0) continue;
      model.set(g, e);
    } else {
      const e = model.get(g);
      if (!e) { assert.equal(p2m.remove(g), undefined); continue; }
      if (e.type === "ram") assert.equal(d.removeGfn(g), 0);
      else assert.deepEqual(p2m.remove(g), e);
      model.delete(g);
    }
    steps++;
    assert.equal(p2m.size, model.size);
    if (i % 10 === 0 || i > 2950) {
      const want = [...model].sort((a, b) => a[0] - b[0]);
      assert.deepEqual([...p2m.entries()], want, "entries in gfn order");
      assert.equal(p2m.maxGfn(), want.length ? want[want.length - 1][0] : 0);
      for (const x of probes) {
        const e = model.get(x);
        assert.deepEqual(p2m.get(x), e);
        assert.equal(p2m.has(x), e !== undefined);
        assert.equal(p2m.typeAt(x), e?.type);
        assert.equal(p2m.frameAt(x), e ? e.frame : -1);
        const h = p2m.hostAddr(BigInt(x) * 4096n + 5n, true);
        assert.equal(h, e ? hv.frames.hostOf(e.frame) + 5 : -1);
        let run = 0;
        while (run < 8) {
          const r = model.get(x + run);
          if (!r || (run > 0 && r.frame !== model.get(x + run - 1)!.frame + 1)) break;
          run++;
        }
        assert.equal(p2m.contiguous(x, 8, false), run);
      }
      assert.deepEqual(auditMemory(hv), []);
    }
  }
  assert.ok(steps > 1000, `only ${steps} steps changed the p2m`);
  // Emptied: no block is left behind.
  for (const [g, e] of [...model]) if (e.type === "ram") d.removeGfn(g); else p2m.remove(g);
  assert.equal(p2m.size, 0);
  assert.deepEqual([...p2m.entries()], []);
  assert.equal(p2m.maxGfn(), 0);
  assert.deepEqual(auditMemory(hv), []);
  // A read-only grant's page is found for reading only, and ends a run that is to be written.
  assert.ok(d.populateRange(base, 4));
  assert.equal(d.removeGfn(base + 2), 0);
  assert.equal(p2m.set(base + 2, { frame: lender[0], type: "grant_ro" }), 0);
  assert.equal(p2m.hostAddr(BigInt(base + 2) * 4096n, true), -1);
  assert.equal(p2m.hostAddr(BigInt(base + 2) * 4096n, false), hv.frames.hostOf(lender[0]));
  assert.equal(p2m.contiguous(base + 2, 1, true), 0);
  assert.equal(p2m.contiguous(base + 2, 1, false), 1);
  assert.equal(p2m.contiguous(base, 4, true), p2m.get(base + 1)!.frame === p2m.get(base)!.frame + 1 ? 2 : 1);
  assert.equal(p2m.remove(base + 2)?.type, "grant_ro");
});
