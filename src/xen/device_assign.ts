// The machine's devices (src/hw) and which domain each belongs to. The
// hypervisor owns them all; assigning one to a domain maps its registers
// into the domain's address space (every access traps and is emulated),
// wires its interrupt line to an SPI of the domain's vGIC, and points its
// DMA at the domain's stage-2: a bus address is an IPA of the owner and
// reaches only what the owner's p2m maps (its RAM, grant mappings it holds),
// as an SMMU stage-2 context does for Xen on Arm. A DMA anywhere else is a
// fault: counted, logged (the first few), and nothing is touched. De-assign
// (and the owner's destruction) resets the device first, so no DMA of it
// outlives the assignment.

import type { Core } from "../cpu/cpu.js";
import type { Domain } from "./domain.js";
import type { MmioRegion } from "./mmio.js";
import type { PlatformDevice } from "../hw/platform_device.js";
import type { DmaSpace } from "../hw/dma.js";
import { NO_DMA } from "../hw/dma.js";

const IPA_LIMIT = 2 ** 40; // the guest's stage-2 input range (VTCR T0SZ)
const FAULTS_LOGGED = 8;

export interface Assignment {
  readonly device: PlatformDevice;
  readonly domain: Domain;
  readonly base: bigint;
  readonly spi: number;
  readonly region: MmioRegion;
  readonly dma: DomainDma;
}

// A device's view of memory while a domain owns it.
// What device assignment needs of the hypervisor: its log, and machine RAM
// (a device's DMA reads and writes it, and translated code there must go).
export interface AssignHost {
  log(line: string): void;
  readonly core: Pick<Core, "bytes" | "noteWrite">;
}

export class DomainDma implements DmaSpace {
  faults = 0;
  constructor(private readonly hv: AssignHost, private readonly d: Domain, private readonly device: string) {}
  page(addr: number, write: boolean): Uint8Array | null {
    const h = addr >= 0 && addr < IPA_LIMIT ? this.d.p2m.hostAddr(BigInt(addr), write) : -1;
    if (h < 0) {
      if (this.faults++ < FAULTS_LOGGED) this.hv.log(`d${this.d.id}: DMA fault: ${this.device} ${write ? "wrote" : "read"} 0x${addr.toString(16)}, which is not the domain's${this.faults === FAULTS_LOGGED ? " (further faults are counted, not logged)" : ""}`);
      return null;
    }
    if (write) this.hv.core.noteWrite(h, 4096); // DMA into it: translated code there goes
    return this.hv.core.bytes.subarray(h, h + 4096);
  }
}

export class DeviceAssignError extends Error {}

export class MachineDevices {
  private readonly devices = new Map<string, PlatformDevice>();
  private readonly assigned = new Map<string, Assignment>();

  constructor(private readonly hv: AssignHost) {}

  add(dev: PlatformDevice): void {
    if (this.devices.has(dev.name)) throw new DeviceAssignError(`the machine already has a device named ${dev.name}`);
    dev.dma = NO_DMA;
    dev.setIrq = () => {};
    dev.onError = (m) => this.hv.log(`device ${m}`);
    this.devices.set(dev.name, dev);
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
    const dma = new DomainDma(this.hv, d, name);
    dev.dma = dma;
    dev.setIrq = (level) => d.vgic.setLevel(0, spi, level);
    const a: Assignment = { device: dev, domain: d, base, spi, region, dma };
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
    dev.dma = NO_DMA;
    dev.setIrq = () => {};
    a.domain.vgic.setLevel(0, a.spi, false);
    a.domain.mmio.remove(a.region);
    this.assigned.delete(name);
  }

  releaseAll(d: Domain): void { for (const a of this.ownedBy(d)) this.deassign(a.device.name); }
}
