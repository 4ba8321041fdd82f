// Loaded (--import) into every test file's process by test/run.js. A test
// file whose tests have all ended must exit; one that leaves a handle open
// (a socket, a timer, a child process) would keep its process alive, and the
// runner would wait for it for ever, reporting nothing after it. Node's
// --test-force-exit ends such a file but silently drops verdicts that have
// not reached the runner yet (nodejs/node#64833: the report shows fewer tests
// than ran, with exit 0). Instead, a file still alive GRACE_MS after its
// tests ended names what it left open and fails, with every verdict
// already reported.
import { after } from "node:test";
import { ChildProcess } from "node:child_process";

// Counted from the first of the file's root after() hooks (this module's,
// registered before the file's own), so it covers the file's own: longer
// than any of them takes (the slowest, stopping a host with a Linux
// Domain-0, is bounded at 60 s). The runner's own test sets less.
const GRACE_MS = Number(process.env.XENTS_EXIT_GRACE_MS ?? 120_000);

// What is open besides the process's own stdio and writes in flight keeps
// it alive. With nothing else open it is still finishing its report (a file
// of many tests, a runner busy with another file): that is waited for, a
// second at a time for at most half a minute, rather than taken for a leak.
const WRITES = new Set(["WriteWrap", "SimpleWriteWrap", "ShutdownWrap"]);
const MAX_WAITS = 30;
let ended = 0;

function check(waited: number): void {
  // Node's own, undocumented, list of handles: the stdio streams among them, and child processes by their command lines
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  let stdio = handles.filter((h) => h === process.stdout || h === process.stderr || h === process.stdin).length;
  const open = process.getActiveResourcesInfo().filter((r) => {
    if ((r === "PipeWrap" || r === "TTYWrap") && stdio > 0) { stdio--; return false; }
    return !WRITES.has(r);
  });
  if (open.length === 0 && waited < MAX_WAITS) { setTimeout(() => check(waited + 1), 1000).unref(); return; }
  const children = handles.filter((h): h is ChildProcess => h instanceof ChildProcess).map((c) => `pid ${c.pid}: ${c.spawnargs.join(" ").slice(0, 200)}`);
  process.stderr.write(`this test file's tests ended ${Math.round((Date.now() - ended) / 1000)} s ago, but it left open: ${open.join(", ") || "nothing but its own stdio"}${children.length ? `; child processes still running: ${children.join("; ")}` : ""}\n`);
  process.exit(1);
}

if (process.env.NODE_TEST_CONTEXT !== undefined) { // a test file's process, not the runner
  // unref'd: a file that left nothing open exits without waiting for it
  after(() => { ended = Date.now(); setTimeout(() => check(0), GRACE_MS).unref(); });
}
