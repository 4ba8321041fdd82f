// domctl(arg): the control domain builds, runs, inspects and destroys
// domains (xen/include/public/domctl.h, interface version 0x15).

import { type Handler, type HypercallContext, neg } from "./context.js";
import { StructBuf } from "../public/layout.js";
import { XEN_E, DOMID_FIRST_RESERVED, DOMID_INVALID } from "../public/xen.js";
import {
  DOMCTL, XEN_DOMCTL_INTERFACE_VERSION, DOMCTL_U, xen_domctl, xen_domctl_createdomain, xen_arch_domainconfig,
  xen_domctl_getdomaininfo, xen_domctl_max_mem, xen_domctl_max_vcpus, xen_domctl_vcpucontext, xen_domctl_getvcpuinfo,
  xen_domctl_scheduler_op, xen_domctl_sched_credit2, xen_domctl_shadow_op, xen_domctl_settimeoffset, XEN_DOMINF,
  XEN_DOMINF_shutdownshift, XEN_SCHEDULER_CREDIT2, XEN_DOMCTL_SCHEDOP, XEN_DOMCTL_SHADOW_OP, xen_domctl_vuart_op,
  XEN_DOMCTL_VUART_OP_INIT, XEN_DOMCTL_VUART_TYPE_VPL011, xen_domctl_hvmcontext, xen_domctl_paging_mempool,
  xen_domctl_address_size, xen_domctl_cacheflush, xen_domctl_vcpuaffinity, xen_domctl_nodeaffinity, xenctl_bitmap,
  XEN_VCPUAFFINITY_HARD, XEN_VCPUAFFINITY_SOFT,
} from "../public/domctl.js";
import { readBitmap, writeBitmap } from "./xenctl_bitmap.js";
import { passthroughDomctl, testAssignDevice } from "./passthrough.js";
import { saveDomainContext, restoreDomainContext, ContextError } from "../domain_context.js";
import { vcpu_guest_context, vcpu_guest_core_regs, VGCF_online, XEN_DOMCTL_CONFIG_GIC, GUEST_MAX_VCPUS } from "../public/arch_arm.js";
import { SR } from "../../cpu/cpu.js";
import type { Domain } from "../domain.js";
import { DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES } from "../grant_table.js";
import { OutOfFrames } from "../frames.js";
import { Vpl011 } from "../vpl011.js";
import { GUEST_VPL011_SPI } from "../public/arch_arm.js";


