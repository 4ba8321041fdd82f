// The TypeScript face of the AArch64 core: one WebAssembly instance per host,
// owning the machine memory (one WebAssembly.Memory shared by the core and
// TypeScript), and views of vCPU state blocks inside it.
//
// Memory map of the WebAssembly.Memory (wasm offsets):
//   [0, 1 MiB)           the core's own static data
//   [1 MiB, ~119 MiB)    vCPU state blocks (512 KiB each: 235 of them)
//   [~119 MiB, 128 MiB)  what the interpreter ran in recent frames and the
//                        translator's frame records (src/cpu/core/code_frames.ts)
//   [128 MiB, +ramSize)  machine RAM, machine physical [ramBase, ramBase+ramSize)

import { Jit, JitOptions, JitStats, jitOptionsFromEnv, EXEC_SLOTS, EXEC_MAP_BYTES } from "./jit/jit.js";
import { tuneEngineForTranslation } from "./jit/engine.js";
import { coreModule } from "./core_module.js";
import { TLB_ENTRIES } from "./jit/translate_page.js";

// Mirrors of the core's constants (state.ts); test/unit/domain_context.test.ts
// checks them against the compiled module's exports.
export const SR = {
  SCTLR: 0, TCR: 1, TTBR0: 2, TTBR1: 3, MAIR: 4, AMAIR: 5, VBAR: 6, CONTEXTIDR: 7, TPIDR_EL0: 8, TPIDR_EL1: 9,
  TPIDRRO_EL0: 10, CPACR: 11, CNTKCTL: 12, CNTV_CTL: 13, CNTV_CVAL: 14, PAR: 15, ESR: 16, FAR: 17, ELR: 18,
  SPSR: 19, SP_EL0: 20, SP_EL1: 21, MDSCR: 22, OSLSR: 23, OSDLR: 24, AFSR0: 25, AFSR1: 26, CSSELR: 27, ACTLR: 28,
  MDCCINT: 29, CNTP_CTL: 30, CNTP_CVAL: 31, DISR: 33, HCR: 40, VTTBR: 41, VTCR: 42, CNTVOFF: 43, VMPIDR: 44, VPIDR: 45,
  CNTHCTL: 46, CTRL: 47, TLB_MISSES: 60, TLB_FLUSHES: 61, TLB_FULL_FLUSHES: 62,
} as const;

export const Exit = {
  NONE: 0, BUDGET: 1, HVC: 2, SMC: 3, SYSREG: 4, DABT: 5, IABT: 6, WFI: 7, TIMER: 8, EXCEPTION: 9,
  MAINTENANCE: 10, HALT: 12, ERROR: 13,
} as const;
export type ExitReason = (typeof Exit)[keyof typeof Exit];
export const EXIT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Exit).map(([k, v]) => [v, k]));

export const CTRL_EXC_TO_HOST = 1n;

export const Layout = {
  VCPU_BLOCK_SIZE: 0x80000, TLB_ENTRIES, OFF_X: 0x000, OFF_V: 0x100, OFF_PC: 0x300, OFF_PSTATE: 0x308, OFF_FPCR: 0x310,
  OFF_FPSR: 0x314, OFF_EVENT: 0x318, OFF_INSTRET: 0x320, OFF_EXCL: 0x328, OFF_SYS: 0x400, OFF_EXIT: 0x800,
  OFF_GIC: 0x900, OFF_TLB: 0x1000, EX_REASON: 0x00, EX_ESR: 0x08, EX_FAR: 0x10, EX_IPA: 0x18, EX_INSN: 0x20,
  EX_VALUE: 0x28, EX_VALUE_HI: 0x30, GIC_LR: 0x00, GIC_HCR: 0x80, GIC_VMCR: 0x88, GIC_AP0R: 0x90, GIC_AP1R: 0x98,
  GIC_NUM_LRS: 0xA0,
} as const;

export const UNDEF_CLASS_NAMES = [
  "unallocated", "dp-imm", "branch", "system", "sysreg", "ldst", "ldst-excl", "ldst-simd",
  "dp-reg", "fp", "simd", "crypto", "class12", "class13", "class14", "class15",
];

