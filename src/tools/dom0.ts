// The control domain's kernel side, in TypeScript: at boot it maps its
// shared_info page and registers vcpu_info (as a Linux dom0 does), then
// offers its tools the control library and event channels.

import type { Privcmd } from "./xc/privcmd.js";
import { Xc } from "./xc/xc.js";
import { EventChannels } from "./xc/evtchn.js";
import { XENMAPSPACE, DOMID_SELF } from "../xen/public/xen.js";

export class Dom0 {
  readonly xc: Xc;
  readonly evtchn: EventChannels;

  constructor(readonly pc: Privcmd) {
    this.xc = new Xc(pc, 2);
    const sharedInfo = pc.ramBase; // page 0 of our RAM becomes shared_info
    const vcpuInfo = pc.ramBase + 4096n; // page 1 holds vcpu_info for vCPU 0
    this.xc.addToPhysmap(DOMID_SELF, XENMAPSPACE.shared_info, 0n, sharedInfo >> 12n);
    this.xc.registerVcpuInfo(0, vcpuInfo >> 12n, 0);
    this.evtchn = new EventChannels(this.xc, sharedInfo, vcpuInfo);
  }
}
