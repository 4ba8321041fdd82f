// What a guest writes to a console can never grow host memory without a
// bound (issue 11): console_io without newlines, floods of lines, and the PV
// console's input backlog.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { PlayedGuest } from "../../src/host/fuzz/played_guest.js";
import { HYPERVISOR, CONSOLEIO_write } from "../../src/xen/public/xen.js";
import { CONRING_SIZE } from "../../src/xen/console_ring.js";
import { DOMAIN_PBUF_SIZE } from "../../src/xen/hypercall/console_io.js";
import { GuestConsole } from "../../src/tools/console_backend.js";
import { CONSOLE_INPUT_BACKLOG } from "../../src/tools/console_history.js";

test("console_io: 64 MiB without a newline and 100,000 lines keep the hypervisor's buffers bounded; xl dmesg reads the newest", () => {
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const dom0 = new Dom0(host.privcmd);
  const g = PlayedGuest.create(host.hv, { id: 5, pages: 64 });
  const lines: string[] = [];
  host.hv.events.onConsoleWrite = (_d, t) => lines.push(t);
  const chunk = new Uint8Array(1 << 16).fill(0x41);
  g.write(g.scratch + 4096n, chunk); // pages 1..16: the chunk
  for (let i = 0; i < 1024; i++) {
    assert.equal(g.call(HYPERVISOR.console_io, BigInt(CONSOLEIO_write), BigInt(chunk.length), g.scratch + 4096n), 0n);
    assert.ok(g.d.console.length < DOMAIN_PBUF_SIZE, "the line buffer stays within Xen's DOMAIN_PBUF_SIZE");
  }
  assert.ok(lines.length > 300_000 && lines.every((l) => l.length === DOMAIN_PBUF_SIZE), "full lines are flushed as Xen does");
  const line = new TextEncoder().encode("a line\n");
  g.write(g.scratch + 4096n, line);
  for (let i = 0; i < 100_000; i++) g.call(HYPERVISOR.console_io, BigInt(CONSOLEIO_write), BigInt(line.length), g.scratch + 4096n);
  g.write(g.scratch + 4096n, new TextEncoder().encode("the last line\n"));
  g.call(HYPERVISOR.console_io, BigInt(CONSOLEIO_write), 14n, g.scratch + 4096n);
  const text = dom0.xc.readConsole();
  assert.ok(text.length <= CONRING_SIZE, `${text.length} bytes kept`);
  assert.ok(text.endsWith("(d5) the last line\n"), text.slice(-100));
  assert.equal(g.call(HYPERVISOR.console_io, BigInt(CONSOLEIO_write), BigInt(1 << 17), g.scratch + 4096n), -22n, "more than 64 KiB at once: EINVAL");
  // cleared, the ring reads empty; the next message is there alone
  dom0.xc.readConsole(true);
  assert.equal(dom0.xc.readConsole(), "");
  host.hv.log("after the clear");
  assert.equal(dom0.xc.readConsole(), "(XEN) after the clear\n", "the hypervisor's own messages are in the ring too");
});

test("console input waiting for a guest that never reads it is bounded", () => {
  const c = new GuestConsole(1, undefined as never, undefined as never); // never connected: input only queues
  for (let i = 0; i < 100; i++) c.input(new Uint8Array(4096).fill(0x61));
  assert.equal(c.inputDropped, 100 * 4096 - CONSOLE_INPUT_BACKLOG);
});

test("a console whose event channel cannot be bound gives its ring page back (a restore with a bad console port left a mapping and 3 frames behind)", () => {
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const dom0 = new Dom0(host.privcmd);
  const g = PlayedGuest.create(host.hv, { id: 5, pages: 64 });
  const free = host.hv.frames.freeCount;
  const c = new GuestConsole(5, dom0.xc, dom0.evtchn);
  assert.throws(() => c.connect(g.scratch >> 12n, 40), /bind_interdomain failed/, "port 40 is not an unbound port of d5");
  assert.equal(dom0.xc.window.inUse(), 0n, "no foreign mapping left in Domain-0's window");
  assert.equal(host.hv.frames.freeCount, free, "the frames the mapping took are free again");
  c.end();
  assert.equal(dom0.xc.window.inUse(), 0n);
});