export const domctl: Handler = (c, a) => {
  if (!c.d.privileged) return neg(XEN_E.EPERM);
  const va = a[0];
  const op = c.g.readStruct(va, xen_domctl);
  if (!op) return neg(XEN_E.EFAULT);
  if (op.num("interface_version") !== XEN_DOMCTL_INTERFACE_VERSION) return neg(XEN_E.EACCES);
  const u = op.bytes.subarray(DOMCTL_U);
  const uva = va + BigInt(DOMCTL_U);
  const domid = op.num("domain");
  const cmd = op.num("cmd");
  if (cmd === DOMCTL.createdomain) return createDomain(c, op, va);
  if (cmd === DOMCTL.getdomaininfo) return getDomainInfo(c, op, va);
  if (cmd === DOMCTL.test_assign_device && domid === DOMID_INVALID) return testAssignDevice(c, u);
  const t = c.hv.domains.get(domid);
  if (!t) return neg(XEN_E.ESRCH);
  const pt = passthroughDomctl(c, t, cmd, u);
  if (pt !== null) return pt;
  const put = <F extends string>(s: StructBuf<F>): bigint => (c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT));
  switch (cmd) {
    case DOMCTL.destroydomain:
      if (t === c.d) return neg(XEN_E.EINVAL);
      return c.hv.destroy(t) ? 0n : neg(XEN_E.EIO); // the domain is gone either way; EIO says the hypervisor logged a bug
    case DOMCTL.get_paging_mempool_size: {
      const s = new StructBuf(xen_domctl_paging_mempool, u);
      s.set("size", BigInt(t.p2m.poolPages()) << 12n);
      return put(s);
    }
    case DOMCTL.set_paging_mempool_size: {
      const size = new StructBuf(xen_domctl_paging_mempool, u).get("size");
      if (size & 0xFFFn || size >> 12n > 0xFFFFFFFFn) return neg(XEN_E.EINVAL);
      return BigInt(t.p2m.setPoolPages(Number(size >> 12n)));
    }
    // Guests are AArch64 only: the core has no AArch32 EL1, as a CPU without
    // it (Xen answers EINVAL for 32 there too)
    case DOMCTL.set_address_size: return new StructBuf(xen_domctl_address_size, u).num("size") === 64 ? 0n : neg(XEN_E.EINVAL);
    // The emulated machine has no caches to clean; the range is checked as Xen does (at most 2^18 pages, no wrap)
    case DOMCTL.cacheflush: {
      const f = new StructBuf(xen_domctl_cacheflush, u);
      const start = f.get("start_pfn"), n = f.get("nr_pfns");
      return n > 1n << 18n || start + n > 0xFFFFFFFFFFFFFFFFn ? neg(XEN_E.EINVAL) : 0n;
    }
    case DOMCTL.setvcpuaffinity: case DOMCTL.getvcpuaffinity: return vcpuAffinity(c, t, cmd, new StructBuf(xen_domctl_vcpuaffinity, u));
    // One node (0) exists, so a map that has it is the full map: Xen's "reset to automatic" (domain_set_node_affinity)
    case DOMCTL.setnodeaffinity: {
      const bits = readBitmap(c, new StructBuf(xenctl_bitmap, new StructBuf(xen_domctl_nodeaffinity, u).sub("nodemap")), 1);
      if (bits === null) return neg(XEN_E.EFAULT);
      return bits & 1 ? 0n : neg(XEN_E.EINVAL);
    }
    case DOMCTL.getnodeaffinity:
      return writeBitmap(c, new StructBuf(xenctl_bitmap, new StructBuf(xen_domctl_nodeaffinity, u).sub("nodemap")), 1) ? 0n : neg(XEN_E.EFAULT);
    case DOMCTL.pausedomain:
      if (t === c.d) return neg(XEN_E.EINVAL);
      c.hv.pause(t);
      return 0n;
    case DOMCTL.unpausedomain:
      if (t === c.d) return neg(XEN_E.EINVAL);
      c.hv.unpause(t);
      return 0n;
    case DOMCTL.max_mem: {
      const s = new StructBuf(xen_domctl_max_mem, u);
      t.maxPages = s.get("max_memkb") / 4n;
      return 0n;
    }
    case DOMCTL.max_vcpus: {
      const n = new StructBuf(xen_domctl_max_vcpus, u).num("max");
      if (n < 1 || n > Math.min(t.maxVcpus, GUEST_MAX_VCPUS)) return neg(XEN_E.EINVAL);
      if (n < t.vcpus.length) return neg(XEN_E.EINVAL);
      t.createVcpus(n);
      return 0n;
    }
    case DOMCTL.setvcpucontext: case DOMCTL.getvcpucontext: {
      const s = new StructBuf(xen_domctl_vcpucontext, u);
      const v = t.vcpus[s.num("vcpu")];
      if (!v) return neg(XEN_E.EINVAL);
      const ctxVa = s.get("ctxt");
      if (cmd === DOMCTL.getvcpucontext) {
        const ctx = new StructBuf(vcpu_guest_context);
        const regs = new StructBuf(vcpu_guest_core_regs);
        const st = v.state;
        const dv = new DataView(regs.bytes.buffer);
        for (let i = 0; i < 31; i++) dv.setBigUint64(i * 8, st.x(i), true);
        regs.set("pc64", st.pc).set("cpsr", st.pstate).set("sp_el0", st.sys(SR.SP_EL0)).set("sp_el1", st.sys(SR.SP_EL1))
          .set("elr_el1", st.sys(SR.ELR)).set("spsr_el1", st.sys(SR.SPSR));
        ctx.sub("user_regs").set(regs.bytes);
        ctx.set("flags", v.online ? VGCF_online : 0).set("sctlr", st.sys(SR.SCTLR)).set("ttbcr", st.sys(SR.TCR))
          .set("ttbr0", st.sys(SR.TTBR0)).set("ttbr1", st.sys(SR.TTBR1));
        return c.g.write(ctxVa, ctx.bytes) ? 0n : neg(XEN_E.EFAULT);
      }
      if (!t.paused()) return neg(XEN_E.EBUSY);
      const ctx = c.g.readStruct(ctxVa, vcpu_guest_context);
      if (!ctx) return neg(XEN_E.EFAULT);
      const regs = new StructBuf(vcpu_guest_core_regs, ctx.sub("user_regs"));
      const cpsr = regs.get("cpsr");
      const mode = cpsr & 0x1Fn;
      if (mode !== 0n && mode !== 4n && mode !== 5n) return neg(XEN_E.EINVAL); // AArch64 EL0t/EL1t/EL1h only
      const st = v.state;
      const dv = new DataView(regs.bytes.buffer);
      for (let i = 0; i < 31; i++) st.setX(i, dv.getBigUint64(i * 8, true));
      st.pc = regs.get("pc64");
      st.pstate = cpsr;
      st.setSys(SR.SP_EL0, regs.get("sp_el0"));
      st.setSys(SR.SP_EL1, regs.get("sp_el1"));
      st.setSys(SR.ELR, regs.get("elr_el1"));
      st.setSys(SR.SPSR, regs.get("spsr_el1"));
      st.setSys(SR.SCTLR, ctx.get("sctlr"));
      st.setSys(SR.TCR, ctx.get("ttbcr"));
      st.setSys(SR.TTBR0, ctx.get("ttbr0"));
      st.setSys(SR.TTBR1, ctx.get("ttbr1"));
      st.flushTlb();
      v.online = (ctx.num("flags") & VGCF_online) !== 0;
      return 0n;
    }
    case DOMCTL.getvcpuinfo: {
      const s = new StructBuf(xen_domctl_getvcpuinfo, u);
      const v = t.vcpus[s.num("vcpu")];
      if (!v) return neg(XEN_E.ESRCH);
      s.set("online", v.online ? 1 : 0).set("blocked", v.blocked() ? 1 : 0).set("running", t.runnable(v) ? 1 : 0)
        .set("cpu_time", v.cpuTimeNs).set("cpu", 0);
      return put(s);
    }
    case DOMCTL.scheduler_op: {
      const s = new StructBuf(xen_domctl_scheduler_op, u);
      if (s.num("sched_id") !== XEN_SCHEDULER_CREDIT2) return neg(XEN_E.EINVAL);
      const p = new StructBuf(xen_domctl_sched_credit2, s.sub("u"));
      if (s.num("cmd") === XEN_DOMCTL_SCHEDOP.putinfo) {
        const w = p.num("weight"), cap = p.num("cap");
        if (w > 0) { if (w > 65535) return neg(XEN_E.EINVAL); t.weight = w; }
        if (cap > 100 * t.vcpus.length) return neg(XEN_E.EINVAL);
        t.cap = cap;
        return 0n;
      }
      if (s.num("cmd") !== XEN_DOMCTL_SCHEDOP.getinfo) return neg(XEN_E.EINVAL);
      p.set("weight", t.weight).set("cap", t.cap);
      s.sub("u").set(p.bytes);
      return put(s);
    }
    case DOMCTL.shadow_op: return shadowOp(c, t, new StructBuf(xen_domctl_shadow_op, u), uva);
    case DOMCTL.gethvmcontext: case DOMCTL.sethvmcontext: return hvmContext(c, t, cmd === DOMCTL.sethvmcontext, new StructBuf(xen_domctl_hvmcontext, u), put);
    case DOMCTL.settimeoffset:
      t.timeOffsetSeconds = new StructBuf(xen_domctl_settimeoffset, u).get("time_offset_seconds");
      return 0n;
    case DOMCTL.setdomainhandle:
      t.handle = u.slice(0, 16);
      return 0n;
    case DOMCTL.resumedomain:
      if (t.shutdown === null) return neg(XEN_E.EINVAL);
      c.hv.resume(t);
      return 0n;
    case DOMCTL.vuart_op: {
      const s = new StructBuf(xen_domctl_vuart_op, u);
      if (s.num("cmd") !== XEN_DOMCTL_VUART_OP_INIT || s.num("type") !== XEN_DOMCTL_VUART_TYPE_VPL011) return neg(XEN_E.EINVAL);
      if (t.vpl011) return neg(XEN_E.EEXIST);
      const vp = new Vpl011((b) => c.hv.events.onVuartOutput?.(t, b), (lvl) => t.vgic.setLevel(0, GUEST_VPL011_SPI, lvl));
      t.vpl011 = vp;
      t.mmio.add(vp);
      s.set("evtchn", 0);
      return put(s);
    }
    default: return neg(XEN_E.ENOSYS);
  }
};

