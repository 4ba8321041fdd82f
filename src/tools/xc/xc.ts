// The control library (the part of libxc/libxenctrl the tools need): every
// call marshals Xen's own structs into a bounce buffer in the control
// domain's memory and issues the hypercall, exactly as a Linux dom0 does
// through privcmd.

import type { Privcmd } from "./privcmd.js";
import { PhysMem, RangeAllocator } from "./memory.js";
import { StructBuf, Layout } from "../../xen/public/layout.js";
import {
  HYPERVISOR, XEN_E, XENMEM, XENMAPSPACE, DOMID_SELF, xen_memory_reservation, xen_add_to_physmap,
  xen_add_to_physmap_batch, xen_remove_from_physmap, HVMOP, xen_hvm_param, VCPUOP, vcpu_register_vcpu_info,
} from "../../xen/public/xen.js";
import {
  DOMCTL, SYSCTL, XEN_DOMCTL_INTERFACE_VERSION, XEN_SYSCTL_INTERFACE_VERSION, xen_domctl, DOMCTL_U, xen_sysctl,
  SYSCTL_U, xen_domctl_createdomain, xen_domctl_paging_mempool, xen_arch_domainconfig, xen_domctl_getdomaininfo, xen_domctl_max_mem,
  xen_domctl_max_vcpus, xen_domctl_vcpucontext, xen_sysctl_physinfo, xen_sysctl_getdomaininfolist, XEN_DOMCTL_CDF,
  XEN_DOMINF, XEN_DOMINF_shutdownshift, xen_domctl_getvcpuinfo, xen_domctl_scheduler_op, xen_domctl_sched_credit2,
  XEN_SCHEDULER_CREDIT2, XEN_DOMCTL_SCHEDOP, xen_domctl_vuart_op, XEN_DOMCTL_VUART_OP_INIT, XEN_DOMCTL_VUART_TYPE_VPL011,
  xen_sysctl_readconsole, xen_domctl_shadow_op, xen_domctl_hvmcontext, XEN_DOMCTL_SHADOW_OP,
} from "../../xen/public/domctl.js";
import { vcpu_guest_context, vcpu_guest_core_regs, VGCF_online, XEN_DOMCTL_CONFIG_GIC } from "../../xen/public/arch_arm.js";
import { EVTCHNOP, EVTCHNSTAT, evtchn_alloc_unbound, evtchn_status, evtchn_reset } from "../../xen/public/event_channel.js";

export class XenError extends Error {
  constructor(readonly op: string, readonly errno: number) {
    super(`${op} failed: ${errnoName(errno)} (-${errno})`);
  }
}
export function errnoName(e: number): string {
  for (const [k, v] of Object.entries(XEN_E)) if (v === e) return k;
  return `errno ${e}`;
}

export interface DomainInfo {
  domid: number;
  dying: boolean; shutdown: boolean; paused: boolean; blocked: boolean; running: boolean;
  shutdownReason: number;
  totPages: bigint; maxPages: bigint;
  cpuTimeNs: bigint;
  onlineVcpus: number; maxVcpuId: number;
  handle: Uint8Array;
}

export interface VcpuContext {
  x: bigint[]; pc: bigint; cpsr: bigint; spEl0: bigint; spEl1: bigint; elrEl1: bigint; spsrEl1: bigint;
  sctlr: bigint; tcr: bigint; ttbr0: bigint; ttbr1: bigint; online: boolean;
}

const BOUNCE_BYTES = 4n << 20n;

export interface EvtchnStatus { port: number; status: number; vcpu: number; u0: number; u1: number; }

export class Xc {
  readonly mem: PhysMem;
  readonly bounce: RangeAllocator;
  readonly window: RangeAllocator;

  constructor(readonly pc: Privcmd, reservedPages = 2) {
    this.mem = new PhysMem(pc.memory);
    // the first pages of RAM belong to the kernel (shared_info, vcpu_info)
    const start = pc.ramBase + BigInt(reservedPages * 4096);
    this.bounce = new RangeAllocator(start, BigInt(Math.min(pc.ramBytes - reservedPages * 4096, Number(BOUNCE_BYTES))));
    this.window = new RangeAllocator(pc.windowBase, BigInt(pc.windowPages) * 4096n);
  }

