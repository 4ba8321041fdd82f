// Guest traps the hypervisor handles after the core exits (Xen's
// arch/arm/traps.c and vsysreg.c): trapped system-register accesses, decoded
// once and looked up by encoding; data aborts (log-dirty write faults, MMIO);
// instruction aborts and UNDEFINED, reflected to the guest's EL1.

import type { Domain } from "./domain.js";
import type { Vcpu } from "./vcpu.js";
import { emulateMmio } from "./mmio.js";

// What trap handling needs of the hypervisor (the Hypervisor is one).
export interface TrapHost {
  log(line: string): void;
  readonly stats: { mmio: number };
}

// EL1 took the exception at the faulting instruction (PC unchanged).
export function injectAbort(v: Vcpu, data: boolean, far: bigint): void {
  const fromEl0 = v.state.el === 0;
  const ec = data ? (fromEl0 ? 0x24n : 0x25n) : (fromEl0 ? 0x20n : 0x21n);
  v.state.inject((ec << 26n) | (1n << 25n), far);
}

// UNDEFINED for an instruction the PC has already passed (HVC): back up first.
export function injectUndef(v: Vcpu, pcBack: bigint): void {
  v.state.pc = v.state.pc - pcBack;
  v.state.inject(1n << 25n);
}

// A stage-2 data abort: a write to a page log-dirty write-protected is
// recorded and retried; an access with a valid syndrome (ISV) outside RAM is
// MMIO; anything else is the guest's own fault.
export function dataAbort(host: TrapHost, d: Domain, v: Vcpu): void {
  const st = v.state;
  const ipa = st.exitIpa;
  const esr = st.exitEsr;
  const dfsc = Number(esr & 0x3Fn);
  const gfn = Number(ipa >> 12n);
  if ((dfsc & 0x3C) === 0x0C && ((esr >> 6n) & 1n) === 1n && d.p2m.logDirty && d.p2m.typeAt(gfn) === "ram") {
    d.p2m.markDirty(gfn);
    d.logDirtyFaults++;
    return;
  }
  if (((esr >> 7n) & 1n) === 0n) {
    host.stats.mmio++;
    const r = emulateMmio(d.mmio, v.id, st, ipa);
    if (r === "done") return;
  }
  injectAbort(v, true, st.exitFar);
}

// ---- system registers (EC 0x18)

// An MSR/MRS the core trapped, decoded from its ISS.
export interface SysregAccess {
  enc: number; // sysregEnc(op0, op1, crn, crm, op2)
  read: boolean; // MRS
  rt: number;
  value: bigint; // what MSR writes (Xt; XZR reads 0)
}

export const sysregEnc = (op0: number, op1: number, crn: number, crm: number, op2: number): number =>
  (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;

export function decodeSysreg(iss: number, x: (r: number) => bigint): SysregAccess {
  const op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7, crn = (iss >> 10) & 15;
  const rt = (iss >> 5) & 31, crm = (iss >> 1) & 15, read = (iss & 1) === 1;
  return { enc: sysregEnc(op0, op1, crn, crm, op2), read, rt, value: rt === 31 ? 0n : x(rt) };
}

// The architectural S<op0>_<op1>_C<n>_C<m>_<op2> name of an encoding.
export function sysregName(enc: number): string {
  return `S${enc >> 14}_${(enc >> 11) & 7}_C${(enc >> 7) & 15}_C${(enc >> 3) & 15}_${enc & 7}`;
}

interface SysregEntry {
  name: string;
  emulate(d: Domain, v: Vcpu, a: SysregAccess): void; // the PC then moves past the instruction
}

// MRS into Xt (XZR discards it).
const readAs = (v: Vcpu, a: SysregAccess, value: bigint): void => { if (a.read && a.rt !== 31) v.state.setX(a.rt, value); };

const SYSREGS = new Map<number, SysregEntry>([
  [sysregEnc(3, 0, 12, 11, 5), { name: "ICC_SGI1R_EL1", emulate: (d, v, a) => { if (!a.read) d.vgic.sendSgi(v.id, a.value); } }],
  // group 0 and alias-group SGIs do not exist for a non-secure guest: ignored
  [sysregEnc(3, 0, 12, 11, 6), { name: "ICC_ASGI1R_EL1", emulate: () => {} }],
  [sysregEnc(3, 0, 12, 11, 7), { name: "ICC_SGI0R_EL1", emulate: () => {} }],
  // the physical timer is not offered (the device tree names the virtual one): RAZ/WI
  [sysregEnc(3, 3, 14, 2, 0), { name: "CNTP_TVAL_EL0", emulate: (_d, v, a) => readAs(v, a, 0n) }],
  [sysregEnc(3, 3, 14, 2, 1), { name: "CNTP_CTL_EL0", emulate: (_d, v, a) => readAs(v, a, 0n) }],
  [sysregEnc(3, 3, 14, 2, 2), { name: "CNTP_CVAL_EL0", emulate: (_d, v, a) => readAs(v, a, 0n) }],
]);

// As Xen's printk_ratelimit: a burst of messages, then one per interval.
const LOG_BURST = 10, LOG_INTERVAL_MS = 5_000;
class RateLimit {
  private tokens = LOG_BURST;
  private last = 0;
  suppressed = 0;
  allow(nowMs: number): boolean {
    this.tokens = Math.min(LOG_BURST, this.tokens + (nowMs - this.last) / LOG_INTERVAL_MS);
    this.last = nowMs;
    if (this.tokens >= 1) { this.tokens--; return true; }
    this.suppressed++;
    return false;
  }
}
const unhandledLog = new WeakMap<TrapHost, RateLimit>();

// A trapped system-register access: emulated, or UNDEFINED in the guest
// with a (rate-limited) line in the hypervisor's log, as Xen's vsysreg.c.
export function emulateSysreg(host: TrapHost, d: Domain, v: Vcpu, nowMs = performance.now()): void {
  const st = v.state;
  const a = decodeSysreg(Number(st.exitEsr & 0x1FFFFFFn), (r) => st.x(r));
  const e = SYSREGS.get(a.enc);
  if (!e) {
    let rl = unhandledLog.get(host);
    if (!rl) { rl = new RateLimit(); unhandledLog.set(host, rl); }
    if (rl.allow(nowMs)) {
      const more = rl.suppressed ? ` (${rl.suppressed} more not logged)` : "";
      rl.suppressed = 0;
      host.log(`d${d.id}v${v.id}: unhandled system register ${a.read ? "read" : "write"} ${sysregName(a.enc)} at pc 0x${st.pc.toString(16)}: UNDEFINED${more}`);
    }
    injectUndef(v, 0n);
    return;
  }
  e.emulate(d, v, a);
  st.pc = st.pc + 4n;
}
