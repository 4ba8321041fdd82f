// A migration whose link is cut at chosen byte offsets (issue 12), in every
// phase: the handshake, the first pages, the middle of the stream, the last
// round after the pause (CONTEXT, XENSTORE, END), the commit's GO lost, and
// the destination's RUNNING lost after GO. Wherever the cut falls, at most
// one copy runs, a copy survives with the guest's memory intact, and the
// side that gave up keeps nothing (domains, frames, xenstore nodes). The
// whole uncut stream first, to find the offsets; its stop-and-copy must send
// only what changed (a bound on downtime that no clock decides).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, Server, Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { bookedHost, BookedHost } from "../helpers/host.js";
import { migrateOut, MigrationListener, MigrateProgress } from "../../src/tools/migration.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { RAM0_GFN } from "../../src/host/fuzz/played_guest.js";

type Side = BookedHost;
const side = (): Side => bookedHost();

const PATTERN_GFNS = [RAM0_GFN + 40, RAM0_GFN + 1000, RAM0_GFN + 4000];
const pattern = (gfn: number): Uint8Array => Uint8Array.from({ length: 4096 }, (_, i) => (gfn * 31 + i * 7) & 0xFF);
function page(s: Side, domid: number, gfn: number): Uint8Array {
  const d = s.host.hv.domains.get(domid)!;
  const h = d.p2m.hostAddr(BigInt(gfn) << 12n, false);
  assert.ok(h >= 0, `gfn ${gfn.toString(16)} is mapped in d${domid}`);
  return d.bytes.subarray(h, h + 4096);
}

// Forwards source -> destination until `cut` bytes have passed, then drops
// both connections; or, with "drop-go", forwards every record and READY
// back, then drops the link when the source's GO comes, undelivered; or,
// with "drop-running", delivers GO and drops the destination's RUNNING.
// Notes where the records end: the source -> destination count when READY
// comes back.
type Cut = number | "drop-go" | "drop-running";
class CuttingProxy {
  private server: Server;
  toDst = 0;
  recordsEnd = -1;
  constructor(private readonly dstPort: number, private readonly cut: Cut) {
    this.server = createServer((src) => this.pipe(src));
  }
  listen(): Promise<number> {
    return new Promise((res) => this.server.listen(0, "127.0.0.1", () => res((this.server.address() as { port: number }).port)));
  }
  private pipe(src: Socket): void {
    const dst = connect(this.dstPort, "127.0.0.1");
    const kill = (): void => { src.destroy(); dst.destroy(); };
    src.on("error", kill); dst.on("error", kill); src.on("close", kill); dst.on("close", kill);
    const limit = typeof this.cut === "number" ? this.cut : Number.MAX_SAFE_INTEGER;
    src.on("data", (d: Buffer) => {
      if (this.cut === "drop-go" && this.recordsEnd >= 0) { kill(); return; } // GO, never delivered
      const room = limit - this.toDst;
      if (room <= 0) return;
      const part = d.subarray(0, room);
      this.toDst += part.length;
      dst.write(part, () => { if (this.toDst >= limit) kill(); });
    });
    dst.on("data", (d: Buffer) => {
      if (d.toString("latin1").startsWith("READY")) this.recordsEnd = this.toDst;
      if (this.cut === "drop-running" && d.toString("latin1").startsWith("RUNNING")) { kill(); return; }
      src.write(d);
    });
  }
  close(): Promise<void> { return new Promise((res) => this.server.close(() => res())); }
}