  call(nr: number, args: bigint[]): bigint { return BigInt.asIntN(64, this.pc.hypercall(nr, args)); }

  // Run `f` with `data` in a bounce buffer; the buffer's final contents come back.
  bounced(data: Uint8Array, f: (ipa: bigint) => bigint): { rc: bigint; out: Uint8Array } {
    const len = BigInt(Math.max(8, data.length));
    const ipa = this.bounce.alloc(len, 8n);
    try {
      this.mem.write(ipa, data);
      const rc = f(ipa);
      return { rc, out: this.mem.read(ipa, data.length) };
    } finally {
      this.bounce.release(ipa, len);
    }
  }

  // A struct argument: in, hypercall, out.
  structCall<F extends string>(what: string, nr: number, s: StructBuf<F>, pre: bigint[] = [], post: bigint[] = []): StructBuf<F> {
    const { rc, out } = this.bounced(s.bytes, (ipa) => this.call(nr, [...pre, ipa, ...post]));
    if (rc < 0n) throw new XenError(what, Number(-rc));
    return new StructBuf(s.layout, out);
  }

  // ---- domctl / sysctl
  domctl(what: string, cmd: number, domid: number, u?: Uint8Array): { domid: number; u: Uint8Array } {
    const op = new StructBuf(xen_domctl).set("cmd", cmd).set("interface_version", XEN_DOMCTL_INTERFACE_VERSION).set("domain", domid);
    if (u) op.bytes.set(u.subarray(0, 128), DOMCTL_U);
    const r = this.structCall(what, HYPERVISOR.domctl, op);
    return { domid: r.num("domain"), u: r.bytes.slice(DOMCTL_U) };
  }
  sysctl(what: string, cmd: number, u?: Uint8Array): Uint8Array {
    const op = new StructBuf(xen_sysctl).set("cmd", cmd).set("interface_version", XEN_SYSCTL_INTERFACE_VERSION);
    if (u) op.bytes.set(u.subarray(0, 128), SYSCTL_U);
    return this.structCall(what, HYPERVISOR.sysctl, op).bytes.slice(SYSCTL_U);
  }

  createDomain(o: { maxVcpus: number; maxEvtchnPort?: number; maxGrantFrames?: number; nrSpis?: number; handle?: Uint8Array; domid?: number }): number {
    const arch = new StructBuf(xen_arch_domainconfig).set("gic_version", XEN_DOMCTL_CONFIG_GIC.V3).set("nr_spis", o.nrSpis ?? 32);
    const c = new StructBuf(xen_domctl_createdomain)
      .set("flags", XEN_DOMCTL_CDF.hvm | XEN_DOMCTL_CDF.hap).set("max_vcpus", o.maxVcpus)
      .set("max_evtchn_port", o.maxEvtchnPort ?? 1023).set("max_grant_frames", o.maxGrantFrames ?? 64)
      .set("max_maptrack_frames", 1024);
    c.sub("arch").set(arch.bytes);
    if (o.handle) c.sub("handle").set(o.handle.subarray(0, 16));
    return this.domctl("createdomain", DOMCTL.createdomain, o.domid ?? 0, c.bytes).domid;
  }
  destroyDomain(domid: number): void { this.domctl("destroydomain", DOMCTL.destroydomain, domid); }
  // The pool the hypervisor takes the domain's stage-2 tables from.
  setPagingMempool(domid: number, bytes: bigint): void {
    this.domctl("set_paging_mempool_size", DOMCTL.set_paging_mempool_size, domid, new StructBuf(xen_domctl_paging_mempool).set("size", bytes).bytes);
  }
  pagingMempool(domid: number): bigint {
    return new StructBuf(xen_domctl_paging_mempool, this.domctl("get_paging_mempool_size", DOMCTL.get_paging_mempool_size, domid).u).get("size");
  }
  pause(domid: number): void { this.domctl("pausedomain", DOMCTL.pausedomain, domid); }
  // A domain that suspended itself runs on from its suspend hypercall, whose
  // result stays 0: a guest reads that as a resume in a new domain and
  // reconnects its devices (libxc's xc_domain_resume without `fast`).
  resumeDomain(domid: number): void { this.domctl("resumedomain", DOMCTL.resumedomain, domid); }
  unpause(domid: number): void { this.domctl("unpausedomain", DOMCTL.unpausedomain, domid); }
  maxMem(domid: number, kib: bigint): void {
    this.domctl("max_mem", DOMCTL.max_mem, domid, new StructBuf(xen_domctl_max_mem).set("max_memkb", kib).bytes);
  }
  maxVcpus(domid: number, n: number): void {
    this.domctl("max_vcpus", DOMCTL.max_vcpus, domid, new StructBuf(xen_domctl_max_vcpus).set("max", n).bytes);
  }

