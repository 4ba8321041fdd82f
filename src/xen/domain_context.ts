// A paused domain's hypervisor-held state, for save/restore and migration
// (XEN_DOMCTL_gethvmcontext / sethvmcontext), as the sections of its parts
// (snapshot.ts has the contract, public/domain_context.ts the schemas):
//   domain   limits, scheduling, HVM parameters, the shared_info page
//   gnttab   the grant table's frames
//   memory   which frames are RAM (the tools copy them), where the guest
//            mapped shared_info and grant frames
//   vcpus    each vCPU's registers by name, PSCI and blocking state, its
//            virtual counter, vcpu_info and runstate areas
//   vgic     the distributor and every interrupt
//   evtchn   the ports and the FIFO ABI's registrations
//   vpl011   the emulated UART, when the domain has one
// Restoring goes into a fresh domain whose RAM the tools have populated and
// filled; every section is checked before any is loaded.

import * as v from "valibot";
import type { Domain } from "./domain.js";
import {
  CONTEXT_FORMAT, CONTEXT_VERSION, ContextEnvelope, ContextHead, DomainContext, DomainSection, EvtchnSection, GrantSection,
  MAX_GFN, MemorySection, SavedDomainState, SavedEventChannels, SavedGrantTable, SavedMemory, SavedVcpu,
  SavedVgic, SavedVpl011, VcpusSection, VgicSection, Vpl011Section,
} from "./public/domain_context.js";
import { SR } from "../cpu/cpu.js";
import { VTCR_VALUE } from "./p2m.js";
import { RUNSTATE, vcpu_info } from "./public/xen.js";
import { Snapshottable, SnapshotError, saveSections, checkSections } from "./snapshot.js";
import { saveRegisters, loadRegisters, guestPstateError } from "./vcpu_context.js";
import { upgradeContextV1, UpgradeError } from "./domain_context_v1.js";

export class ContextError extends Error {}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
const fail = (m: string): never => { throw new SnapshotError(m); };

