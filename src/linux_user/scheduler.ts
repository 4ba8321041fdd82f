// The cooperative scheduler: emulated processes run round-robin in slices of
// instructions on the one host thread. A process waiting in a system call
// (a pipe read with no data, wait4, a sleep) is skipped until its wait is
// over or a signal ends it; when nobody can run, the host sleeps until the
// next timeout, and if there is none the processes are deadlocked.

import { Exit, EXIT_NAMES } from "../cpu/cpu.js";
import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { handleException } from "./traps.js";
import { sleepMs } from "./host_file.js";
import { EINTR } from "./errno.js";
import { SIG_DFL, SIG_IGN, SA_RESTART, SIGALRM, SIGILL, SIGKILL, ILL_ILLOPC, SI_KERNEL, bit, defaultAction } from "./signals.js";

export interface SchedulerOptions {
  slice: number; // instructions per turn
  maxInstructions: bigint; // all processes together; beyond it the run is an error
}

// The core's generic timer counts at 62.5 MHz of host time.
const TICKS_PER_MS = 62500;

export class Scheduler {
  private readonly t0 = performance.now();
  constructor(private readonly k: UserKernel, private readonly opts: SchedulerOptions) {}

  // Run until `root` has exited.
  run(root: Process): void {
    while (!root.exit) {
      this.fireTimers();
      let ran = false;
      for (const p of this.k.procs.values()) {
        if (p.exit || !this.mayRun(p)) continue;
        ran = true; // even if a signal now ends it, others may have been waiting for that
        if (!this.deliverSignals(p)) continue;
        this.slice(p);
        if (root.exit) break;
      }
      if (!ran && !root.exit) this.idle();
    }
  }

  // SIGALRM for interval timers that have run out.
  private fireTimers(): void {
    const now = performance.now();
    for (const p of this.k.procs.values()) {
      const t = p.realTimer;
      if (!t || p.exit || now < t.at) continue;
      p.realTimer = t.interval > 0 ? { at: Math.max(t.at + t.interval, now), interval: t.interval } : null;
      this.k.signal(p, { signo: SIGALRM, code: SI_KERNEL });
    }
  }

  totalInstructions(): bigint {
    let n = this.k.instructions;
    for (const p of this.k.procs.values()) if (!p.exit) n += p.cpu.instret - p.startInstret;
    return n;
  }

  // End a finished wait, or one a signal interrupts; false if still waiting.
  private mayRun(p: Process): boolean {
    const w = p.wait;
    if (!w) return true;
    if (w.ready()) {
      p.wait = null;
      return true;
    }
    const pending = p.sig.deliverable();
    if (pending === 0n) return false;
    let sig = 1;
    while ((pending & bit(sig)) === 0n) sig++;
    const act = p.sig.actions[sig];
    const dfl = act.handler === SIG_DFL;
    const fatal = dfl && (defaultAction(sig) === "term" || defaultAction(sig) === "core");
    if (act.handler === SIG_IGN || (dfl && !fatal)) {
      p.sig.take(); // nothing to do for it, and no reason to wake
      return false;
    }
    if (!fatal && !w.interruptible) return false;
    p.wait = null;
    p.pollDeadline = null;
    if (!fatal) {
      if (w.retry) {
        // the SVC is about to run again; unless restarted, it returns EINTR
        if (!(w.restartable && (act.flags & SA_RESTART) !== 0n)) {
          p.cpu.setX(0, BigInt(-EINTR));
          p.cpu.pc += 4n;
        }
      } else w.onInterrupt?.();
    }
    return true;
  }

  // Deliver what is pending before returning to the program; false if it died.
  private deliverSignals(p: Process): boolean {
    for (let i = 0; i < 8 && !p.exit && !p.wait && p.sig.deliverable() !== 0n; i++) {
      if (!this.k.deliver(p)) return false;
    }
    return !p.exit;
  }

  private slice(p: Process): void {
    const c = p.cpu;
    const start = c.instret;
    const budget = BigInt(this.opts.slice);
    p.yieldNow = false;
    for (;;) {
      const used = c.instret - start;
      if (used >= budget) break;
      const clock = BigInt(Math.round((performance.now() - this.t0) * TICKS_PER_MS));
      const r = c.run(budget - used, clock);
      if (r === Exit.EXCEPTION) {
        handleException(this.k, p);
        if (p.exit || p.wait || !this.deliverSignals(p) || p.yieldNow) break;
        continue;
      }
      if (r === Exit.BUDGET || r === Exit.WFI) break;
      // nothing else can come from EL0 with exceptions routed to the host
      this.k.fault(p, { signo: SIGILL, code: ILL_ILLOPC, addr: c.pc }, 0n,
        `unexpected exit ${EXIT_NAMES[r] ?? r} at pc 0x${c.pc.toString(16)}`);
      break;
    }
    if (this.totalInstructions() > this.opts.maxInstructions) {
      throw new Error(`instruction limit ${this.opts.maxInstructions} reached (pid ${p.pid} at pc 0x${p.exit ? "?" : c.pc.toString(16)})`);
    }
  }

  // Nobody can run: sleep until the earliest timeout, or give up on a deadlock.
  private idle(): void {
    let next = Infinity;
    for (const p of this.k.procs.values()) {
      if (p.exit) continue;
      if (p.wait?.deadline !== undefined) next = Math.min(next, p.wait.deadline);
      if (p.realTimer) next = Math.min(next, p.realTimer.at);
    }
    if (next !== Infinity) {
      sleepMs(Math.max(0, Math.min(next - performance.now(), 1000)));
      return;
    }
    const waiting = [...this.k.procs.values()].filter((p) => !p.exit).map((p) => `${p.pid} (${p.comm})`);
    this.k.log(`xents: deadlock: every process is waiting (${waiting.join(", ")}); killing them`);
    for (const p of [...this.k.procs.values()]) if (!p.exit) this.k.exitProcess(p, { signal: SIGKILL });
  }
}
