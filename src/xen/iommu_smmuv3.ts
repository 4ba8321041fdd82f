// The hypervisor's driver for the machine's SMMUv3 (src/hw/smmuv3.ts), as
// Xen's xen/drivers/passthrough/arm/smmu-v3.c: the stream table, command
// queue and event queue live in hypervisor frames no guest can map; every
// stream starts out aborting; assigning a device to a domain points its
// Stream Table Entry at the domain's own stage-2 tables (the ones its vCPUs
// use, as Xen shares the P2M with the SMMU), so a device's bus address is
// an IPA of its owner. Whenever a domain's p2m loses or narrows a mapping
// its devices' cached translations are invalidated (TLBI_S12_VMALL + SYNC)
// before the frame can be reused. Faults come back as event records; each is
// counted against the stream and its owner and logged (rate-limited).

import { SmmuV3, SMMU_REG, CR0, IRQ_CTRL, GERROR, GBPA_ABORT, GBPA_UPDATE, Q_OVFLG, CMD, EVT, EVT_NAMES, EVT1_RNW,
  STE_V, STE_CFG, STE2, SID_BITS, CMDQ_MAX_LOG2, EVENTQ_MAX_LOG2, STE_SIZE, CMD_SIZE, EVT_SIZE } from "../hw/smmuv3.js";
import type { FrameAllocator } from "./frames.js";
import { OWNER_XEN, KIND_IOMMU } from "./frames.js";
import { P2M_IPA_BITS } from "./p2m.js";

export interface IommuHost {
  log(line: string): void;
  readonly frames: FrameAllocator;
}

// What a domain is to the SMMU: its VMID and stage-2 root.
export interface IommuDomain {
  readonly id: number;
  readonly p2m: { readonly vmid: number; readonly root: number };
}

export interface StreamFaults { total: number; byType: Map<string, number>; }

const FAULTS_LOGGED_PER_STREAM = 8;

export class SmmuDriver {
  private readonly strtab: number; // frames
  private readonly cmdq: number;
  private readonly evtq: number;
  private cmdProd = 0;
  private readonly owners = new Map<number, IommuDomain>(); // sid -> owner
  private readonly faults = new Map<number, StreamFaults>(); // sid -> faults while owned
  private readonly names = new Map<number, string>(); // sid -> device name
  eventsLost = 0;
  commandErrors = 0;

  constructor(private readonly host: IommuHost, readonly smmu: SmmuV3) {
    const fa = host.frames;
    this.strtab = fa.alloc(OWNER_XEN, KIND_IOMMU);
    this.cmdq = fa.alloc(OWNER_XEN, KIND_IOMMU);
    this.evtq = fa.alloc(OWNER_XEN, KIND_IOMMU);
    for (const f of [this.strtab, this.cmdq, this.evtq]) fa.core.bytes.fill(0, fa.hostOf(f), fa.hostOf(f) + 4096);
    if ((1 << SID_BITS) * STE_SIZE > 4096 || (1 << CMDQ_MAX_LOG2) * CMD_SIZE > 4096 || (1 << EVENTQ_MAX_LOG2) * EVT_SIZE > 4096) throw new Error("SMMU tables do not fit a frame");
    // Every stream aborts until a device on it is assigned.
    for (let sid = 0; sid < 1 << SID_BITS; sid++) this.writeSte(sid, null);
    const w = (off: number, v: bigint): void => smmu.writeReg(off, v);
    w(SMMU_REG.CR0, 0n);
    w(SMMU_REG.GBPA, BigInt(GBPA_UPDATE | GBPA_ABORT));
    w(SMMU_REG.STRTAB_BASE, fa.paOf(this.strtab));
    w(SMMU_REG.STRTAB_BASE_CFG, BigInt(SID_BITS));
    w(SMMU_REG.CMDQ_BASE, fa.paOf(this.cmdq) | BigInt(CMDQ_MAX_LOG2));
    w(SMMU_REG.CMDQ_PROD, 0n);
    w(SMMU_REG.CMDQ_CONS, 0n);
    w(SMMU_REG.EVENTQ_BASE, fa.paOf(this.evtq) | BigInt(EVENTQ_MAX_LOG2));
    w(SMMU_REG.EVENTQ_PROD, 0n);
    w(SMMU_REG.EVENTQ_CONS, 0n);
    smmu.onIrq = (line) => (line === "eventq" ? this.drainEvents() : this.globalError());
    w(SMMU_REG.IRQ_CTRL, BigInt(IRQ_CTRL.GERROR | IRQ_CTRL.EVENTQ));
    w(SMMU_REG.CR0, BigInt(CR0.CMDQEN | CR0.EVENTQEN));
    this.command(CMD.CFGI_STE_RANGE, 0, 0, 31);
    this.command(CMD.TLBI_NSNH_ALL, 0, 0, 0);
    this.sync();
    w(SMMU_REG.CR0, BigInt(CR0.CMDQEN | CR0.EVENTQEN | CR0.SMMUEN));
    if (smmu.readReg(SMMU_REG.CR0ACK) !== BigInt(CR0.CMDQEN | CR0.EVENTQEN | CR0.SMMUEN)) throw new Error("the SMMU did not acknowledge being enabled");
  }

