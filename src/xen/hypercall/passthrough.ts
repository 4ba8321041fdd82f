// The domctls that give a machine device to a domain, as Xen on Arm has
// them (xen/arch/arm/domctl.c, xen/drivers/passthrough/device_tree.c,
// xen/common/domctl.c): permission for its register page and its interrupt
// (XEN_DOMCTL_iomem_permission, XEN_DOMCTL_irq_permission), the page mapped
// at a gfn (XEN_DOMCTL_memory_mapping), the interrupt bound to the same SPI
// of the domain's vGIC (XEN_DOMCTL_bind_pt_irq: Arm maps SPIs 1:1), and the
// device itself with its DMA (XEN_DOMCTL_assign_device, by device-tree path,
// behind the SMMU). The calls are Domain-0's (domctl checks that). As in
// Xen, mapping and binding check the caller's permission (the hardware
// domain has all of it), not the target's: libxl binds an SPI before it
// grants the target permission for it.
// What the machine has no device at cannot be mapped: xents' MMIO is only
// its emulated devices (a written choice; Xen would map any machine page).

import { type HypercallContext, neg } from "./context.js";
import type { Domain } from "../domain.js";
import { StructBuf } from "../public/layout.js";
import { XEN_E } from "../public/xen.js";
import {
  DOMCTL, XEN_DOMCTL_DEV_DT, PT_IRQ_TYPE_SPI, DPCI_ADD_MAPPING, xen_domctl_assign_device, xen_domctl_irq_permission,
  xen_domctl_iomem_permission, xen_domctl_memory_mapping, xen_domctl_bind_pt_irq,
} from "../public/domctl.js";
import { DeviceAssignError } from "../device_assign.js";
import type { MachineDevice } from "../device_assign.js";

const MAX_PATH = 1024;
// Xen's iomem_access_permitted / irq_access_permitted for the caller.
const mayIomem = (c: HypercallContext, mfn: number): boolean => c.d.privileged || c.d.iomemCaps.has(mfn);
const mayIrq = (c: HypercallContext, irq: number): boolean => c.d.privileged || c.d.irqCaps.has(irq); // a device-tree path longer than this is not one
const MAX_MAPPING_PAGES = 64; // pages per memory_mapping call (Xen: 64, or -E2BIG)

// The device named by an assign/deassign/test call's path, or an error.
function deviceOf(c: HypercallContext, s: StructBuf<keyof typeof xen_domctl_assign_device.fields>): MachineDevice | bigint {
  if (s.num("dev") !== XEN_DOMCTL_DEV_DT) return neg(XEN_E.ENODEV); // no PCI on this machine
  const size = s.num("dt_size");
  if (size === 0 || size > MAX_PATH) return neg(XEN_E.EINVAL);
  const raw = c.g.read(s.get("dt_path"), size);
  if (!raw) return neg(XEN_E.EFAULT);
  const nul = raw.indexOf(0);
  const path = Buffer.from(raw.subarray(0, nul < 0 ? raw.length : nul)).toString("latin1");
  const m = c.hv.devices.byPath(path);
  if (!m) {
    c.hv.log(`d${c.d.id}: no device at ${JSON.stringify(path)} to assign`);
    return neg(XEN_E.EINVAL);
  }
  return m;
}

function errno(c: HypercallContext, e: unknown): bigint {
  if (!(e instanceof DeviceAssignError)) throw e;
  c.hv.log(`d${c.d.id}: ${e.message}`);
  return neg(e.errno);
}

// test_assign_device is the one call made for no domain (DOMID_INVALID).
export function testAssignDevice(c: HypercallContext, u: Uint8Array): bigint {
  const m = deviceOf(c, new StructBuf(xen_domctl_assign_device, u));
  if (typeof m === "bigint") return m;
  return m.owner ? neg(XEN_E.EBUSY) : 0n;
}

