// Loaded (--import) into every test file's process by test/run.js. A test
// file whose tests have all ended must exit; one that leaves a handle open
// (a socket, a timer, a child process) would keep its process alive, and the
// runner would wait for it for ever, reporting nothing after it. Node's
// --test-force-exit ends such a file but silently drops verdicts that have
// not reached the runner yet (nodejs/node#64833: the report shows fewer tests
// than ran, with exit 0). Instead, a file still alive GRACE_MS after its last
// test and hook names what it left open and fails, with every verdict
// already reported.
import { after } from "node:test";

// longer than any file's own cleanup takes (the runner's own test sets less)
const GRACE_MS = Number(process.env.XENTS_EXIT_GRACE_MS ?? 30_000);

if (process.env.NODE_TEST_CONTEXT !== undefined) { // a test file's process, not the runner
  after(() => {
    // unref'd: a file that left nothing open exits without waiting for it
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap");
      process.stderr.write(`this test file's tests ended ${GRACE_MS / 1000} s ago, but it left open: ${open.join(", ")}\n`);
      process.exit(1);
    }, GRACE_MS).unref();
  });
}
