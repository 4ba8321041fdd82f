// A paused domain's hypervisor-held state, for save/restore and migration
// (XEN_DOMCTL_gethvmcontext / sethvmcontext): vCPU registers (general,
// FP/SIMD, system registers, the GIC CPU interface) as the core keeps them,
// PSCI and blocking state, the vGIC, the virtual counter, event channels,
// the grant table's frames, shared_info and where the guest mapped them.
// Guest RAM is not in it — the tools copy that page by page — but the list
// of its frames is. The format is JSON with base64 for page-sized blobs,
// versioned; every field is checked on the way in.

import type { Domain } from "./domain.js";
import { CONTEXT_FORMAT, CONTEXT_VERSION, DomainContext } from "./public/domain_context.js";
import { SR } from "../cpu/cpu.js";
import { VTCR_VALUE } from "./p2m.js";
import { RUNSTATE, vcpu_info } from "./public/xen.js";

const REG_BYTES = 0x1000; // the vCPU block up to its TLB: registers, system registers, GIC interface

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

export function saveDomainContext(d: Domain, counterNow: bigint): DomainContext {
  const fa = d.svc.frames;
  const ram: [number, number][] = [];
  const xenMaps: DomainContext["xenMaps"] = [];
  // RAM gfns in order, as runs: marked in a bitmap over their span rather
  // than sorted, because this runs while a migrating guest is paused; a
  // guest that scattered its RAM far apart gets the sort instead
  let lo = Infinity, hi = -1, count = 0;
  for (const [gfn, e] of d.p2m.entries) {
    if (e.type === "ram") {
      count++;
      if (gfn < lo) lo = gfn;
      if (gfn > hi) hi = gfn;
    } else if (e.type === "xen") {
      if (e.frame === d.sharedInfoFrame) xenMaps.push({ gfn, what: "shared_info", index: 0 });
      else {
        const i = d.gnttab.frames.indexOf(e.frame);
        if (i >= 0) xenMaps.push({ gfn, what: "grant", index: i });
      }
    }
    // foreign and grant mappings belong to the mapper's session and are not carried
  }
  const run = (gfn: number): void => {
    const last = ram[ram.length - 1];
    if (last && last[0] + last[1] === gfn) last[1]++;
    else ram.push([gfn, 1]);
  };
  if (count === 0) { /* nothing populated */ } else if (hi - lo + 1 <= Math.max(1 << 20, 4 * count)) {
    const present = new Uint8Array(hi - lo + 1);
    for (const [gfn, e] of d.p2m.entries) if (e.type === "ram") present[gfn - lo] = 1;
    for (let i = 0; i < present.length; i++) if (present[i]) run(lo + i);
  } else {
    const gfns = new Float64Array(count);
    let n = 0;
    for (const [gfn, e] of d.p2m.entries) if (e.type === "ram") gfns[n++] = gfn;
    for (const gfn of gfns.sort()) run(gfn);
  }
  xenMaps.sort((a, b) => a.gfn - b.gfn);
  const page = (f: number): Uint8Array => d.bytes.slice(fa.hostOf(f), fa.hostOf(f) + 4096);
  return {
    format: CONTEXT_FORMAT, version: CONTEXT_VERSION,
    maxPages: d.maxPages.toString(), vmAssist: d.vmAssist.toString(), timeOffsetSeconds: d.timeOffsetSeconds.toString(),
    weight: d.weight, cap: d.cap, hvmParams: d.hvmParams.map(String), sharedInfo: b64(page(d.sharedInfoFrame)),
    ram, xenMaps, grantFrames: d.gnttab.frames.map((f) => b64(page(f))),
    vcpus: d.vcpus.map((v) => ({
      online: v.online, block: v.block, pollPorts: [...v.pollPorts],
      vcount: (counterNow - v.state.sys(SR.CNTVOFF)).toString(),
      pollIn: v.pollDeadline === 0n ? "0" : (v.pollDeadline - counterNow).toString(),
      vcpuInfo: v.vcpuInfo ? { gfn: v.vcpuInfo.gfn.toString(), offset: v.vcpuInfo.offset } : null,
      runstateVa: v.runstateVa === null ? null : v.runstateVa.toString(),
      regs: b64(d.bytes.slice(v.state.base, v.state.base + REG_BYTES)),
    })),
    vgic: d.vgic.saveState(), evtchn: d.evtchn.saveState(),
  };
}

export class ContextError extends Error {}

