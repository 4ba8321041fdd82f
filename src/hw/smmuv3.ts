// The machine's IOMMU: an Arm SMMUv3 (IHI 0070, version 3.0) with stage 2
// only, as Xen on Arm drives it (xen/drivers/passthrough/arm/smmu-v3.c uses
// stage 2 alone and shares the CPU's stage-2 tables). Chosen over the older
// SMMUv2 because its configuration lives in memory (a stream table, command
// and event queues) rather than in banks of registers, so the hypervisor
// programs it the way it programs a real one and a fault is a record in
// memory, not a register someone must poll.
//
// Every DMA-capable device of the machine is a stream: its bus addresses go
// through stream(sid), which finds the Stream Table Entry, walks the stage-2
// tables it names in machine memory (4 KiB granule, AArch64 format), checks
// the access against the descriptor's S2AP bits and gives the 4 KiB machine
// page, or null: an abort, with an event record in the event queue. What the
// model caches (decoded STEs, translations tagged by VMID) stays until the
// driver invalidates it with CFGI_*/TLBI_* commands, as on hardware, so a
// driver that forgets to invalidate is caught by the tests, not hidden.
// Registers are reached with readReg/writeReg (offsets from the SMMU's base;
// page 1 at +0x10000); nothing of the SMMU is ever mapped into a guest.

import type { DmaSpace } from "./dma.js";
import { DMA_PAGE } from "./dma.js";

// Machine memory as the SMMU reaches it (its table walks, queues and the
// devices' DMA): physical addresses.
export interface MachineMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  // Host offset of machine physical address pa, or -1 if it is not RAM.
  hostOf(pa: number): number;
  // DMA wrote [host, host + len): translated code there must go.
  noteWrite(host: number, len: number): void;
}

export const SMMU_REG = {
  IDR0: 0x0, IDR1: 0x4, IDR2: 0x8, IDR3: 0xc, IDR4: 0x10, IDR5: 0x14, IIDR: 0x18, AIDR: 0x1c,
  CR0: 0x20, CR0ACK: 0x24, CR1: 0x28, CR2: 0x2c, STATUSR: 0x40, GBPA: 0x44, AGBPA: 0x48,
  IRQ_CTRL: 0x50, IRQ_CTRLACK: 0x54, GERROR: 0x60, GERRORN: 0x64,
  STRTAB_BASE: 0x80, STRTAB_BASE_CFG: 0x88, CMDQ_BASE: 0x90, CMDQ_PROD: 0x98, CMDQ_CONS: 0x9c,
  EVENTQ_BASE: 0xa0, EVENTQ_PROD: 0x100a8, EVENTQ_CONS: 0x100ac,
} as const;
export const SMMU_MMIO_SIZE = 0x20000;

export const CR0 = { SMMUEN: 1, EVENTQEN: 4, CMDQEN: 8 } as const;
export const IRQ_CTRL = { GERROR: 1, EVENTQ: 4 } as const;
export const GERROR = { CMDQ_ERR: 1, EVTQ_ABT_ERR: 4 } as const;
export const GBPA_ABORT = 1 << 20, GBPA_UPDATE = 2 ** 31;
export const CERROR = { NONE: 0, ILL: 1, ABT: 2 } as const;
export const Q_OVFLG = 2 ** 31;

export const SID_BITS = 6; // 64 streams
export const CMDQ_MAX_LOG2 = 8;
export const EVENTQ_MAX_LOG2 = 7;
export const STE_SIZE = 64, CMD_SIZE = 16, EVT_SIZE = 32;
const OAS_BITS = 48;

export const CMD = {
  PREFETCH_CONFIG: 0x01, PREFETCH_ADDR: 0x02, CFGI_STE: 0x03, CFGI_STE_RANGE: 0x04, CFGI_CD: 0x05, CFGI_CD_ALL: 0x06,
  TLBI_NH_ALL: 0x10, TLBI_NH_ASID: 0x11, TLBI_NH_VA: 0x12, TLBI_NH_VAA: 0x13,
  TLBI_S12_VMALL: 0x28, TLBI_S2_IPA: 0x2a, TLBI_NSNH_ALL: 0x30, SYNC: 0x46,
} as const;