  // Xen answers for the first domain at or after `domid`; libxc's callers
  // check the id they got, and so does this.
  domainInfo(domid: number): DomainInfo {
    const r = this.domctl("getdomaininfo", DOMCTL.getdomaininfo, domid);
    if (r.domid !== domid) throw new XenError("getdomaininfo", XEN_E.ESRCH);
    return parseDomainInfo(r.u);
  }
  listDomains(): DomainInfo[] {
    const max = 256;
    const size = xen_domctl_getdomaininfo.size;
    const buf = this.bounce.alloc(BigInt(max * size));
    try {
      const req = new StructBuf(xen_sysctl_getdomaininfolist).set("first_domain", 0).set("max_domains", max).set("buffer", buf);
      const out = new StructBuf(xen_sysctl_getdomaininfolist, this.sysctl("getdomaininfolist", SYSCTL.getdomaininfolist, req.bytes));
      const n = out.num("num_domains");
      const raw = this.mem.read(buf, n * size);
      return Array.from({ length: n }, (_, i) => parseDomainInfo(raw.subarray(i * size, (i + 1) * size)));
    } finally {
      this.bounce.release(buf, BigInt(max * size));
    }
  }
  physinfo(): { totalPages: bigint; freePages: bigint; nrCpus: number; cpuKhz: number } {
    const s = new StructBuf(xen_sysctl_physinfo, this.sysctl("physinfo", SYSCTL.physinfo));
    return { totalPages: s.get("total_pages"), freePages: s.get("free_pages"), nrCpus: s.num("nr_cpus"), cpuKhz: s.num("cpu_khz") };
  }
  readConsole(clear = false): string {
    const len = 1 << 16;
    const buf = this.bounce.alloc(BigInt(len));
    try {
      const req = new StructBuf(xen_sysctl_readconsole).set("clear", clear ? 1 : 0).set("buffer", buf).set("count", len);
      const out = new StructBuf(xen_sysctl_readconsole, this.sysctl("readconsole", SYSCTL.readconsole, req.bytes));
      return Buffer.from(this.mem.read(buf, out.num("count"))).toString("utf8");
    } finally {
      this.bounce.release(buf, BigInt(len));
    }
  }

  vcpuInfo(domid: number, vcpu: number): { online: boolean; blocked: boolean; running: boolean; cpuTimeNs: bigint } {
    const s = new StructBuf(xen_domctl_getvcpuinfo, this.domctl("getvcpuinfo", DOMCTL.getvcpuinfo, domid, new StructBuf(xen_domctl_getvcpuinfo).set("vcpu", vcpu).bytes).u);
    return { online: s.num("online") !== 0, blocked: s.num("blocked") !== 0, running: s.num("running") !== 0, cpuTimeNs: s.get("cpu_time") };
  }

