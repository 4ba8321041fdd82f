// The foreign window (src/tools/xc/xc.ts's ForeignWindow), through which
// save, migration, Remus and restore copy a domain's pages batch after
// batch: a batch mapped over the last one shows the new pages and drops the
// references to the old frames at once; close() drops the rest, so a
// domain destroyed afterwards gives back every frame. The memory audit runs
// at each step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bookedHost } from "../helpers/host.js";
import { auditMemory } from "../../src/xen/audit.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { XenError } from "../../src/tools/xc/xc.js";
import { writeGuest } from "../../src/tools/domain_builder.js";
import { writePages } from "../../src/tools/domain_save.js";
import { StreamWriter } from "../../src/tools/save_stream.js";

// Runs f with the host's noteWrite calls (host offset, length) recorded.
function notingWrites(hv: { core: { noteWrite(off: number, len: number): void } }, f: () => void): [number, number][] {
  const notes: [number, number][] = [];
  const note = hv.core.noteWrite.bind(hv.core);
  hv.core.noteWrite = (off: number, len: number): void => { notes.push([off, len]); note(off, len); };
  try { f(); } finally { hv.core.noteWrite = note; }
  return notes;
}

test("a foreign window maps batch over batch, holds only the last batch's frames, and gives them back at close", () => {
  const s = bookedHost();
  const hv = s.host.hv;
  const before = s.books();
  const xc = s.ts.dom0.xc;
  const windowBefore = xc.window.inUse();
  const g = s.ts.create({ name: "w", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  const d = hv.domains.get(g.domid)!;
  const frameOf = (gfn: number): number => d.p2m.get(gfn)!.frame;
  const gfnsA = [0, 1, 2, 3].map((i) => RAM0_GFN + 500 + i), gfnsB = [0, 1].map((i) => RAM0_GFN + 600 + i);
  for (const [i, gfn] of [...gfnsA, ...gfnsB].entries()) {
    const h = d.p2m.hostAddr(BigInt(gfn) << 12n, true);
    d.bytes.subarray(h, h + 4096).fill(0x10 + i);
  }
  const refs = (gfns: number[]): number[] => gfns.map((x) => hv.frames.refsOf(frameOf(x)));
  const alone = refs(gfnsA);
  const win = xc.foreignWindow(4);
  win.map(g.domid, gfnsA.map(BigInt));
  assert.deepEqual(gfnsA.map((_, k) => win.page(k)[7]), [0x10, 0x11, 0x12, 0x13]);
  assert.deepEqual(refs(gfnsA), alone.map((r) => r + 1), "each mapped frame holds one more reference");
  assert.deepEqual(auditMemory(hv), []);

  win.map(g.domid, gfnsB.map(BigInt));
  assert.deepEqual([win.page(0)[0], win.page(1)[4095]], [0x14, 0x15], "the new batch shows through the same slots");
  assert.deepEqual(refs(gfnsA.slice(0, 2)), alone.slice(0, 2), "frames replaced in the window are no longer referenced");
  assert.deepEqual(refs(gfnsA.slice(2)), alone.slice(2).map((r) => r + 1), "slots beyond the batch keep theirs until close");
  assert.throws(() => win.map(g.domid, [...gfnsA, ...gfnsB].map(BigInt)), /6 pages for a window of 4/);
  assert.throws(() => win.map(g.domid, [BigInt(RAM0_GFN + 0x100000)]), XenError, "a gfn the domain does not have");
  assert.deepEqual(auditMemory(hv), []);

  win.close();
  assert.deepEqual(refs([...gfnsA, ...gfnsB]), [...alone, ...gfnsB.map((x) => hv.frames.refsOf(frameOf(x)))]);
  assert.deepEqual(refs(gfnsB), refs(gfnsB).map(() => alone[0]), "nothing of the domain is referenced from the window");
  assert.throws(() => win.map(g.domid, [BigInt(gfnsA[0])]), /closed/);
  win.close(); // twice is harmless
  s.ts.destroy(g.domid);
  assert.deepEqual(auditMemory(hv), []);
  assert.equal(s.books(), before, "every frame came back");
  assert.equal(xc.window.inUse(), windowBefore, "and the window's address space");
});

// The domain builder's copy of a kernel or ramdisk (writeGuest) maps chunk
// over chunk through one window that is unmapped once: bytes from an
// unaligned address across three chunks land exactly, the mappings are
// removed with one remove_from_physmap per window slot (not per page
// copied), and afterwards the control domain maps nothing of the guest and
// its window space is whole again.
test("writeGuest copies across chunks through one window and leaves nothing mapped", () => {
  const s = bookedHost();
  const hv = s.host.hv;
  const xc = s.ts.dom0.xc;
  const g = s.ts.create({ name: "wg", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  const windowBefore = xc.window.inUse();
  const d = hv.domains.get(g.domid)!;
  const foreign = (): number => [...hv.domains.get(0)!.p2m.entries()].filter(([, e]) => e.type === "foreign").length;
  let removals = 0;
  const remove = xc.removeFromPhysmap.bind(xc);
  xc.removeFromPhysmap = (domid: number, gpfn: bigint): void => { removals++; remove(domid, gpfn); };
  const mappedBefore = foreign(); // the console and xenstore rings
  const data = new Uint8Array(2100 * 4096 + 77);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 12)) & 0xFF;
  const gpa = (BigInt(RAM0_GFN + 1200) << 12n) + 123n;
  try {
    writeGuest(xc, g.domid, gpa, data);
  } finally {
    xc.removeFromPhysmap = remove;
  }
  assert.equal(removals, 256, "one removal per slot of the window: 2101 pages were copied through it");
  const got = new Uint8Array(data.length);
  for (let done = 0; done < data.length;) {
    const a = gpa + BigInt(done);
    const h = d.p2m.hostAddr(a, false);
    const n = Math.min(data.length - done, 4096 - Number(a & 0xFFFn));
    got.set(d.bytes.subarray(h, h + n), done);
    done += n;
  }
  assert.ok(Buffer.from(got).equals(Buffer.from(data)), "the bytes landed as given");
  assert.equal(foreign(), mappedBefore, "no foreign mapping of the copy left in the control domain");
  assert.equal(xc.window.inUse(), windowBefore, "the window's address space is back");
  assert.deepEqual(auditMemory(hv), []);
  writeGuest(xc, g.domid, gpa, new Uint8Array(0)); // nothing to copy: nothing mapped
  assert.equal(xc.window.inUse(), windowBefore);
  s.ts.destroy(g.domid);
});

// A batch mapped over the last replaces its slots' mappings: the stage-2
// TLBs of the control domain are flushed once, after the last change (one
// flush per replaced page made a kernel's copy flush thousands of times),
// and a batch that replaces nothing flushes nothing.
test("a batch mapped over the last flushes the control domain's TLBs once, after every slot has its new page", () => {
  const s = bookedHost();
  const hv = s.host.hv;
  const xc = s.ts.dom0.xc;
  const g = s.ts.create({ name: "fl", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  const d = hv.domains.get(g.domid)!, d0 = hv.domains.get(0)!;
  const gfnsA = [0, 1, 2].map((i) => RAM0_GFN + 700 + i), gfnsB = [0, 1, 2].map((i) => RAM0_GFN + 800 + i);
  const win = xc.foreignWindow(3);
  const slots = [0, 1, 2].map((i) => Number(win.base >> 12n) + i);
  const seen: number[][] = [];
  const flush = d0.flushTlbs.bind(d0);
  d0.flushTlbs = (): void => { seen.push(slots.map((x) => d0.p2m.get(x)?.frame ?? -1)); flush(); };
  try {
    win.map(g.domid, gfnsA.map(BigInt));
    assert.equal(seen.length, 0, "slots that held nothing: nothing to flush");
    win.map(g.domid, gfnsB.map(BigInt));
    assert.equal(seen.length, 1, "three pages replaced, one flush");
    assert.deepEqual(seen[0], gfnsB.map((x) => d.p2m.get(x)!.frame), "made when every slot showed its new page");
  } finally {
    d0.flushTlbs = flush;
    win.close();
  }
  s.ts.destroy(g.domid);
  assert.deepEqual(auditMemory(hv), []);
});

// The control domain's copies go over as many pages at once as lie
// together in the host, and only a write is a write: reading a guest's
// pages (a save, a checkpoint) must not throw away translated code there,
// which the host's noteWrite does; a write through slots whose frames are
// apart in the host lands in each.
test("the control domain's reads of guest pages are not writes, and a write across slots apart in the host lands in each", () => {
  const s = bookedHost();
  const hv = s.host.hv;
  const xc = s.ts.dom0.xc;
  const g = s.ts.create({ name: "rd", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  const d = hv.domains.get(g.domid)!;
  const gfns = [RAM0_GFN + 900, RAM0_GFN + 950]; // frames 50 apart
  const win = xc.foreignWindow(2);
  win.map(g.domid, gfns.map(BigInt));
  try {
    assert.deepEqual(notingWrites(hv, () => win.read(0, 8192)), [], "a read notes no write");
    const data = new Uint8Array(5000).map((_, i) => (i * 13) & 0xFF);
    const host = (gfn: number): number => d.p2m.hostAddr(BigInt(gfn) << 12n, false);
    assert.deepEqual(notingWrites(hv, () => win.write(3000, data)), [[host(gfns[0]) + 3000, 1096], [host(gfns[1]), 3904]], "each frame's part noted as written");
    assert.ok(Buffer.from(d.bytes.subarray(host(gfns[0]) + 3000, host(gfns[0]) + 4096)).equals(Buffer.from(data.subarray(0, 1096))));
    assert.ok(Buffer.from(d.bytes.subarray(host(gfns[1]), host(gfns[1]) + 3904)).equals(Buffer.from(data.subarray(1096))));
    assert.ok(Buffer.from(win.read(3000, 5000)).equals(Buffer.from(data)), "and reads back the same");
  } finally {
    win.close();
  }
  s.ts.destroy(g.domid);
});

// A save, a migration round or a checkpoint reads the guest's pages
// through the window (writePages): that is no write, so the guest's
// translated code there stays (each page copied used to be noted as
// written, and a guest migrating live lost all its translations in the
// first round).
test("copying a guest's pages out (save, migration, checkpoints) notes no write to them", () => {
  const s = bookedHost();
  const hv = s.host.hv;
  const xc = s.ts.dom0.xc;
  const g = s.ts.create({ name: "sv", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  const win = xc.foreignWindow(8);
  let bytes = 0;
  let notes: [number, number][];
  try {
    notes = notingWrites(hv, () => writePages(win, new StreamWriter({ write: (b) => { bytes += b.length; } }), g.domid, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => BigInt(RAM0_GFN + i))));
  } finally {
    win.close();
  }
  assert.ok(bytes > 8 * 4096, "the pages went into the stream");
  // (The hypercalls' own arguments are written in Domain-0's pages.)
  const d = hv.domains.get(g.domid)!;
  const frames = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => d.p2m.hostAddr(BigInt(RAM0_GFN + i) << 12n, false));
  const hit = [];
  for (const [off, len] of notes) if (frames.some((f) => off < f + 4096 && off + len > f)) hit.push(off);
  assert.deepEqual(hit, [], "and nothing of the guest was noted as written");
  s.ts.destroy(g.domid);
});