export const EVT = {
  C_BAD_STREAMID: 0x02, F_STE_FETCH: 0x03, C_BAD_STE: 0x04, F_WALK_EABT: 0x0b,
  F_TRANSLATION: 0x10, F_ADDR_SIZE: 0x11, F_ACCESS: 0x12, F_PERMISSION: 0x13,
} as const;
export const EVT_NAMES: Record<number, string> = {
  [EVT.C_BAD_STREAMID]: "bad stream ID", [EVT.F_STE_FETCH]: "stream table entry fetch abort", [EVT.C_BAD_STE]: "bad stream table entry",
  [EVT.F_WALK_EABT]: "table walk abort", [EVT.F_TRANSLATION]: "translation fault", [EVT.F_ADDR_SIZE]: "address size fault",
  [EVT.F_ACCESS]: "access flag fault", [EVT.F_PERMISSION]: "permission fault",
};
// Event record dword 1
export const EVT1_RNW = 2 ** 35, EVT1_S2 = 2 ** 39;

// STE fields
export const STE_V = 1;
export const STE_CFG = { ABORT: 0, BYPASS: 4, S2: 6 } as const;
export const STE2 = { T0SZ: 32, SL0: 38, IR0: 40, OR0: 42, SH0: 44, TG: 46, PS: 48, AA64: 51, AFFD: 53, R: 58 } as const;

interface Ste {
  config: number; // STE_CFG
  vmid: number;
  ttb: number; // stage-2 table base (machine PA)
  iaBits: number;
  startLevel: number;
  startBits: number; // index bits resolved at the start level (concatenated tables)
  oaBits: number;
  affd: boolean;
  record: boolean;
}

interface Translation { host: number; page: Uint8Array; writable: boolean; }

const IOTLB_PER_VMID = 8192; // entries kept per VMID before the set is dropped (bounds host memory)

export interface SmmuStats {
  translations: number; iotlb_hits: number; walks: number; faults: number; events: number; events_lost: number; commands: number; command_errors: number;
}

// A queue base register: the raw value, the base address (bits [51:5]) and
// LOG2SIZE (bits [4:0]), capped at what the SMMU offers.
function queueBase(value: bigint, maxLog2: number): [bigint, number, number] {
  const raw = BigInt.asUintN(64, value);
  return [raw, Number(raw & 0x000FFFFFFFFFFFE0n), Math.min(Number(raw & 0x1Fn), maxLog2)];
}

const hi32 = (v: number): number => Math.floor(v / 2 ** 32);
const lo32 = (v: number): number => v >>> 0;

export class SmmuV3 {
  // register state
  private cr0 = 0;
  private cr1 = 0;
  private cr2 = 0;
  private gbpa = GBPA_ABORT; // no bypass until the driver says so
  private irqCtrl = 0;
  private gerror = 0;
  private gerrorn = 0;
  private strtabBase = 0;
  private strtabLog2 = 0;
  private cmdqBase = 0;
  private cmdqLog2 = 0;
  private cmdqProd = 0;
  private cmdqCons = 0; // bits [30:24] hold the error code
  private evtqBase = 0;
  private evtqLog2 = 0;
  private evtqProd = 0;
  private evtqCons = 0;
  private strtabRaw = 0n; // registers written as 64-bit values, kept for read-back
  private cmdqRaw = 0n;
  private evtqRaw = 0n;

  private readonly steCache = new Map<number, Ste | number>(); // sid -> decoded STE, or the event it gives
  private readonly iotlb = new Map<number, Map<number, Translation>>(); // vmid -> page -> translation
  private readonly streams: DmaSpace[] = [];
  readonly stats: SmmuStats = { translations: 0, iotlb_hits: 0, walks: 0, faults: 0, events: 0, events_lost: 0, commands: 0, command_errors: 0 };

  // The SMMU's wired interrupts (the event queue's and global errors').
  onIrq: (line: "eventq" | "gerror") => void = () => {};

  constructor(private readonly mem: MachineMemory) {
    for (let sid = 0; sid < 1 << SID_BITS; sid++) this.streams.push({ page: (addr, write) => this.translate(sid, addr, write) });
  }

  // What device `sid` sees of memory.
  stream(sid: number): DmaSpace {
    const s = this.streams[sid];
    if (!s) throw new RangeError(`SMMU stream ${sid} does not exist (${1 << SID_BITS} streams)`);
    return s;
  }

