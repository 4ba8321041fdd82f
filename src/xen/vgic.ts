// The virtual GICv3: distributor and redistributor MMIO emulation, per-IRQ
// state (enable, pending, active, priority, edge/level, group, routing), SGI
// generation, and the list registers of each vCPU's virtual CPU interface,
// which the core acts on (src/cpu/core/gic_cpuif.ts).
//
// Before a vCPU runs, flush() writes its active and pending interrupts into
// the list registers; after it stops, sync() reads them back. Level-sensitive
// sources (the virtual timer, the event channel upcall, the vpl011) report
// their line level through level hooks evaluated at flush time.

import type { VcpuState } from "../cpu/cpu.js";
import { Layout } from "../cpu/cpu.js";
import type { SavedIrq, SavedVgic } from "./public/domain_context.js";

export const NR_PRIVATE = 32; // SGIs 0-15, PPIs 16-31
export const NUM_LRS = 16;
const GICD_CTLR_ENABLE_G1 = 1, GICD_CTLR_ENABLE_G1A = 2, GICD_CTLR_ARE_NS = 0x10;
const GICV3_PIDR2 = 0x3B;
const GICD_IIDR_VALUE = 0x0300043B; // implementer ARM (0x43B), as Xen's vGIC reports
const ICH_HCR_EN = 1n, ICH_HCR_UIE = 2n;

export class IrqState {
  enabled = false;
  latch = false; // pending latch (edge events, software pending)
  active = false;
  level = false; // line level of a level-sensitive source
  priority = 0;
  edge = false; // ICFGR: true = edge-triggered
  group1 = false;
  route = 0n; // IROUTER (SPIs)
  inLr = -1;
  constructor(readonly intid: number) {}
  pending(): boolean { return this.latch || (!this.edge && this.level); }
}

export type LevelHook = () => boolean;

// Per-vCPU part: the redistributor and the private interrupts.
export class VgicCpu {
  readonly irqs: IrqState[] = [];
  waker = 2; // ProcessorSleep set at reset
  readonly levelHooks = new Map<number, LevelHook>();
  lrIrqs: (IrqState | null)[] = new Array(NUM_LRS).fill(null);
  constructor(readonly index: number, readonly mpidr: bigint, readonly state: VcpuState) {
    for (let i = 0; i < NR_PRIVATE; i++) {
      const s = new IrqState(i);
      s.edge = i < 16; // SGIs are edge; PPIs level until configured
      this.irqs.push(s);
    }
  }
}

export interface VgicHost {
  kick(vcpuIndex: number): void; // an interrupt became pending for this vCPU
}

// Save/restore: the distributor and every interrupt's state, with no list
// register holding anything (the vCPUs are paused and synced).
type IrqSaved = SavedIrq;
export type VgicState = SavedVgic;

function saveIrq(s: IrqState): IrqSaved {
  return { enabled: s.enabled, latch: s.latch, active: s.active, level: s.level, priority: s.priority, edge: s.edge, group1: s.group1, route: s.route.toString() };
}
function loadIrq(s: IrqState, v: IrqSaved): void {
  s.enabled = v.enabled; s.latch = v.latch; s.active = v.active; s.level = v.level; s.priority = v.priority & 0xFF;
  s.edge = v.edge; s.group1 = v.group1; s.route = BigInt(v.route); s.inLr = -1;
}

export class Vgic {
  ctlr = 0;
  readonly spis: IrqState[] = [];
  readonly cpus: VgicCpu[] = [];
  unhandled = 0; // accesses to registers that do not exist

  constructor(readonly nrSpis: number, private readonly host: VgicHost) {
    for (let i = 0; i < nrSpis; i++) this.spis.push(new IrqState(NR_PRIVATE + i));
  }

  addCpu(index: number, mpidr: bigint, state: VcpuState): VgicCpu {
    const c = new VgicCpu(index, mpidr, state);
    this.cpus[index] = c;
    state.setGic(Layout.GIC_NUM_LRS, BigInt(NUM_LRS));
    state.setGic(Layout.GIC_HCR, ICH_HCR_EN);
    return c;
  }

