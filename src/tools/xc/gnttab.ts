// The control domain's grant device (Linux's /dev/xen/gntdev): maps pages
// another domain granted into this domain's mapping window, and unmaps them.
// Backends read and write the frontend's buffers through these mappings.

import type { Xc } from "./xc.js";
import { XenError } from "./xc.js";
import { HYPERVISOR } from "../../xen/public/xen.js";
import { GNTTABOP, GNTST, GNTMAP_host_map, GNTMAP_readonly, gnttab_map_grant_ref, gnttab_unmap_grant_ref } from "../../xen/public/grant_table.js";

export interface GrantMapping {
  readonly domid: number;
  readonly ref: number;
  readonly readonly: boolean;
  readonly ipa: bigint;
  readonly handle: number;
  readonly page: Uint8Array; // a live view of the granted page
}

export class GrantStatusError extends Error {
  constructor(readonly domid: number, readonly ref: number, readonly status: number) {
    super(`grant ${ref} of d${domid}: status ${status}`);
  }
}

export class GrantDevice {
  mapped = 0;
  private readonly perDomain = new Map<number, number>(); // mappings of each granting domain's pages
  constructor(private readonly xc: Xc) {}
  mappedOf(domid: number): number { return this.perDomain.get(domid) ?? 0; }
  private count(domid: number, d: number): void {
    const n = (this.perDomain.get(domid) ?? 0) + d;
    if (n > 0) this.perDomain.set(domid, n); else this.perDomain.delete(domid);
  }

  // Throws GrantStatusError when Xen refuses (a bad reference, a revoked grant).
  map(domid: number, ref: number, readonly: boolean): GrantMapping {
    const ipa = this.xc.window.alloc(4096n);
    let status: number, handle: number;
    try {
      const r = this.xc.op("map_grant_ref", HYPERVISOR.grant_table_op, GNTTABOP.map_grant_ref, gnttab_map_grant_ref,
        (s) => s.set("host_addr", ipa).set("flags", GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0)).set("ref", ref).set("dom", domid), 1);
      status = r.num("status");
      handle = r.num("handle");
    } catch (e) {
      this.xc.window.release(ipa, 4096n);
      throw e;
    }
    if (status !== GNTST.okay) {
      this.xc.window.release(ipa, 4096n);
      throw new GrantStatusError(domid, ref, status);
    }
    const page = this.xc.pc.memory.page(ipa, !readonly);
    if (!page) throw new Error(`grant ${ref} of d${domid} mapped at 0x${ipa.toString(16)} but not reachable`);
    this.mapped++;
    this.count(domid, 1);
    return { domid, ref, readonly, ipa, handle, page };
  }

  unmap(m: GrantMapping): void {
    try {
      const r = this.xc.op("unmap_grant_ref", HYPERVISOR.grant_table_op, GNTTABOP.unmap_grant_ref, gnttab_unmap_grant_ref,
        (s) => s.set("host_addr", m.ipa).set("handle", m.handle), 1);
      const st = r.num("status");
      if (st !== GNTST.okay && st !== GNTST.bad_handle) throw new XenError(`unmap grant ${m.ref} of d${m.domid}`, -st);
    } finally {
      this.xc.window.release(m.ipa, 4096n);
      this.mapped--;
      this.count(m.domid, -1);
    }
  }
}