  // ---- registers
  readReg(off: number): bigint {
    switch (off) {
      // S2P, AArch64 tables, coherent walks, VMID16, no stall, terminate model, linear stream table
      case SMMU_REG.IDR0: return BigInt(1 | (2 << 2) | (1 << 4) | (1 << 18) | (1 << 24) | (1 << 26));
      case SMMU_REG.IDR1: return BigInt(SID_BITS | (EVENTQ_MAX_LOG2 << 16) | (CMDQ_MAX_LOG2 << 21));
      case SMMU_REG.IDR5: return BigInt(5 | (1 << 4)); // OAS 48 bits, 4 KiB granule
      case SMMU_REG.IDR2: case SMMU_REG.IDR3: case SMMU_REG.IDR4: case SMMU_REG.IIDR: case SMMU_REG.AIDR: return 0n;
      case SMMU_REG.CR0: case SMMU_REG.CR0ACK: return BigInt(this.cr0);
      case SMMU_REG.CR1: return BigInt(this.cr1);
      case SMMU_REG.CR2: return BigInt(this.cr2);
      case SMMU_REG.STATUSR: return 0n;
      case SMMU_REG.GBPA: return BigInt(this.gbpa);
      case SMMU_REG.IRQ_CTRL: case SMMU_REG.IRQ_CTRLACK: return BigInt(this.irqCtrl);
      case SMMU_REG.GERROR: return BigInt(this.gerror);
      case SMMU_REG.GERRORN: return BigInt(this.gerrorn);
      case SMMU_REG.STRTAB_BASE: return this.strtabRaw;
      case SMMU_REG.STRTAB_BASE_CFG: return BigInt(this.strtabLog2);
      case SMMU_REG.CMDQ_BASE: return this.cmdqRaw;
      case SMMU_REG.CMDQ_PROD: return BigInt(this.cmdqProd);
      case SMMU_REG.CMDQ_CONS: return BigInt(this.cmdqCons);
      case SMMU_REG.EVENTQ_BASE: return this.evtqRaw;
      case SMMU_REG.EVENTQ_PROD: return BigInt(this.evtqProd);
      case SMMU_REG.EVENTQ_CONS: return BigInt(this.evtqCons);
      default: return 0n; // RAZ
    }
  }

  writeReg(off: number, value: bigint): void {
    const v = Number(BigInt.asUintN(32, value));
    switch (off) {
      case SMMU_REG.CR0: {
        const was = this.cr0;
        this.cr0 = v & (CR0.SMMUEN | CR0.EVENTQEN | CR0.CMDQEN);
        if ((this.cr0 & CR0.SMMUEN) !== (was & CR0.SMMUEN)) this.steCache.clear();
        if (this.cr0 & CR0.CMDQEN && !(was & CR0.CMDQEN)) this.runCommands();
        return;
      }
      case SMMU_REG.CR1: this.cr1 = v; return;
      case SMMU_REG.CR2: this.cr2 = v; return;
      case SMMU_REG.GBPA: if (v & GBPA_UPDATE) this.gbpa = v & GBPA_ABORT; return;
      case SMMU_REG.IRQ_CTRL: this.irqCtrl = v & (IRQ_CTRL.GERROR | IRQ_CTRL.EVENTQ); return;
      case SMMU_REG.GERRORN: {
        this.gerrorn = v & (GERROR.CMDQ_ERR | GERROR.EVTQ_ABT_ERR);
        this.runCommands(); // a command error acknowledged: the queue goes on
        return;
      }
      // Base registers are read-only while what they describe is enabled.
      case SMMU_REG.STRTAB_BASE:
        if (this.cr0 & CR0.SMMUEN) return;
        this.strtabRaw = BigInt.asUintN(64, value);
        this.strtabBase = Number(this.strtabRaw & 0x000FFFFFFFFFFFC0n);
        return;
      case SMMU_REG.STRTAB_BASE_CFG:
        if (this.cr0 & CR0.SMMUEN) return;
        this.strtabLog2 = Math.min(v & 0x3f, SID_BITS); // linear format only (IDR0.ST_LEVEL = 0)
        return;
      case SMMU_REG.CMDQ_BASE:
        if (this.cr0 & CR0.CMDQEN) return;
        [this.cmdqRaw, this.cmdqBase, this.cmdqLog2] = queueBase(value, CMDQ_MAX_LOG2);
        return;
      case SMMU_REG.CMDQ_PROD:
        this.cmdqProd = v & ((2 << this.cmdqLog2) - 1);
        this.runCommands();
        return;
      case SMMU_REG.CMDQ_CONS: if (!(this.cr0 & CR0.CMDQEN)) this.cmdqCons = v & ((2 << this.cmdqLog2) - 1); return;
      case SMMU_REG.EVENTQ_BASE:
        if (this.cr0 & CR0.EVENTQEN) return;
        [this.evtqRaw, this.evtqBase, this.evtqLog2] = queueBase(value, EVENTQ_MAX_LOG2);
        return;
      case SMMU_REG.EVENTQ_PROD: if (!(this.cr0 & CR0.EVENTQEN)) this.evtqProd = v & ((2 << this.evtqLog2) - 1); return;
      case SMMU_REG.EVENTQ_CONS: this.evtqCons = (v & Q_OVFLG ? Q_OVFLG : 0) + (v & ((2 << this.evtqLog2) - 1)); return;
      default: return; // read-only or unimplemented: ignored
    }
  }