  setVcpuContext(domid: number, vcpu: number, c: VcpuContext): void {
    const regs = new StructBuf(vcpu_guest_core_regs);
    const dv = new DataView(regs.bytes.buffer);
    c.x.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true));
    regs.set("pc64", c.pc).set("cpsr", c.cpsr).set("sp_el0", c.spEl0).set("sp_el1", c.spEl1).set("elr_el1", c.elrEl1).set("spsr_el1", c.spsrEl1);
    const ctx = new StructBuf(vcpu_guest_context).set("flags", c.online ? VGCF_online : 0).set("sctlr", c.sctlr)
      .set("ttbcr", c.tcr).set("ttbr0", c.ttbr0).set("ttbr1", c.ttbr1);
    ctx.sub("user_regs").set(regs.bytes);
    const { rc } = this.bounced(ctx.bytes, (ipa) => {
      const u = new StructBuf(xen_domctl_vcpucontext).set("vcpu", vcpu).set("ctxt", ipa);
      try { this.domctl("setvcpucontext", DOMCTL.setvcpucontext, domid, u.bytes); return 0n; } catch (e) {
        if (e instanceof XenError) return BigInt(-e.errno);
        throw e;
      }
    });
    if (rc < 0n) throw new XenError("setvcpucontext", Number(-rc));
  }

  schedCredit2(domid: number, set?: { weight?: number; cap?: number }): { weight: number; cap: number } {
    const p = new StructBuf(xen_domctl_sched_credit2).set("weight", set?.weight ?? 0).set("cap", set?.cap ?? 0);
    const s = new StructBuf(xen_domctl_scheduler_op).set("sched_id", XEN_SCHEDULER_CREDIT2)
      .set("cmd", set ? XEN_DOMCTL_SCHEDOP.putinfo : XEN_DOMCTL_SCHEDOP.getinfo);
    s.sub("u").set(p.bytes);
    const r = new StructBuf(xen_domctl_scheduler_op, this.domctl("scheduler_op", DOMCTL.scheduler_op, domid, s.bytes).u);
    const o = new StructBuf(xen_domctl_sched_credit2, r.sub("u"));
    return { weight: o.num("weight"), cap: o.num("cap") };
  }

  vuartInit(domid: number, gfn: bigint, consoleDomid: number): void {
    const s = new StructBuf(xen_domctl_vuart_op).set("cmd", XEN_DOMCTL_VUART_OP_INIT).set("type", XEN_DOMCTL_VUART_TYPE_VPL011)
      .set("gfn", gfn).set("console_domid", consoleDomid);
    this.domctl("vuart_op", DOMCTL.vuart_op, domid, s.bytes);
  }

  shadowOp(domid: number, op: number, pages = 0, bitmap?: bigint): { faults: number; dirty: number } {
    const s = new StructBuf(xen_domctl_shadow_op).set("op", op).set("pages", pages).set("dirty_bitmap", bitmap ?? 0n);
    const r = new StructBuf(xen_domctl_shadow_op, this.domctl("shadow_op", DOMCTL.shadow_op, domid, s.bytes).u);
    const st = r.sub("stats");
    const dv = new DataView(st.buffer, st.byteOffset, 8);
    return { faults: dv.getUint32(0, true), dirty: dv.getUint32(4, true) };
  }

  // Log-dirty: the RAM pages (bitmap bit i = gfn RAM base + i) written since
  // the last call; clears the log.
  dirtyBitmap(domid: number, pages: number): Uint8Array {
    const len = BigInt(Math.max(8, Math.ceil(pages / 8)));
    const buf = this.bounce.alloc(len, 8n);
    try {
      this.mem.fill(buf, Number(len), 0);
      this.shadowOp(domid, XEN_DOMCTL_SHADOW_OP.CLEAN, pages, buf);
      return this.mem.read(buf, Math.ceil(pages / 8));
    } finally {
      this.bounce.release(buf, len);
    }
  }

  // ---- memory_op
  private reservation(what: string, cmd: number, domid: number, gfns: bigint[], order = 0): number {
    const list = new Uint8Array(gfns.length * 8);
    const dv = new DataView(list.buffer);
    gfns.forEach((g, i) => dv.setBigUint64(i * 8, g, true));
    const { rc } = this.bounced(list, (lipa) => {
      const r = new StructBuf(xen_memory_reservation).set("extent_start", lipa).set("nr_extents", gfns.length)
        .set("extent_order", order).set("domid", domid);
      return this.bounced(r.bytes, (ripa) => this.call(HYPERVISOR.memory_op, [BigInt(cmd), ripa])).rc;
    });
    if (rc < 0n) throw new XenError(what, Number(-rc));
    return Number(rc);
  }
  populatePhysmap(domid: number, gfns: bigint[], order = 0): number {
    let done = 0;
    for (let i = 0; i < gfns.length; i += 4096) {
      const chunk = gfns.slice(i, i + 4096);
      const n = this.reservation("populate_physmap", XENMEM.populate_physmap, domid, chunk, order);
      done += n;
      if (n < chunk.length) break;
    }
    return done;
  }
  decreaseReservation(domid: number, gfns: bigint[]): number {
    return this.reservation("decrease_reservation", XENMEM.decrease_reservation, domid, gfns);
  }
  addToPhysmap(domid: number, space: number, idx: bigint, gpfn: bigint): void {
    const s = new StructBuf(xen_add_to_physmap).set("domid", domid).set("space", space).set("idx", idx).set("gpfn", gpfn);
    this.structCall("add_to_physmap", HYPERVISOR.memory_op, s, [BigInt(XENMEM.add_to_physmap)]);
  }
  removeFromPhysmap(domid: number, gpfn: bigint): void {
    const s = new StructBuf(xen_remove_from_physmap).set("domid", domid).set("gpfn", gpfn);
    this.structCall("remove_from_physmap", HYPERVISOR.memory_op, s, [BigInt(XENMEM.remove_from_physmap)]);
  }

  // Map `gfns` of domain `domid` into our own space (foreign mapping).
  mapForeign(domid: number, gfns: bigint[]): ForeignMapping {
    const base = this.window.alloc(BigInt(gfns.length) * 4096n);
    try { this.mapAt(domid, gfns, base); } catch (e) { new ForeignMapping(this, base, gfns.length).unmap(); throw e; }
    return new ForeignMapping(this, base, gfns.length);
  }
  // A window of `slots` pages that batch after batch of another domain's
  // pages is mapped into (ForeignWindow, below).
  foreignWindow(slots: number): ForeignWindow { return new ForeignWindow(this, slots); }

  // add_to_physmap_batch: gfns[i] of `domid` at our gpfn (base >> 12) + i,
  // replacing whatever was there. Throws at the first entry refused (the
  // entries before it are mapped).
  mapAt(domid: number, gfns: bigint[], base: bigint): void {
    const n = gfns.length;
    const idxs = new Uint8Array(n * 8), gpfns = new Uint8Array(n * 8), errs = new Uint8Array(n * 4);
    const di = new DataView(idxs.buffer), dg = new DataView(gpfns.buffer);
    gfns.forEach((g, i) => { di.setBigUint64(i * 8, g, true); dg.setBigUint64(i * 8, (base >> 12n) + BigInt(i), true); });
    const ia = this.bounce.alloc(BigInt(idxs.length)), ga = this.bounce.alloc(BigInt(gpfns.length)), ea = this.bounce.alloc(BigInt(errs.length));
    try {
      this.mem.write(ia, idxs); this.mem.write(ga, gpfns); this.mem.fill(ea, errs.length, 0);
      const b = new StructBuf(xen_add_to_physmap_batch).set("domid", DOMID_SELF).set("space", XENMAPSPACE.gmfn_foreign)
        .set("size", n).set("u", domid).set("idxs", ia).set("gpfns", ga).set("errs", ea);
      this.structCall("add_to_physmap_batch", HYPERVISOR.memory_op, b, [BigInt(XENMEM.add_to_physmap_batch)]);
      const e = new DataView(this.mem.read(ea, errs.length).buffer);
      const bad = Array.from({ length: n }, (_, i) => e.getInt32(i * 4, true)).findIndex((x) => x !== 0);
      if (bad >= 0) throw new XenError(`foreign map of d${domid} gfn 0x${gfns[bad].toString(16)}`, -e.getInt32(bad * 4, true));
    } finally {
      this.bounce.release(ia, BigInt(idxs.length)); this.bounce.release(ga, BigInt(gpfns.length)); this.bounce.release(ea, BigInt(errs.length));
    }
  }

  // ---- hvm params, event channels for another domain
  hvmSetParam(domid: number, index: number, value: bigint): void {
    const p = new StructBuf(xen_hvm_param).set("domid", domid).set("index", index).set("value", value);
    this.structCall("hvm set_param", HYPERVISOR.hvm_op, p, [BigInt(HVMOP.set_param)]);
  }
  hvmGetParam(domid: number, index: number): bigint {
    const p = new StructBuf(xen_hvm_param).set("domid", domid).set("index", index);
    return this.structCall("hvm get_param", HYPERVISOR.hvm_op, p, [BigInt(HVMOP.get_param)]).get("value");
  }
  evtchnAllocUnbound(domid: number, remoteDomid: number): number {
    const s = new StructBuf(evtchn_alloc_unbound).set("dom", domid).set("remote_dom", remoteDomid);
    return this.structCall("alloc_unbound", HYPERVISOR.event_channel_op, s, [BigInt(EVTCHNOP.alloc_unbound)]).num("port");
  }

  // Every event channel of the domain closed (its peers' ends left unbound
  // towards it) and its event ABI back to 2-level: EVTCHNOP_reset.
  evtchnReset(domid: number): void {
    this.structCall("evtchn reset", HYPERVISOR.event_channel_op, new StructBuf(evtchn_reset).set("dom", domid), [BigInt(EVTCHNOP.reset)]);
  }

  // The hypervisor's state of a paused domain (save/restore).
  // One call with a buffer that usually fits (the context is built anew on
  // each call, and the guest is paused meanwhile); asking for the size
  // first only when it does not.
  getHvmContext(domid: number, guess = 128 << 10): Uint8Array {
    const fetch = (size: number): Uint8Array => {
      const len = BigInt(size);
      const buf = this.bounce.alloc(len, 8n);
      try {
        const q = new StructBuf(xen_domctl_hvmcontext).set("size", size).set("buffer", buf);
        const got = new StructBuf(xen_domctl_hvmcontext, this.domctl("gethvmcontext", DOMCTL.gethvmcontext, domid, q.bytes).u).num("size");
        return this.mem.read(buf, got);
      } finally {
        this.bounce.release(buf, len);
      }
    };
    try { return fetch(guess); } catch (e) { if (!(e instanceof XenError) || e.errno !== XEN_E.ENOSPC) throw e; }
    return fetch(new StructBuf(xen_domctl_hvmcontext, this.domctl("gethvmcontext", DOMCTL.gethvmcontext, domid, new StructBuf(xen_domctl_hvmcontext).bytes).u).num("size"));
  }
  setHvmContext(domid: number, ctx: Uint8Array): void {
    const len = BigInt(ctx.length);
    const buf = this.bounce.alloc(len, 8n);
    try {
      this.mem.write(buf, ctx);
      this.domctl("sethvmcontext", DOMCTL.sethvmcontext, domid, new StructBuf(xen_domctl_hvmcontext).set("size", ctx.length).set("buffer", buf).bytes);
    } finally {
      this.bounce.release(buf, len);
    }
  }

  // EVTCHNOP_status for one port; null past the domain's last valid port.
  evtchnStatus(domid: number, port: number): EvtchnStatus | null {
    try {
      const r = this.op("evtchn status", HYPERVISOR.event_channel_op, EVTCHNOP.status, evtchn_status, (s) => s.set("dom", domid).set("port", port));
      return { port, status: r.num("status"), vcpu: r.num("vcpu"), u0: r.num("u0"), u1: r.num("u1") };
    } catch (e) {
      if (e instanceof XenError && e.errno === XEN_E.EINVAL) return null;
      throw e;
    }
  }
  // Every open port of a domain, as lsevtchn lists them.
  listEvtchn(domid: number): EvtchnStatus[] {
    const out: EvtchnStatus[] = [];
    for (let port = 1; ; port++) {
      const s = this.evtchnStatus(domid, port);
      if (!s) return out;
      if (s.status !== EVTCHNSTAT.closed) out.push(s);
    }
  }

  registerVcpuInfo(vcpu: number, gfn: bigint, offset: number): void {
    const s = new StructBuf(vcpu_register_vcpu_info).set("mfn", gfn).set("offset", offset);
    this.structCall("register_vcpu_info", HYPERVISOR.vcpu_op, s, [BigInt(VCPUOP.register_vcpu_info), BigInt(vcpu)]);
  }

  // Generic struct-in-place call (event channels, grant tables)
  op<F extends string>(what: string, nr: number, cmd: number, layout: Layout<F>, fill: (s: StructBuf<F>) => void, count?: number): StructBuf<F> {
    const s = new StructBuf(layout);
    fill(s);
    return this.structCall(what, nr, s, [BigInt(cmd)], count === undefined ? [] : [BigInt(count)]);
  }
}

