// A guest played from TypeScript: a domain whose hypercalls are issued by
// the caller, as its vCPU 0 would issue them (arguments in its own RAM,
// translated through its stage 2; its MMU is off, so VA = IPA). Fuzzers and
// tests use it to drive long sequences of calls against the real hypercall
// handlers without booting code; an exception escaping a handler reaches the
// caller instead of being turned into a crash.

import type { Hypervisor } from "../../xen/hypervisor.js";
import type { Domain } from "../../xen/domain.js";
import { dispatchHypercall } from "../../xen/hypercall/dispatch.js";
import { StructBuf, Layout } from "../../xen/public/layout.js";
import { GUEST_RAM0_BASE } from "../../xen/public/arch_arm.js";
import {
  HYPERVISOR, XENMEM, XENMAPSPACE, DOMID_SELF, VCPUOP, xen_memory_reservation, xen_add_to_physmap, xen_add_to_physmap_batch,
  xen_remove_from_physmap, vcpu_register_vcpu_info, xen_mem_acquire_resource, XENMEM_resource, XENMEM_resource_grant_table_id,
} from "../../xen/public/xen.js";
import {
  GNTTABOP, GNTMAP_host_map, GNTMAP_readonly, GTF_permit_access, GTF_readonly, gnttab_map_grant_ref, gnttab_unmap_grant_ref,
  gnttab_copy, GNTCOPY_source_gref, GNTCOPY_dest_gref,
} from "../../xen/public/grant_table.js";
import { EVTCHNOP, evtchn_init_control, evtchn_expand_array, evtchn_reset } from "../../xen/public/event_channel.js";

export const RAM0_GFN = Number(GUEST_RAM0_BASE >> 12n);

export interface PlayedGuestOptions {
  id: number;
  privileged?: boolean;
  pages: number; // RAM populated from GUEST_RAM0_BASE
  vcpus?: number;
  maxPages?: number;
  poolPages?: number; // stage-2 table pool
  maxGrantFrames?: number;
  maxMaptrackFrames?: number;
}

export class PlayedGuest {
  readonly scratch: bigint; // IPA of the argument page (the first RAM page)

  constructor(readonly hv: Hypervisor, readonly d: Domain) {
    this.scratch = GUEST_RAM0_BASE;
  }

  static create(hv: Hypervisor, o: PlayedGuestOptions): PlayedGuest {
    const d = hv.createDomain({
      id: o.id, privileged: o.privileged ?? false, maxVcpus: o.vcpus ?? 1, maxEvtchnPort: 1023,
      maxGrantFrames: o.maxGrantFrames ?? 4, maxMaptrackFrames: o.maxMaptrackFrames, nrSpis: 32, handle: new Uint8Array(16),
    });
    d.createVcpus(o.vcpus ?? 1);
    d.maxPages = BigInt(o.maxPages ?? o.pages);
    if (d.p2m.setPoolPages(o.poolPages ?? 64) < 0) throw new Error("no memory for the stage-2 pool");
    for (let i = 0; i < o.pages; i++) if (!d.populate(RAM0_GFN + i)) throw new Error(`d${o.id}: no memory for page ${i}`);
    return new PlayedGuest(hv, d);
  }

  // A raw hypercall by vCPU 0; the result as a signed number.
  call(nr: number, ...args: bigint[]): bigint { return this.callOn(0, nr, ...args); }
  // The same by another vCPU (as two vCPUs racing would interleave).
  callOn(vcpu: number, nr: number, ...args: bigint[]): bigint {
    while (args.length < 5) args.push(0n);
    const r = dispatchHypercall(this.hv, this.d, this.d.vcpus[vcpu], nr, args) ?? 0n;
    return BigInt.asIntN(64, r);
  }

  // A hypercall whose argument is one struct at `offset` in the scratch page;
  // returns the result and the struct as the hypervisor left it.
  callStruct<F extends string>(nr: number, cmd: bigint, layout: Layout<F>, fill: (s: StructBuf<F>) => void, count = 1n, offset = 0): { rc: bigint; out: StructBuf<F> } {
    const s = new StructBuf(layout);
    fill(s);
    const va = this.scratch + BigInt(offset);
    this.write(va, s.bytes);
    const rc = this.call(nr, cmd, va, count);
    return { rc, out: new StructBuf(layout, this.read(va, layout.size)) };
  }

