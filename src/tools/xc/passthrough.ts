// libxc's calls for device passthrough on Arm (xc_domain.c): permission for
// a device's interrupt and register pages, the pages mapped into the guest,
// the interrupt bound to its SPI, and the device-tree device assigned.

import type { Xc } from "./xc.js";
import { StructBuf } from "../../xen/public/layout.js";
import {
  DOMCTL, XEN_DOMCTL_DEV_DT, PT_IRQ_TYPE_SPI, DPCI_ADD_MAPPING, DPCI_REMOVE_MAPPING, xen_domctl_assign_device,
  xen_domctl_irq_permission, xen_domctl_iomem_permission, xen_domctl_memory_mapping, xen_domctl_bind_pt_irq,
} from "../../xen/public/domctl.js";
import { DOMID_INVALID } from "../../xen/public/xen.js";

const MAPPING_CHUNK = 64n; // pages per memory_mapping call, as Xen takes them

export function irqPermission(xc: Xc, domid: number, irq: number, allow: boolean): void {
  xc.domctl("irq_permission", DOMCTL.irq_permission, domid, new StructBuf(xen_domctl_irq_permission).set("pirq", irq).set("allow_access", allow ? 1 : 0).bytes);
}

export function iomemPermission(xc: Xc, domid: number, firstMfn: bigint, pages: bigint, allow: boolean): void {
  const s = new StructBuf(xen_domctl_iomem_permission).set("first_mfn", firstMfn).set("nr_mfns", pages).set("allow_access", allow ? 1 : 0);
  xc.domctl("iomem_permission", DOMCTL.iomem_permission, domid, s.bytes);
}

export function memoryMapping(xc: Xc, domid: number, gfn: bigint, mfn: bigint, pages: bigint, add: boolean): void {
  for (let done = 0n; done < pages; done += MAPPING_CHUNK) {
    const n = pages - done < MAPPING_CHUNK ? pages - done : MAPPING_CHUNK;
    const s = new StructBuf(xen_domctl_memory_mapping).set("first_gfn", gfn + done).set("first_mfn", mfn + done).set("nr_mfns", n)
      .set("add_mapping", add ? DPCI_ADD_MAPPING : DPCI_REMOVE_MAPPING);
    xc.domctl("memory_mapping", DOMCTL.memory_mapping, domid, s.bytes);
  }
}

export function bindPtSpiIrq(xc: Xc, domid: number, machineIrq: number, spi: number, bind = true): void {
  const s = new StructBuf(xen_domctl_bind_pt_irq).set("machine_irq", machineIrq).set("irq_type", PT_IRQ_TYPE_SPI).set("spi", spi);
  xc.domctl(bind ? "bind_pt_irq" : "unbind_pt_irq", bind ? DOMCTL.bind_pt_irq : DOMCTL.unbind_pt_irq, domid, s.bytes);
}

function dtDeviceCall(xc: Xc, what: string, cmd: number, domid: number, path: string): void {
  const bytes = new TextEncoder().encode(`${path}\0`);
  const ipa = xc.bounce.alloc(BigInt(bytes.length), 8n);
  try {
    xc.mem.write(ipa, bytes);
    const s = new StructBuf(xen_domctl_assign_device).set("dev", XEN_DOMCTL_DEV_DT).set("dt_size", bytes.length).set("dt_path", ipa);
    xc.domctl(what, cmd, domid, s.bytes);
  } finally {
    xc.bounce.release(ipa, BigInt(bytes.length));
  }
}

export function assignDtDevice(xc: Xc, domid: number, path: string): void { dtDeviceCall(xc, "assign_device", DOMCTL.assign_device, domid, path); }
export function deassignDtDevice(xc: Xc, domid: number, path: string): void { dtDeviceCall(xc, "deassign_device", DOMCTL.deassign_device, domid, path); }
// Whether the device exists and no domain has it (EBUSY thrown when one does).
export function testAssignDtDevice(xc: Xc, path: string): void { dtDeviceCall(xc, "test_assign_device", DOMCTL.test_assign_device, DOMID_INVALID, path); }

// All of it for one device, as xl.cfg's irqs, iomem and dtdev give it: its
// SPI bound 1:1, its register page at `gfn`, the device assigned.
export function passDevice(xc: Xc, domid: number, dev: { path: string; mfn: number; irq: number }, gfn: bigint): void {
  irqPermission(xc, domid, dev.irq, true);
  bindPtSpiIrq(xc, domid, dev.irq, dev.irq);
  iomemPermission(xc, domid, BigInt(dev.mfn), 1n, true);
  memoryMapping(xc, domid, gfn, BigInt(dev.mfn), 1n, true);
  assignDtDevice(xc, domid, dev.path);
}