const VCPU_AREA = 0x100000;
// The translator's frame records (8 bytes per 4 KiB frame: 8 MiB covers the largest RAM).
const JIT_TAB = 0x7800000;
// Below it, the instructions the interpreter ran in recent frames (code_frames.ts).
const EXEC_MAP = JIT_TAB - EXEC_MAP_BYTES;
const VCPU_AREA_END = EXEC_MAP;
const RAM_HOST = 0x8000000;
const MEMORY_LIMIT = 0xFFFF0000; // the largest WebAssembly memory (65535 pages of 64 KiB)
// The most machine RAM one core can have: what the 4 GiB WebAssembly memory holds after the vCPU area.
export const MAX_RAM_MIB = Math.floor((MEMORY_LIMIT - RAM_HOST) / (1 << 20));
const PAGE = 65536;

export interface CoreExports {
  memory: WebAssembly.Memory;
  run(c: number, budget: bigint, clockBase: bigint, clockScale: bigint): number;
  vcpuIrqPending(c: number): number;
  setRam(base: bigint, size: bigint, host: number): void;
  registerVcpu(c: number): void;
  unregisterVcpu(c: number): void;
  tlbFlushCpu(c: number): void;
  tlbFlushAllBroadcast(): void;
  setCounterFrequency(hz: bigint): void;
  setIdReg(i: number, v: bigint): void;
  getIdReg(i: number): bigint;
  undefCount(cls: number): bigint;
  guestWalk(c: number, va: bigint, write: number): bigint;
  injectSync(c: number, esr: bigint, far: bigint, hasFar: number): void;
  undefReset(): void;
  [name: string]: unknown;
}


export interface CoreOptions {
  ramBase: bigint; // machine physical address of RAM
  ramSize: number; // bytes, a multiple of 64 KiB
  jit?: JitOptions; // translation to WebAssembly (default: from XENTS_JIT / XENTS_JIT_THRESHOLD)
}

// Function-table slots the core's own module uses (its element segment); translated pages go after.
const CORE_TABLE_SLOTS = 3;

export class Core {
  readonly memory: WebAssembly.Memory;
  readonly exports: CoreExports;
  readonly ramBase: bigint;
  readonly ramSize: number;
  readonly ramHost = RAM_HOST;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private freeBlocks: number[] = [];
  private nextBlock = VCPU_AREA;

  constructor(opts: CoreOptions) {
    if (opts.ramSize % PAGE !== 0 || opts.ramSize <= 0) throw new Error("ramSize must be a positive multiple of 64 KiB");
    const total = RAM_HOST + opts.ramSize;
    if (total > MEMORY_LIMIT) throw new Error(`${opts.ramSize / (1 << 20)} MiB of RAM do not fit in a 4 GiB WebAssembly memory (at most ${MAX_RAM_MIB} MiB)`);
    this.memory = new WebAssembly.Memory({ initial: total / PAGE, maximum: total / PAGE });
    const jit = new Jit(opts.jit ?? jitOptionsFromEnv(), CORE_TABLE_SLOTS);
    this.jit = jit;
    const instance = new WebAssembly.Instance(coreModule(), {
      env: {
        memory: this.memory,
        table: jit.table,
        jitCompile: (frame: number, entry: number) => jit.compile(frame, entry),
        jitOptimize: (frame: number, slot: number) => jit.optimize(frame, slot),
        jitPoll: () => jit.poll(),
        abort: (_msg: number, _file: number, line: number, col: number) => {
          throw new Error(`core abort at ${line}:${col}`);
        },
      },
    });
    this.exports = instance.exports as unknown as CoreExports;
    if ((this.exports.jitExecSlots as () => number)() !== EXEC_SLOTS) throw new Error("the core and its TypeScript side disagree on the executed-instruction map");
    if (jit.options.enabled) tuneEngineForTranslation();
    this.ramBase = opts.ramBase;
    this.ramSize = opts.ramSize;
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
    this.exports.setRam(opts.ramBase, BigInt(opts.ramSize), RAM_HOST);
    jit.attach({ memory: this.memory, exports: this.exports }, JIT_TAB, opts.ramSize / 4096, RAM_HOST, EXEC_MAP);
  }