  // The frames the SMMU's structures occupy (for the memory audit).
  tableFrames(): number[] { return [this.strtab, this.cmdq, this.evtq]; }

  name(sid: number, device: string): void { this.names.set(sid, device); }

  attach(sid: number, d: IommuDomain): void {
    if (this.owners.has(sid)) throw new Error(`SMMU stream ${sid} already belongs to d${this.owners.get(sid)!.id}`);
    this.owners.set(sid, d);
    this.faults.set(sid, { total: 0, byType: new Map() });
    this.writeSte(sid, d);
    this.command(CMD.CFGI_STE, sid, 0, 0);
    this.command(CMD.TLBI_S12_VMALL, d.p2m.vmid, 0, 0);
    this.sync();
  }

  detach(sid: number): void {
    const d = this.owners.get(sid);
    if (!d) return;
    this.writeSte(sid, null);
    this.command(CMD.CFGI_STE, sid, 0, 0);
    this.command(CMD.TLBI_S12_VMALL, d.p2m.vmid, 0, 0);
    this.sync();
    this.drainEvents(); // faults it made while it was d's are d's
    this.owners.delete(sid);
  }

  owns(d: IommuDomain): boolean {
    for (const o of this.owners.values()) if (o === d) return true;
    return false;
  }

  // The domain's p2m lost or narrowed a mapping: no device of it may keep
  // reaching the old frame.
  flush(d: IommuDomain): void {
    if (!this.owns(d)) return;
    this.command(CMD.TLBI_S12_VMALL, d.p2m.vmid, 0, 0);
    this.sync();
  }

  faultsOf(sid: number): StreamFaults | undefined { return this.faults.get(sid); }

  // ---- the queues
  private writeSte(sid: number, d: IommuDomain | null): void {
    const fa = this.host.frames;
    const h = fa.hostOf(this.strtab) + sid * STE_SIZE;
    const v = fa.core.view;
    for (let i = 0; i < STE_SIZE; i += 4) v.setUint32(h + i, 0, true);
    if (!d) { v.setUint32(h, STE_V | (STE_CFG.ABORT << 1), true); return; }
    // Stage 2 with the CPU's VTCR: 40-bit IPA from level 1 (two concatenated
    // root tables), 4 KiB granule, 48-bit output, inner-shareable write-back
    // walks, faults recorded.
    const dw2 = BigInt(d.p2m.vmid & 0xffff) | (BigInt(64 - P2M_IPA_BITS) << BigInt(STE2.T0SZ)) | (1n << BigInt(STE2.SL0))
      | (1n << BigInt(STE2.IR0)) | (1n << BigInt(STE2.OR0)) | (3n << BigInt(STE2.SH0)) | (5n << BigInt(STE2.PS))
      | (1n << BigInt(STE2.AA64)) | (1n << BigInt(STE2.R));
    v.setBigUint64(h + 16, dw2, true);
    v.setBigUint64(h + 24, fa.paOf(d.p2m.root), true);
    v.setUint32(h, STE_V | (STE_CFG.S2 << 1), true); // valid last
  }

