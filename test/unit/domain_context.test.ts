// XEN_DOMCTL_get/sethvmcontext: a paused domain's context, as the sections
// of its parts, goes into a fresh domain; a context that is wrong anywhere
// (malformed, the wrong version, a hostile register value, a live link to
// another domain) is refused with -EINVAL, a message naming the section and
// field, and changes nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { buildDomain } from "../../src/tools/domain_builder.js";
import { XenError } from "../../src/tools/xc/xc.js";
import { guestImage } from "../helpers/guest_programs.js";
import { section } from "../helpers/context_sections.js";
import { CONTEXT_VERSION, contextMemory, type DomainContext } from "../../src/xen/public/domain_context.js";
import { MAGIC_VUART_PFN } from "../../src/xen/public/arch_arm.js";
import { Core, SR, Layout, Exit } from "../../src/cpu/cpu.js";
import { readFileSync } from "node:fs";
import type { Domain } from "../../src/xen/domain.js";

function setup(vuart = false) {
  const log: string[] = [];
  const host = new Host({ ramBytes: 128 << 20, deterministic: true, log: (l) => log.push(l) });
  const xc = new Dom0(host.privcmd).xc;
  const b = buildDomain(xc, { name: "src", memoryMiB: 16, vcpus: 2, kernel: guestImage("steady", { ROUNDS: 1 }), cmdline: "", vuart });
  const raw = xc.getHvmContext(b.domid);
  const parse = (r: Uint8Array): DomainContext => JSON.parse(Buffer.from(r).toString("utf8")) as DomainContext;
  const { ram, maxPages } = contextMemory(raw);
  // RAM must be in place before the context goes in, as restore does it
  const fresh = (withVuart = vuart): number => {
    const d = xc.createDomain({ maxVcpus: 2 });
    xc.maxVcpus(d, 2);
    xc.maxMem(d, BigInt(maxPages) * 4n);
    for (const [g, n] of ram) xc.populatePhysmap(d, Array.from({ length: n }, (_, k) => BigInt(g + k)));
    if (withVuart) xc.vuartInit(d, MAGIC_VUART_PFN, 0);
    return d;
  };
  return { host, xc, b, raw, parse, fresh, log };
}

// Registers a guest would have set, so that every named field is seen to travel.
function setRegisters(d: Domain): void {
  d.vcpus[1].state.setX(7, 0x1122334455667788n);
  d.vcpus[1].state.setV(31, 0xAAAAn, 0xBBBBn);
  d.vcpus[1].state.setSys(SR.TPIDR_EL1, 0xFFFF000012345678n);
  d.vcpus[1].state.setSys(SR.CSSELR, 2n);
}

test("a domain context round-trips into a fresh domain, section by section", () => {
  const { host, xc, b, raw, parse, fresh } = setup();
  xc.evtchnAllocUnbound(b.domid, 0);
  const src = host.hv.domains.get(b.domid)!;
  setRegisters(src);
  src.vcpus[0].state.eventRegister = true;
  const ctx = parse(xc.getHvmContext(b.domid));
  assert.equal(ctx.version, CONTEXT_VERSION);
  assert.deepEqual(ctx.sections.map((s) => s.id), ["domain", "gnttab", "memory", "vcpus", "vgic", "evtchn"], "no vpl011 section without a vpl011");
  const vc = section(ctx, "vcpus");
  assert.equal(vc.length, 2);
  assert.equal(vc[1].regs.x[7], "0x1122334455667788");
  assert.equal(vc[1].regs.v[31], "0xbbbb000000000000aaaa");
  assert.equal(vc[1].regs.sys.TPIDR_EL1, "0xffff000012345678");
  assert.equal(vc[1].regs.sys.CSSELR_EL1, "0x2");
  assert.equal(vc[0].regs.eventRegister, true);
  assert.ok(section(ctx, "memory").ram.reduce((n, r) => n + r[1], 0) >= 16 * 256);

  const d = fresh();
  xc.setHvmContext(d, new Uint8Array(Buffer.from(JSON.stringify(ctx))));
  const back = parse(xc.getHvmContext(d));
  // every section comes back as it went in (a deterministic clock: no time passes)
  for (const id of ["domain", "gnttab", "memory", "vcpus", "vgic", "evtchn"] as const) assert.deepEqual(section(back, id), section(ctx, id), id);
  const dst = host.hv.domains.get(d)!;
  assert.equal(dst.vcpus[1].state.x(7), 0x1122334455667788n);
  assert.notEqual(dst.vcpus[0].state.sys(SR.VTTBR), src.vcpus[0].state.sys(SR.VTTBR), "stage 2 is the destination's own");
  // a running domain's context cannot be taken or replaced
  xc.unpause(d);
  assert.throws(() => xc.getHvmContext(d), (e: unknown) => e instanceof XenError && e.errno === 16);
  assert.throws(() => xc.setHvmContext(d, raw), (e: unknown) => e instanceof XenError && e.errno === 16);
});

