// The GICv3 virtual CPU interface. The guest's ICC_*_EL1 accesses act on
// ICV_* state backed by list registers that the hypervisor fills, exactly as
// ICH_LR<n>_EL2 work on hardware with ICH_HCR_EL2.En set. The hypervisor owns
// the distributor and redistributors (MMIO) and keeps LRs in sync at exits.
//
// LR format (ICH_LR<n>_EL2): State[63:62] (0 invalid, 1 pending, 2 active,
// 3 pending+active), HW[61], Group[60], Priority[55:48], pINTID[41:32],
// vINTID[31:0]. Five priority bits are implemented (PRIbits = 4).

import { cpu, sr, SR_HCR, HCR_VI, HCR_VF, OFF_GIC, setExitReason, setAttention, EXIT_MAINTENANCE } from "./state";

export const GIC_LR: u32 = 0x00; // 16 x u64
export const GIC_HCR: u32 = 0x80; // ICH_HCR_EL2
export const GIC_VMCR: u32 = 0x88; // ICH_VMCR_EL2
export const GIC_AP0R: u32 = 0x90; // ICH_AP0R0_EL2
export const GIC_AP1R: u32 = 0x98; // ICH_AP1R0_EL2
export const GIC_NUM_LRS: u32 = 0xA0; // u32: list registers in use by the hypervisor (1..16)

export const NUM_LRS_MAX: u32 = 16;
const PRI_MASK: u32 = 0xF8; // 5 priority bits

@inline function gic(off: u32): u64 { return load<u64>(cpu + OFF_GIC + off); }
@inline function setGic(off: u32, v: u64): void { store<u64>(cpu + OFF_GIC + off, v); }
@inline function numLrs(): u32 {
  const n = load<u32>(cpu + OFF_GIC + GIC_NUM_LRS);
  return n == 0 || n > NUM_LRS_MAX ? NUM_LRS_MAX : n;
}
@inline function lr(i: u32): u64 { return load<u64>(cpu + OFF_GIC + GIC_LR + (i << 3)); }
@inline function setLr(i: u32, v: u64): void { store<u64>(cpu + OFF_GIC + GIC_LR + (i << 3), v); }

function vmcr(): u64 { return gic(GIC_VMCR); }
export function vpmr(): u32 { return <u32>(vmcr() >> 24) & 0xFF; }

// Running priority: the group priority of the highest active priority bit.
export function runningPriority(): u32 {
  const ap = <u32>gic(GIC_AP0R) | <u32>gic(GIC_AP1R);
  if (ap == 0) return 0xFF;
  return ctz<u32>(ap) << 3;
}

// Highest-priority pending LR of `group` that could be signalled; -1 if none.
function highestPending(group: u32, ignoreMasks: bool): i32 {
  const n = numLrs();
  let best: i32 = -1;
  let bestPri: u32 = 0x100;
  for (let i: u32 = 0; i < n; i++) {
    const v = lr(i);
    if ((v >> 62) != 1) continue; // pending only (not active, not pending+active)
    if (<u32>(v >> 60) & 1 ^ group) continue;
    const pri = <u32>(v >> 48) & PRI_MASK;
    if (pri < bestPri) { bestPri = pri; best = <i32>i; }
  }
  if (best < 0 || ignoreMasks) return best;
  const m = vmcr();
  const enabled = group == 1 ? (m & 2) != 0 : (m & 1) != 0;
  if (!enabled) return -1;
  if (bestPri >= (vpmr() & PRI_MASK)) return -1;
  if (bestPri >= runningPriority()) return -1;
  return best;
}

// Is a virtual IRQ (group 1, or HCR_EL2.VI) asserted towards the vCPU?
export function virtualIrqPending(): bool {
  if ((sr(SR_HCR) & HCR_VI) != 0) return true;
  if ((gic(GIC_HCR) & 1) == 0) return false;
  return highestPending(1, false) >= 0;
}
// Virtual FIQ: group 0 interrupts when VFIQEn, or HCR_EL2.VF.
export function virtualFiqPending(): bool {
  if ((sr(SR_HCR) & HCR_VF) != 0) return true;
  if ((gic(GIC_HCR) & 1) == 0) return false;
  if ((vmcr() & 8) == 0) return false;
  return highestPending(0, false) >= 0;
}

function checkMaintenance(): void {
  const hcr = gic(GIC_HCR);
  if ((hcr & 1) == 0) return;
  const n = numLrs();
  let valid: u32 = 0, pending: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const st = <u32>(lr(i) >> 62);
    if (st != 0) valid++;
    if (st == 1) pending++;
  }
  const uie = (hcr & 2) != 0 && valid <= 1;
  const lrenpie = (hcr & 4) != 0 && (hcr >> 27) != 0;
  const npie = (hcr & 8) != 0 && pending == 0;
  if (uie || lrenpie || npie) setExitReason(EXIT_MAINTENANCE);
}