  // ---- command queue
  private runCommands(): void {
    const mask = (2 << this.cmdqLog2) - 1;
    for (;;) {
      if (!(this.cr0 & CR0.CMDQEN) || (this.gerror ^ this.gerrorn) & GERROR.CMDQ_ERR) return;
      const cons = this.cmdqCons & mask;
      if (cons === this.cmdqProd) return;
      const h = this.mem.hostOf(this.cmdqBase + (cons & ((1 << this.cmdqLog2) - 1)) * CMD_SIZE);
      const err = h < 0 ? CERROR.ABT : this.execute(this.mem.view.getUint32(h, true), this.mem.view.getUint32(h + 4, true), this.mem.view.getUint32(h + 8, true), this.mem.view.getUint32(h + 12, true));
      if (err !== CERROR.NONE) {
        this.stats.command_errors++;
        this.cmdqCons = cons | (err << 24);
        this.gerror ^= GERROR.CMDQ_ERR;
        if (this.irqCtrl & IRQ_CTRL.GERROR) this.onIrq("gerror");
        return;
      }
      this.cmdqCons = (cons + 1) & mask;
    }
  }

  private execute(w0: number, w1: number, w2: number, w3: number): number {
    this.stats.commands++;
    switch (w0 & 0xff) {
      case CMD.PREFETCH_CONFIG: case CMD.PREFETCH_ADDR: case CMD.CFGI_CD: case CMD.CFGI_CD_ALL:
      case CMD.TLBI_NH_ALL: case CMD.TLBI_NH_ASID: case CMD.TLBI_NH_VA: case CMD.TLBI_NH_VAA: // no stage 1 here: nothing cached
        return CERROR.NONE;
      case CMD.CFGI_STE: this.steCache.delete(w1); return CERROR.NONE;
      case CMD.CFGI_STE_RANGE: {
        const range = w2 & 0x1f;
        if (range >= SID_BITS - 1) { this.steCache.clear(); return CERROR.NONE; }
        const n = 2 ** (range + 1), first = w1 - (w1 % n);
        for (let s = first; s < first + n; s++) this.steCache.delete(s);
        return CERROR.NONE;
      }
      case CMD.TLBI_S12_VMALL: this.iotlb.delete(w1 & 0xffff); return CERROR.NONE;
      case CMD.TLBI_S2_IPA: this.iotlb.get(w1 & 0xffff)?.delete(Math.floor(((w3 & 0xfffff) * 2 ** 32 + (w2 >>> 0)) / DMA_PAGE)); return CERROR.NONE;
      case CMD.TLBI_NSNH_ALL: this.iotlb.clear(); return CERROR.NONE;
      case CMD.SYNC: return CERROR.NONE; // commands complete in order, at once: nothing left to wait for
      default: return CERROR.ILL;
    }
  }

