// Linux signals for emulated processes: numbers, dispositions, the per-process
// state (actions, blocked and pending sets, alternate stack) and delivery on
// arm64 — the rt_sigframe the kernel builds on the user stack (siginfo,
// ucontext with the general and FP/SIMD registers, a frame record) and its
// undoing by rt_sigreturn.

import { SR } from "../cpu/cpu.js";
import type { VcpuState } from "../cpu/cpu.js";
import type { AddressSpace } from "./address_space.js";

// What delivering a signal needs of a process (process.ts's Process is one).
export interface SignalTarget {
  readonly cpu: VcpuState;
  readonly as: Pick<AddressSpace, "read" | "write">;
  readonly sig: SignalState;
  readonly sigtramp: bigint;
}

export const SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8,
  SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15,
  SIGSTKFLT = 16, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22,
  SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28, SIGIO = 29,
  SIGPWR = 30, SIGSYS = 31;
export const NSIG = 64;

export const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
  9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
  16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
  23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
  30: "SIGPWR", 31: "SIGSYS",
};
export const signalName = (s: number): string => SIGNAL_NAMES[s] ?? `signal ${s}`;

export const SIG_DFL = 0n, SIG_IGN = 1n;
export const SA_NOCLDSTOP = 1n, SA_NOCLDWAIT = 2n, SA_SIGINFO = 4n, SA_RESTORER = 0x04000000n,
  SA_ONSTACK = 0x08000000n, SA_RESTART = 0x10000000n, SA_NODEFER = 0x40000000n, SA_RESETHAND = 0x80000000n;
export const SS_ONSTACK = 1, SS_DISABLE = 2;

export const CLD_EXITED = 1, CLD_KILLED = 2;
export const SI_USER = 0, SI_KERNEL = 0x80, SI_TKILL = -6, SEGV_MAPERR = 1, SEGV_ACCERR = 2, ILL_ILLOPC = 1, BUS_ADRALN = 1, TRAP_BRKPT = 1;

export type DefaultAction = "term" | "core" | "ignore" | "stop" | "continue";
export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case SIGCHLD: case SIGURG: case SIGWINCH: return "ignore";
    case SIGCONT: return "continue";
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return "stop";
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE: case SIGSEGV:
    case SIGXCPU: case SIGXFSZ: case SIGSYS: return "core";
    default: return "term";
  }
}

export interface SigAction { handler: bigint; flags: bigint; restorer: bigint; mask: bigint; }
export interface SigInfo { signo: number; code: number; pid?: number; uid?: number; status?: number; addr?: bigint; }

export const bit = (sig: number): bigint => 1n << BigInt(sig - 1);
const UNBLOCKABLE = bit(SIGKILL) | bit(SIGSTOP);
const ALL = (1n << 64n) - 1n;

export class SignalState {
  actions: SigAction[] = [];
  blocked = 0n;
  pending = 0n;
  // the mask to restore after a handler, when a call (sigsuspend) set a temporary one
  savedMask: bigint | null = null;
  private info = new Map<number, SigInfo>();
  altStack = { sp: 0n, size: 0n, flags: SS_DISABLE };

  constructor() {
    for (let s = 0; s <= NSIG; s++) this.actions.push({ handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n });
  }

  fork(): SignalState {
    const s = new SignalState();
    s.actions = this.actions.map((a) => ({ ...a }));
    s.blocked = this.blocked;
    s.altStack = { ...this.altStack };
    return s;
  }

  // execve: caught signals revert to their defaults; ignored ones stay ignored.
  exec(): void {
    for (const a of this.actions) {
      if (a.handler !== SIG_IGN) { a.handler = SIG_DFL; a.flags = 0n; a.restorer = 0n; a.mask = 0n; }
    }
    this.altStack = { sp: 0n, size: 0n, flags: SS_DISABLE };
  }

  setBlocked(mask: bigint): void { this.blocked = mask & ALL & ~UNBLOCKABLE; }

  // A mask for the duration of one call (sigsuspend, ppoll, pselect6): a
  // handler run meanwhile returns to the mask from before the call.
  enterTemporaryMask(mask: bigint): void {
    this.savedMask ??= this.blocked;
    this.setBlocked(mask);
  }
  leaveTemporaryMask(): void {
    if (this.savedMask === null) return;
    this.blocked = this.savedMask;
    this.savedMask = null;
  }