export function passthroughDomctl(c: HypercallContext, t: Domain, cmd: number, u: Uint8Array): bigint | null {
  const devs = c.hv.devices;
  switch (cmd) {
    case DOMCTL.irq_permission: {
      const s = new StructBuf(xen_domctl_irq_permission, u);
      const irq = s.num("pirq");
      if (irq < 32 || irq > 1019) return neg(XEN_E.EINVAL);
      if (!mayIrq(c, irq)) return neg(XEN_E.EPERM);
      if (s.num("allow_access")) t.irqCaps.add(irq);
      else t.irqCaps.delete(irq);
      return 0n;
    }
    case DOMCTL.iomem_permission: {
      const s = new StructBuf(xen_domctl_iomem_permission, u);
      const first = s.get("first_mfn"), n = s.get("nr_mfns");
      if (n === 0n || n > BigInt(MAX_MAPPING_PAGES) * 1024n || first + n > 1n << 36n) return neg(XEN_E.EINVAL);
      for (let i = 0n; i < n; i++) if (!mayIomem(c, Number(first + i))) return neg(XEN_E.EPERM);
      for (let i = 0n; i < n; i++) {
        if (s.num("allow_access")) t.iomemCaps.add(Number(first + i));
        else t.iomemCaps.delete(Number(first + i));
      }
      return 0n;
    }
    case DOMCTL.memory_mapping: {
      const s = new StructBuf(xen_domctl_memory_mapping, u);
      const gfn = s.get("first_gfn"), mfn = s.get("first_mfn"), n = s.get("nr_mfns");
      if (n === 0n || gfn + n > 1n << 28n || mfn + n > 1n << 36n) return neg(XEN_E.EINVAL);
      if (n > BigInt(MAX_MAPPING_PAGES)) return neg(XEN_E.E2BIG);
      const add = s.num("add_mapping") === DPCI_ADD_MAPPING;
      // all checked before anything is mapped
      const pages: [MachineDevice, bigint][] = [];
      for (let i = 0n; i < n; i++) {
        if (!mayIomem(c, Number(mfn + i))) return neg(XEN_E.EPERM);
        const m = devs.byMfn(Number(mfn + i));
        if (!m) return neg(XEN_E.EINVAL);
        pages.push([m, (gfn + i) << 12n]);
      }
      if (!add) { for (const [m, base] of pages) devs.unmapRegisters(m, t, base); return 0n; }
      const done: [MachineDevice, bigint][] = [];
      try {
        for (const [m, base] of pages) { devs.mapRegisters(m, t, base); done.push([m, base]); }
      } catch (e) {
        for (const [m, base] of done) devs.unmapRegisters(m, t, base); // only what this call mapped
        return errno(c, e);
      }
      return 0n;
    }
    case DOMCTL.bind_pt_irq: case DOMCTL.unbind_pt_irq: {
      const s = new StructBuf(xen_domctl_bind_pt_irq, u);
      const irq = s.num("machine_irq");
      if (s.num("irq_type") !== PT_IRQ_TYPE_SPI) return neg(XEN_E.EOPNOTSUPP);
      if (s.num("spi") !== irq) return neg(XEN_E.EINVAL); // only the direct mapping, as Xen on Arm
      if (!mayIrq(c, irq)) return neg(XEN_E.EPERM);
      const m = devs.byIrq(irq);
      if (!m) return neg(XEN_E.EINVAL);
      try {
        if (cmd === DOMCTL.bind_pt_irq) devs.bindIrq(m, t, irq);
        else devs.unbindIrq(m, t);
      } catch (e) { return errno(c, e); }
      return 0n;
    }
    case DOMCTL.assign_device: case DOMCTL.deassign_device: {
      const s = new StructBuf(xen_domctl_assign_device, u);
      if (s.num("flags") !== 0) return neg(XEN_E.EINVAL); // RDM_RELAXED is for PCI
      const m = deviceOf(c, s);
      if (typeof m === "bigint") return m;
      try {
        if (cmd === DOMCTL.assign_device) devs.assignDevice(m, t);
        else if (m.owner === t) devs.deassignDevice(m);
        else return neg(XEN_E.EINVAL);
      } catch (e) { return errno(c, e); }
      return 0n;
    }
    case DOMCTL.test_assign_device: return testAssignDevice(c, u);
    default: return null;
  }
}