  // ---- event queue
  private record(type: number, sid: number, addr: number, read: boolean, stage2: boolean, ipa: number): void {
    this.stats.events++;
    if (!(this.cr0 & CR0.EVENTQEN)) { this.stats.events_lost++; return; }
    const mask = (1 << this.evtqLog2) - 1, wrapMask = (2 << this.evtqLog2) - 1;
    const prod = this.evtqProd & wrapMask, cons = this.evtqCons & wrapMask;
    if ((prod & mask) === (cons & mask) && prod !== cons) { // full: the record is lost, and OVFLG says so
      this.stats.events_lost++;
      if ((this.evtqProd & Q_OVFLG) === (this.evtqCons & Q_OVFLG)) this.evtqProd ^= Q_OVFLG;
      return;
    }
    const h = this.mem.hostOf(this.evtqBase + (prod & mask) * EVT_SIZE);
    if (h < 0) {
      this.stats.events_lost++;
      if (!((this.gerror ^ this.gerrorn) & GERROR.EVTQ_ABT_ERR)) this.gerror ^= GERROR.EVTQ_ABT_ERR;
      if (this.irqCtrl & IRQ_CTRL.GERROR) this.onIrq("gerror");
      return;
    }
    const v = this.mem.view;
    v.setUint32(h, type, true);
    v.setUint32(h + 4, sid, true);
    const w1hi = (read ? hi32(EVT1_RNW) : 0) | (stage2 ? hi32(EVT1_S2) : 0);
    v.setUint32(h + 8, 0, true);
    v.setUint32(h + 12, w1hi, true);
    v.setUint32(h + 16, lo32(addr), true);
    v.setUint32(h + 20, hi32(addr), true);
    v.setUint32(h + 24, lo32(ipa - (ipa % DMA_PAGE)), true);
    v.setUint32(h + 28, hi32(ipa), true);
    this.mem.noteWrite(h, EVT_SIZE);
    this.evtqProd = (this.evtqProd & Q_OVFLG) | ((prod + 1) & wrapMask);
    if (this.irqCtrl & IRQ_CTRL.EVENTQ) this.onIrq("eventq");
  }

  // ---- translation
  private ste(sid: number): Ste | number {
    const cached = this.steCache.get(sid);
    if (cached !== undefined) return cached;
    const s = this.fetchSte(sid);
    this.steCache.set(sid, s);
    return s;
  }

  private fetchSte(sid: number): Ste | number {
    if (sid >= 2 ** this.strtabLog2) return EVT.C_BAD_STREAMID;
    const h = this.mem.hostOf(this.strtabBase + sid * STE_SIZE);
    if (h < 0) return EVT.F_STE_FETCH;
    const v = this.mem.view;
    const w0 = v.getUint32(h, true);
    // dword 2 in halves: it has bits above 2^53, which a double would round
    const lo2 = v.getUint32(h + 16, true), hi2 = v.getUint32(h + 20, true);
    const f2 = (at: number, n: number): number => (at >= 32 ? hi2 >>> (at - 32) : lo2 >>> at) & ((1 << n) - 1);
    const dw3 = v.getUint32(h + 24, true) + (v.getUint32(h + 28, true) & 0xfffff) * 2 ** 32;
    if (!(w0 & STE_V)) return EVT.C_BAD_STE;
    const config = (w0 >> 1) & 7;
    const base: Ste = { config, vmid: 0, ttb: 0, iaBits: 0, startLevel: 0, startBits: 0, oaBits: 0, affd: false, record: false };
    if (config === STE_CFG.ABORT || config === STE_CFG.BYPASS) return base;
    if (config !== STE_CFG.S2) return EVT.C_BAD_STE; // stage 1 is not implemented (IDR0.S1P = 0)
    const t0sz = f2(STE2.T0SZ, 6), sl0 = f2(STE2.SL0, 2), tg = f2(STE2.TG, 2), ps = f2(STE2.PS, 3);
    if (!f2(STE2.AA64, 1) || tg !== 0 || sl0 === 3 || ps > 5 || t0sz < 16 || t0sz > 39) return EVT.C_BAD_STE;
    const iaBits = 64 - t0sz, startLevel = 2 - sl0;
    const startBits = iaBits - (12 + 9 * (3 - startLevel));
    if (startBits < 1 || startBits > 13) return EVT.C_BAD_STE; // at most 16 concatenated tables
    const ttb = dw3 - (dw3 % 16);
    if (ttb % (8 * 2 ** Math.max(startBits, 9))) return EVT.C_BAD_STE; // the (concatenated) root must be aligned to its size
    return { config, vmid: lo2 & 0xffff, ttb, iaBits, startLevel, startBits, oaBits: Math.min([32, 36, 40, 42, 44, 48][ps], OAS_BITS), affd: f2(STE2.AFFD, 1) === 1, record: f2(STE2.R, 1) === 1 };
  }