// getdomaininfo answers for the first domain whose id is at least the one
// asked for, and says which in the op's domain field (xen/common/domctl.c):
// xenconsoled and libxc walk the domains this way, so a gap in the ids
// must not end the walk. A reserved id is EINVAL; nothing at or after it,
// ESRCH.
function getDomainInfo(c: HypercallContext, op: StructBuf<keyof typeof xen_domctl.fields>, va: bigint): bigint {
  const want = op.num("domain");
  if (!c.hv.domains.has(want) && want >= DOMID_FIRST_RESERVED) return neg(XEN_E.EINVAL);
  let id = -1;
  for (const k of c.hv.domains.keys()) if (k >= want && (id < 0 || k < id)) id = k;
  if (id < 0) return neg(XEN_E.ESRCH);
  op.set("domain", id);
  op.bytes.set(domainInfo(c, c.hv.domains.get(id)!).bytes, DOMCTL_U);
  return c.g.write(va, op.bytes) ? 0n : neg(XEN_E.EFAULT);
}

function createDomain(c: HypercallContext, op: StructBuf<string>, va: bigint): bigint {
  const cfg = new StructBuf(xen_domctl_createdomain, op.bytes.subarray(DOMCTL_U));
  let id = op.num("domain");
  if (id === 0 || id >= DOMID_FIRST_RESERVED) id = c.hv.freeDomid();
  else if (c.hv.domains.has(id)) return neg(XEN_E.EEXIST);
  if (id < 0) return neg(XEN_E.ENOMEM);
  const maxVcpus = cfg.num("max_vcpus");
  if (maxVcpus < 1 || maxVcpus > GUEST_MAX_VCPUS) return neg(XEN_E.EINVAL);
  const arch = new StructBuf(xen_arch_domainconfig, cfg.sub("arch"));
  const gic = arch.num("gic_version");
  if (gic !== XEN_DOMCTL_CONFIG_GIC.NATIVE && gic !== XEN_DOMCTL_CONFIG_GIC.V3) return neg(XEN_E.EOPNOTSUPP);
  const nrSpis = Math.min(Math.max(arch.num("nr_spis"), 32), 960);
  const grantFrames = cfg.num("max_grant_frames"), maptrackFrames = cfg.num("max_maptrack_frames");
  let d: Domain;
  try {
    d = c.hv.createDomain({
      id, privileged: false, maxVcpus, maxEvtchnPort: cfg.num("max_evtchn_port") || 1023,
      maxGrantFrames: grantFrames > 0 ? grantFrames : DEFAULT_MAX_GRANT_FRAMES,
      maxMaptrackFrames: maptrackFrames >= 0 ? maptrackFrames : DEFAULT_MAX_MAPTRACK_FRAMES,
      nrSpis, handle: cfg.sub("handle").slice(),
    });
  } catch (e) {
    if (e instanceof OutOfFrames) return neg(XEN_E.ENOMEM);
    throw e;
  }
  arch.set("gic_version", XEN_DOMCTL_CONFIG_GIC.V3).set("nr_spis", nrSpis);
  cfg.sub("arch").set(arch.bytes);
  op.set("domain", d.id);
  op.bytes.subarray(DOMCTL_U).set(cfg.bytes);
  return c.g.write(va, op.bytes) ? 0n : neg(XEN_E.EFAULT);
}