  saveState(): VgicState {
    return { ctlr: this.ctlr, spis: this.spis.map(saveIrq), cpus: this.cpus.map((c) => ({ waker: c.waker, irqs: c.irqs.map(saveIrq) })) };
  }
  // What must hold of a saved state for this vGIC with `nrVcpus` vCPUs.
  checkState(s: VgicState, nrVcpus: number): string | null {
    if (s.spis.length !== this.spis.length) return `${s.spis.length} SPIs saved, this domain has ${this.spis.length}`;
    if (s.cpus.length !== nrVcpus) return `${s.cpus.length} redistributors saved for ${nrVcpus} vCPUs`;
    return null;
  }
  // A checked state (checkState) once the vCPUs exist.
  loadState(s: VgicState): void {
    this.ctlr = s.ctlr;
    s.spis.forEach((v, i) => loadIrq(this.spis[i], v));
    s.cpus.forEach((c, i) => {
      const cpu = this.cpus[i];
      cpu.waker = c.waker;
      c.irqs.forEach((v, j) => loadIrq(cpu.irqs[j], v));
      cpu.lrIrqs.fill(null);
    });
  }

  irq(cpu: number, intid: number): IrqState | undefined {
    if (intid < NR_PRIVATE) return this.cpus[cpu]?.irqs[intid];
    return this.spis[intid - NR_PRIVATE];
  }

  // Which vCPU an SPI goes to (IROUTER affinity; IRM=1 or no match: vCPU 0).
  spiTarget(s: IrqState): number {
    if ((s.route >> 31n) & 1n) return 0;
    const aff = (s.route & 0xFFFFFFn) | ((s.route >> 32n) & 0xFFn) << 24n;
    for (const c of this.cpus) {
      if (!c) continue;
      const m = (c.mpidr & 0xFFFFFFn) | ((c.mpidr >> 32n) & 0xFFn) << 24n;
      if (m === aff) return c.index;
    }
    return 0;
  }

  private notify(cpu: number, s: IrqState): void {
    if (s.enabled && s.pending()) this.host.kick(s.intid < NR_PRIVATE ? cpu : this.spiTarget(s));
  }

  // An edge event on an interrupt (or a software "set pending").
  inject(cpu: number, intid: number): void {
    const s = this.irq(cpu, intid);
    if (!s) return;
    s.latch = true;
    this.notify(cpu, s);
  }

  // The line level of a level-sensitive source (SPIs; PPIs use level hooks).
  setLevel(cpu: number, intid: number, level: boolean): void {
    const s = this.irq(cpu, intid);
    if (!s || s.level === level) return;
    s.level = level;
    if (level) this.notify(cpu, s);
  }

  // ICC_SGI1R_EL1 written by `from`: TargetList, Aff1-3, INTID, IRM, RS.
  sendSgi(from: number, v: bigint): void {
    const intid = Number((v >> 24n) & 0xFn);
    const irm = (v >> 40n) & 1n;
    const targets = Number(v & 0xFFFFn);
    const aff1 = (v >> 16n) & 0xFFn, aff2 = (v >> 32n) & 0xFFn, aff3 = (v >> 48n) & 0xFFn, rs = (v >> 44n) & 0xFn;
    for (const c of this.cpus) {
      if (!c) continue;
      let hit: boolean;
      if (irm) hit = c.index !== from;
      else {
        const m = c.mpidr;
        const a0 = m & 0xFFn;
        hit = ((m >> 8n) & 0xFFn) === aff1 && ((m >> 16n) & 0xFFn) === aff2 && ((m >> 32n) & 0xFFn) === aff3 &&
          a0 >> 4n === rs && ((targets >> Number(a0 & 0xFn)) & 1) === 1;
      }
      if (hit) this.inject(c.index, intid);
    }
  }

