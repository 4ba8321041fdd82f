// The vCPU's thread and the translator's first. On a machine with few
// cores the background translator, V8's compiler and GC threads and the
// vCPU's thread share them; with more threads ready to run than cores,
// Linux gives each its turn, and on two cores a boot's vCPU thread waited
// ~100 ms on the run queue in its first 0.6 s while the pages it needed
// were compiled (by the translator for baseline code, by V8's threads with
// TurboFan for optimised code). When the translator starts, the process's
// other threads (V8's compiler and GC threads, libuv's) go a few nice
// levels below the vCPU's (on Linux a thread's nice value is its own); the
// translator's thread, started after, stays at the vCPU's level. With
// nothing else busy, 3 or 5 levels took boots 0.05-0.09 shorter against
// QEMU (QEMU-normalised pairs, 7 of 8 each), and two boots at once on two
// cores ~1.5% longer, their optimised compiles waiting behind the other
// process's vCPU. (Lowering the translator as well, by 10 levels, made
// two boots at once ~35% longer: each translator starved behind the
// other process's vCPU, 153 M instructions interpreted waiting for
// translation against 9.5 M.)
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
// later by the calling one (the translator's) start at its level.
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
