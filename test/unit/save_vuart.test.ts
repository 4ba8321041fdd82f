// A domain with an emulated UART (vuart = "sbsa_uart") is saved, restored
// and live-migrated like any other (both were refused before the vpl011 had
// a section in the domain context): its registers and the input the guest
// has not read yet arrive with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { migrateOut, MigrationListener } from "../../src/tools/migration.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";

const IMSC = 0x038, MIS = 0x040, DR = 0x000;

function side(): { host: Host; ts: Toolstack } {
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  return { host, ts: new Toolstack(new Dom0(host.privcmd)) };
}
function withInput(s: { host: Host; ts: Toolstack }, name: string): number {
  const g = s.ts.create({ name, memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", vuart: true });
  const u = s.host.hv.domains.get(g.domid)!.vpl011!;
  u.write(0, IMSC, 4, 0x10n); // the receive interrupt
  assert.equal(u.receive(new Uint8Array(Buffer.from("hi"))), 2);
  return g.domid;
}
function unread(s: { host: Host }, domid: number): { mis: bigint; text: string } {
  const u = s.host.hv.domains.get(domid)!.vpl011;
  assert.ok(u, "the domain has its vpl011");
  const mis = u.read(0, MIS, 4);
  return { mis, text: String.fromCharCode(Number(u.read(0, DR, 4)), Number(u.read(0, DR, 4))) };
}

test("save and restore carry a domain with a vpl011, its pending input included", () => {
  const a = side(), b = side();
  const domid = withInput(a, "uart-saved");
  const chunks: Uint8Array[] = [];
  a.ts.save(domid, { write: (x) => chunks.push(new Uint8Array(x)) });
  const bytes = Buffer.concat(chunks);
  let o = 0;
  const g = b.ts.restore({ read: (n) => { const r = new Uint8Array(bytes.subarray(o, o + n)); o += r.length; return r; } });
  assert.equal(g.config.vuart, true);
  assert.deepEqual(unread(b, g.domid), { mis: 0x10n, text: "hi" });
});

test("live migration carries a domain with a vpl011, its pending input included", async () => {
  const a = side(), b = side();
  const key = randomBytes(32);
  const listener = new MigrationListener(b.ts, key);
  const port = await listener.listen(0, "127.0.0.1");
  try {
    const domid = withInput(a, "uart-moving");
    await migrateOut(a.ts, domid, "127.0.0.1", port, { live: true, key });
    for (let i = 0; i < 100 && listener.busy; i++) await new Promise((r) => setTimeout(r, 50));
    const moved = [...b.ts.guests.values()].find((x) => x.name === "uart-moving");
    assert.ok(moved, "the domain arrived");
    assert.deepEqual(unread(b, moved.domid), { mis: 0x10n, text: "hi" });
  } finally { await listener.close(); }
});
