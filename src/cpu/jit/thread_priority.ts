// The vCPU's thread first, where asked (XENTS_JIT_NICE). On a machine with
// few cores the background translator, V8's compiler and GC threads and the
// vCPU's thread share them; with more threads ready to run than cores,
// Linux gives each its turn, and on two cores a boot's vCPU thread waited
// ~100 ms on the run queue in its first 0.6 s while the pages it needed
// were compiled. The process's other threads can run at a lower priority
// (a higher nice value: on Linux a thread's own), so that they take what
// the vCPU leaves rather than share its core: with nothing else busy, 10
// levels took that wait away (boots ~0.04-0.07 shorter against QEMU in
// pairs, in the machine's noise). Not by default: with two boots at once on
// two cores, the translators starve behind the other process's vCPU (10
// levels: both boots ~35% longer, 153 M instructions interpreted waiting
// for translation against 9.5 M; 5: ~7%; 2: ~1%).
//
// Best effort: where /proc or setpriority is missing or refuses, nothing
// changes.

import { readdirSync, readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

// This thread's id (Linux), or null.
export function threadId(): number | null {
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}

// Every other thread of the process at least `by` nice levels below the
// calling one (the vCPU's); returns how many were lowered. Threads started
// later (the translator's) lower themselves: lowerThisThread.
export function lowerOtherThreads(by: number): number {
  const self = threadId();
  if (self === null || by <= 0) return 0;
  let tasks: string[];
  try { tasks = readdirSync("/proc/self/task"); } catch { return 0; }
  const target = Math.min(19, getPriority(0) + by);
  let n = 0;
  for (const t of tasks) {
    const tid = Number(t);
    if (tid === self) continue;
    try {
      if (getPriority(tid) >= target) continue;
      setPriority(tid, target);
      n++;
    } catch { /* gone, or not ours to change */ }
  }
  return n;
}

// The calling thread `by` nice levels lower (on Linux, pid 0 is the thread).
export function lowerThisThread(by: number): void {
  if (by <= 0) return;
  try { setPriority(0, Math.min(19, getPriority(0) + by)); } catch { /* not permitted: as it was */ }
}
