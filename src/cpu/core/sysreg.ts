// MRS and MSR (register): the EL0/EL1 system registers Linux uses, the ID
// registers (advertising exactly what the core implements), the generic timer
// and the GICv3 CPU interface. Registers the hypervisor emulates (SGI
// generation, the physical timer) exit with EXIT_SYSREG; EL0 accesses that
// the EL1 controls forbid trap to EL1 with EC 0x18.

import {
  cpu, el, nzcv, daif, spsel, pan, curPC, xr, setX, setPC, setNZCV, setDaif, setSpsel, setPan, setAttention,
  setFaulted, setExitReason, exitField64, exitField32, sr, setSr, saveSPBank, loadSPBank,
  SR_SCTLR, SR_TCR, SR_TTBR0, SR_TTBR1, SR_MAIR, SR_AMAIR, SR_VBAR, SR_CONTEXTIDR, SR_TPIDR_EL0, SR_TPIDR_EL1,
  SR_TPIDRRO_EL0, SR_CPACR, SR_CNTKCTL, SR_CNTV_CVAL, SR_PAR, SR_ESR, SR_FAR, SR_ELR, SR_SPSR, SR_SP_EL0,
  SR_MDSCR, SR_OSLSR, SR_OSDLR, SR_AFSR0, SR_AFSR1, SR_CSSELR, SR_ACTLR, SR_MDCCINT, SR_DISR,
  SR_VMPIDR, SR_VPIDR, SR_CNTHCTL, OFF_FPCR, OFF_FPSR, EX_ESR, EX_INSN, EXIT_SYSREG,
} from "./state";
import { takeSyncException, undefinedInstruction, CLS_SYSREG, EC_SYSREG } from "./exceptions";
import { tlbFlushCpu, tlbFlushNonGlobal } from "./mmu";
import { selectTlb } from "./tlb_sets";
import {
  physicalCount, virtualCount, readCntvCtl, writeCntvCtl, readCntvTval, writeCntvTval, cntFreq,
} from "./timer";
import {
  acknowledge, endOfInterrupt, deactivateInterrupt, highestPendingIntid, readCtlr, writeCtlr, writePmr, vpmr,
  readBpr, writeBpr, readIgrpen, writeIgrpen, readAp, writeAp, runningPriority, virtualIrqPending, virtualFiqPending,
} from "./gic_cpuif";
import { refreshFpEnabled } from "./cpacr";

