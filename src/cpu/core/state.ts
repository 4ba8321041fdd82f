// vCPU state: the layout of one vCPU's block in machine memory, and the hot
// PSTATE fields the interpreter keeps in wasm globals while a vCPU runs.
//
// Every vCPU's state lives in its own block inside the one WebAssembly.Memory,
// so the hypervisor (TypeScript) switches vCPUs by pointing `cpu` at another
// block: nothing is copied. The TypeScript side reads these offsets from the
// exported `layout_*` functions (see index.ts), so they are defined only here.

export const VCPU_BLOCK_SIZE: u32 = 0x80000; // 3 TLB sets of 128 KiB and their logs

export const OFF_X: u32 = 0x000; // x0..x30 (8 bytes each); slot 31 holds the current SP
export const OFF_V: u32 = 0x100; // v0..v31, 16 bytes each
export const OFF_PC: u32 = 0x300;
export const OFF_PSTATE: u32 = 0x308; // SPSR format: NZCV, DAIF, PAN, M[3:0]
export const OFF_FPCR: u32 = 0x310;
export const OFF_FPSR: u32 = 0x314;
export const OFF_EVENT: u32 = 0x318; // WFE event register
export const OFF_INSTRET: u32 = 0x320; // instructions retired by this vCPU (u64)
export const OFF_EXCL: u32 = 0x328; // exclusive monitor: addr (u64), value lo, value hi, size, valid
export const OFF_SYS: u32 = 0x400; // system registers, 8 bytes each, indexed by SR_*
export const OFF_EXIT: u32 = 0x800; // exit syndrome (see EX_*)
export const OFF_GIC: u32 = 0x900; // virtual GIC CPU interface (see GIC_*)
export const OFF_TLB: u32 = 0x1000; // 3 TLB sets (EL0, EL1, EL1 with PAN)

// Exit area fields (offsets from OFF_EXIT)
export const EX_REASON: u32 = 0x00; // u32 EXIT_*
export const EX_ESR: u32 = 0x08; // u64, ESR_EL2 format syndrome
export const EX_FAR: u32 = 0x10; // u64, faulting virtual address
export const EX_IPA: u32 = 0x18; // u64, faulting IPA (HPFAR_EL2 with the page offset)
export const EX_INSN: u32 = 0x20; // u32, the instruction word
export const EX_VALUE: u32 = 0x28; // u64, store data for an MMIO write exit (low part)
export const EX_VALUE_HI: u32 = 0x30; // u64, high part (128-bit stores)

// System register slots (index * 8 + OFF_SYS)
export const SR_SCTLR: u32 = 0;
export const SR_TCR: u32 = 1;
export const SR_TTBR0: u32 = 2;
export const SR_TTBR1: u32 = 3;
export const SR_MAIR: u32 = 4;
export const SR_AMAIR: u32 = 5;
export const SR_VBAR: u32 = 6;
export const SR_CONTEXTIDR: u32 = 7;
export const SR_TPIDR_EL0: u32 = 8;
export const SR_TPIDR_EL1: u32 = 9;
export const SR_TPIDRRO_EL0: u32 = 10;
export const SR_CPACR: u32 = 11;
export const SR_CNTKCTL: u32 = 12;
export const SR_CNTV_CTL: u32 = 13;
export const SR_CNTV_CVAL: u32 = 14;
export const SR_PAR: u32 = 15;
export const SR_ESR: u32 = 16;
export const SR_FAR: u32 = 17;
export const SR_ELR: u32 = 18;
export const SR_SPSR: u32 = 19;
export const SR_SP_EL0: u32 = 20;
export const SR_SP_EL1: u32 = 21;
export const SR_MDSCR: u32 = 22;
export const SR_OSLSR: u32 = 23;
export const SR_OSDLR: u32 = 24;
export const SR_AFSR0: u32 = 25;
export const SR_AFSR1: u32 = 26;
export const SR_CSSELR: u32 = 27;
export const SR_ACTLR: u32 = 28;
export const SR_MDCCINT: u32 = 29;
export const SR_CNTP_CTL: u32 = 30; // only used when the machine runs without a hypervisor
export const SR_CNTP_CVAL: u32 = 31;
export const SR_TFSR: u32 = 32; // spare
export const SR_DISR: u32 = 33;
export const SR_SPSR_ABT: u32 = 34; // spare
// EL2 controls, written by the hypervisor
export const SR_HCR: u32 = 40; // HCR_EL2 subset: VM, FMO, IMO, AMO, VF, VI, VSE, TWI, TWE, TSC, TID*, TVM, TACR
export const SR_VTTBR: u32 = 41; // stage-2 root (machine PA) and VMID[63:48]
export const SR_VTCR: u32 = 42; // T0SZ, SL0 (4 KiB granule only)
export const SR_CNTVOFF: u32 = 43;
export const SR_VMPIDR: u32 = 44;
export const SR_VPIDR: u32 = 45;
export const SR_CNTHCTL: u32 = 46; // EL1PCTEN (bit 0), EL1PCEN (bit 1)
export const SR_CTRL: u32 = 47; // xents-only controls, CTRL_*
export const SR_ICH_VTR: u32 = 48;
// Counters for the hypervisor
export const SR_TLB_MISSES: u32 = 60; // translate() calls (TLB misses and the accesses that always walk)
export const SR_TLB_FLUSHES: u32 = 61; // invalidations of more than a page: all entries (TCR/SCTLR/MAIR writes, a new TTBR1 base, TLBI VMALLE1, p2m changes) or the non-global ones (TTBR writes, TLBI ASIDE1)
export const SR_TLB_FULL_FLUSHES: u32 = 62; // ... of which cleared all 3 x TLB_ENTRIES entries

