// Console input for Domain-0 (issue 13: a Linux Domain-0's hvc0 reads it):
// what is typed on the host's console lands in Xen's 128-byte serial ring,
// VIRQ_CONSOLE tells Domain-0, and CONSOLEIO_read takes it in order, across
// the ring's wrap; a full ring drops what does not fit; only the control
// domain may read (xen/drivers/char/console.c).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest, RAM0_GFN } from "../../src/host/fuzz/played_guest.js";
import { HYPERVISOR, XEN_E, CONSOLEIO_read } from "../../src/xen/public/xen.js";
import { EVTCHNOP, VIRQ, evtchn_bind_virq } from "../../src/xen/public/event_channel.js";
import { SERIAL_RX_SIZE } from "../../src/xen/serial_rx.js";

test("typed characters reach Domain-0 by VIRQ_CONSOLE and CONSOLEIO_read, in order, bounded, for Domain-0 alone", () => {
  const hv = new Hypervisor({ ramBytes: 32 << 20, deterministic: true, log: () => {} });
  const d0 = PlayedGuest.create(hv, { id: 0, privileged: true, pages: 16 });
  const domU = PlayedGuest.create(hv, { id: 1, pages: 16 });
  const bound = d0.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.bind_virq), evtchn_bind_virq, (s) => s.set("virq", VIRQ.CONSOLE).set("vcpu", 0));
  assert.equal(bound.rc, 0n);
  const port = bound.out.num("port");
  const buf = BigInt(RAM0_GFN + 2) << 12n;
  const read = (g: PlayedGuest, n: number): { rc: bigint; text: string } => {
    const rc = g.call(HYPERVISOR.console_io, BigInt(CONSOLEIO_read), BigInt(n), buf);
    return { rc, text: rc > 0n ? Buffer.from(g.read(buf, Number(rc))).toString("latin1") : "" };
  };
  assert.deepEqual(read(d0, 16), { rc: 0n, text: "" }, "nothing typed yet");
  assert.equal(hv.consoleInput(new Uint8Array(Buffer.from("ls -l\n"))), 6);
  assert.ok(hv.domains.get(0)!.evtchn.isPending(port), "VIRQ_CONSOLE raised");
  assert.deepEqual(read(d0, 3), { rc: 3n, text: "ls " });
  assert.deepEqual(read(d0, 100), { rc: 3n, text: "-l\n" });
  assert.deepEqual(read(d0, 100), { rc: 0n, text: "" });
  // across the wrap of the ring, and a full ring drops the rest
  const typed = Array.from({ length: 300 }, (_, i) => String.fromCharCode(33 + (i % 90))).join("");
  assert.equal(hv.consoleInput(new Uint8Array(Buffer.from(typed))), SERIAL_RX_SIZE);
  assert.equal(hv.serialRx.dropped, 300 - SERIAL_RX_SIZE);
  assert.deepEqual(read(d0, 1000), { rc: BigInt(SERIAL_RX_SIZE), text: typed.slice(0, SERIAL_RX_SIZE) });
  // a guest may not read Domain-0's input; a bad buffer takes nothing
  hv.consoleInput(new Uint8Array([65, 66]));
  assert.equal(read(domU, 10).rc, BigInt(-XEN_E.EPERM));
  assert.equal(d0.call(HYPERVISOR.console_io, BigInt(CONSOLEIO_read), 10n, 0xDEAD0000n), BigInt(-XEN_E.EFAULT));
  assert.equal(d0.call(HYPERVISOR.console_io, BigInt(CONSOLEIO_read), 0x80000000n, buf), BigInt(-XEN_E.E2BIG));
  assert.deepEqual(read(d0, 10), { rc: 2n, text: "AB" }, "still there after the refusals");
});