export class ForeignMapping {
  protected live = true;
  // mapped: the slots from the first that may hold a mapping (unmap() removes them)
  constructor(readonly xc: Xc, readonly base: bigint, readonly pages: number, protected mapped = pages) {}
  write(offset: number, data: Uint8Array): void { this.xc.mem.write(this.base + BigInt(offset), data); }
  writeWith(offset: number, len: number, produce: (dst: Uint8Array) => void): void { this.xc.mem.writeWith(this.base + BigInt(offset), len, produce); }
  read(offset: number, len: number): Uint8Array { return this.xc.mem.read(this.base + BigInt(offset), len); }
  // Slot i's page; write: false for a page only read (reading it must not
  // count as writing it: the host drops translated code a write reaches).
  page(i: number, write = true): Uint8Array {
    const p = this.xc.pc.memory.page(this.base + BigInt(i) * 4096n, write);
    if (!p) throw new Error("foreign page not mapped");
    return p;
  }
  unmap(): void {
    if (!this.live) return;
    this.live = false;
    for (let i = 0; i < this.mapped; i++) {
      try { this.xc.removeFromPhysmap(DOMID_SELF, (this.base >> 12n) + BigInt(i)); } catch { /* never mapped */ }
    }
    this.xc.window.release(this.base, BigInt(this.pages) * 4096n);
  }
}