// CTRL bits (SR_CTRL)
export const CTRL_EXC_TO_HOST: u64 = 1; // exceptions bound for EL1 exit instead (user-mode runner)
export const CTRL_EXIT_ON_SGI: u64 = 2; // reserved

// HCR_EL2 bits
export const HCR_VM: u64 = 1 << 0;
export const HCR_FMO: u64 = 1 << 3;
export const HCR_IMO: u64 = 1 << 4;
export const HCR_AMO: u64 = 1 << 5;
export const HCR_VF: u64 = 1 << 6;
export const HCR_VI: u64 = 1 << 7;
export const HCR_VSE: u64 = 1 << 8;
export const HCR_TWI: u64 = 1 << 13;
export const HCR_TWE: u64 = 1 << 14;
export const HCR_TSC: u64 = 1 << 19;
export const HCR_TACR: u64 = 1 << 21;
export const HCR_TVM: u64 = 1 << 26;
export const HCR_TID3: u64 = 1 << 18;

// Exit reasons (returned by run())
export const EXIT_NONE: u32 = 0;
export const EXIT_BUDGET: u32 = 1; // instruction budget spent
export const EXIT_HVC: u32 = 2; // ESR EC 0x16, pc already past the HVC
export const EXIT_SMC: u32 = 3; // ESR EC 0x17, pc at the SMC
export const EXIT_SYSREG: u32 = 4; // ESR EC 0x18, pc at the MSR/MRS
export const EXIT_DABT: u32 = 5; // stage-2 data abort (ESR EC 0x24), pc at the access
export const EXIT_IABT: u32 = 6; // stage-2 instruction abort (ESR EC 0x20)
export const EXIT_WFI: u32 = 7; // WFI/WFE executed, pc past it (EC 0x01, TI in bit 0)
export const EXIT_TIMER: u32 = 8; // the virtual timer condition became true
export const EXIT_EXCEPTION: u32 = 9; // CTRL_EXC_TO_HOST: an exception for EL1 (ESR_EL1 format in EX_ESR)
export const EXIT_MAINTENANCE: u32 = 10; // GIC maintenance condition (ICH_HCR_EL2 UIE/NPIE/LRENPIE)
export const EXIT_SGI: u32 = 11; // reserved
export const EXIT_HALT: u32 = 12; // the host asked the core to stop (request_exit)
export const EXIT_ERROR: u32 = 13; // the core hit an impossible state (reported, never thrown)

// --- Hot state of the running vCPU (wasm globals) -------------------------
export let cpu: usize = 0; // base of the running vCPU's block
export let pc: u64 = 0; // address of the next instruction
export let curPC: u64 = 0; // address of the instruction being executed
export let curInsn: u32 = 0; // the instruction word being executed
export let nzcv: u32 = 0; // N=bit3 Z=bit2 C=bit1 V=bit0
export let el: u32 = 0; // current exception level (0 or 1)
export let spsel: u32 = 0; // 0: SP_EL0, 1: SP_ELx
export let daif: u32 = 0; // D=bit3 A=bit2 I=bit1 F=bit0
export let pan: u32 = 0;
export let ss: u32 = 0;
export let il: u32 = 0;
export let attention: bool = false; // re-check interrupts / exits before the next instruction
export let exitReason: u32 = 0; // set by an instruction that must leave run()
export let faulted: bool = false; // the current instruction took an exception or an exit
export let instret: u64 = 0; // mirror of the running vCPU's OFF_INSTRET