// key = op0:op1:CRn:CRm:op2, as bits [20:5] of the instruction
@inline function K(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32): u32 {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

// ID register values. The hypervisor may override them (setIdReg).
export const ID_MIDR: u32 = 0;
export const ID_REVIDR: u32 = 1;
export const ID_AA64PFR0: u32 = 2;
export const ID_AA64PFR1: u32 = 3;
export const ID_AA64DFR0: u32 = 4;
export const ID_AA64DFR1: u32 = 5;
export const ID_AA64ISAR0: u32 = 6;
export const ID_AA64ISAR1: u32 = 7;
export const ID_AA64MMFR0: u32 = 8;
export const ID_AA64MMFR1: u32 = 9;
export const ID_AA64MMFR2: u32 = 10;
export const ID_CTR: u32 = 11;
export const ID_DCZID: u32 = 12;
export const ID_CLIDR: u32 = 13;
export const ID_AA64ISAR2: u32 = 14;
const idRegs = new StaticArray<u64>(16);
function initIdRegs(): void {
  unchecked(idRegs[ID_MIDR] = 0x411FD070); // Cortex-A57 r1p0, as the reference platform
  unchecked(idRegs[ID_REVIDR] = 0);
  // EL0/EL1 AArch64 only, FP and AdvSIMD (no FP16), GICv3 system registers, CSV2, CSV3
  unchecked(idRegs[ID_AA64PFR0] = 0x1100000001000011);
  unchecked(idRegs[ID_AA64PFR1] = 0);
  // Debug v8, 2 breakpoints, 2 watchpoints, 1 context comparator, no PMU
  unchecked(idRegs[ID_AA64DFR0] = 0x00101006);
  unchecked(idRegs[ID_AA64DFR1] = 0);
  unchecked(idRegs[ID_AA64ISAR0] = 0x11120); // AES+PMULL, SHA1, SHA2, CRC32
  unchecked(idRegs[ID_AA64ISAR1] = 0);
  unchecked(idRegs[ID_AA64ISAR2] = 0);
  // 48-bit PA, 16-bit ASIDs, 4 KiB granule only, little-endian only
  unchecked(idRegs[ID_AA64MMFR0] = 0x0F000025);
  unchecked(idRegs[ID_AA64MMFR1] = 0x00100000); // PAN
  unchecked(idRegs[ID_AA64MMFR2] = 0);
  // 64-byte lines, IDC (no D-cache clean needed for I/D coherence), PIPT I-cache
  unchecked(idRegs[ID_CTR] = 0x9444C004);
  unchecked(idRegs[ID_DCZID] = 4); // DC ZVA zeroes 64 bytes
  unchecked(idRegs[ID_CLIDR] = 0x0A200023);
}
initIdRegs();
export function setIdReg(i: u32, v: u64): void { if (i < 16) unchecked(idRegs[i] = v); }
export function getIdReg(i: u32): u64 { return i < 16 ? unchecked(idRegs[i]) : 0; }

// Debug breakpoint/watchpoint registers: kept, not acted on (2 + 2).
const DBG_BASE: u32 = 64; // sysreg slots 64..71: BVR0,BCR0,BVR1,BCR1,WVR0,WCR0,WVR1,WCR1

// ISS for EC 0x18
@inline function sysIss(insn: u32, isRead: bool): u32 {
  const op0 = (insn >> 19) & 3, op1 = (insn >> 16) & 7, crn = (insn >> 12) & 15, crm = (insn >> 8) & 15, op2 = (insn >> 5) & 7;
  const rt = insn & 31;
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | (isRead ? 1 : 0);
}

// EL0 access forbidden by an EL1 control: trap to EL1.
export function trapToEl1(insn: u32, isRead: bool): void {
  takeSyncException(EC_SYSREG, sysIss(insn, isRead), 0, false, curPC);
}
// Access the hypervisor emulates: exit with an ESR_EL2-format syndrome.
export function trapToHyp(insn: u32, isRead: bool): void {
  exitField64(EX_ESR, (<u64>EC_SYSREG << 26) | (1 << 25) | sysIss(insn, isRead));
  exitField32(EX_INSN, insn);
  setPC(curPC);
  setFaulted(true);
  setExitReason(EXIT_SYSREG);
}

function ccsidr(): u64 {
  const sel = <u32>sr(SR_CSSELR) & 0xF;
  if (sel == 0) return 0x701FE00A; // L1 D: 32 KiB, 2-way, 64-byte lines
  if (sel == 1) return 0x201FE012; // L1 I: 48 KiB, 3-way
  if (sel == 2) return 0x70FFE07A; // L2: 2 MiB, 16-way
  return 0;
}

function isr(): u64 {
  let v: u64 = 0;
  if (virtualIrqPending()) v |= 1 << 7;
  if (virtualFiqPending()) v |= 1 << 6;
  return v;
}

// Returns false when the register is not accessible (the caller raises UNDEFINED).
function readSys(key: u32, insn: u32): bool {
  const rt = insn & 31;
  const k = key;
  // EL0-accessible registers first
  switch (k) {
    case K(3, 3, 4, 2, 0): setX(rt, <u64>nzcv << 28); return true;
    case K(3, 3, 4, 2, 1):
      if (el == 0 && (sr(SR_SCTLR) & (1 << 9)) == 0) { trapToEl1(insn, true); return true; }
      setX(rt, <u64>daif << 6); return true;
    case K(3, 3, 4, 4, 0): setX(rt, <u64>load<u32>(cpu, OFF_FPCR)); return true;
    case K(3, 3, 4, 4, 1): setX(rt, <u64>load<u32>(cpu, OFF_FPSR)); return true;
    case K(3, 3, 13, 0, 2): setX(rt, sr(SR_TPIDR_EL0)); return true;
    case K(3, 3, 13, 0, 3): setX(rt, sr(SR_TPIDRRO_EL0)); return true;
    case K(3, 3, 0, 0, 1): // CTR_EL0
      if (el == 0 && (sr(SR_SCTLR) & (1 << 15)) == 0) { trapToEl1(insn, true); return true; }
      setX(rt, unchecked(idRegs[ID_CTR])); return true;
    case K(3, 3, 0, 0, 7): setX(rt, unchecked(idRegs[ID_DCZID]) | ((el == 0 && (sr(SR_SCTLR) & (1 << 14)) == 0) ? 16 : 0)); return true;
    case K(3, 3, 14, 0, 0): // CNTFRQ_EL0
      if (el == 0 && (sr(SR_CNTKCTL) & 3) == 0) { trapToEl1(insn, true); return true; }
      setX(rt, cntFreq); return true;
    case K(3, 3, 14, 0, 1): // CNTPCT_EL0
      if (el == 0 && (sr(SR_CNTKCTL) & 1) == 0) { trapToEl1(insn, true); return true; }
      if (el == 1 && (sr(SR_CNTHCTL) & 1) == 0) { trapToHyp(insn, true); return true; }
      setX(rt, physicalCount()); return true;
    case K(3, 3, 14, 0, 2): // CNTVCT_EL0
      if (el == 0 && (sr(SR_CNTKCTL) & 2) == 0) { trapToEl1(insn, true); return true; }
      setX(rt, virtualCount()); return true;
    case K(3, 3, 14, 3, 0): // CNTV_TVAL_EL0
      if (el == 0 && (sr(SR_CNTKCTL) & (1 << 8)) == 0) { trapToEl1(insn, true); return true; }
      setX(rt, readCntvTval()); return true;
    case K(3, 3, 14, 3, 1):
      if (el == 0 && (sr(SR_CNTKCTL) & (1 << 8)) == 0) { trapToEl1(insn, true); return true; }
      setX(rt, readCntvCtl()); return true;
    case K(3, 3, 14, 3, 2):
      if (el == 0 && (sr(SR_CNTKCTL) & (1 << 8)) == 0) { trapToEl1(insn, true); return true; }
      setX(rt, sr(SR_CNTV_CVAL)); return true;
    case K(3, 3, 14, 2, 0): case K(3, 3, 14, 2, 1): case K(3, 3, 14, 2, 2): // CNTP_*
      if (el == 0 && (sr(SR_CNTKCTL) & (1 << 9)) == 0) { trapToEl1(insn, true); return true; }
      trapToHyp(insn, true); return true;
    default: break;
  }
  if (el == 0) return false;
  // ID register space (op0=3, op1=0, CRn=0, CRm=1..7): unlisted ones read as zero.
  if ((k & ~<u32>0x3F) == K(3, 0, 0, 0, 0) && ((k >> 3) & 7) != 0) {
    let v: u64 = 0;
    switch (k) {
      case K(3, 0, 0, 4, 0): v = unchecked(idRegs[ID_AA64PFR0]); break;
      case K(3, 0, 0, 4, 1): v = unchecked(idRegs[ID_AA64PFR1]); break;
      case K(3, 0, 0, 5, 0): v = unchecked(idRegs[ID_AA64DFR0]); break;
      case K(3, 0, 0, 5, 1): v = unchecked(idRegs[ID_AA64DFR1]); break;
      case K(3, 0, 0, 6, 0): v = unchecked(idRegs[ID_AA64ISAR0]); break;
      case K(3, 0, 0, 6, 1): v = unchecked(idRegs[ID_AA64ISAR1]); break;
      case K(3, 0, 0, 6, 2): v = unchecked(idRegs[ID_AA64ISAR2]); break;
      case K(3, 0, 0, 7, 0): v = unchecked(idRegs[ID_AA64MMFR0]); break;
      case K(3, 0, 0, 7, 1): v = unchecked(idRegs[ID_AA64MMFR1]); break;
      case K(3, 0, 0, 7, 2): v = unchecked(idRegs[ID_AA64MMFR2]); break;
      default: v = 0;
    }
    setX(rt, v);
    return true;
  }
  let v: u64 = 0;
  switch (k) {
    case K(3, 0, 0, 0, 0): { const vp = sr(SR_VPIDR); v = vp != 0 ? vp : unchecked(idRegs[ID_MIDR]); break; }
    case K(3, 0, 0, 0, 5): v = sr(SR_VMPIDR) | 0x80000000; break;
    case K(3, 0, 0, 0, 6): v = unchecked(idRegs[ID_REVIDR]); break;
    case K(3, 1, 0, 0, 0): v = ccsidr(); break;
    case K(3, 1, 0, 0, 1): v = unchecked(idRegs[ID_CLIDR]); break;
    case K(3, 1, 0, 0, 7): v = 0; break; // AIDR
    case K(3, 2, 0, 0, 0): v = sr(SR_CSSELR); break;
    case K(3, 0, 1, 0, 0): v = sr(SR_SCTLR); break;
    case K(3, 0, 1, 0, 1): v = sr(SR_ACTLR); break;
    case K(3, 0, 1, 0, 2): v = sr(SR_CPACR); break;
    case K(3, 0, 2, 0, 0): v = sr(SR_TTBR0); break;
    case K(3, 0, 2, 0, 1): v = sr(SR_TTBR1); break;
    case K(3, 0, 2, 0, 2): v = sr(SR_TCR); break;
    case K(3, 0, 4, 0, 0): v = sr(SR_SPSR); break;
    case K(3, 0, 4, 0, 1): v = sr(SR_ELR); break;
    case K(3, 0, 4, 1, 0): // SP_EL0: not accessible with SPSel=0
      if (spsel == 0) return false;
      v = sr(SR_SP_EL0); break;
    case K(3, 0, 4, 2, 0): v = <u64>spsel; break;
    case K(3, 0, 4, 2, 2): v = <u64>el << 2; break; // CurrentEL
    case K(3, 0, 4, 2, 3): v = <u64>pan << 22; break;
    case K(3, 0, 5, 1, 0): v = sr(SR_AFSR0); break;
    case K(3, 0, 5, 1, 1): v = sr(SR_AFSR1); break;
    case K(3, 0, 5, 2, 0): v = sr(SR_ESR); break;
    case K(3, 0, 6, 0, 0): v = sr(SR_FAR); break;
    case K(3, 0, 7, 4, 0): v = sr(SR_PAR); break;
    case K(3, 0, 10, 2, 0): v = sr(SR_MAIR); break;
    case K(3, 0, 10, 3, 0): v = sr(SR_AMAIR); break;
    case K(3, 0, 12, 0, 0): v = sr(SR_VBAR); break;
    case K(3, 0, 12, 1, 0): v = isr(); break;
    case K(3, 0, 13, 0, 1): v = sr(SR_CONTEXTIDR); break;
    case K(3, 0, 13, 0, 4): v = sr(SR_TPIDR_EL1); break;
    case K(3, 0, 14, 1, 0): v = sr(SR_CNTKCTL); break;
    // GICv3 CPU interface (virtual)
    case K(3, 0, 4, 6, 0): v = <u64>vpmr(); break; // ICC_PMR_EL1
    case K(3, 0, 12, 8, 0): v = acknowledge(0); break; // IAR0
    case K(3, 0, 12, 8, 2): v = highestPendingIntid(0); break; // HPPIR0
    case K(3, 0, 12, 8, 3): v = readBpr(0); break;
    case K(3, 0, 12, 8, 4): v = readAp(0); break; // AP0R0
    case K(3, 0, 12, 8, 5): case K(3, 0, 12, 8, 6): case K(3, 0, 12, 8, 7): v = 0; break;
    case K(3, 0, 12, 9, 0): v = readAp(1); break; // AP1R0
    case K(3, 0, 12, 9, 1): case K(3, 0, 12, 9, 2): case K(3, 0, 12, 9, 3): v = 0; break;
    case K(3, 0, 12, 11, 3): v = <u64>runningPriority(); break; // RPR
    case K(3, 0, 12, 12, 0): v = acknowledge(1); break; // IAR1
    case K(3, 0, 12, 12, 2): v = highestPendingIntid(1); break; // HPPIR1
    case K(3, 0, 12, 12, 3): v = readBpr(1); break;
    case K(3, 0, 12, 12, 4): v = readCtlr(); break;
    case K(3, 0, 12, 12, 5): v = 7; break; // ICC_SRE_EL1: SRE, DFB, DIB
    case K(3, 0, 12, 12, 6): v = readIgrpen(0); break;
    case K(3, 0, 12, 12, 7): v = readIgrpen(1); break;
    // Debug
    case K(2, 0, 0, 2, 2): v = sr(SR_MDSCR); break;
    case K(2, 0, 0, 2, 0): v = sr(SR_MDCCINT); break;
    case K(2, 0, 1, 1, 4): v = sr(SR_OSLSR) | 8; break; // OSLSR_EL1: OSLM = 0b10 (lock implemented)
    case K(2, 0, 1, 3, 4): v = sr(SR_OSDLR); break;
    case K(2, 0, 1, 0, 0): v = 0; break; // MDRAR_EL1
    case K(2, 3, 0, 1, 0): v = 0; break; // MDCCSR_EL0
    case K(2, 0, 7, 14, 6): v = 0xA0; break; // DBGAUTHSTATUS_EL1: non-secure debug implemented, not enabled
    case K(2, 0, 7, 8, 6): case K(2, 0, 7, 9, 6): v = 0; break; // DBGCLAIM*
    case K(2, 0, 1, 4, 4): v = 0; break; // DBGPRCR_EL1
    case K(3, 0, 12, 1, 1): v = sr(SR_DISR); break;
    default: {
      // DBGBVR/BCR/WVR/WCR n (op0=2, op1=0, CRn=0, CRm=n, op2=4..7)
      if ((k & ~<u32>(0xF << 3 | 3)) == K(2, 0, 0, 0, 4)) {
        const n = (k >> 3) & 15, op2 = k & 3;
        if (n < 2) { v = sr(DBG_BASE + (op2 >> 1) * 4 + n * 2 + (op2 & 1)); break; }
      }
      return false;
    }
  }
  setX(rt, v);
  return true;
}

function writeSys(key: u32, insn: u32): bool {
  const v = xr(insn & 31);
  const k = key;
  switch (k) {
    case K(3, 3, 4, 2, 0): setNZCV(<u32>(v >> 28) & 0xF); return true;
    case K(3, 3, 4, 2, 1):
      if (el == 0 && (sr(SR_SCTLR) & (1 << 9)) == 0) { trapToEl1(insn, false); return true; }
      setDaif(<u32>(v >> 6) & 0xF); setAttention(true); return true;
    case K(3, 3, 4, 4, 0): store<u32>(cpu, <u32>v & 0x07C00000, OFF_FPCR); return true; // AHP DN FZ RMode; trap enables RAZ/WI (no FP traps), FZ16 absent
    case K(3, 3, 4, 4, 1): store<u32>(cpu, <u32>v & 0xF800009F, OFF_FPSR); return true;
    case K(3, 3, 13, 0, 2): setSr(SR_TPIDR_EL0, v); return true;
    case K(3, 3, 13, 0, 3): if (el == 0) return false; setSr(SR_TPIDRRO_EL0, v); return true;
    case K(3, 3, 14, 3, 0): case K(3, 3, 14, 3, 1): case K(3, 3, 14, 3, 2): // CNTV_*
      if (el == 0 && (sr(SR_CNTKCTL) & (1 << 8)) == 0) { trapToEl1(insn, false); return true; }
      if (k == K(3, 3, 14, 3, 0)) writeCntvTval(v);
      else if (k == K(3, 3, 14, 3, 1)) writeCntvCtl(v);
      else setSr(SR_CNTV_CVAL, v);
      setAttention(true); // the run loop recomputes the timer deadline
      return true;
    case K(3, 3, 14, 2, 0): case K(3, 3, 14, 2, 1): case K(3, 3, 14, 2, 2): // CNTP_*
      if (el == 0 && (sr(SR_CNTKCTL) & (1 << 9)) == 0) { trapToEl1(insn, false); return true; }
      trapToHyp(insn, false); return true;
    case K(3, 3, 14, 0, 0): if (el == 0) return false; return true; // CNTFRQ_EL0 is written by firmware only (EL3)
    default: break;
  }
  if (el == 0) return false;
  switch (k) {
    case K(3, 0, 1, 0, 0): setSr(SR_SCTLR, v); tlbFlushCpu(cpu); selectTlb(); return true;
    case K(3, 0, 1, 0, 1): setSr(SR_ACTLR, v); return true;
    case K(3, 0, 1, 0, 2): setSr(SR_CPACR, v & (3 << 20)); refreshFpEnabled(); return true;
    // A TTBR write changes the ASID or the tables of non-global mappings:
    // those entries go, global ones stay (the TLB is not ASID-tagged; real
    // ones keep everything and QEMU flushes all on an ASID change). A new
    // TTBR1 table base drops everything: the kernel's global mappings are
    // there (Linux follows such a switch with TLBI VMALLE1 anyway).
    case K(3, 0, 2, 0, 0): setSr(SR_TTBR0, v); tlbFlushNonGlobal(cpu); return true;
    case K(3, 0, 2, 0, 1): {
      const newBase = ((sr(SR_TTBR1) ^ v) & 0x0000FFFFFFFFFFFE) != 0;
      setSr(SR_TTBR1, v);
      if (newBase) tlbFlushCpu(cpu); else tlbFlushNonGlobal(cpu);
      return true;
    }
    case K(3, 0, 2, 0, 2): setSr(SR_TCR, v); tlbFlushCpu(cpu); return true;
    case K(3, 0, 4, 0, 0): setSr(SR_SPSR, v); return true;
    case K(3, 0, 4, 0, 1): setSr(SR_ELR, v); return true;
    case K(3, 0, 4, 1, 0): if (spsel == 0) return false; setSr(SR_SP_EL0, v); return true;
    case K(3, 0, 4, 2, 0): saveSPBank(); setSpsel(<u32>v & 1); loadSPBank(); return true;
    case K(3, 0, 4, 2, 3): setPan(<u32>(v >> 22) & 1); selectTlb(); return true;
    case K(3, 0, 5, 1, 0): setSr(SR_AFSR0, v); return true;
    case K(3, 0, 5, 1, 1): setSr(SR_AFSR1, v); return true;
    case K(3, 0, 5, 2, 0): setSr(SR_ESR, v); return true;
    case K(3, 0, 6, 0, 0): setSr(SR_FAR, v); return true;
    case K(3, 0, 7, 4, 0): setSr(SR_PAR, v); return true;
    case K(3, 0, 10, 2, 0): setSr(SR_MAIR, v); tlbFlushCpu(cpu); return true;
    case K(3, 0, 10, 3, 0): setSr(SR_AMAIR, v); return true;
    case K(3, 0, 12, 0, 0): setSr(SR_VBAR, v); return true;
    case K(3, 0, 13, 0, 1): setSr(SR_CONTEXTIDR, v); return true;
    case K(3, 0, 13, 0, 4): setSr(SR_TPIDR_EL1, v); return true;
    case K(3, 0, 14, 1, 0): setSr(SR_CNTKCTL, v & 0x3FF); return true;
    case K(3, 2, 0, 0, 0): setSr(SR_CSSELR, v & 0xF); return true;
    // GICv3 CPU interface
    case K(3, 0, 4, 6, 0): writePmr(v); return true;
    case K(3, 0, 12, 8, 1): endOfInterrupt(0, <u32>v); return true; // EOIR0
    case K(3, 0, 12, 8, 3): writeBpr(0, v); return true;
    case K(3, 0, 12, 8, 4): writeAp(0, v); return true;
    case K(3, 0, 12, 8, 5): case K(3, 0, 12, 8, 6): case K(3, 0, 12, 8, 7): return true;
    case K(3, 0, 12, 9, 0): writeAp(1, v); return true;
    case K(3, 0, 12, 9, 1): case K(3, 0, 12, 9, 2): case K(3, 0, 12, 9, 3): return true;
    case K(3, 0, 12, 11, 1): deactivateInterrupt(<u32>v); return true; // DIR
    case K(3, 0, 12, 11, 5): case K(3, 0, 12, 11, 6): case K(3, 0, 12, 11, 7): // SGI1R, ASGI1R, SGI0R
      trapToHyp(insn, false); return true;
    case K(3, 0, 12, 12, 1): endOfInterrupt(1, <u32>v); return true; // EOIR1
    case K(3, 0, 12, 12, 3): writeBpr(1, v); return true;
    case K(3, 0, 12, 12, 4): writeCtlr(v); return true;
    case K(3, 0, 12, 12, 5): return true; // ICC_SRE_EL1: fixed
    case K(3, 0, 12, 12, 6): writeIgrpen(0, v); return true;
    case K(3, 0, 12, 12, 7): writeIgrpen(1, v); return true;
    // Debug
    case K(2, 0, 0, 2, 2): setSr(SR_MDSCR, v); return true;
    case K(2, 0, 0, 2, 0): setSr(SR_MDCCINT, v); return true;
    case K(2, 0, 1, 0, 4): setSr(SR_OSLSR, (v & 1) << 1); return true; // OSLAR_EL1 -> OSLSR.OSLK
    case K(2, 0, 1, 3, 4): setSr(SR_OSDLR, v & 1); return true;
    case K(2, 3, 0, 4, 0): return true; // DBGDTR_EL0 (ignored)
    case K(2, 0, 7, 8, 6): case K(2, 0, 7, 9, 6): return true; // DBGCLAIM*
    case K(2, 0, 1, 4, 4): return true; // DBGPRCR_EL1
    case K(3, 0, 12, 1, 1): setSr(SR_DISR, v); return true;
    default: {
      if ((k & ~<u32>(0xF << 3 | 3)) == K(2, 0, 0, 0, 4)) {
        const n = (k >> 3) & 15, op2 = k & 3;
        if (n < 2) { setSr(DBG_BASE + (op2 >> 1) * 4 + n * 2 + (op2 & 1), v); return true; }
      }
      return false;
    }
  }
}

// For translated code: MRS of SP_EL0 (Linux's `current`), TPIDR_EL1 (its
// per-CPU offset), DAIF (local_irq_save), CTR_EL0 and DCZID_EL0 (cache
// maintenance, clear_page): ~2.6 M of a boot's system register accesses,
// as readSys does them at EL1 but without the interpreter's way there
// (jitStep, execute: ~200 host instructions against ~30). False for any
// other register, or where readSys would not simply read it (EL0, where
// SCTLR_EL1 may trap them; SP_EL0 with SPSel 0): translated code then runs
// the instruction through jitStep.
export function jitMrs(key: u32, rt: u32): bool {
  if (el == 0) return false;
  switch (key) {
    case K(3, 0, 4, 1, 0):
      if (spsel == 0) return false;
      setX(rt, sr(SR_SP_EL0)); return true;
    case K(3, 0, 13, 0, 4): setX(rt, sr(SR_TPIDR_EL1)); return true;
    case K(3, 3, 4, 2, 1): setX(rt, <u64>daif << 6); return true;
    case K(3, 3, 0, 0, 1): setX(rt, unchecked(idRegs[ID_CTR])); return true;
    case K(3, 3, 0, 0, 7): setX(rt, unchecked(idRegs[ID_DCZID])); return true;
    default: return false;
  }
}

export function execSysReg(insn: u32): void {
  const isRead = ((insn >> 21) & 1) != 0;
  const key = (insn >> 5) & 0xFFFF;
  const ok = isRead ? readSys(key, insn) : writeSys(key, insn);
  if (!ok) undefinedInstruction(CLS_SYSREG);
}