// The parts of domain `d`, in the order they load. `counterNow` is the host
// counter the vCPUs' virtual counters are measured against.
function parts(d: Domain, counterNow: bigint): { list: Snapshottable<unknown>[]; crossCheck(parsed: ReadonlyMap<string, unknown>): void } {
  const fa = d.svc.frames;
  const page = (f: number): Uint8Array => d.bytes.slice(fa.hostOf(f), fa.hostOf(f) + 4096);
  const putPage = (f: number, data: string): void => {
    d.bytes.set(Buffer.from(data, "base64"), fa.hostOf(f));
    d.noteWrite(fa.hostOf(f), 4096);
  };
  const isRam = (gfn: bigint): boolean => gfn >= 0n && gfn < BigInt(MAX_GFN) && d.p2m.get(Number(gfn))?.type === "ram";
  let nrVcpus = 0; // of the context being restored, from its "vcpus" section (crossCheck)

  const domain: Snapshottable<SavedDomainState> = {
    id: "domain", version: 1, schema: DomainSection, present: () => true,
    save: () => ({
      maxPages: d.maxPages.toString(), vmAssist: d.vmAssist.toString(), timeOffsetSeconds: d.timeOffsetSeconds.toString(),
      weight: d.weight, cap: d.cap, hvmParams: d.hvmParams.map(String), sharedInfo: b64(page(d.sharedInfoFrame)),
    }),
    check: (s) => { if (s.hvmParams.length > d.hvmParams.length) fail(`${s.hvmParams.length} HVM parameters, this host has ${d.hvmParams.length}`); },
    load: (s) => {
      d.maxPages = BigInt(s.maxPages);
      d.vmAssist = BigInt(s.vmAssist);
      d.timeOffsetSeconds = BigInt(s.timeOffsetSeconds);
      d.weight = s.weight;
      d.cap = s.cap;
      s.hvmParams.forEach((x, i) => { d.hvmParams[i] = BigInt(x); });
      putPage(d.sharedInfoFrame, s.sharedInfo);
    },
  };

  const gnttab: Snapshottable<SavedGrantTable> = {
    id: "gnttab", version: 1, schema: GrantSection, present: () => true,
    save: () => ({ frames: d.gnttab.frames.map((f) => b64(page(f))) }),
    check: (s) => { if (s.frames.length > d.gnttab.maxFrames) fail(`${s.frames.length} grant frames exceed the domain's limit of ${d.gnttab.maxFrames}`); },
    load: (s) => {
      if (!d.gnttab.ensureFrames(s.frames.length)) throw new ContextError(`no memory for ${s.frames.length} grant frames`);
      s.frames.forEach((data, i) => putPage(d.gnttab.frames[i], data));
      // Nothing maps this domain's grants on this host yet: no entry is in use
      // (the saved table may say otherwise for mappings its old backends held).
      d.gnttab.clearInUseFlags();
    },
  };

  let grantFramesIn = 0; // of the context being restored
  const memory: Snapshottable<SavedMemory> = {
    id: "memory", version: 1, schema: MemorySection, present: () => true,
    save: () => saveMemory(d),
    check: (s) => {
      for (const [g, n] of s.ram) for (let i = 0; i < n; i++) if (!isRam(BigInt(g + i))) fail(`guest frame 0x${(g + i).toString(16)} is not populated`);
      const gfns = new Set<number>(), pages = new Set<string>();
      for (const m of s.xenMaps) {
        if (m.what === "grant" && m.index >= grantFramesIn) fail(`no grant frame ${m.index} (the context has ${grantFramesIn})`);
        if (m.what === "shared_info" && m.index !== 0) fail("shared_info has index 0 only");
        const key = `${m.what}:${m.index}`;
        if (gfns.has(m.gfn) || pages.has(key)) fail(`${m.what} ${m.index} at gfn 0x${m.gfn.toString(16)} is mapped twice`);
        gfns.add(m.gfn);
        pages.add(key);
      }
    },
    load: (s) => {
      for (const m of s.xenMaps) {
        const frame = m.what === "shared_info" ? d.sharedInfoFrame : d.gnttab.frames[m.index];
        const r = d.mapXenFrame(m.gfn, frame);
        if (r < 0) throw new ContextError(`${m.what} ${m.index} cannot be mapped at gfn 0x${m.gfn.toString(16)} (${r})`);
      }
    },
  };

  const vcpus: Snapshottable<SavedVcpu[]> = {
    id: "vcpus", version: 1, schema: VcpusSection, present: () => true,
    save: () => d.vcpus.map((x) => ({
      online: x.online, block: x.block, pollPorts: [...x.pollPorts],
      vcount: (counterNow - x.state.sys(SR.CNTVOFF)).toString(),
      pollIn: x.pollDeadline === 0n ? "0" : (x.pollDeadline - counterNow).toString(),
      vcpuInfo: x.vcpuInfo ? { gfn: x.vcpuInfo.gfn.toString(), offset: x.vcpuInfo.offset } : null,
      runstateVa: x.runstateVa === null ? null : x.runstateVa.toString(),
      regs: saveRegisters(x.state),
    })),
    check: (s) => {
      if (s.length > d.maxVcpus) fail(`${s.length} vCPUs do not fit this domain (max ${d.maxVcpus})`);
      if (d.vcpus.some((x) => x.online)) fail("the domain has already run");
      s.forEach((x, i) => {
        const pe = guestPstateError(BigInt(x.regs.pstate));
        if (pe) fail(`vCPU ${i}: ${pe}`);
        if (x.vcpuInfo && x.vcpuInfo.offset > 4096 - vcpu_info.size) fail(`vCPU ${i}: vcpu_info offset out of range`);
        if (x.vcpuInfo && !isRam(BigInt(x.vcpuInfo.gfn))) fail(`vCPU ${i}: vcpu_info gfn ${x.vcpuInfo.gfn} is not the domain's RAM`);
      });
    },
    load: (s) => {
      d.createVcpus(s.length);
      s.forEach((x, i) => {
        const vc = d.vcpus[i];
        const st = vc.state;
        loadRegisters(st, x.regs);
        st.setSys(SR.VTCR, VTCR_VALUE);
        st.setSys(SR.CNTVOFF, counterNow - BigInt(x.vcount)); // the guest's counter carries on where it stopped
        st.flushTlb();
        vc.online = x.online;
        vc.block = x.block;
        vc.pollPorts = [...x.pollPorts];
        vc.pollDeadline = x.pollIn === "0" ? 0n : counterNow + BigInt(x.pollIn);
        if (x.vcpuInfo) {
          const frame = d.pinPage(BigInt(x.vcpuInfo.gfn));
          if (frame < 0) throw new ContextError(`vCPU ${i}: vcpu_info gfn ${x.vcpuInfo.gfn} is not the domain's RAM`);
          vc.vcpuInfo = { gfn: BigInt(x.vcpuInfo.gfn), offset: x.vcpuInfo.offset, frame };
        }
        vc.runstateVa = x.runstateVa === null ? null : BigInt(x.runstateVa);
        vc.runstate = x.online ? (x.block === "none" ? RUNSTATE.runnable : RUNSTATE.blocked) : RUNSTATE.offline;
      });
    },
  };

  const vgic: Snapshottable<SavedVgic> = {
    id: "vgic", version: 1, schema: VgicSection, present: () => true,
    save: () => d.vgic.saveState(),
    check: (s) => { const e = d.vgic.checkState(s, nrVcpus); if (e) fail(e); },
    load: (s) => d.vgic.loadState(s),
  };

  const evtchn: Snapshottable<SavedEventChannels> = {
    id: "evtchn", version: 1, schema: EvtchnSection, present: () => true,
    save: () => d.evtchn.saveState(),
    check: (s) => {
      const e = d.evtchn.checkState(s, nrVcpus);
      if (e) fail(e);
      for (const f of s.fifo) if (f && !isRam(BigInt(f.controlGfn))) fail(`a FIFO control block at gfn ${f.controlGfn} is not in the domain's RAM`);
      for (const g of s.arrayGfns) if (!isRam(BigInt(g))) fail(`a FIFO event array page at gfn ${g} is not in the domain's RAM`);
    },
    load: (s) => d.evtchn.loadState(s),
  };

  const vpl011: Snapshottable<SavedVpl011> = {
    id: "vpl011", version: 1, schema: Vpl011Section, present: () => d.vpl011 !== null,
    save: () => d.vpl011!.saveState(),
    check: () => { /* the schema bounds every field */ },
    load: (s) => d.vpl011!.loadState(s),
  };

  return {
    list: [domain, gnttab, memory, vcpus, vgic, evtchn, vpl011] as Snapshottable<unknown>[],
    // facts one section's check needs of another (the parsed sections are all there: checkSections refuses a missing one)
    crossCheck(parsed) {
      nrVcpus = (parsed.get("vcpus") as SavedVcpu[]).length;
      grantFramesIn = (parsed.get("gnttab") as SavedGrantTable).frames.length;
    },
  };
}