  private translate(sid: number, addr: number, write: boolean): Uint8Array | null {
    this.stats.translations++;
    if (!(this.cr0 & CR0.SMMUEN)) return this.gbpa & GBPA_ABORT ? null : this.bypass(addr, write);
    const s = this.ste(sid);
    if (typeof s === "number") { this.fault(s, sid, addr, write, false, 0, true); return null; }
    if (s.config === STE_CFG.ABORT) return null; // aborted without a record, as the STE asks
    if (s.config === STE_CFG.BYPASS) return this.bypass(addr, write);
    const page = Math.floor(addr / DMA_PAGE);
    let set = this.iotlb.get(s.vmid);
    const hit = set?.get(page);
    if (hit && (!write || hit.writable)) {
      this.stats.iotlb_hits++;
      if (write) this.mem.noteWrite(hit.host, DMA_PAGE);
      return hit.page;
    }
    const t = this.walk(s, sid, addr, write);
    if (!t) return null;
    if (!set) { set = new Map(); this.iotlb.set(s.vmid, set); }
    if (set.size >= IOTLB_PER_VMID) set.clear();
    set.set(page, t);
    if (write) this.mem.noteWrite(t.host, DMA_PAGE);
    return t.page;
  }

  private bypass(addr: number, write: boolean): Uint8Array | null {
    const h = this.mem.hostOf(addr - (addr % DMA_PAGE));
    if (h < 0) return null;
    if (write) this.mem.noteWrite(h, DMA_PAGE);
    return this.mem.bytes.subarray(h, h + DMA_PAGE);
  }

  // Every fault is counted; it becomes an event record when `recorded`
  // (configuration errors always are; translation faults when STE.S2R asks).
  private fault(type: number, sid: number, addr: number, write: boolean, stage2: boolean, ipa: number, recorded: boolean): void {
    this.stats.faults++;
    if (recorded) this.record(type, sid, addr, !write, stage2, ipa);
  }

  // The stage-2 walk (4 KiB granule): table, block (levels 1 and 2) and page
  // descriptors, the output size, the access flag and S2AP.
  private walk(s: Ste, sid: number, ipa: number, write: boolean): Translation | null {
    this.stats.walks++;
    const f = (type: number): null => { this.fault(type, sid, ipa, write, true, ipa, s.record); return null; };
    if (ipa < 0 || ipa >= 2 ** s.iaBits) return f(EVT.F_TRANSLATION);
    const v = this.mem.view;
    let table = s.ttb;
    for (let level = s.startLevel; level <= 3; level++) {
      const shift = 12 + 9 * (3 - level);
      const idx = level === s.startLevel ? Math.floor(ipa / 2 ** shift) % 2 ** s.startBits : Math.floor(ipa / 2 ** shift) % 512;
      if (table >= 2 ** s.oaBits) return f(EVT.F_ADDR_SIZE);
      const h = this.mem.hostOf(table + idx * 8);
      if (h < 0) return f(EVT.F_WALK_EABT);
      const lo = v.getUint32(h, true), hi = v.getUint32(h + 4, true);
      const type = lo & 3;
      const oa = (hi & 0xffff) * 2 ** 32 + ((lo & 0xfffff000) >>> 0); // bits [47:12]
      if (type === 3 && level < 3) { table = oa; continue; }
      if (!(type === 3 || (type === 1 && (level === 1 || level === 2)))) return f(EVT.F_TRANSLATION);
      const blockSize = 2 ** shift;
      const out = oa - (oa % blockSize) + (ipa % blockSize);
      if (out >= 2 ** s.oaBits) return f(EVT.F_ADDR_SIZE);
      if (!(lo & (1 << 10)) && !s.affd) return f(EVT.F_ACCESS);
      const readable = (lo & (1 << 6)) !== 0, writable = (lo & (1 << 7)) !== 0;
      if (write ? !writable : !readable) return f(EVT.F_PERMISSION);
      const host = this.mem.hostOf(out - (out % DMA_PAGE));
      if (host < 0) { this.stats.faults++; return null; } // no RAM there: the access aborts on the bus
      return { host, page: this.mem.bytes.subarray(host, host + DMA_PAGE), writable };
    }
    return f(EVT.F_TRANSLATION);
  }
}