  // ---- the calls fuzzers and tests make (arguments in the scratch page)
  private list(gfns: number[]): bigint {
    const va = this.scratch + 2048n;
    const b = new Uint8Array(gfns.length * 8);
    const dv = new DataView(b.buffer);
    gfns.forEach((g, i) => dv.setBigUint64(i * 8, BigInt(g), true));
    this.write(va, b);
    return va;
  }
  // populate_physmap / decrease_reservation of single pages: extents done.
  reservation(cmd: "populate" | "decrease", gfns: number[], domid = DOMID_SELF, order = 0): bigint {
    const list = this.list(gfns);
    return this.callStruct(HYPERVISOR.memory_op, BigInt(cmd === "populate" ? XENMEM.populate_physmap : XENMEM.decrease_reservation), xen_memory_reservation,
      (s) => s.set("extent_start", list).set("nr_extents", gfns.length).set("extent_order", order).set("domid", domid)).rc;
  }
  addToPhysmap(space: number, idx: bigint, gpfn: number, domid = DOMID_SELF): bigint {
    return this.callStruct(HYPERVISOR.memory_op, BigInt(XENMEM.add_to_physmap), xen_add_to_physmap,
      (s) => s.set("domid", domid).set("space", space).set("idx", idx).set("gpfn", gpfn)).rc;
  }
  removeFromPhysmap(gpfn: number, domid = DOMID_SELF): bigint {
    return this.callStruct(HYPERVISOR.memory_op, BigInt(XENMEM.remove_from_physmap), xen_remove_from_physmap, (s) => s.set("domid", domid).set("gpfn", gpfn)).rc;
  }
  // A foreign mapping of `from`'s page at idx: [hypercall result, per-page error].
  mapForeign(from: number, idx: number, gpfn: number): [bigint, number] {
    const base = this.scratch + 2048n;
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(idx), true);
    dv.setBigUint64(8, BigInt(gpfn), true);
    this.write(base, b);
    const rc = this.callStruct(HYPERVISOR.memory_op, BigInt(XENMEM.add_to_physmap_batch), xen_add_to_physmap_batch,
      (s) => s.set("domid", DOMID_SELF).set("space", XENMAPSPACE.gmfn_foreign).set("size", 1).set("u", from)
        .set("idxs", base).set("gpfns", base + 8n).set("errs", base + 16n)).rc;
    return [rc, new DataView(this.read(base + 16n, 4).buffer).getInt32(0, true)];
  }
  // XENMEM_acquire_resource of `domid`'s grant table frames [frame, frame+nr)
  // at `gfns` (null: the size query). Returns the result and nr_frames after.
  acquireResource(domid: number, frame: bigint, nr: number, gfns: number[] | null, fill?: (s: StructBuf<keyof typeof xen_mem_acquire_resource.fields>) => void): { rc: bigint; nrFrames: number } {
    const list = gfns ? this.list(gfns) : 0n;
    const r = this.callStruct(HYPERVISOR.memory_op, BigInt(XENMEM.acquire_resource), xen_mem_acquire_resource, (s) => {
      s.set("domid", domid).set("type", XENMEM_resource.grant_table).set("id", XENMEM_resource_grant_table_id.shared)
        .set("nr_frames", nr).set("frame", frame).set("frame_list", list);
      fill?.(s);
    });
    return { rc: r.rc, nrFrames: r.out.num("nr_frames") };
  }
  // Grant entry `ref` of this domain's table, whose frame idx is mapped at gntGfn.
  setGrant(gntGfn: number, ref: number, domid: number, gfn: number, readonly = false): void {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, ref === -1 ? 0 : GTF_permit_access | (readonly ? GTF_readonly : 0), true);
    dv.setUint16(2, domid, true);
    dv.setUint32(4, gfn, true);
    this.write((BigInt(gntGfn) << 12n) + BigInt((ref % 512) * 8), b);
  }
  clearGrant(gntGfn: number, ref: number): void { this.write((BigInt(gntGfn) << 12n) + BigInt((ref % 512) * 8), new Uint8Array(8)); }
  mapGrant(dom: number, ref: number, hostGfn: bigint, readonly = false): { status: number; handle: number; rc: bigint; devBusAddr: bigint } {
    const r = this.callStruct(HYPERVISOR.grant_table_op, BigInt(GNTTABOP.map_grant_ref), gnttab_map_grant_ref,
      (s) => s.set("host_addr", hostGfn << 12n).set("flags", GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0)).set("ref", ref).set("dom", dom).set("dev_bus_addr", 0xBADn));
    return { rc: r.rc, status: r.out.num("status") << 16 >> 16, handle: r.out.num("handle"), devBusAddr: r.out.get("dev_bus_addr") };
  }
  unmapGrant(handle: number, hostGfn: bigint): { status: number; rc: bigint } {
    const r = this.callStruct(HYPERVISOR.grant_table_op, BigInt(GNTTABOP.unmap_grant_ref), gnttab_unmap_grant_ref,
      (s) => s.set("host_addr", hostGfn << 12n).set("handle", handle));
    return { rc: r.rc, status: r.out.num("status") << 16 >> 16 };
  }
  // GNTTABOP_copy of len bytes; each side a gref of `dom` or a gfn of our own.
  grantCopy(src: { gref?: number; gfn?: number; dom: number }, dst: { gref?: number; gfn?: number; dom: number }, len: number, offset = 0): number {
    const r = this.callStruct(HYPERVISOR.grant_table_op, BigInt(GNTTABOP.copy), gnttab_copy, (s) => {
      s.set("src_u", BigInt(src.gref ?? src.gfn ?? 0)).set("src_domid", src.dom).set("src_offset", offset)
        .set("dst_u", BigInt(dst.gref ?? dst.gfn ?? 0)).set("dst_domid", dst.dom).set("dst_offset", offset).set("len", len)
        .set("flags", (src.gref !== undefined ? GNTCOPY_source_gref : 0) | (dst.gref !== undefined ? GNTCOPY_dest_gref : 0));
    });
    return r.out.num("status") << 16 >> 16;
  }
  initControl(gfn: number, offset = 0): bigint {
    return this.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.init_control), evtchn_init_control,
      (s) => s.set("control_gfn", gfn).set("offset", offset).set("vcpu", 0)).rc;
  }
  expandArray(gfn: number): bigint {
    return this.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.expand_array), evtchn_expand_array, (s) => s.set("array_gfn", gfn)).rc;
  }
  evtchnReset(): bigint {
    return this.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.reset), evtchn_reset, (s) => s.set("dom", DOMID_SELF)).rc;
  }
  registerVcpuInfo(gfn: number, offset: number): bigint {
    const va = this.scratch;
    const s = new StructBuf(vcpu_register_vcpu_info).set("mfn", gfn).set("offset", offset);
    this.write(va, s.bytes);
    return this.call(HYPERVISOR.vcpu_op, BigInt(VCPUOP.register_vcpu_info), 0n, va);
  }

  // The guest's own view of its memory (through its p2m).
  read(ipa: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len;) {
      const a = ipa + BigInt(i);
      const h = this.d.p2m.hostAddr(a, false);
      if (h < 0) throw new Error(`d${this.d.id}: 0x${a.toString(16)} is not mapped`);
      const n = Math.min(len - i, 4096 - Number(a & 0xFFFn));
      out.set(this.d.bytes.subarray(h, h + n), i);
      i += n;
    }
    return out;
  }
  write(ipa: bigint, data: Uint8Array): void {
    for (let i = 0; i < data.length;) {
      const a = ipa + BigInt(i);
      const h = this.d.p2m.hostAddr(a, true);
      if (h < 0) throw new Error(`d${this.d.id}: 0x${a.toString(16)} is not writable`);
      const n = Math.min(data.length - i, 4096 - Number(a & 0xFFFn));
      this.d.bytes.set(data.subarray(i, i + n), h);
      i += n;
    }
  }
  // A write that may find the page gone (a fuzzed guest gives pages back):
  // false then, as a store to a hole would fault.
  tryWrite(ipa: bigint, data: Uint8Array): boolean {
    for (let i = 0; i < data.length; i += 4096 - Number((ipa + BigInt(i)) & 0xFFFn)) {
      if (this.d.p2m.hostAddr(ipa + BigInt(i), true) < 0) return false;
    }
    this.write(ipa, data);
    return true;
  }

  // A page of guest-physical memory as the guest sees it, or null if unmapped.
  page(gfn: number): Uint8Array | null {
    const h = this.d.p2m.hostAddr(BigInt(gfn) << 12n, false);
    return h < 0 ? null : this.d.bytes.subarray(h, h + 4096);
  }
}
