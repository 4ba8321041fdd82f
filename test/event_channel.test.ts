// Event channels called by a guest played from TypeScript: VIRQ binding as
// Xen does it (a global VIRQ on vCPU 0, movable with bind_vcpu; a per-vCPU
// one stays). The hypercall fuzzer found that a global VIRQ moved to vCPU 1
// made its close throw inside the hypervisor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../src/xen/hypervisor.js";
import { PlayedGuest } from "../src/host/fuzz/played_guest.js";
import { HYPERVISOR, XEN_E } from "../src/xen/public/xen.js";
import { EVTCHNOP, VIRQ, evtchn_bind_virq, evtchn_bind_vcpu, evtchn_close } from "../src/xen/public/event_channel.js";

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