  readonly jit: Jit;
  jitStats(): JitStats { return this.jit.snapshot(); }
  // Host writes to machine RAM that bypass the core (copies, scrubbing, DMA,
  // loaders): translated code of the frames written goes.
  noteWrite(hostOff: number, len: number): void {
    if (hostOff >= RAM_HOST) (this.exports.jitNoteWrite as (off: number, len: number) => void)(hostOff - RAM_HOST, len);
  }

  // Wasm offset of a machine physical address in RAM (throws outside RAM).
  hostOffset(pa: bigint, len = 1): number {
    const off = pa - this.ramBase;
    if (off < 0n || off + BigInt(len) > BigInt(this.ramSize)) {
      throw new RangeError(`machine address 0x${pa.toString(16)} (+${len}) is outside RAM`);
    }
    return RAM_HOST + Number(off);
  }
  isRam(pa: bigint, len = 1): boolean {
    const off = pa - this.ramBase;
    return off >= 0n && off + BigInt(len) <= BigInt(this.ramSize);
  }
  // A view of machine RAM (no copy).
  ram(pa: bigint, len: number): Uint8Array {
    return this.bytes.subarray(this.hostOffset(pa, len), this.hostOffset(pa, len) + len);
  }
  read64(pa: bigint): bigint { return this.view.getBigUint64(this.hostOffset(pa, 8), true); }
  write64(pa: bigint, v: bigint): void { this.view.setBigUint64(this.hostOffset(pa, 8), BigInt.asUintN(64, v), true); }
  read32(pa: bigint): number { return this.view.getUint32(this.hostOffset(pa, 4), true); }
  write32(pa: bigint, v: number): void { this.view.setUint32(this.hostOffset(pa, 4), v >>> 0, true); }

  createVcpu(): VcpuState {
    let base = this.freeBlocks.pop();
    if (base === undefined) {
      if (this.nextBlock + Layout.VCPU_BLOCK_SIZE > VCPU_AREA_END) throw new Error("out of vCPU blocks");
      base = this.nextBlock;
      this.nextBlock += Layout.VCPU_BLOCK_SIZE;
    }
    this.bytes.fill(0, base, base + Layout.VCPU_BLOCK_SIZE);
    this.exports.registerVcpu(base);
    return new VcpuState(this, base);
  }
  destroyVcpu(v: VcpuState): void {
    this.exports.unregisterVcpu(v.base);
    this.bytes.fill(0, v.base, v.base + Layout.VCPU_BLOCK_SIZE);
    this.freeBlocks.push(v.base);
  }

  undefinedCounts(): Record<string, number> {
    const r: Record<string, number> = {};
    UNDEF_CLASS_NAMES.forEach((name, i) => {
      const n = Number(this.exports.undefCount(i));
      if (n) r[name] = n;
    });
    return r;
  }
}

// One vCPU's state block: registers, PSTATE, system registers, exit syndrome.
export class VcpuState {
  constructor(readonly core: Core, readonly base: number) {}
  private get dv(): DataView { return this.core.view; }