export function domainInfo(c: HypercallContext, t: Domain): StructBuf<keyof typeof xen_domctl_getdomaininfo.fields> {
  const s = new StructBuf(xen_domctl_getdomaininfo);
  let flags = XEN_DOMINF.hvm_guest | XEN_DOMINF.hap;
  if (t.dying) flags |= XEN_DOMINF.dying;
  if (t.shutdown) flags |= XEN_DOMINF.shutdown | ((t.shutdown.reason & 0xFF) << XEN_DOMINF_shutdownshift);
  if (t.paused()) flags |= XEN_DOMINF.paused;
  const online = t.vcpus.filter((v) => v.online);
  if (online.length && online.every((v) => v.blocked())) flags |= XEN_DOMINF.blocked;
  else if (!t.paused() && t.shutdown === null && online.length) flags |= XEN_DOMINF.running;
  const cpu = t.vcpus.reduce((s2, v) => s2 + v.cpuTimeNs, 0n);
  s.set("domain", t.id).set("flags", flags >>> 0).set("tot_pages", t.totPages()).set("max_pages", t.maxPages)
    .set("shared_info_frame", c.hv.frames.mfnOf(t.sharedInfoFrame)).set("cpu_time", cpu)
    .set("nr_online_vcpus", online.length).set("max_vcpu_id", Math.max(0, t.vcpus.length - 1))
    .set("gpaddr_bits", 40);
  s.sub("handle").set(t.handle.subarray(0, 16));
  const arch = new StructBuf(xen_arch_domainconfig).set("gic_version", XEN_DOMCTL_CONFIG_GIC.V3).set("nr_spis", t.vgic.nrSpis);
  s.sub("arch_config").set(arch.bytes);
  return s;
}

