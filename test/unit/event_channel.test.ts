// Event channels called by a guest played from TypeScript: VIRQ binding as
// Xen does it (a global VIRQ on vCPU 0, movable with bind_vcpu; a per-vCPU
// one stays). The hypercall fuzzer found that a global VIRQ moved to vCPU 1
// made its close throw inside the hypervisor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { PlayedGuest } from "../../src/host/fuzz/played_guest.js";
import { HYPERVISOR, XEN_E } from "../../src/xen/public/xen.js";
import {
  EVTCHNOP, VIRQ, evtchn_bind_virq, evtchn_bind_vcpu, evtchn_close, evtchn_bind_ipi, evtchn_send, evtchn_unmask,
  EVTCHN_FIFO_PENDING, EVTCHN_FIFO_MASKED, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_PRIORITY_DEFAULT, evtchn_fifo_control_block,
} from "../../src/xen/public/event_channel.js";
import { RAM0_GFN } from "../../src/host/fuzz/played_guest.js";

function setup(): { hv: Hypervisor; g: PlayedGuest } {
  const hv = new Hypervisor({ ramBytes: 32 << 20, deterministic: true, log: () => {} });
  return { hv, g: PlayedGuest.create(hv, { id: 1, pages: 16, vcpus: 2 }) };
}
const bindVirq = (g: PlayedGuest, virq: number, vcpu: number): { rc: bigint; port: number } => {
  const r = g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.bind_virq), evtchn_bind_virq, (s) => s.set("virq", virq).set("vcpu", vcpu));
  return { rc: r.rc, port: r.out.num("port") };
};
const bindVcpu = (g: PlayedGuest, port: number, vcpu: number): bigint =>
  g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.bind_vcpu), evtchn_bind_vcpu, (s) => s.set("port", port).set("vcpu", vcpu)).rc;
const close = (g: PlayedGuest, port: number): bigint =>
  g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.close), evtchn_close, (s) => s.set("port", port)).rc;

test("a global VIRQ binds on vCPU 0, moves with bind_vcpu, is raised where it moved and closes cleanly", () => {
  const { hv, g } = setup();
  assert.equal(bindVirq(g, VIRQ.DOM_EXC, 1).rc, BigInt(-XEN_E.EINVAL), "a global VIRQ on vCPU 1: EINVAL, as Xen");
  const { rc, port } = bindVirq(g, VIRQ.DOM_EXC, 0);
  assert.equal(rc, 0n);
  assert.equal(bindVcpu(g, port, 1), 0n);
  g.d.evtchn.raiseVirq(VIRQ.DOM_EXC);
  assert.ok(g.d.evtchn.isPending(port), "raised on the port it is bound to");
  assert.equal(g.d.evtchn.get(port)?.notifyVcpu, 1);
  assert.equal(close(g, port), 0n);
  assert.equal(bindVirq(g, VIRQ.DOM_EXC, 0).rc, 0n, "and can be bound again");
  assert.ok(hv.destroy(g.d));
  assert.equal(hv.stats.internalErrors, 0);
});

test("a per-vCPU VIRQ stays on its vCPU: bind_vcpu is EINVAL", () => {
  const { hv, g } = setup();
  const t0 = bindVirq(g, VIRQ.TIMER, 0), t1 = bindVirq(g, VIRQ.TIMER, 1);
  assert.equal(t0.rc, 0n);
  assert.equal(t1.rc, 0n, "one timer VIRQ per vCPU");
  assert.equal(bindVcpu(g, t1.port, 0), BigInt(-XEN_E.EINVAL));
  g.d.evtchn.raiseVirq(VIRQ.TIMER, 1);
  assert.ok(g.d.evtchn.isPending(t1.port) && !g.d.evtchn.isPending(t0.port));
  assert.equal(close(g, t1.port), 0n);
  assert.ok(hv.destroy(g.d));
  assert.equal(hv.stats.internalErrors, 0);
});

const bindIpi = (g: PlayedGuest): number => {
  const r = g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.bind_ipi), evtchn_bind_ipi, (s) => s.set("vcpu", 0));
  assert.equal(r.rc, 0n);
  return r.out.num("port");
};
const send = (g: PlayedGuest, port: number): bigint =>
  g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.send), evtchn_send, (s) => s.set("port", port)).rc;