export function setCpu(p: usize): void { cpu = p; }
export function setPC(v: u64): void { pc = v; }
export function setNZCV(v: u32): void { nzcv = v; }
export function setEL(v: u32): void { el = v; }
export function setSpsel(v: u32): void { spsel = v; }
export function setDaif(v: u32): void { daif = v; }
export function setPan(v: u32): void { pan = v; }
export function setSS(v: u32): void { ss = v; }
export function setIL(v: u32): void { il = v; }
export function setCurPC(v: u64): void { curPC = v; }
export function setCurInsn(v: u32): void { curInsn = v; }
export function setAttention(v: bool): void { attention = v; }
export function setExitReason(v: u32): void { exitReason = v; attention = true; }
export function setFaulted(v: bool): void { faulted = v; if (v) attention = true; }
export function setInstret(v: u64): void { instret = v; }

// --- Register file ---------------------------------------------------------
// Reads of register 31 in the "ZR" flavour give zero; in the "SP" flavour they
// give the current stack pointer, which is kept in slot 31.
@inline export function xr(n: u32): u64 { return n == 31 ? 0 : load<u64>(cpu + (<usize>n << 3)); }
@inline export function xsp(n: u32): u64 { return load<u64>(cpu + (<usize>n << 3)); }
@inline export function wr(n: u32): u32 { return n == 31 ? 0 : load<u32>(cpu + (<usize>n << 3)); }
@inline export function setX(n: u32, v: u64): void { if (n != 31) store<u64>(cpu + (<usize>n << 3), v); }
@inline export function setXSP(n: u32, v: u64): void { store<u64>(cpu + (<usize>n << 3), v); }
@inline export function setW(n: u32, v: u32): void { if (n != 31) store<u64>(cpu + (<usize>n << 3), <u64>v); }
@inline export function getSP(): u64 { return load<u64>(cpu, OFF_X + 31 * 8); }
@inline export function setSP(v: u64): void { store<u64>(cpu, v, OFF_X + 31 * 8); }

@inline export function sr(i: u32): u64 { return load<u64>(cpu + OFF_SYS + (<usize>i << 3)); }
@inline export function setSr(i: u32, v: u64): void { store<u64>(cpu + OFF_SYS + (<usize>i << 3), v); }

@inline export function vaddr(n: u32): usize { return cpu + OFF_V + (<usize>n << 4); }

@inline export function exitField64(off: u32, v: u64): void { store<u64>(cpu + OFF_EXIT + off, v); }
@inline export function exitField32(off: u32, v: u32): void { store<u32>(cpu + OFF_EXIT + off, v); }

// PSTATE as an SPSR value (ARM ARM D1.6.4 / "SPSR_EL1" layout)
export function pstateToSpsr(): u64 {
  let m: u32 = el == 0 ? 0 : (spsel != 0 ? 5 : 4);
  return (<u64>nzcv << 28) | (<u64>pan << 22) | (<u64>ss << 21) | (<u64>il << 20) | (<u64>daif << 6) | <u64>m;
}

// Switches the stack pointer bank when EL or SPSel changes: slot 31 always holds
// the SP the current (EL, SPSel) selects.
export function saveSPBank(): void {
  if (el == 0 || spsel == 0) setSr(SR_SP_EL0, getSP());
  else setSr(SR_SP_EL1, getSP());
}
export function loadSPBank(): void {
  if (el == 0 || spsel == 0) setSP(sr(SR_SP_EL0));
  else setSP(sr(SR_SP_EL1));
}

// Copy the hot globals to/from the block, around run() and for the host.
export function syncIn(): void {
  pc = load<u64>(cpu, OFF_PC);
  const p = load<u64>(cpu, OFF_PSTATE);
  nzcv = <u32>(p >> 28) & 0xF;
  pan = <u32>(p >> 22) & 1;
  ss = <u32>(p >> 21) & 1;
  il = <u32>(p >> 20) & 1;
  daif = <u32>(p >> 6) & 0xF;
  const m = <u32>p & 0xF;
  el = m >> 2;
  spsel = m & 1;
  instret = load<u64>(cpu, OFF_INSTRET);
  loadSPBank(); // the banked SP_EL0/SP_EL1 are the host-visible truth
}
export function syncOut(): void {
  store<u64>(cpu, pc, OFF_PC);
  store<u64>(cpu, pstateToSpsr(), OFF_PSTATE);
  store<u64>(cpu, instret, OFF_INSTRET);
  saveSPBank();
}
