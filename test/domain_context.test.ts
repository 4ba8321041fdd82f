// XEN_DOMCTL_get/sethvmcontext: a paused domain's context goes into a fresh
// domain; a context that is malformed or claims live links to other
// domains is refused with -EINVAL and changes nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../src/host/host.js";
import { Dom0 } from "../src/tools/dom0.js";
import { buildDomain } from "../src/tools/domain_builder.js";
import { XenError } from "../src/tools/xc/xc.js";
import { guestImage } from "./helpers/guest_programs.js";
import type { DomainContext } from "../src/xen/public/domain_context.js";

test("a domain context round-trips into a fresh domain and bad ones are refused", () => {
  const host = new Host({ ramBytes: 128 << 20, deterministic: true, log: () => {} });
  const dom0 = new Dom0(host.privcmd);
  const xc = dom0.xc;
  const b = buildDomain(xc, { name: "src", memoryMiB: 16, vcpus: 2, kernel: guestImage("steady", { ROUNDS: 1 }), cmdline: "" });
  xc.evtchnAllocUnbound(b.domid, 0);
  const raw = xc.getHvmContext(b.domid);
  const ctx = JSON.parse(Buffer.from(raw).toString("utf8")) as DomainContext;
  assert.equal(ctx.vcpus.length, 2);
  assert.ok(ctx.ram.reduce((n, r) => n + r[1], 0) >= 16 * 256);
  // RAM must be in place before the context goes in
  const fresh = (): number => {
    const d = xc.createDomain({ maxVcpus: 2 });
    xc.maxVcpus(d, 2);
    xc.maxMem(d, BigInt(ctx.maxPages) * 4n);
    for (const [g, n] of ctx.ram) xc.populatePhysmap(d, Array.from({ length: n }, (_, k) => BigInt(g + k)));
    return d;
  };
  const refused = (mutate: (c: DomainContext) => void, why: string): void => {
    const c = JSON.parse(Buffer.from(raw).toString("utf8")) as DomainContext;
    mutate(c);
    const d = fresh();
    assert.throws(() => xc.setHvmContext(d, new Uint8Array(Buffer.from(JSON.stringify(c)))), (e: unknown) => e instanceof XenError && e.errno === 22, why);
    xc.destroyDomain(d);
  };
  refused((c) => { c.version = 99; }, "unknown version");
  refused((c) => { c.vcpus = []; }, "no vCPUs");
  refused((c) => { c.vcpus[0].regs = c.vcpus[0].regs.slice(0, 100); }, "a short register block");
  refused((c) => { c.evtchn.ports[1] = { ...c.evtchn.ports[1], state: "interdomain", remoteDom: 0, remotePort: 5 }; }, "a live link to another domain");
  refused((c) => { c.evtchn.ports[1] = { ...c.evtchn.ports[1], notifyVcpu: 7 }; }, "a port for a vCPU that does not exist");
  refused((c) => { c.xenMaps.push({ gfn: -1, what: "shared_info", index: 0 }); }, "a mapping outside the address space");
  refused((c) => { c.ram.push([0x50000, 1]); }, "RAM that was not populated");
  assert.throws(() => xc.setHvmContext(fresh(), new Uint8Array(Buffer.from("{not json"))), (e: unknown) => e instanceof XenError && e.errno === 22);
  // and the real thing
  const d = fresh();
  xc.setHvmContext(d, raw);
  const back = JSON.parse(Buffer.from(xc.getHvmContext(d)).toString("utf8")) as DomainContext;
  // general, FP/SIMD registers, PC, PSTATE, FPCR/FPSR (the system registers
  // include this host's stage-2 root and counter offset, which differ)
  const gprs = (r: string): string => Buffer.from(r, "base64").subarray(0, 0x318).toString("hex");
  assert.deepEqual(back.vcpus.map((v) => gprs(v.regs)), ctx.vcpus.map((v) => gprs(v.regs)), "registers come back as they went in");
  assert.deepEqual(back.vcpus.map((v) => v.vcount), ctx.vcpus.map((v) => v.vcount), "the virtual counter carries on (no time passes on a deterministic clock)");
  assert.deepEqual(back.evtchn.ports, ctx.evtchn.ports);
  assert.deepEqual(back.ram, ctx.ram);
  // a running domain's context cannot be taken or replaced
  xc.unpause(d);
  assert.throws(() => xc.getHvmContext(d), (e: unknown) => e instanceof XenError && e.errno === 16);
});
