// The machine's devices (src/hw) and which domain each belongs to. The
// hypervisor owns them all. Each device is a stream of the machine's SMMU
// (src/hw/smmuv3.ts): its DMA always goes through it, and the hypervisor's
// SMMU driver (iommu_smmuv3.ts) decides what the stream reaches. Assigning
// a device to a domain maps its registers into the domain's address space
// (every access traps and is emulated), wires its interrupt line to an SPI
// of the domain's vGIC, and points its stream at the domain's stage-2: a
// bus address is an IPA of the owner and reaches only what the owner's p2m
// maps (its RAM, grant mappings it holds), as Xen on Arm does. A DMA
// anywhere else is a fault: an event record, counted against the device and
// logged (the first few), and nothing is touched. De-assign (and the
// owner's destruction) resets the device first and sets its stream to
// abort, so no DMA of it outlives the assignment.

import type { Domain } from "./domain.js";
import type { MmioRegion } from "./mmio.js";
import type { PlatformDevice } from "../hw/platform_device.js";
import type { SmmuDriver, StreamFaults } from "./iommu_smmuv3.js";
import { SID_BITS } from "../hw/smmuv3.js";

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

export class DeviceAssignError extends Error {}

export class MachineDevices {
  private readonly devices = new Map<string, PlatformDevice>();
  private readonly sids = new Map<string, number>(); // device -> its SMMU stream
  private readonly assigned = new Map<string, Assignment>();

  constructor(private readonly hv: AssignHost) {}

  // A device joins the machine as the next SMMU stream; its DMA goes through
  // that stream for good (aborted until it is assigned).
  add(dev: PlatformDevice): void {
    if (this.devices.has(dev.name)) throw new DeviceAssignError(`the machine already has a device named ${dev.name}`);
    const sid = this.devices.size;
    if (sid >= 1 << SID_BITS) throw new DeviceAssignError(`the machine's SMMU has ${1 << SID_BITS} streams, all in use`);
    dev.dma = this.hv.iommu.smmu.stream(sid);
    dev.setIrq = () => {};
    dev.onError = (m) => this.hv.log(`device ${m}`);
    this.devices.set(dev.name, dev);
    this.sids.set(dev.name, sid);
    this.hv.iommu.name(sid, dev.name);
  }
  streamOf(name: string): number | undefined { return this.sids.get(name); }
  // DMA faults of the device while its present owner has had it.
  faults(name: string): StreamFaults | undefined {
    const sid = this.sids.get(name);
    return sid === undefined || !this.assigned.has(name) ? undefined : this.hv.iommu.faultsOf(sid);
  }
  get(name: string): PlatformDevice | undefined { return this.devices.get(name); }
  list(): PlatformDevice[] { return [...this.devices.values()]; }
  assignment(name: string): Assignment | undefined { return this.assigned.get(name); }
  ownedBy(d: Domain): Assignment[] { return [...this.assigned.values()].filter((a) => a.domain === d); }

  // Gives device `name` to `d`: registers at `base`, interrupt on `spi`.
  assign(name: string, d: Domain, base: bigint, spi: number): Assignment {
    const dev = this.devices.get(name);
    if (!dev) throw new DeviceAssignError(`the machine has no device named ${name}`);
    const held = this.assigned.get(name);
    if (held) throw new DeviceAssignError(`${name} belongs to d${held.domain.id}`);
    if (!d.vgic.irq(0, spi) || spi < 32) throw new DeviceAssignError(`d${d.id} has no SPI ${spi}`);
    const region: MmioRegion = {
      name, base, size: BigInt(dev.mmioSize),
      read: (_v, off, size) => BigInt(dev.read(off, size)),
      write: (_v, off, size, value) => dev.write(off, size, Number(value & 0xFFFFFFFFn)),
    };
    d.mmio.add(region); // throws if it overlaps
    dev.reset();
    this.hv.iommu.attach(this.sids.get(name)!, d);
    dev.setIrq = (level) => d.vgic.setLevel(0, spi, level);
    const a: Assignment = { device: dev, domain: d, base, spi, region };
    this.assigned.set(name, a);
    this.hv.log(`d${d.id}: assigned ${dev.kind} ${name} at 0x${base.toString(16)}, SPI ${spi}`);
    return a;
  }

  // Takes the device back: stopped first, then unmapped and unwired.
  deassign(name: string): void {
    const a = this.assigned.get(name);
    if (!a) return;
    const dev = a.device;
    dev.reset();
    this.hv.iommu.detach(this.sids.get(name)!);
    dev.setIrq = () => {};
    a.domain.vgic.setLevel(0, a.spi, false);
    a.domain.mmio.remove(a.region);
    this.assigned.delete(name);
  }

  releaseAll(d: Domain): void { for (const a of this.ownedBy(d)) this.deassign(a.device.name); }
}