  // Whether a signal sent now would be thrown away (ignored and not blocked).
  discards(sig: number): boolean {
    if ((this.blocked & bit(sig)) !== 0n) return false;
    const a = this.actions[sig];
    return a.handler === SIG_IGN || (a.handler === SIG_DFL && defaultAction(sig) === "ignore");
  }

  post(info: SigInfo): void {
    const b = bit(info.signo);
    if ((this.pending & b) === 0n) this.info.set(info.signo, info);
    this.pending |= b;
  }

  deliverable(): bigint { return this.pending & ~this.blocked; }

  // Take the lowest deliverable signal (synchronous faults are posted alone).
  take(): SigInfo | null {
    const d = this.deliverable();
    if (d === 0n) return null;
    let sig = 1;
    while ((d & bit(sig)) === 0n) sig++;
    this.pending &= ~bit(sig);
    const info = this.info.get(sig) ?? { signo: sig, code: SI_USER };
    this.info.delete(sig);
    return info;
  }
}

// ---- the arm64 signal frame
// struct rt_sigframe { siginfo_t info; struct ucontext uc; u64 fp, lr; }
const SIGINFO_SIZE = 128;
const UC = SIGINFO_SIZE; // struct ucontext
const UC_STACK = UC + 16; // stack_t { ss_sp, ss_flags, ss_size }
const UC_SIGMASK = UC + 40;
const UC_MCONTEXT = UC + 176; // struct sigcontext, 16-byte aligned after 1024 bits of sigset space
const SC_FAULT = UC_MCONTEXT, SC_REGS = UC_MCONTEXT + 8, SC_SP = UC_MCONTEXT + 256, SC_PC = UC_MCONTEXT + 264,
  SC_PSTATE = UC_MCONTEXT + 272, SC_RESERVED = UC_MCONTEXT + 288;
const RESERVED_SIZE = 4096;
const FPSIMD_MAGIC = 0x46508001, FPSIMD_SIZE = 528;
const ESR_MAGIC = 0x45535201, ESR_SIZE = 16;
const FRAME_RECORD = SC_RESERVED + RESERVED_SIZE;
export const SIGFRAME_SIZE = FRAME_RECORD + 16;

function writeSigInfo(dv: DataView, info: SigInfo): void {
  dv.setInt32(0, info.signo, true);
  dv.setInt32(8, info.code, true);
  if (info.addr !== undefined) dv.setBigUint64(16, info.addr, true);
  else {
    dv.setInt32(16, info.pid ?? 0, true);
    dv.setInt32(20, info.uid ?? 0, true);
    if (info.status !== undefined) dv.setInt32(24, info.status, true);
  }
}

