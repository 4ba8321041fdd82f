// Whether a process has not exited. A zombie (exited, not yet reaped by its
// parent: a daemon re-parented to a PID 1 that does not reap, in a
// container) counts as gone.

import { readFileSync } from "node:fs";

export function processLives(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try { return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "Z"; } catch { return false; }
}