  private distEnabled(): boolean { return (this.ctlr & (GICD_CTLR_ENABLE_G1 | GICD_CTLR_ENABLE_G1A)) !== 0; }

  // Candidates for the list registers of one vCPU.
  private candidates(c: VgicCpu): IrqState[] {
    for (const [intid, hook] of c.levelHooks) c.irqs[intid].level = hook();
    const out: IrqState[] = [];
    const enabled = this.distEnabled();
    const wanted = (s: IrqState): boolean => s.active || (enabled && s.enabled && s.pending());
    for (const s of c.irqs) if (wanted(s)) out.push(s);
    // (The route last: it is BigInt arithmetic, and this runs before every slice.)
    for (const s of this.spis) if (wanted(s) && this.spiTarget(s) === c.index) out.push(s);
    return out;
  }

  // Write the vCPU's list registers (before it runs).
  flush(cpu: number): void {
    const c = this.cpus[cpu];
    const list = this.candidates(c);
    // active ones first (their EOI must find them), then by priority
    list.sort((a, b) => (Number(b.active) - Number(a.active)) || (a.priority - b.priority) || (a.intid - b.intid));
    const st = c.state;
    const enabled = this.distEnabled();
    let i = 0;
    for (const s of list) {
      if (i >= NUM_LRS) break;
      const pend = enabled && s.enabled && s.pending();
      const state = (pend ? 1n : 0n) | (s.active ? 2n : 0n);
      if (state === 0n) continue;
      st.setGicLr(i, (state << 62n) | (1n << 60n) | (BigInt(s.priority & 0xF8) << 48n) | BigInt(s.intid));
      if (pend) s.latch = false; // the pending state now lives in the LR
      s.inLr = i;
      c.lrIrqs[i] = s;
      i++;
    }
    const overflow = list.length > i;
    for (; i < NUM_LRS; i++) { st.setGicLr(i, 0n); c.lrIrqs[i] = null; }
    st.setGic(Layout.GIC_HCR, ICH_HCR_EN | (overflow ? ICH_HCR_UIE : 0n));
  }

  // Read the list registers back (after the vCPU stopped).
  sync(cpu: number): void {
    const c = this.cpus[cpu];
    const st = c.state;
    for (let i = 0; i < NUM_LRS; i++) {
      const s = c.lrIrqs[i];
      if (!s) continue;
      const lr = st.gicLr(i);
      const state = lr >> 62n;
      s.active = (state & 2n) !== 0n;
      // an edge interrupt not yet acknowledged stays pending
      if ((state & 1n) !== 0n && s.edge) s.latch = true;
      s.inLr = -1;
      c.lrIrqs[i] = null;
      st.setGicLr(i, 0n);
    }
    // EOIs for interrupts no LR held are counted by the CPU interface; nothing to undo here.
    const hcr = st.gic(Layout.GIC_HCR);
    st.setGic(Layout.GIC_HCR, hcr & ~(31n << 27n));
  }

  // Something deliverable is pending for this vCPU (to wake it from WFI).
  hasPending(cpu: number): boolean {
    const c = this.cpus[cpu];
    if (!c) return false;
    const enabled = this.distEnabled();
    for (const [intid, hook] of c.levelHooks) c.irqs[intid].level = hook();
    if (!enabled) return false;
    for (const s of c.irqs) if (s.enabled && s.pending()) return true;
    for (const s of this.spis) if (s.enabled && s.pending() && this.spiTarget(s) === cpu) return true;
    return false;
  }

  // ---- MMIO: distributor
  typer(): number {
    const itLines = Math.ceil(this.nrSpis / 32);
    const ncpus = Math.max(1, this.cpus.length);
    return itLines | ((Math.min(ncpus, 8) - 1) << 5) | (9 << 19); // IDbits = 10
  }