// Into a fresh domain whose RAM the tools have populated and filled.
export function restoreDomainContext(d: Domain, c: DomainContext, counterNow: bigint): void {
  if (c.format !== CONTEXT_FORMAT || c.version !== CONTEXT_VERSION) throw new ContextError(`not a version ${CONTEXT_VERSION} domain context`);
  if (c.vcpus.length > d.maxVcpus || c.vcpus.length === 0) throw new ContextError(`${c.vcpus.length} vCPUs do not fit this domain (max ${d.maxVcpus})`);
  if (d.vcpus.some((v) => v.online)) throw new ContextError("the domain has already run");
  for (const [g, n] of c.ram) for (let i = 0; i < n; i++) {
    const e = d.p2m.get(g + i);
    if (!e || e.type !== "ram") throw new ContextError(`guest frame 0x${(g + i).toString(16)} is not populated`);
  }
  const fa = d.svc.frames;
  const blob = (s: string, len: number, what: string): Uint8Array => {
    const b = Buffer.from(s, "base64");
    if (b.length !== len) throw new ContextError(`${what}: ${b.length} bytes instead of ${len}`);
    return b;
  };
  d.maxPages = BigInt(c.maxPages);
  d.vmAssist = BigInt(c.vmAssist);
  d.timeOffsetSeconds = BigInt(c.timeOffsetSeconds);
  d.weight = c.weight;
  d.cap = c.cap;
  c.hvmParams.forEach((v, i) => { if (i < d.hvmParams.length) d.hvmParams[i] = BigInt(v); });
  d.bytes.set(blob(c.sharedInfo, 4096, "shared_info"), fa.hostOf(d.sharedInfoFrame));
  d.noteWrite(fa.hostOf(d.sharedInfoFrame), 4096);
  if (!d.gnttab.ensureFrames(c.grantFrames.length)) throw new ContextError(`${c.grantFrames.length} grant frames exceed the domain's limit`);
  c.grantFrames.forEach((s, i) => { d.bytes.set(blob(s, 4096, `grant frame ${i}`), fa.hostOf(d.gnttab.frames[i])); d.noteWrite(fa.hostOf(d.gnttab.frames[i]), 4096); });
  for (const m of c.xenMaps) {
    if (!Number.isInteger(m.gfn) || m.gfn < 0 || m.gfn >= 2 ** 28) throw new ContextError(`gfn ${m.gfn} is outside the guest's address space`);
    const frame = m.what === "shared_info" ? d.sharedInfoFrame : d.gnttab.frames[m.index];
    if (frame === undefined) throw new ContextError(`no grant frame ${m.index}`);
    const r = d.mapXenFrame(m.gfn, frame);
    if (r < 0) throw new ContextError(`${m.what} ${m.index} cannot be mapped at gfn 0x${m.gfn.toString(16)} (${r})`);
  }
  // Nothing maps this domain's grants on this host yet: no entry is in use
  // (the saved table may say otherwise for mappings its old backends held).
  d.gnttab.clearInUseFlags();
  d.createVcpus(c.vcpus.length);
  c.vcpus.forEach((s, i) => {
    const v = d.vcpus[i];
    const st = v.state;
    // the saved registers, then what belongs to this host: stage 2, identity, counter offset
    const keep = [SR.HCR, SR.VTTBR, SR.VTCR, SR.VMPIDR, SR.CNTHCTL].map((r) => [r, st.sys(r)] as const);
    d.bytes.set(blob(s.regs, REG_BYTES, `vCPU ${i} registers`), st.base);
    for (const [r, val] of keep) st.setSys(r, val);
    st.setSys(SR.VTCR, VTCR_VALUE);
    st.setSys(SR.CNTVOFF, counterNow - BigInt(s.vcount)); // the guest's counter carries on where it stopped
    st.flushTlb();
    v.online = s.online;
    v.block = s.block;
    v.pollPorts = [...s.pollPorts];
    v.pollDeadline = s.pollIn === "0" ? 0n : counterNow + BigInt(s.pollIn);
    if (s.vcpuInfo && !(Number.isInteger(s.vcpuInfo.offset) && s.vcpuInfo.offset >= 0 && s.vcpuInfo.offset <= 4096 - vcpu_info.size)) throw new ContextError(`vCPU ${i}: vcpu_info offset out of range`);
    if (s.vcpuInfo) {
      const frame = d.pinPage(BigInt(s.vcpuInfo.gfn));
      if (frame < 0) throw new ContextError(`vCPU ${i}: vcpu_info gfn ${s.vcpuInfo.gfn} is not the domain's RAM`);
      v.vcpuInfo = { gfn: BigInt(s.vcpuInfo.gfn), offset: s.vcpuInfo.offset, frame };
    }
    v.runstateVa = s.runstateVa === null ? null : BigInt(s.runstateVa);
    v.runstate = s.online ? (s.block === "none" ? RUNSTATE.runnable : RUNSTATE.blocked) : RUNSTATE.offline;
  });
  const ge = d.vgic.loadState(c.vgic);
  if (ge) throw new ContextError(ge);
  const ee = d.evtchn.loadState(c.evtchn);
  if (ee) throw new ContextError(ee);
}
