// Playing a guest kernel from a test: write a paused domain's pages and
// grant entries directly, as its frontend drivers would.

import type { Host } from "../../src/host/host.js";
import type { Domain } from "../../src/xen/domain.js";
import { GUEST_RAM0_BASE } from "../../src/xen/public/arch_arm.js";
import { GTF_permit_access, GTF_readonly } from "../../src/xen/public/grant_table.js";

export const RAM_GFN = Number(GUEST_RAM0_BASE >> 12n);

export class GuestPages {
  constructor(readonly h: Host, readonly d: Domain) { d.gnttab.ensureFrames(1); }
  // The page at gfn as the guest sees it.
  mem(gfn: number): DataView {
    const host = this.d.p2m.hostAddr(BigInt(gfn) << 12n, true);
    if (host < 0) throw new Error(`gfn 0x${gfn.toString(16)} is not RAM`);
    return new DataView(this.h.hv.core.bytes.buffer, this.h.hv.core.bytes.byteOffset + host, 4096);
  }
  bytes(gfn: number): Uint8Array { const v = this.mem(gfn); return new Uint8Array(v.buffer, v.byteOffset, 4096); }
  // A v1 grant entry giving Domain-0 access to gfn.
  grant(ref: number, gfn: number, readonly: boolean): void {
    const e = this.h.hv.frames.hostOf(this.d.gnttab.frames[0]) + ref * 8;
    const dv = this.h.hv.core.view;
    dv.setUint16(e + 2, 0, true);
    dv.setUint32(e + 4, gfn, true);
    dv.setUint16(e, GTF_permit_access | (readonly ? GTF_readonly : 0), true);
  }
}