  private command(op: number, arg: number, lo: number, hi: number): void {
    const fa = this.host.frames;
    const mask = (1 << CMDQ_MAX_LOG2) - 1;
    const h = fa.hostOf(this.cmdq) + (this.cmdProd & mask) * CMD_SIZE;
    const v = fa.core.view;
    v.setUint32(h, op, true);
    v.setUint32(h + 4, arg, true);
    v.setUint32(h + 8, lo, true);
    v.setUint32(h + 12, hi, true);
    this.cmdProd = (this.cmdProd + 1) & ((2 << CMDQ_MAX_LOG2) - 1);
  }

  // Publishes the queued commands with a CMD_SYNC and checks they all ran.
  private sync(): void {
    this.command(CMD.SYNC, 0, 0, 0);
    this.smmu.writeReg(SMMU_REG.CMDQ_PROD, BigInt(this.cmdProd));
    const cons = Number(this.smmu.readReg(SMMU_REG.CMDQ_CONS));
    if ((cons & ((2 << CMDQ_MAX_LOG2) - 1)) !== this.cmdProd) throw new Error(`SMMU command queue stopped at ${cons & 0xffff} (error ${(cons >> 24) & 0x7f}), ${this.cmdProd} submitted`);
  }

  private globalError(): void {
    const active = Number(this.smmu.readReg(SMMU_REG.GERROR) ^ this.smmu.readReg(SMMU_REG.GERRORN));
    if (active & GERROR.CMDQ_ERR) { this.commandErrors++; this.host.log(`SMMU: command error ${(Number(this.smmu.readReg(SMMU_REG.CMDQ_CONS)) >> 24) & 0x7f}`); }
    if (active & GERROR.EVTQ_ABT_ERR) this.host.log("SMMU: event queue write aborted");
    if (active) this.smmu.writeReg(SMMU_REG.GERRORN, this.smmu.readReg(SMMU_REG.GERROR)); // acknowledged
  }

  private drainEvents(): void {
    const fa = this.host.frames;
    const v = fa.core.view;
    const wrap = (2 << EVENTQ_MAX_LOG2) - 1, mask = (1 << EVENTQ_MAX_LOG2) - 1;
    const prodReg = Number(this.smmu.readReg(SMMU_REG.EVENTQ_PROD));
    let cons = Number(this.smmu.readReg(SMMU_REG.EVENTQ_CONS));
    const overflow = (prodReg & Q_OVFLG) !== (cons & Q_OVFLG);
    const prod = prodReg & wrap;
    while ((cons & wrap) !== prod) {
      const h = fa.hostOf(this.evtq) + (cons & mask) * EVT_SIZE;
      const type = v.getUint32(h, true) & 0xff, sid = v.getUint32(h + 4, true);
      const read = (v.getUint32(h + 12, true) & (EVT1_RNW / 2 ** 32)) !== 0;
      const addr = v.getUint32(h + 16, true) + v.getUint32(h + 20, true) * 2 ** 32;
      this.noteFault(sid, type, read, addr);
      cons = (cons & Q_OVFLG) | ((cons + 1) & wrap);
    }
    if (overflow) {
      this.eventsLost++;
      this.host.log("SMMU: event queue overflowed; some DMA faults were not recorded");
      cons ^= Q_OVFLG;
    }
    this.smmu.writeReg(SMMU_REG.EVENTQ_CONS, BigInt(cons));
  }

  private noteFault(sid: number, type: number, read: boolean, addr: number): void {
    const owner = this.owners.get(sid);
    const f = this.faults.get(sid);
    const what = EVT_NAMES[type] ?? `event 0x${type.toString(16)}`;
    const dev = this.names.get(sid) ?? `stream ${sid}`;
    if (!owner || !f) { this.host.log(`SMMU: ${what} on unowned ${dev} at 0x${addr.toString(16)}`); return; }
    f.total++;
    f.byType.set(what, (f.byType.get(what) ?? 0) + 1);
    if (f.total <= FAULTS_LOGGED_PER_STREAM) {
      const why = type === EVT.F_TRANSLATION ? " (the domain has nothing there)" : type === EVT.F_PERMISSION ? " (the domain may not write there)" : "";
      this.host.log(`d${owner.id}: DMA fault: ${dev} ${read ? "read" : "wrote"} 0x${addr.toString(16)}: ${what}${why}${f.total === FAULTS_LOGGED_PER_STREAM ? "; further faults of it are counted, not logged" : ""}`);
    }
  }
}