// ICC_IAR0/1_EL1
export function acknowledge(group: u32): u64 {
  const i = highestPending(group, false);
  if (i < 0) return 1023;
  const v = lr(<u32>i);
  setLr(<u32>i, (v & ~(<u64>3 << 62)) | (<u64>2 << 62)); // pending -> active
  const pri = <u32>(v >> 48) & PRI_MASK;
  const apOff = group == 1 ? GIC_AP1R : GIC_AP0R;
  setGic(apOff, gic(apOff) | (<u64>1 << (pri >> 3)));
  checkMaintenance();
  return v & 0xFFFFFF;
}

function deactivate(intid: u32): void {
  const n = numLrs();
  for (let i: u32 = 0; i < n; i++) {
    const v = lr(i);
    if (<u32>(v & 0xFFFFFF) != intid) continue;
    const st = <u32>(v >> 62);
    if ((st & 2) == 0) continue; // not active
    setLr(i, v & ~(<u64>2 << 62)); // active -> invalid, pending+active -> pending
    return;
  }
  // No LR holds it: count it for the hypervisor (ICH_HCR_EL2.EOIcount).
  const hcr = gic(GIC_HCR);
  const cnt = ((hcr >> 27) + 1) & 31;
  setGic(GIC_HCR, (hcr & ~(<u64>31 << 27)) | (cnt << 27));
}

// ICC_EOIR0/1_EL1: priority drop, and deactivation unless EOImode is set.
export function endOfInterrupt(group: u32, intid: u32): void {
  intid &= 0xFFFFFF;
  if (intid < 1020 || intid >= 8192) {
    const apOff = group == 1 ? GIC_AP1R : GIC_AP0R;
    const ap = <u32>gic(apOff) | 0;
    const all = <u32>gic(GIC_AP0R) | <u32>gic(GIC_AP1R);
    if (all != 0) {
      const bit = ctz<u32>(all);
      if ((ap & (1 << bit)) != 0) setGic(apOff, <u64>(ap & ~(1 << bit)));
    }
    if ((vmcr() & (1 << 9)) == 0) deactivate(intid);
  }
  setAttention(true);
  checkMaintenance();
}

// ICC_DIR_EL1
export function deactivateInterrupt(intid: u32): void {
  deactivate(intid & 0xFFFFFF);
  setAttention(true);
  checkMaintenance();
}

export function highestPendingIntid(group: u32): u64 {
  const i = highestPending(group, false);
  if (i < 0) return 1023;
  return lr(<u32>i) & 0xFFFFFF;
}

// ICC_CTLR_EL1: EOImode and CBPR from ICH_VMCR, PRIbits = 4, IDbits = 0 (16 bits), A3V.
export function readCtlr(): u64 {
  const m = vmcr();
  return (<u64>1 << 15) | (<u64>4 << 8) | (((m >> 9) & 1) << 1) | ((m >> 4) & 1);
}
export function writeCtlr(v: u64): void {
  let m = vmcr();
  m = (m & ~(<u64>1 << 9)) | (((v >> 1) & 1) << 9);
  m = (m & ~(<u64>1 << 4)) | ((v & 1) << 4);
  setGic(GIC_VMCR, m);
}
export function writePmr(v: u64): void {
  setGic(GIC_VMCR, (vmcr() & ~(<u64>0xFF << 24)) | ((v & PRI_MASK) << 24));
  setAttention(true);
}
export function readBpr(group: u32): u64 {
  const m = vmcr();
  return group == 0 ? (m >> 21) & 7 : (m >> 18) & 7;
}
export function writeBpr(group: u32, v: u64): void {
  let b = v & 7;
  const minB: u64 = group == 0 ? 2 : 3; // 5 priority bits
  if (b < minB) b = minB;
  let m = vmcr();
  if (group == 0) m = (m & ~(<u64>7 << 21)) | (b << 21);
  else m = (m & ~(<u64>7 << 18)) | (b << 18);
  setGic(GIC_VMCR, m);
}
export function readIgrpen(group: u32): u64 { return (vmcr() >> group) & 1; }
export function writeIgrpen(group: u32, v: u64): void {
  setGic(GIC_VMCR, (vmcr() & ~(<u64>1 << group)) | ((v & 1) << group));
  setAttention(true);
}
export function readAp(group: u32): u64 { return gic(group == 0 ? GIC_AP0R : GIC_AP1R) & 0xFFFFFFFF; }
export function writeAp(group: u32, v: u64): void { setGic(group == 0 ? GIC_AP0R : GIC_AP1R, v & 0xFFFFFFFF); setAttention(true); }