// Log-dirty tracking for live migration: enable, disable, and read (and
// optionally clear) the dirty bitmap into the caller's buffer.
function shadowOp(c: HypercallContext, t: Domain, s: StructBuf<keyof typeof xen_domctl_shadow_op.fields>, uva: bigint): bigint {
  switch (s.num("op")) {
    case XEN_DOMCTL_SHADOW_OP.OFF: t.p2m.setLogDirty(false); return 0n;
    case XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY:
      // The SMMU walks the same stage-2 tables: write-protecting them for
      // dirty tracking would turn the devices' DMA writes into faults (Xen
      // refuses it too while the IOMMU shares the P2M).
      if (c.hv.hasAssignedDevices(t)) {
        c.hv.log(`d${t.id}: log-dirty refused: it has devices assigned, whose DMA writes cannot be tracked`);
        return neg(XEN_E.EINVAL);
      }
      t.p2m.setLogDirty(true);
      return 0n;
    case XEN_DOMCTL_SHADOW_OP.CLEAN: case XEN_DOMCTL_SHADOW_OP.PEEK: {
      if (!t.p2m.logDirty) return neg(XEN_E.EINVAL);
      const pages = Number(s.get("pages"));
      const bitmap = new Uint8Array(Math.ceil(pages / 8));
      const logged = s.num("op") === XEN_DOMCTL_SHADOW_OP.CLEAN ? t.p2m.cleanDirty() : [...t.p2m.dirty];
      // pages others hold writable grant mappings of may have been written
      // through them since, unseen, and so may the pages the hypervisor
      // pins (FIFO control blocks and event arrays, vcpu_info: events
      // raised while the guest does not run): they count as dirty at every
      // look (a migration's last copy carried a FIFO queue's links as they
      // were before its last events: the port stayed linked, never
      // delivered again, and the guest's network stopped)
      const dirty = [...new Set([...logged, ...t.gnttab.writableGfns(), ...t.pinnedGfns()])];
      for (const gfn of dirty) {
        const i = gfn - 0x40000; // bitmap index 0 is the first RAM page (GUEST_RAM0_BASE)
        if (i >= 0 && i < pages) bitmap[i >> 3] |= 1 << (i & 7);
      }
      if (bitmap.length && !c.g.write(s.get("dirty_bitmap"), bitmap)) return neg(XEN_E.EFAULT);
      const stats = new DataView(s.sub("stats").buffer, s.sub("stats").byteOffset, 8);
      stats.setUint32(0, t.logDirtyFaults, true);
      stats.setUint32(4, dirty.length, true);
      if (s.num("op") === XEN_DOMCTL_SHADOW_OP.CLEAN) t.logDirtyFaults = 0;
      return c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT);
    }
    default: return neg(XEN_E.EINVAL);
  }
}

