// Typing into a child process (QEMU's serial console on stdin) from handlers
// that keep running after the child is gone: its output may still be in the
// pipe when it exits or is killed, and a reply to a terminal query written
// then fails with EPIPE. That failure is asynchronous, so checking
// `destroyed` first is not enough; without an 'error' listener Node turns it
// into an uncaught exception that takes the whole process down. The child's
// exit is reported by its own 'exit' handler, so a lost write says nothing.

import type { ChildProcess } from "node:child_process";

export function childInput(p: ChildProcess): (s: string | Uint8Array) => void {
  const stdin = p.stdin;
  if (!stdin) throw new Error("the child process has no stdin pipe");
  stdin.on("error", () => { /* the child is gone: its exit handler reports */ });
  return (s) => {
    if (p.exitCode === null && p.signalCode === null && !stdin.destroyed) stdin.write(s);
  };
}