// RAM gfns in order, as runs: marked in a bitmap over their span rather than
// sorted, because this runs while a migrating guest is paused; a guest that
// scattered its RAM far apart gets the sort instead. Foreign and grant
// mappings belong to the mapper's session and are not carried.
// The memory section walks every p2m entry (milliseconds for a few hundred
// MiB); Remus asks for the context many times a second, and what is mapped
// where seldom changes, so the last answer is kept per domain by the p2m's
// generation.
const memoryKept = new WeakMap<Domain, { generation: number; saved: SavedMemory }>();
function saveMemory(d: Domain): SavedMemory {
  const kept = memoryKept.get(d);
  if (kept && kept.generation === d.p2m.generation) return kept.saved;
  const saved = walkMemory(d);
  memoryKept.set(d, { generation: d.p2m.generation, saved });
  return saved;
}
function walkMemory(d: Domain): SavedMemory {
  const ram: [number, number][] = [];
  const xenMaps: SavedMemory["xenMaps"] = [];
  let lo = Infinity, hi = -1, count = 0;
  for (const [gfn, e] of d.p2m.entries()) {
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
  }
  const run = (gfn: number): void => {
    const last = ram[ram.length - 1];
    if (last && last[0] + last[1] === gfn) last[1]++;
    else ram.push([gfn, 1]);
  };
  if (count === 0) { /* nothing populated */ } else if (hi - lo + 1 <= Math.max(1 << 20, 4 * count)) {
    const present = new Uint8Array(hi - lo + 1);
    for (const [gfn, e] of d.p2m.entries()) if (e.type === "ram") present[gfn - lo] = 1;
    for (let i = 0; i < present.length; i++) if (present[i]) run(lo + i);
  } else {
    const gfns = new Float64Array(count);
    let n = 0;
    for (const [gfn, e] of d.p2m.entries()) if (e.type === "ram") gfns[n++] = gfn;
    for (const gfn of gfns.sort()) run(gfn);
  }
  xenMaps.sort((a, b) => a.gfn - b.gfn);
  return { ram, xenMaps };
}

export function saveDomainContext(d: Domain, counterNow: bigint): DomainContext {
  return { format: CONTEXT_FORMAT, version: CONTEXT_VERSION, sections: saveSections(parts(d, counterNow).list) };
}

// Into a fresh domain whose RAM the tools have populated and filled. `raw`
// is untrusted: every section is parsed and checked before anything changes;
// a refusal is a ContextError naming the section and the field. A version 1
// context (before sections) is read through domain_context_v1.ts.
export function restoreDomainContext(d: Domain, raw: unknown, counterNow: bigint): void {
  const refusal = (what: string, issues: readonly v.BaseIssue<unknown>[]): ContextError =>
    new ContextError(`${what}: ${v.getDotPath(issues[0]) ?? "the document"} ${issues[0].message}`);
  const head = v.safeParse(ContextHead, raw);
  if (!head.success) throw refusal("not a domain context", head.issues);
  const version = head.output.version;
  let doc = raw;
  if (version === 1) {
    try { doc = upgradeContextV1(raw); } catch (e) {
      if (e instanceof UpgradeError) throw new ContextError(`a version 1 domain context cannot be read: ${e.message}`);
      throw e;
    }
  } else if (version !== CONTEXT_VERSION) {
    throw new ContextError(`domain context version ${version} is not supported (this xents reads versions 1 and ${CONTEXT_VERSION})`);
  }
  const env = v.safeParse(ContextEnvelope, doc);
  if (!env.success) throw refusal(`a version ${CONTEXT_VERSION} domain context is malformed`, env.issues);
  const sections = env.output.sections;
  const ps = parts(d, counterNow);
  let load: () => void;
  try {
    load = checkSections(ps.list, sections, ps.crossCheck);
  } catch (e) {
    if (e instanceof SnapshotError) throw new ContextError(e.message);
    throw e;
  }
  load();
}