  private bitReg(list: (IrqState | undefined)[], base: number, get: (s: IrqState) => boolean): number {
    let v = 0;
    for (let b = 0; b < 32; b++) { const s = list[base + b]; if (s && get(s)) v |= 1 << b; }
    return v >>> 0;
  }
  private bitWrite(list: (IrqState | undefined)[], base: number, v: number, f: (s: IrqState) => void): void {
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) { const s = list[base + b]; if (s) f(s); }
  }

  // The 1-bit-per-IRQ registers shared by GICD (SPIs) and GICR SGI frame (private).
  private bankRead(list: (IrqState | undefined)[], reg: number, n: number): number | undefined {
    const base = n * 32;
    switch (reg) {
      case 0x080: return this.bitReg(list, base, (s) => s.group1);
      case 0x100: case 0x180: return this.bitReg(list, base, (s) => s.enabled);
      case 0x200: case 0x280: return this.bitReg(list, base, (s) => s.pending());
      case 0x300: case 0x380: return this.bitReg(list, base, (s) => s.active);
      case 0xD00: return 0; // IGRPMODR
      default: return undefined;
    }
  }
  private bankWrite(cpu: number, list: (IrqState | undefined)[], reg: number, n: number, v: number): boolean {
    const base = n * 32;
    switch (reg) {
      case 0x080: for (let b = 0; b < 32; b++) { const s = list[base + b]; if (s) s.group1 = ((v >>> b) & 1) === 1; } return true;
      case 0x100: this.bitWrite(list, base, v, (s) => { s.enabled = true; this.notify(cpu, s); }); return true;
      case 0x180: this.bitWrite(list, base, v, (s) => { s.enabled = false; }); return true;
      case 0x200: this.bitWrite(list, base, v, (s) => { s.latch = true; this.notify(cpu, s); }); return true;
      case 0x280: this.bitWrite(list, base, v, (s) => { s.latch = false; }); return true;
      case 0x300: this.bitWrite(list, base, v, (s) => { s.active = true; }); return true;
      case 0x380: this.bitWrite(list, base, v, (s) => { s.active = false; }); return true;
      case 0xD00: return true;
      default: return false;
    }
  }

  private prioRead(list: (IrqState | undefined)[], byteOff: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (list[byteOff + i]?.priority ?? 0) << (8 * i);
    return v >>> 0;
  }
  private prioWrite(list: (IrqState | undefined)[], byteOff: number, size: number, v: number): void {
    for (let i = 0; i < size; i++) { const s = list[byteOff + i]; if (s) s.priority = (v >>> (8 * i)) & 0xF8; }
  }
  private cfgRead(list: (IrqState | undefined)[], n: number): number {
    let v = 0;
    for (let i = 0; i < 16; i++) { const s = list[n * 16 + i]; if (s?.edge) v |= 2 << (2 * i); }
    return v >>> 0;
  }
  private cfgWrite(list: (IrqState | undefined)[], n: number, v: number, firstWritable: number): void {
    for (let i = 0; i < 16; i++) {
      const s = list[n * 16 + i];
      if (s && s.intid >= firstWritable) s.edge = ((v >>> (2 * i + 1)) & 1) === 1;
    }
  }

  private allSpiView(): (IrqState | undefined)[] {
    const v: (IrqState | undefined)[] = new Array(NR_PRIVATE).fill(undefined);
    return v.concat(this.spis);
  }

  distRead(cpu: number, off: number, size: number): bigint {
    if (off >= 0x6000 && off < 0x8000) { // IROUTER<n>, 64-bit
      const n = Math.floor((off - 0x6000) / 8);
      const s = n >= NR_PRIVATE ? this.spis[n - NR_PRIVATE] : undefined;
      const v = s ? s.route : 0n;
      return size === 8 ? v : (off & 4) ? v >> 32n : v & 0xFFFFFFFFn;
    }
    if (size === 8) return this.distRead(cpu, off, 4) | (this.distRead(cpu, off + 4, 4) << 32n);
    const view = this.allSpiView();
    if (off >= 0x400 && off < 0x800) return BigInt(this.prioRead(view, off - 0x400, size));
    const reg32 = off & ~3;
    let v: number | undefined;
    switch (reg32) {
      case 0x0000: v = this.ctlr | GICD_CTLR_ARE_NS; break;
      case 0x0004: v = this.typer(); break;
      case 0x0008: v = GICD_IIDR_VALUE; break;
      case 0x000C: case 0x0010: v = 0; break; // TYPER2, STATUSR
      case 0xFFE8: v = GICV3_PIDR2; break;
      default:
        if (reg32 >= 0x0080 && reg32 < 0x0400 || reg32 >= 0x0D00 && reg32 < 0x0D80) {
          const reg = reg32 >= 0x0D00 ? 0xD00 : reg32 & ~0x7F;
          const n = ((reg32 - reg) >> 2);
          v = n === 0 ? 0 : this.bankRead(view, reg, n); // private IRQs are in the redistributor (ARE)
        } else if (reg32 >= 0x0C00 && reg32 < 0x0D00) {
          const n = (reg32 - 0x0C00) >> 2;
          v = n < 2 ? 0 : this.cfgRead(view, n);
        } else if (reg32 >= 0x0800 && reg32 < 0x0C00 || reg32 >= 0xFFD0) v = 0; // ITARGETSR (RAZ with ARE), IDs
      }
    if (v === undefined) { this.unhandled++; v = 0; }
    return sizeSlice(BigInt(v >>> 0), off, size);
  }

  distWrite(cpu: number, off: number, size: number, value: bigint): void {
    if (off >= 0x6000 && off < 0x8000) {
      const n = Math.floor((off - 0x6000) / 8);
      const s = n >= NR_PRIVATE ? this.spis[n - NR_PRIVATE] : undefined;
      if (!s) return;
      if (size === 8) s.route = value & 0xFF80FFFFFFn;
      else if (off & 4) s.route = (s.route & 0xFFFFFFFFn) | ((value & 0xFFn) << 32n);
      else s.route = (s.route & ~0xFFFFFFFFn) | (value & 0x80FFFFFFn);
      this.notify(cpu, s);
      return;
    }
    if (size === 8) { this.distWrite(cpu, off, 4, value & 0xFFFFFFFFn); this.distWrite(cpu, off + 4, 4, value >> 32n); return; }
    const view = this.allSpiView();
    if (off >= 0x400 && off < 0x800) { this.prioWrite(view, off - 0x400, size, Number(value)); return; }
    const v = Number(value & 0xFFFFFFFFn);
    const reg32 = off & ~3;
    if (reg32 === 0x0000) {
      const was = this.distEnabled();
      this.ctlr = v & (GICD_CTLR_ENABLE_G1 | GICD_CTLR_ENABLE_G1A);
      if (!was && this.distEnabled()) for (const c of this.cpus) if (c) this.host.kick(c.index);
      return;
    }
    if (reg32 >= 0x0080 && reg32 < 0x0400 || reg32 >= 0x0D00 && reg32 < 0x0D80) {
      const reg = reg32 >= 0x0D00 ? 0xD00 : reg32 & ~0x7F;
      const n = (reg32 - reg) >> 2;
      if (n > 0) this.bankWrite(cpu, view, reg, n, v);
      return;
    }
    if (reg32 >= 0x0C00 && reg32 < 0x0D00) {
      const n = (reg32 - 0x0C00) >> 2;
      if (n >= 2) this.cfgWrite(view, n, v, NR_PRIVATE);
      return;
    }
    if (reg32 >= 0x0800 && reg32 < 0x0C00 || reg32 === 0x0040 || reg32 === 0x0048 || reg32 === 0x0F00) return; // RAZ/WI with ARE
    this.unhandled++;
  }

  // ---- MMIO: redistributors (128 KiB per vCPU: RD_base, then SGI_base)
  redistRead(off: number, size: number): bigint {
    const idx = Math.floor(off / 0x20000);
    const c = this.cpus[idx];
    if (!c) { this.unhandled++; return 0n; }
    const o = off % 0x20000;
    if (o === 0x0008) { // GICR_TYPER (64-bit)
      const m = c.mpidr;
      const aff = (m & 0xFFFFFFn) | (((m >> 32n) & 0xFFn) << 24n);
      const last = idx === this.cpus.length - 1 ? 1n << 4n : 0n;
      const v = (aff << 32n) | (BigInt(idx) << 8n) | last;
      return size === 8 ? v : v & 0xFFFFFFFFn;
    }
    if (o === 0x000C) { const m = c.mpidr; return (m & 0xFFFFFFn) | (((m >> 32n) & 0xFFn) << 24n); }
    if (size === 8) return this.redistRead(off, 4) | (this.redistRead(off + 4, 4) << 32n);
    if (o < 0x10000) {
      const r = o & ~3;
      let v: number;
      switch (r) {
        case 0x0000: v = 0; break; // CTLR: no LPIs
        case 0x0004: v = GICD_IIDR_VALUE; break;
        case 0x0010: v = 0; break; // STATUSR
        case 0x0014: v = c.waker | ((c.waker & 2) ? 4 : 0); break; // ChildrenAsleep follows ProcessorSleep
        case 0x0070: case 0x0074: case 0x0078: case 0x007C: v = 0; break; // PROPBASER, PENDBASER
        case 0xFFE8: v = GICV3_PIDR2; break;
        default:
          if (r >= 0xFFD0) v = 0;
          else { this.unhandled++; v = 0; }
      }
      return sizeSlice(BigInt(v >>> 0), o, size);
    }
    const s = o - 0x10000;
    if (s >= 0x400 && s < 0x420) return BigInt(this.prioRead(c.irqs, s - 0x400, size));
    const r = s & ~3;
    let v: number | undefined;
    if (r === 0x0080 || r === 0x0100 || r === 0x0180 || r === 0x0200 || r === 0x0280 || r === 0x0300 || r === 0x0380 || r === 0x0D00) {
      v = this.bankRead(c.irqs, r, 0);
    } else if (r === 0x0C00 || r === 0x0C04) v = this.cfgRead(c.irqs, (r - 0x0C00) >> 2);
    else if (r === 0x0E00) v = 0; // NSACR
    if (v === undefined) { this.unhandled++; v = 0; }
    return sizeSlice(BigInt(v >>> 0), s, size);
  }

  redistWrite(off: number, size: number, value: bigint): void {
    const idx = Math.floor(off / 0x20000);
    const c = this.cpus[idx];
    if (!c) { this.unhandled++; return; }
    const o = off % 0x20000;
    if (size === 8) { this.redistWrite(off, 4, value & 0xFFFFFFFFn); this.redistWrite(off + 4, 4, value >> 32n); return; }
    const v = Number(value & 0xFFFFFFFFn);
    if (o < 0x10000) {
      const r = o & ~3;
      if (r === 0x0014) { c.waker = v & 2; return; }
      if (r === 0x0000 || (r >= 0x0070 && r < 0x0080)) return;
      this.unhandled++;
      return;
    }
    const s = o - 0x10000;
    if (s >= 0x400 && s < 0x420) { this.prioWrite(c.irqs, s - 0x400, size, v); return; }
    const r = s & ~3;
    if (this.bankWrite(idx, c.irqs, r, 0, v)) return;
    if (r === 0x0C04) { this.cfgWrite(c.irqs, 1, v, 16); return; }
    if (r === 0x0C00 || r === 0x0E00) return; // SGIs are always edge; NSACR
    this.unhandled++;
  }
}

// The bytes [off, off+size) of a 32-bit register value at off & ~3.
function sizeSlice(v: bigint, off: number, size: number): bigint {
  const shift = BigInt((off & 3) * 8);
  const mask = size >= 4 ? 0xFFFFFFFFn : (1n << BigInt(size * 8)) - 1n;
  return (v >> shift) & mask;
}