test("a context that is wrong in any section is refused by name, and the domain is left as it was", () => {
  const { host, xc, raw, parse, fresh, log } = setup();
  const refused = (mutate: (c: DomainContext) => void, why: RegExp): void => {
    const c = parse(raw);
    mutate(c);
    const id = fresh();
    const d = host.hv.domains.get(id)!;
    const shared = d.bytes.slice(d.svc.frames.hostOf(d.sharedInfoFrame), d.svc.frames.hostOf(d.sharedInfoFrame) + 4096);
    const maxPages = d.maxPages, grantFrames = d.gnttab.frames.length, mapped = d.p2m.size, vcpus = d.vcpus.length;
    const before = log.length;
    assert.throws(() => xc.setHvmContext(id, new Uint8Array(Buffer.from(JSON.stringify(c)))), (e: unknown) => e instanceof XenError && e.errno === 22, String(why));
    const said = log.slice(before).join("\n");
    assert.match(said, why);
    // nothing was loaded: vCPUs, the page limit, shared_info, grant frames and mappings as they were
    assert.equal(d.vcpus.length, vcpus, `${why}: vCPUs were created`);
    assert.ok(d.vcpus.every((x) => !x.online && x.state.pc === 0n && x.state.sys(SR.SCTLR) === 0n), `${why}: registers were loaded`);
    assert.equal(d.maxPages, maxPages);
    assert.equal(d.gnttab.frames.length, grantFrames);
    assert.equal(d.p2m.size, mapped);
    assert.deepEqual(d.bytes.slice(d.svc.frames.hostOf(d.sharedInfoFrame), d.svc.frames.hostOf(d.sharedInfoFrame) + 4096), shared);
    // and the real context still goes in afterwards
    xc.setHvmContext(id, raw);
    xc.destroyDomain(id);
  };
  refused((c) => { c.version = 3; }, /version 3 is not supported \(this xents reads versions 1 and 2\)/);
  refused((c) => { c.version = 1; }, /a version 1 domain context cannot be read: vcpus is not a list/);
  refused((c) => { delete (c as Partial<DomainContext>).sections; }, /version 2 domain context is malformed: sections/);
  refused((c) => { c.sections.find((s) => s.id === "vgic")!.version = 7; }, /section 'vgic' is version 7; this xents reads version 1/);
  refused((c) => { c.sections = c.sections.filter((s) => s.id !== "evtchn"); }, /no 'evtchn' section/);
  refused((c) => { c.sections.push({ id: "tpm", version: 1, data: {} }); }, /section 'tpm' is not a part/);
  refused((c) => { c.sections.push(c.sections[0]); }, /section 'domain' appears twice/);
  refused((c) => { section(c, "vcpus").length = 0; }, /section 'vcpus'.*has no vCPUs/);
  refused((c) => { section(c, "vcpus")[1].regs.x.pop(); }, /section 'vcpus' field 1\.regs\.x: is not x0\.\.x30/);
  refused((c) => { section(c, "vcpus")[0].regs.sys.SCTLR_EL1 = "12"; }, /field 0\.regs\.sys\.SCTLR_EL1: is not a 64-bit value/);
  refused((c) => { (section(c, "vcpus")[0].regs.sys as Record<string, string>).HCR_EL2 = "0x0"; }, /section 'vcpus' field 0\.regs\.sys\.HCR_EL2/);
  refused((c) => { section(c, "vcpus")[1].regs.pstate = "0x3c9"; }, /vCPU 1: PSTATE mode 0x9 is not EL0t, EL1t or EL1h/);
  refused((c) => { section(c, "vcpus")[0].vcpuInfo = { gfn: String(0x50000), offset: 0 }; }, /vcpu_info gfn 327680 is not the domain's RAM/);
  refused((c) => { section(c, "evtchn").ports[1] = { ...section(c, "evtchn").ports[1], state: "interdomain", remoteDom: 0, remotePort: 5 }; }, /port 1: state 'interdomain' cannot be restored/);
  refused((c) => { section(c, "evtchn").ports[1] = { ...section(c, "evtchn").ports[1], notifyVcpu: 7 }; }, /port 1: no vCPU 7/);
  refused((c) => { section(c, "memory").xenMaps.push({ gfn: -1, what: "shared_info", index: 0 }); }, /section 'memory' field xenMaps\.\d+\.gfn/);
  refused((c) => { section(c, "memory").xenMaps.push({ gfn: 0x30000, what: "grant", index: 40 }); }, /no grant frame 40/);
  refused((c) => { section(c, "memory").ram.push([0x50000, 1]); }, /guest frame 0x50000 is not populated/);
  refused((c) => { section(c, "vgic").cpus.pop(); }, /1 redistributors saved for 2 vCPUs/);
  refused((c) => { section(c, "gnttab").frames.push("AAAA"); }, /section 'gnttab' field frames\.\d+: is not a 4 KiB page/);
  refused((c) => { section(c, "domain").weight = 0; }, /section 'domain' field weight/);
  const before = log.length;
  assert.throws(() => xc.setHvmContext(fresh(), new Uint8Array(Buffer.from("{not json"))), (e: unknown) => e instanceof XenError && e.errno === 22);
  assert.match(log.slice(before).join("\n"), /not JSON/);
});

// test/fixtures/domain_context_v1.json was written by the xents before
// sections (commit d19c666) for the domain setup() builds, with the
// registers below set; read today, it must give what the same domain saves now.
test("a version 1 context (raw register blocks) from the xents before sections still restores, to the same state", () => {
  const { host, xc, b, parse, fresh } = setup();
  xc.evtchnAllocUnbound(b.domid, 0);
  const src = host.hv.domains.get(b.domid)!;
  setRegisters(src);
  // The fixture's image was entered at RAM base; today's test programs carry
  // text_offset 0x80000 (the bare-metal runtime), so set the entry it saved.
  src.vcpus[0].state.pc = 0x40000000n;
  src.vcpus[0].state.setGic(Layout.GIC_VMCR, 0xF0000001n);
  const now = parse(xc.getHvmContext(b.domid));
  const v1 = readFileSync(new URL("../../../test/fixtures/domain_context_v1.json", import.meta.url));
  assert.equal((JSON.parse(v1.toString("utf8")) as { version: number }).version, 1);
  const d = fresh();
  xc.setHvmContext(d, new Uint8Array(v1));
  const back = parse(xc.getHvmContext(d));
  for (const id of ["domain", "gnttab", "memory", "vcpus", "vgic", "evtchn"] as const) assert.deepEqual(section(back, id), section(now, id), id);
  assert.equal(section(back, "vcpus")[0].regs.gic.vmcr, "0xf0000001");
});

test("the vpl011's registers and unread input travel with its domain; a context and a domain that disagree about it are refused", () => {
  const { host, xc, b, parse, fresh, log } = setup(true);
  const src = host.hv.domains.get(b.domid)!;
  src.vpl011!.write(0, 0x038, 4, 0x50n); // IMSC: receive and receive-timeout interrupts
  assert.equal(src.vpl011!.receive(new Uint8Array(Buffer.from("ls\n"))), 3);
  const raw = xc.getHvmContext(b.domid);
  assert.deepEqual(section(parse(raw), "vpl011"), { imsc: 0x50, ris: 0x70, rx: [0x6c, 0x73, 0x0a] });
  const d = fresh();
  xc.setHvmContext(d, raw);
  const dst = host.hv.domains.get(d)!;
  assert.equal(dst.vpl011!.read(0, 0x040, 4), 0x50n, "MIS: the guest's receive interrupt is still asserted");
  assert.equal(String.fromCharCode(...[0, 1, 2].map(() => Number(dst.vpl011!.read(0, 0x000, 4)))), "ls\n", "the unread bytes are there to read");
  const n = log.length;
  assert.throws(() => xc.setHvmContext(fresh(false), raw), (e: unknown) => e instanceof XenError && e.errno === 22);
  assert.match(log.slice(n).join("\n"), /section 'vpl011': this domain has no such part/);
  const noUart = parse(raw);
  noUart.sections = noUart.sections.filter((s) => s.id !== "vpl011");
  assert.throws(() => xc.setHvmContext(fresh(true), new Uint8Array(Buffer.from(JSON.stringify(noUart)))), (e: unknown) => e instanceof XenError && e.errno === 22);
  assert.match(log.slice(n).join("\n"), /no 'vpl011' section/);
});

test("the TypeScript mirrors of the core's register slots, state layout and exit codes match the compiled core", () => {
  const core = new Core({ ramBase: 0x40000000n, ramSize: 1 << 20 });
  const ex = core.exports as Record<string, unknown>;
  const value = (name: string): number => { const g = ex[name]; assert.ok(g instanceof WebAssembly.Global, `the core exports ${name}`); return Number(g.value); };
  for (const [k, n] of Object.entries(SR)) assert.equal(value(`SR_${k}`), n, `SR.${k}`);
  for (const [k, n] of Object.entries(Layout)) assert.equal(value(k), n, `Layout.${k}`);
  for (const [k, n] of Object.entries(Exit)) assert.equal(value(`EXIT_${k}`), n, `Exit.${k}`);
});
