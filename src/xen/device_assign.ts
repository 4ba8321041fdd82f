// The machine's devices (src/hw) and which domain each belongs to. The
// hypervisor owns them all. Each device is a stream of the machine's SMMU
// (src/hw/smmuv3.ts), a page of machine MMIO and an interrupt line, and is
// named by a device-tree path (/virtio_mmio@<address>, as QEMU's virt
// machine names them). Assignment is Xen on Arm's three steps:
//  - assign (XEN_DOMCTL_assign_device): the device is reset and its stream
//    pointed at the owner's stage-2, so a bus address is an IPA of the owner
//    and reaches only what the owner's p2m maps (the SMMU driver,
//    iommu_smmuv3.ts); a DMA anywhere else is a counted, logged fault that
//    touches nothing;
//  - map (XEN_DOMCTL_memory_mapping): the register page appears at a gfn of
//    the domain (every access traps and is emulated);
//  - bind (XEN_DOMCTL_bind_pt_irq): the line drives an SPI of the domain's
//    vGIC, the same number as on the machine (Xen on Arm maps SPIs 1:1).
// Registers and line may only serve the owner, or anyone while the device
// has no owner (its DMA then aborts): assigning drops other domains'
// mappings, and de-assigning (or destroying the owner) resets the device,
// aborts its stream and drops every mapping and binding, so nothing of the
// old owner reaches it afterwards.

import type { Domain } from "./domain.js";
import type { MmioRegion } from "./mmio.js";
import type { PlatformDevice } from "../hw/platform_device.js";
import type { SmmuDriver, StreamFaults } from "./iommu_smmuv3.js";
import { SID_BITS } from "../hw/smmuv3.js";
import { XEN_E } from "./public/xen.js";

// Where the machine's devices sit (as QEMU's virt machine puts its
// virtio-mmio transports at 0x0a000000), one 4 KiB page each so that one can
// be mapped into a guest without its neighbours, and their interrupt lines.
export const MACHINE_DEVICE_BASE = 0x0a000000;
export const MACHINE_DEVICE_STRIDE = 0x1000;
export const MACHINE_DEVICE_IRQ0 = 48; // INTID of the first device's SPI

export interface MachineDevice {
  readonly dev: PlatformDevice;
  readonly sid: number; // SMMU stream
  readonly mfn: number; // its register page (machine frame number)
  readonly irq: number; // its SPI (INTID)
  readonly path: string; // device-tree path, as dtdev names it
  owner: Domain | null;
  readonly regions: { d: Domain; region: MmioRegion }[];
  route: { d: Domain; spi: number } | null;
}

// A device fully given to a domain (registers mapped, line bound).
export interface Assignment {
  readonly device: PlatformDevice;
  readonly domain: Domain;
  readonly base: bigint;
  readonly spi: number;
  readonly region: MmioRegion;
}

// What device assignment needs of the hypervisor: its log and the SMMU.
export interface AssignHost {
  log(line: string): void;
  readonly iommu: SmmuDriver;
}

export class DeviceAssignError extends Error {
  constructor(message: string, readonly errno: number) { super(message); }
}
const { EINVAL, EBUSY, ENODEV, EPERM, ENOSPC } = XEN_E;

export class MachineDevices {
  private readonly devices = new Map<string, MachineDevice>();

  constructor(private readonly hv: AssignHost) {}

  // A device joins the machine as the next SMMU stream, register page and
  // line; its DMA goes through that stream for good (aborted until assigned).
  add(dev: PlatformDevice): MachineDevice {
    if (this.devices.has(dev.name)) throw new DeviceAssignError(`the machine already has a device named ${dev.name}`, EBUSY);
    const sid = this.devices.size;
    if (sid >= 1 << SID_BITS) throw new DeviceAssignError(`the machine's SMMU has ${1 << SID_BITS} streams, all in use`, ENOSPC);
    const base = MACHINE_DEVICE_BASE + sid * MACHINE_DEVICE_STRIDE;
    dev.dma = this.hv.iommu.smmu.stream(sid);
    dev.setIrq = () => {};
    dev.onError = (m) => this.hv.log(`device ${m}`);
    const m: MachineDevice = { dev, sid, mfn: base / 4096, irq: MACHINE_DEVICE_IRQ0 + sid, path: `/virtio_mmio@${base.toString(16)}`, owner: null, regions: [], route: null };
    this.devices.set(dev.name, m);
    this.hv.iommu.name(sid, dev.name);
    return m;
  }

  get(name: string): PlatformDevice | undefined { return this.devices.get(name)?.dev; }
  list(): PlatformDevice[] { return [...this.devices.values()].map((m) => m.dev); }
  machine(): MachineDevice[] { return [...this.devices.values()]; }
  byPath(path: string): MachineDevice | undefined { return [...this.devices.values()].find((m) => m.path === path); }
  byMfn(mfn: number): MachineDevice | undefined { return [...this.devices.values()].find((m) => m.mfn === mfn); }
  byIrq(irq: number): MachineDevice | undefined { return [...this.devices.values()].find((m) => m.irq === irq); }
  owner(name: string): Domain | null { return this.devices.get(name)?.owner ?? null; }

  // DMA faults of the device while its present owner has had it.
  faults(name: string): StreamFaults | undefined {
    const m = this.devices.get(name);
    return m?.owner ? this.hv.iommu.faultsOf(m.sid) : undefined;
  }