// The domain's hypervisor-held state (domain_context.ts) for save/restore.
// get: with a null buffer, the size needed; set: into a fresh, paused
// domain whose memory is in place.
function hvmContext(c: HypercallContext, t: Domain, set: boolean, s: StructBuf<"size" | "buffer">, put: (s: StructBuf<"size" | "buffer">) => bigint): bigint {
  if (t === c.d || !t.paused()) return neg(XEN_E.EBUSY);
  const buf = s.get("buffer");
  const size = s.num("size");
  if (!set) {
    const bytes = Buffer.from(JSON.stringify(saveDomainContext(t, t.svc.counterNow())));
    s.set("size", bytes.length);
    if (buf === 0n) return put(s);
    if (size < bytes.length) return neg(XEN_E.ENOSPC);
    if (!c.g.write(buf, bytes)) return neg(XEN_E.EFAULT);
    return put(s);
  }
  if (size > 64 << 20) return neg(XEN_E.E2BIG);
  const bytes = c.g.read(buf, size);
  if (!bytes) return neg(XEN_E.EFAULT);
  let ctx: unknown;
  try { ctx = JSON.parse(Buffer.from(bytes).toString("utf8")); } catch {
    c.hv.log(`d${t.id}: sethvmcontext refused: the context is not JSON`);
    return neg(XEN_E.EINVAL);
  }
  try {
    restoreDomainContext(t, ctx, t.svc.counterNow());
  } catch (e) {
    if (e instanceof ContextError) {
      c.hv.log(`d${t.id}: sethvmcontext refused: ${e.message}`);
      return neg(XEN_E.EINVAL);
    }
    throw e;
  }
  return 0n;
}

// A vCPU's hard and soft CPU affinity (Xen's vcpu_affinity_domctl) on a
// one-CPU host: hard affinity must include CPU 0 (a map disjoint from the
// pool is EINVAL) and so stays {0}; soft affinity is kept as given. A set
// reports back what the scheduler will use: hard ∩ online, soft ∩ online
// ∩ hard.
function vcpuAffinity(c: HypercallContext, t: Domain, cmd: number, a: StructBuf<keyof typeof xen_domctl_vcpuaffinity.fields>): bigint {
  const n = a.num("vcpu"), flags = a.num("flags");
  if (n >= t.maxVcpus) return neg(XEN_E.EINVAL);
  const v = t.vcpus[n];
  if (!v) return neg(XEN_E.ESRCH);
  const hard = new StructBuf(xenctl_bitmap, a.sub("cpumap_hard")), soft = new StructBuf(xenctl_bitmap, a.sub("cpumap_soft"));
  const hardAsked = (flags & XEN_VCPUAFFINITY_HARD) !== 0, softAsked = (flags & XEN_VCPUAFFINITY_SOFT) !== 0;
  if ((!hardAsked && !softAsked) || (hardAsked && hard.get("bitmap") === 0n) || (softAsked && soft.get("bitmap") === 0n)) return neg(XEN_E.EINVAL);
  if (cmd === DOMCTL.setvcpuaffinity) {
    if (hardAsked) {
      const bits = readBitmap(c, hard, 1);
      if (bits === null) return neg(XEN_E.EFAULT);
      if (!(bits & 1)) return neg(XEN_E.EINVAL);
    }
    if (softAsked) {
      const bits = readBitmap(c, soft, 1);
      if (bits === null) return neg(XEN_E.EFAULT);
      v.softAffinity = bits;
    }
  }
  if (hardAsked && !writeBitmap(c, hard, 1)) return neg(XEN_E.EFAULT);
  if (softAsked && !writeBitmap(c, soft, v.softAffinity)) return neg(XEN_E.EFAULT);
  return 0n;
}