async function attempt(cut: Cut): Promise<{ a: Side; b: Side; srcId: number; ok: boolean; error: string; recordsEnd: number; total: number; stopcopy: number; baseB: string }> {
  const a = side(), b = side();
  const key = randomBytes(32);
  const listener = new MigrationListener(b.ts, key);
  const port = await listener.listen(0, "127.0.0.1");
  const baseB = b.books();
  const g = a.ts.create({ name: "moving", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "" });
  for (const gfn of PATTERN_GFNS) page(a, g.domid, gfn).set(pattern(gfn));
  const proxy = new CuttingProxy(port, cut);
  const via = await proxy.listen();
  let ok = true, error = "", stopcopy = -1;
  try {
    await migrateOut(a.ts, g.domid, "127.0.0.1", via, { live: true, key, progress: (p: MigrateProgress) => { if (p.phase === "stopcopy") stopcopy = p.dirty; } });
  } catch (e) { ok = false; error = (e as Error).message; }
  // the destination gives up on a dead link at once, or after its own timeouts at worst
  for (let i = 0; i < 200 && listener.busy; i++) await new Promise((r) => setTimeout(r, 50));
  await proxy.close();
  await listener.close();
  return { a, b, srcId: g.domid, ok, error, recordsEnd: proxy.recordsEnd, total: proxy.toDst, stopcopy, baseB };
}

const running = (s: Side): number[] => [...s.host.hv.domains.values()].filter((d) => d.id !== 0 && !d.paused()).map((d) => d.id);
const guests = (s: Side): number[] => [...s.host.hv.domains.keys()].filter((id) => id !== 0);

test("a migration cut at any phase leaves at most one running copy, one intact copy, and nothing behind on the side that gave up", async () => {
  // uncut: where the records end, and how much the stop-and-copy sent
  const whole = await attempt(Number.MAX_SAFE_INTEGER);
  assert.ok(whole.ok, whole.error);
  assert.deepEqual(guests(whole.a), [], "the source copy is gone");
  assert.equal(running(whole.b).length, 1);
  for (const gfn of PATTERN_GFNS) assert.deepEqual(page(whole.b, running(whole.b)[0], gfn), pattern(gfn));
  assert.ok(whole.recordsEnd > 4 << 20, `${whole.recordsEnd} bytes of records for a 16 MiB guest`);
  // an idle guest's last round carries the magic pages only, not its memory again
  assert.ok(whole.stopcopy >= 0 && whole.stopcopy <= 16, `${whole.stopcopy} pages after the pause`);

  const E = whole.recordsEnd;
  console.log(`uncut: ${E} bytes of records, ${whole.stopcopy} pages after the pause`);
  const cuts: [string, Cut][] = [
    ["in the handshake", 40],
    ["in the first pages", 400],
    ["in the middle of memory", Math.floor(E / 2)],
    ["in the last round, after the pause", E - 200],
    ["with every record sent, before READY", E],
    ["with READY sent but GO lost", "drop-go"],
    ["after GO, the destination's RUNNING lost", "drop-running"],
  ];
  for (const [what, cut] of cuts) {
    const r = await attempt(cut);
    const onA = running(r.a), onB = running(r.b);
    assert.equal(r.ok, false, `${what}: the source knows it did not finish`);
    assert.ok(onA.length + onB.length <= 1, `${what}: ${onA.length} running on the source, ${onB.length} on the destination`);
    if (typeof cut === "number") {
      // before GO: the source resumes, the destination keeps nothing
      assert.deepEqual(onA, [r.srcId], `${what}: the source runs again (${r.error})`);
      assert.equal(r.b.books(), r.baseB, `${what}: the destination kept something`);
      for (const gfn of PATTERN_GFNS) assert.deepEqual(page(r.a, r.srcId, gfn), pattern(gfn), what);
    } else if (cut === "drop-go") {
      // GO lost: the destination gave up, the source copy stays paused and whole (xl unpause brings it back)
      assert.deepEqual(guests(r.a), [r.srcId], what);
      assert.deepEqual(onA, [], `${what}: the source copy never runs again by itself`);
      assert.equal(r.b.books(), r.baseB, `${what}: the destination kept something`);
      for (const gfn of PATTERN_GFNS) assert.deepEqual(page(r.a, r.srcId, gfn), pattern(gfn), what);
    } else {
      // GO arrived: the destination runs it; the source, not told, keeps its copy paused
      assert.equal(onB.length, 1, `${what}: the destination runs the guest`);
      assert.deepEqual(onA, [], what);
      for (const gfn of PATTERN_GFNS) assert.deepEqual(page(r.b, onB[0], gfn), pattern(gfn), what);
    }
  }
});