const unmask = (g: PlayedGuest, port: number): bigint =>
  g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.unmask), evtchn_unmask, (s) => s.set("port", port)).rc;

test("the switch to FIFO: a 2-level pending event is carried until its event word exists, then queued; a masked one waits for unmask", () => {
  const { hv, g } = setup();
  const ctl = RAM0_GFN + 2, arr = RAM0_GFN + 3;
  const a = bindIpi(g);
  assert.equal(send(g, a), 0n);
  assert.ok(g.d.evtchn.isPending(a) && g.d.evtchn.abi === "2l");
  assert.equal(g.initControl(ctl), 0n);
  assert.equal(g.d.evtchn.abi, "fifo");
  assert.equal(g.initControl(ctl), BigInt(-XEN_E.EINVAL), "one control block per vCPU");
  assert.equal(g.d.evtchn.isPending(a), false, "no event word yet");
  assert.deepEqual(g.d.evtchn.saveState().pendingCarry, [a]);
  assert.equal(g.expandArray(arr), 0n);
  const word = (p: number): number => new DataView(g.page(arr)!.buffer, g.page(arr)!.byteOffset + p * 4, 4).getUint32(0, true);
  const control = new DataView(g.page(ctl)!.buffer, g.page(ctl)!.byteOffset, evtchn_fifo_control_block.size);
  const q = EVTCHN_FIFO_PRIORITY_DEFAULT;
  assert.equal(word(a) & ((1 << EVTCHN_FIFO_PENDING) | (1 << EVTCHN_FIFO_LINKED)), (1 << EVTCHN_FIFO_PENDING) | (1 << EVTCHN_FIFO_LINKED), "raised and linked once its page arrived");
  assert.equal(control.getUint32(evtchn_fifo_control_block.fields.head.offset + q * 4, true), a, "at the head of its queue");
  assert.equal((control.getUint32(evtchn_fifo_control_block.fields.ready.offset, true) >>> q) & 1, 1, "its queue is ready");
  assert.ok(g.d.upcallPending(0), "the vCPU was told");
  // a masked port: pending but not linked until unmask
  const b = bindIpi(g);
  const wb = new DataView(g.page(arr)!.buffer, g.page(arr)!.byteOffset + b * 4, 4);
  wb.setUint32(0, wb.getUint32(0, true) | (1 << EVTCHN_FIFO_MASKED), true);
  assert.equal(send(g, b), 0n);
  assert.equal(word(b) & ((1 << EVTCHN_FIFO_PENDING) | (1 << EVTCHN_FIFO_LINKED)), 1 << EVTCHN_FIFO_PENDING);
  assert.equal(unmask(g, b), 0n);
  assert.equal(word(b) & ((1 << EVTCHN_FIFO_MASKED) | (1 << EVTCHN_FIFO_LINKED)), 1 << EVTCHN_FIFO_LINKED, "unmasked and linked");
  // the FIFO pages are pinned while registered, and let go by reset
  assert.deepEqual(g.d.evtchn.pinnedFrames().length, 2);
  assert.equal(g.evtchnReset(), 0n);
  assert.equal(g.d.evtchn.abi, "2l");
  assert.deepEqual(g.d.evtchn.pinnedFrames(), []);
  assert.ok(hv.destroy(g.d));
  assert.equal(hv.stats.internalErrors, 0);
});

test("saved FIFO state that cannot be right is refused before the table changes", () => {
  const { hv, g } = setup();
  const p = bindIpi(g);
  const good = g.d.evtchn.saveState();
  const bad = { ...good, abi: "fifo" as const, fifo: [{ controlGfn: String(RAM0_GFN + 2), controlOffset: 4093, heads: [], tails: [] }] };
  const n = g.d.vcpus.length;
  assert.match(g.d.evtchn.checkState(bad, n) ?? "", /bad offset/);
  assert.equal(g.d.evtchn.get(p)?.state, "ipi", "the port table is as it was");
  assert.match(g.d.evtchn.checkState({ ...good, arrayGfns: [String(RAM0_GFN)] }, n) ?? "", /FIFO state with the 2-level ABI/);
  assert.equal(g.d.evtchn.checkState(good, n), null);
  assert.ok(hv.destroy(g.d));
});
