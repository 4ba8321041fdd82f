// Signal system calls: rt_sigaction, rt_sigprocmask, rt_sigpending,
// rt_sigsuspend, sigaltstack, rt_sigreturn, kill, tkill and tgkill.

import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { EFAULT, EINVAL, ENOMEM, EPERM, ESRCH, EINTR } from "./errno.js";
import {
  NSIG, SIGKILL, SIGSTOP, SIGSEGV, SIG_IGN, SIG_DFL, SS_DISABLE, SS_ONSTACK, SI_USER, SI_TKILL, bit, defaultAction, restoreFrame,
} from "./signals.js";
import { DONE, SyscallTable, SyscallResult, Out, int, readStruct } from "./syscall_abi.js";
import { NR } from "./syscall_numbers.js";

const SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
const MINSIGSTKSZ = 5120n;

function sendTo(k: UserKernel, from: Process, targets: Process[], sig: number, code: number): number {
  if (sig < 0 || sig > NSIG) return -EINVAL;
  if (targets.length === 0) return -ESRCH;
  if (sig === 0) return 0;
  for (const t of targets) k.signal(t, { signo: sig, code, pid: from.pid, uid: process.getuid?.() ?? 0 });
  return 0;
}

function kill(k: UserKernel, p: Process, a: bigint[]): SyscallResult {
  const pid = int(a[0]), sig = int(a[1]);
  const live = [...k.procs.values()].filter((t) => !t.exit);
  let targets: Process[];
  if (pid > 0) targets = [k.procs.get(pid)].filter((t) => t !== undefined); // a zombie still counts
  else if (pid === 0) targets = live.filter((t) => t.pgid === p.pgid);
  else if (pid === -1) targets = live.filter((t) => t !== p);
  else targets = live.filter((t) => t.pgid === -pid);
  return sendTo(k, p, targets, sig, SI_USER);
}

export const signalSyscalls: SyscallTable = {
  // rt_sigaction(sig, act, oldact, sigsetsize)
  [NR.rt_sigaction]: (_k, p, a) => {
    const sig = int(a[0]);
    if (int(a[3]) !== 8 || sig < 1 || sig > NSIG) return -EINVAL;
    const cur = p.sig.actions[sig];
    if (a[2] !== 0n) {
      const o = new Out(32).u64(0, cur.handler).u64(8, cur.flags).u64(16, cur.restorer).u64(24, cur.mask);
      if (!p.as.write(a[2], o.bytes)) return -EFAULT;
    }
    if (a[1] !== 0n) {
      if (sig === SIGKILL || sig === SIGSTOP) return -EINVAL;
      const dv = readStruct(p, a[1], 32);
      if (!dv) return -EFAULT;
      const act = { handler: dv.getBigUint64(0, true), flags: dv.getBigUint64(8, true), restorer: dv.getBigUint64(16, true), mask: dv.getBigUint64(24, true) };
      p.sig.actions[sig] = act;
      // POSIX: setting a signal to be ignored discards it if pending
      if (act.handler === SIG_IGN || (act.handler === SIG_DFL && defaultAction(sig) === "ignore")) p.sig.pending &= ~bit(sig);
    }
    return 0;
  },
  // rt_sigprocmask(how, set, oldset, sigsetsize)
  [NR.rt_sigprocmask]: (_k, p, a) => {
    if (int(a[3]) !== 8) return -EINVAL;
    const old = p.sig.blocked;
    if (a[1] !== 0n) {
      const dv = readStruct(p, a[1], 8);
      if (!dv) return -EFAULT;
      const set = dv.getBigUint64(0, true);
      switch (int(a[0])) {
        case SIG_BLOCK: p.sig.setBlocked(old | set); break;
        case SIG_UNBLOCK: p.sig.setBlocked(old & ~set); break;
        case SIG_SETMASK: p.sig.setBlocked(set); break;
        default: return -EINVAL;
      }
    }
    if (a[2] !== 0n && !p.as.write(a[2], new Out(8).u64(0, old).bytes)) return -EFAULT;
    return 0;
  },
  // rt_sigpending(set, sigsetsize)
  [NR.rt_sigpending]: (_k, p, a) => (p.as.write(a[0], new Out(8).u64(0, p.sig.pending & p.sig.blocked).bytes) ? 0 : -EFAULT),
  // rt_sigsuspend(mask, sigsetsize): wait with a temporary mask for a handler to run
  [NR.rt_sigsuspend]: (_k, p, a) => {
    if (int(a[1]) !== 8) return -EINVAL;
    const dv = readStruct(p, a[0], 8);
    if (!dv) return -EFAULT;
    p.sig.enterTemporaryMask(dv.getBigUint64(0, true));
    p.cpu.setX(0, BigInt(-EINTR));
    p.wait = { ready: () => false, retry: false, interruptible: true };
    return DONE;
  },
  // sigaltstack(ss, old)
  [NR.sigaltstack]: (_k, p, a) => {
    const alt = p.sig.altStack;
    const sp = p.cpu.sp;
    const on = alt.flags !== SS_DISABLE && sp > alt.sp && sp <= alt.sp + alt.size;
    if (a[1] !== 0n) {
      const o = new Out(24).u64(0, alt.sp).i32(8, on ? SS_ONSTACK : alt.flags).u64(16, alt.size);
      if (!p.as.write(a[1], o.bytes)) return -EFAULT;
    }
    if (a[0] !== 0n) {
      const dv = readStruct(p, a[0], 24);
      if (!dv) return -EFAULT;
      if (on) return -EPERM;
      const flags = dv.getInt32(8, true);
      if ((flags & ~SS_DISABLE) !== 0) return -EINVAL;
      const size = dv.getBigUint64(16, true);
      if (flags === SS_DISABLE) p.sig.altStack = { sp: 0n, size: 0n, flags: SS_DISABLE };
      else {
        if (size < MINSIGSTKSZ) return -ENOMEM;
        p.sig.altStack = { sp: dv.getBigUint64(0, true), size, flags: 0 };
      }
    }
    return 0;
  },
  // rt_sigreturn()
  [NR.rt_sigreturn]: (k, p) => {
    if (!restoreFrame(p)) k.fault(p, { signo: SIGSEGV, code: SI_USER }, 0n, "bad signal frame in rt_sigreturn");
    return DONE;
  },
  [NR.kill]: kill,
  // tkill(tid, sig), tgkill(tgid, tid, sig)
  [NR.tkill]: (k, p, a) => sendTo(k, p, [...k.procs.values()].filter((t) => !t.exit && t.pid === int(a[0])), int(a[1]), SI_TKILL),
  [NR.tgkill]: (k, p, a) => sendTo(k, p, [...k.procs.values()].filter((t) => !t.exit && t.pid === int(a[1]) && t.pid === int(a[0])), int(a[2]), SI_TKILL),
};