  x(n: number): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_X + n * 8, true); }
  setX(n: number, v: bigint): void { this.dv.setBigUint64(this.base + Layout.OFF_X + n * 8, BigInt.asUintN(64, v), true); }
  get pc(): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_PC, true); }
  set pc(v: bigint) { this.dv.setBigUint64(this.base + Layout.OFF_PC, BigInt.asUintN(64, v), true); }
  get pstate(): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_PSTATE, true); }
  set pstate(v: bigint) { this.dv.setBigUint64(this.base + Layout.OFF_PSTATE, v, true); }
  get el(): number { return Number((this.pstate >> 2n) & 3n); }
  get nzcv(): number { return Number((this.pstate >> 28n) & 0xFn); }
  get fpcr(): number { return this.dv.getUint32(this.base + Layout.OFF_FPCR, true); }
  set fpcr(v: number) { this.dv.setUint32(this.base + Layout.OFF_FPCR, v >>> 0, true); }
  get fpsr(): number { return this.dv.getUint32(this.base + Layout.OFF_FPSR, true); }
  set fpsr(v: number) { this.dv.setUint32(this.base + Layout.OFF_FPSR, v >>> 0, true); }
  get instret(): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_INSTRET, true); }
  set instret(v: bigint) { this.dv.setBigUint64(this.base + Layout.OFF_INSTRET, BigInt.asUintN(64, v), true); }
  // the WFE event register (set by SEV/SEVL and exception returns, consumed by WFE)
  get eventRegister(): boolean { return this.dv.getUint32(this.base + Layout.OFF_EVENT, true) !== 0; }
  set eventRegister(v: boolean) { this.dv.setUint32(this.base + Layout.OFF_EVENT, v ? 1 : 0, true); }
  // v register n as [lo, hi] 64-bit halves
  v(n: number): [bigint, bigint] {
    const o = this.base + Layout.OFF_V + n * 16;
    return [this.dv.getBigUint64(o, true), this.dv.getBigUint64(o + 8, true)];
  }
  setV(n: number, lo: bigint, hi = 0n): void {
    const o = this.base + Layout.OFF_V + n * 16;
    this.dv.setBigUint64(o, BigInt.asUintN(64, lo), true);
    this.dv.setBigUint64(o + 8, BigInt.asUintN(64, hi), true);
  }
  sys(i: number): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_SYS + i * 8, true); }
  setSys(i: number, v: bigint): void { this.dv.setBigUint64(this.base + Layout.OFF_SYS + i * 8, BigInt.asUintN(64, v), true); }
  // SP as the current EL/SPSel selects it (between runs, the banked copies are the truth)
  get sp(): bigint {
    const m = Number(this.pstate & 0xFn);
    return this.sys(m === 0 || (m & 1) === 0 ? SR.SP_EL0 : SR.SP_EL1);
  }
  set sp(v: bigint) {
    const m = Number(this.pstate & 0xFn);
    this.setSys(m === 0 || (m & 1) === 0 ? SR.SP_EL0 : SR.SP_EL1, v);
  }
  get exitEsr(): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_EXIT + Layout.EX_ESR, true); }
  get exitFar(): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_EXIT + Layout.EX_FAR, true); }
  get exitIpa(): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_EXIT + Layout.EX_IPA, true); }
  get exitInsn(): number { return this.dv.getUint32(this.base + Layout.OFF_EXIT + Layout.EX_INSN, true); }
  gicLr(i: number): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_GIC + Layout.GIC_LR + i * 8, true); }
  setGicLr(i: number, v: bigint): void { this.dv.setBigUint64(this.base + Layout.OFF_GIC + Layout.GIC_LR + i * 8, v, true); }
  gic(off: number): bigint { return this.dv.getBigUint64(this.base + Layout.OFF_GIC + off, true); }
  setGic(off: number, v: bigint): void { this.dv.setBigUint64(this.base + Layout.OFF_GIC + off, v, true); }
  irqPending(): boolean { return this.core.exports.vcpuIrqPending(this.base) !== 0; }
  // The IPA of a VA under this vCPU's EL1 stage-1 translation, or null.
  walk(va: bigint, write: boolean): bigint | null {
    const r = this.core.exports.guestWalk(this.base, va, write ? 1 : 0);
    return r === 0xFFFFFFFFFFFFFFFFn || r === -1n ? null : BigInt.asUintN(64, r);
  }
  // Take a synchronous exception to EL1 at the current PC.
  inject(esr: bigint, far?: bigint): void {
    this.core.exports.injectSync(this.base, esr, far ?? 0n, far === undefined ? 0 : 1);
  }
  flushTlb(): void { this.core.exports.tlbFlushCpu(this.base); }

  run(budget: bigint, clockBase = 0n, clockScale = 40960n): ExitReason {
    this.core.jit.poll(); // translations finished in the background go in between runs
    return this.core.exports.run(this.base, budget, clockBase, clockScale) as ExitReason;
  }
}