// Build the frame and enter the handler; false if the stack cannot take it.
export function setupFrame(p: SignalTarget, info: SigInfo, act: SigAction, faultEsr = 0n): boolean {
  const c = p.cpu;
  const sig = p.sig;
  const sp0 = c.sys(SR.SP_EL0);
  const alt = sig.altStack;
  const onAlt = alt.flags !== SS_DISABLE && sp0 > alt.sp && sp0 <= alt.sp + alt.size;
  let top = sp0;
  if ((act.flags & SA_ONSTACK) !== 0n && alt.flags !== SS_DISABLE && !onAlt) top = alt.sp + alt.size;
  const frame = (top - BigInt(SIGFRAME_SIZE)) & ~15n;
  const buf = new Uint8Array(SIGFRAME_SIZE);
  const dv = new DataView(buf.buffer);
  writeSigInfo(dv, info);
  dv.setBigUint64(UC_STACK, alt.sp, true);
  dv.setInt32(UC_STACK + 8, alt.flags === SS_DISABLE ? SS_DISABLE : onAlt ? SS_ONSTACK : 0, true);
  dv.setBigUint64(UC_STACK + 16, alt.size, true);
  dv.setBigUint64(UC_SIGMASK, sig.savedMask ?? sig.blocked, true);
  dv.setBigUint64(SC_FAULT, info.addr ?? 0n, true);
  for (let r = 0; r < 31; r++) dv.setBigUint64(SC_REGS + r * 8, c.x(r), true);
  dv.setBigUint64(SC_SP, sp0, true);
  dv.setBigUint64(SC_PC, c.pc, true);
  dv.setBigUint64(SC_PSTATE, c.pstate, true);
  let o = SC_RESERVED;
  dv.setUint32(o, FPSIMD_MAGIC, true);
  dv.setUint32(o + 4, FPSIMD_SIZE, true);
  dv.setUint32(o + 8, c.fpsr, true);
  dv.setUint32(o + 12, c.fpcr, true);
  for (let v = 0; v < 32; v++) {
    const [lo, hi] = c.v(v);
    dv.setBigUint64(o + 16 + v * 16, lo, true);
    dv.setBigUint64(o + 24 + v * 16, hi, true);
  }
  o += FPSIMD_SIZE;
  if (faultEsr !== 0n) {
    dv.setUint32(o, ESR_MAGIC, true);
    dv.setUint32(o + 4, ESR_SIZE, true);
    dv.setBigUint64(o + 8, faultEsr, true);
    o += ESR_SIZE;
  }
  // a zero header ends the list (the buffer is already zero)
  dv.setBigUint64(FRAME_RECORD, c.x(29), true);
  dv.setBigUint64(FRAME_RECORD + 8, c.x(30), true);
  if (!p.as.write(frame, buf)) return false;

  c.setX(0, BigInt(info.signo));
  if ((act.flags & SA_SIGINFO) !== 0n) {
    c.setX(1, frame);
    c.setX(2, frame + BigInt(UC));
  }
  c.setSys(SR.SP_EL0, frame);
  c.setX(29, frame + BigInt(FRAME_RECORD));
  c.setX(30, (act.flags & SA_RESTORER) !== 0n ? act.restorer : p.sigtramp);
  c.pc = act.handler;
  c.pstate = 0n; // EL0t, flags cleared, as on any kernel entry to a handler
  let mask = sig.blocked | act.mask;
  if ((act.flags & SA_NODEFER) === 0n) mask |= bit(info.signo);
  sig.setBlocked(mask);
  sig.savedMask = null;
  if ((act.flags & SA_RESETHAND) !== 0n) sig.actions[info.signo] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
  return true;
}

// rt_sigreturn: restore what setupFrame saved (the frame is at SP); false if
// the frame is unreadable or corrupt.
export function restoreFrame(p: SignalTarget): boolean {
  const c = p.cpu;
  const frame = c.sys(SR.SP_EL0);
  if ((frame & 15n) !== 0n) return false;
  const buf = p.as.read(frame, FRAME_RECORD);
  if (!buf) return false;
  const dv = new DataView(buf.buffer);
  const fp = SC_RESERVED;
  if (dv.getUint32(fp, true) !== FPSIMD_MAGIC || dv.getUint32(fp + 4, true) !== FPSIMD_SIZE) return false;
  for (let r = 0; r < 31; r++) c.setX(r, dv.getBigUint64(SC_REGS + r * 8, true));
  c.setSys(SR.SP_EL0, dv.getBigUint64(SC_SP, true));
  c.pc = dv.getBigUint64(SC_PC, true);
  // only the condition flags come back; the rest of PSTATE stays EL0t
  c.pstate = dv.getBigUint64(SC_PSTATE, true) & 0xF0000000n;
  c.fpsr = dv.getUint32(fp + 8, true);
  c.fpcr = dv.getUint32(fp + 12, true);
  for (let v = 0; v < 32; v++) c.setV(v, dv.getBigUint64(fp + 16 + v * 16, true), dv.getBigUint64(fp + 24 + v * 16, true));
  p.sig.setBlocked(dv.getBigUint64(UC_SIGMASK, true));
  const ssFlags = dv.getInt32(UC_STACK + 8, true);
  if ((ssFlags & SS_ONSTACK) === 0) {
    // restore_altstack: a sigaltstack change made by the handler is kept
    const sp = dv.getBigUint64(UC_STACK, true), size = dv.getBigUint64(UC_STACK + 16, true);
    p.sig.altStack = { sp, size, flags: ssFlags & SS_DISABLE ? SS_DISABLE : 0 };
  }
  return true;
}