// A window of our own gpfns that batch after batch of another domain's pages
// is mapped into (a migration's or a checkpoint's pages, a restore's): a
// batch mapped over the last replaces it, as Xen's p2m does, so the window
// is unmapped once, at close(), instead of a remove_from_physmap hypercall
// per page after every batch (that was most of a Remus checkpoint's pause).
// Until close() the window holds references to the last batch's frames:
// its owner closes it when the copy ends.
export class ForeignWindow extends ForeignMapping {
  constructor(xc: Xc, readonly slots: number) {
    super(xc, xc.window.alloc(BigInt(slots) * 4096n), slots, 0);
  }
  // Slots 0..gfns.length-1 hold these pages of `domid` (the rest are stale).
  map(domid: number, gfns: bigint[]): void {
    if (!this.live) throw new Error("foreign window closed");
    if (gfns.length > this.slots) throw new RangeError(`${gfns.length} pages for a window of ${this.slots}`);
    this.mapped = Math.max(this.mapped, gfns.length);
    this.xc.mapAt(domid, gfns, this.base);
  }
  close(): void { this.unmap(); }
}

function parseDomainInfo(u: Uint8Array): DomainInfo {
  const s = new StructBuf(xen_domctl_getdomaininfo, u);
  const flags = s.num("flags");
  return {
    domid: s.num("domain"),
    dying: (flags & XEN_DOMINF.dying) !== 0, shutdown: (flags & XEN_DOMINF.shutdown) !== 0,
    paused: (flags & XEN_DOMINF.paused) !== 0, blocked: (flags & XEN_DOMINF.blocked) !== 0,
    running: (flags & XEN_DOMINF.running) !== 0, shutdownReason: (flags >>> XEN_DOMINF_shutdownshift) & 0xFF,
    totPages: s.get("tot_pages"), maxPages: s.get("max_pages"), cpuTimeNs: s.get("cpu_time"),
    onlineVcpus: s.num("nr_online_vcpus"), maxVcpuId: s.num("max_vcpu_id"), handle: s.sub("handle").slice(),
  };
}