  // The device as its owner has it: registers and line included.
  assignment(name: string): Assignment | undefined {
    const m = this.devices.get(name);
    const r = m?.regions.find((x) => x.d === m.owner);
    if (!m?.owner || !r || m.route?.d !== m.owner) return undefined;
    return { device: m.dev, domain: m.owner, base: r.region.base, spi: m.route.spi, region: r.region };
  }

  private need(name: string): MachineDevice {
    const m = this.devices.get(name);
    if (!m) throw new DeviceAssignError(`the machine has no device named ${name}`, ENODEV);
    return m;
  }

  // XEN_DOMCTL_assign_device: the device is d's, stopped, its DMA d's.
  assignDevice(m: MachineDevice, d: Domain): void {
    if (m.owner === d) return;
    if (m.owner) throw new DeviceAssignError(`${m.dev.name} belongs to d${m.owner.id}`, EBUSY);
    if (d.dying) throw new DeviceAssignError(`d${d.id} is being destroyed`, EINVAL);
    this.drop(m, (x) => x !== d);
    m.dev.reset();
    this.hv.iommu.attach(m.sid, d);
    m.owner = d;
    this.hv.log(`d${d.id}: assigned ${m.dev.kind} ${m.dev.name} (${m.path})`);
  }

  // XEN_DOMCTL_deassign_device (and the owner's destruction): stopped, its
  // stream aborting, every mapping and binding of it gone.
  deassignDevice(m: MachineDevice): void {
    if (!m.owner) return;
    const d = m.owner;
    m.dev.reset();
    this.hv.iommu.detach(m.sid);
    m.owner = null;
    this.drop(m, () => true);
    this.hv.log(`d${d.id}: de-assigned ${m.dev.name}`);
  }

  // The device's registers at `base` of d (XEN_DOMCTL_memory_mapping maps
  // its whole page; Domain-0's builder a slot of the register size).
  mapRegisters(m: MachineDevice, d: Domain, base: bigint, size = 4096n): MmioRegion {
    if (m.owner && m.owner !== d) throw new DeviceAssignError(`${m.dev.name} belongs to d${m.owner.id}`, EPERM);
    for (let a = base & ~0xFFFn; a < base + size; a += 4096n) {
      if (d.p2m.get(Number(a >> 12n))) throw new DeviceAssignError(`d${d.id} has memory at 0x${a.toString(16)}`, EBUSY);
    }
    const dev = m.dev;
    const region: MmioRegion = {
      name: dev.name, base, size,
      // the page beyond the device's registers reads as zero and ignores writes
      read: (_v, off, size) => (off < dev.mmioSize ? BigInt(dev.read(off, size)) : 0n),
      write: (_v, off, size, value) => { if (off < dev.mmioSize) dev.write(off, size, Number(value & 0xFFFFFFFFn)); },
    };
    try { d.mmio.add(region); } catch (e) { throw new DeviceAssignError((e as Error).message, EBUSY); }
    m.regions.push({ d, region });
    return region;
  }

  unmapRegisters(m: MachineDevice, d: Domain, base: bigint): void {
    const i = m.regions.findIndex((r) => r.d === d && r.region.base === base);
    if (i < 0) return;
    d.mmio.remove(m.regions[i].region);
    m.regions.splice(i, 1);
  }

  // XEN_DOMCTL_bind_pt_irq: the device's line drives d's SPI `spi`.
  bindIrq(m: MachineDevice, d: Domain, spi: number): void {
    if (m.owner && m.owner !== d) throw new DeviceAssignError(`${m.dev.name} belongs to d${m.owner.id}`, EPERM);
    if (m.route && m.route.d !== d) throw new DeviceAssignError(`IRQ ${m.irq} is bound to d${m.route.d.id}`, EBUSY);
    if (spi < 32 || !d.vgic.irq(0, spi)) throw new DeviceAssignError(`d${d.id} has no SPI ${spi}`, EINVAL);
    m.route = { d, spi };
    m.dev.setIrq = (level) => d.vgic.setLevel(0, spi, level);
  }

  unbindIrq(m: MachineDevice, d: Domain): void {
    if (m.route?.d !== d) return;
    d.vgic.setLevel(0, m.route.spi, false);
    m.route = null;
    m.dev.setIrq = () => {};
  }

  // Every mapping and binding of m by a domain `which` selects goes.
  private drop(m: MachineDevice, which: (d: Domain) => boolean): void {
    for (const r of m.regions.filter((x) => which(x.d))) this.unmapRegisters(m, r.d, r.region.base);
    if (m.route && which(m.route.d)) this.unbindIrq(m, m.route.d);
  }

  // All three at once, for a domain the hypervisor builds itself (Domain-0).
  assign(name: string, d: Domain, base: bigint, spi: number): Assignment {
    const m = this.need(name);
    if (m.owner) throw new DeviceAssignError(`${name} belongs to d${m.owner.id}`, EBUSY);
    this.assignDevice(m, d);
    try {
      this.mapRegisters(m, d, base, BigInt(m.dev.mmioSize));
      this.bindIrq(m, d, spi);
    } catch (e) {
      this.deassignDevice(m);
      throw e;
    }
    return this.assignment(name)!;
  }

  deassign(name: string): void { const m = this.devices.get(name); if (m) this.deassignDevice(m); }

  // d is going: its devices are stopped and taken back, its mappings and
  // bindings of devices it did not own go too.
  releaseAll(d: Domain): void {
    for (const m of this.devices.values()) {
      if (m.owner === d) this.deassignDevice(m);
      this.drop(m, (x) => x === d);
    }
  }
}
