// The generic timer as the core sees it: a counter derived from the clock the
// hypervisor supplies at each run() (a base count and a rate in ticks per
// 65536 retired instructions), the per-vCPU virtual offset CNTVOFF, and the
// EL1 virtual timer (CNTV_*). When the virtual timer's condition becomes true
// during a run, run() exits with EXIT_TIMER so the hypervisor can raise the
// timer PPI in the vGIC.

import { instret, sr, setSr, SR_CNTVOFF, SR_CNTV_CTL, SR_CNTV_CVAL } from "./state";

export let cntBase: u64 = 0; // physical count when the run started
export let cntInstret: u64 = 0; // instret when the run started
export let cntScale: u64 = 40960; // ticks per 65536 instructions (62.5 MHz at 100 MIPS)
export let cntFreq: u64 = 62500000;

export function setClock(base: u64, scale: u64): void {
  cntBase = base;
  cntInstret = instret;
  cntScale = scale;
}
export function setCounterFrequency(hz: u64): void { cntFreq = hz; }

@inline export function physicalCount(): u64 {
  return cntBase + (((instret - cntInstret) * cntScale) >> 16);
}
@inline export function virtualCount(): u64 { return physicalCount() - sr(SR_CNTVOFF); }

export function timerCondition(): bool {
  const ctl = sr(SR_CNTV_CTL);
  return (ctl & 1) != 0 && <i64>(virtualCount() - sr(SR_CNTV_CVAL)) >= 0;
}

// CNTV_CTL as read: ENABLE, IMASK and the computed ISTATUS.
export function readCntvCtl(): u64 {
  const ctl = sr(SR_CNTV_CTL) & 3;
  return ctl | (timerCondition() ? 4 : 0);
}
export function writeCntvCtl(v: u64): void { setSr(SR_CNTV_CTL, v & 3); }
export function readCntvTval(): u64 {
  return <u64><i64><i32>(<u32>(sr(SR_CNTV_CVAL) - virtualCount()));
}
export function writeCntvTval(v: u64): void {
  setSr(SR_CNTV_CVAL, virtualCount() + <u64><i64><i32>v);
}

// The instret at which the timer output (enabled, unmasked, counter >= CVAL)
// becomes true, or u64.MAX if it will not during this run or is true already.
export function timerDeadline(): u64 {
  const ctl = sr(SR_CNTV_CTL);
  if ((ctl & 3) != 1 || cntScale == 0) return u64.MAX_VALUE;
  const now = virtualCount();
  const cval = sr(SR_CNTV_CVAL);
  if (<i64>(now - cval) >= 0) return u64.MAX_VALUE;
  const delta = cval - now;
  if (delta > (<u64>1 << 40)) return u64.MAX_VALUE;
  return instret + ((delta << 16) + cntScale - 1) / cntScale;
}
