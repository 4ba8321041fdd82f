// childInput: typing into a child whose stdin has gone (the bench's QEMU
// killed while its output was still in the pipe) loses the text and nothing
// else. Without the 'error' listener, the EPIPE below is an uncaught
// exception and this test fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { childInput } from "../../src/tools/child_input.js";

test("childInput: writes to a child that closed its stdin, or exited, are dropped without an uncaught EPIPE", async () => {
  // the child closes its end of the pipe at once but stays alive a while
  const p = spawn("sh", ["-c", "exec 0<&-; echo ready; sleep 0.3"], { stdio: ["pipe", "pipe", "inherit"] });
  const type = childInput(p);
  let replies = 0;
  await new Promise<void>((resolve) => p.stdout!.on("data", () => {
    for (let i = 0; i < 20; i++) { type("\x1b[1;1R"); replies++; }
    resolve();
  }));
  const exit = await new Promise<number | null>((resolve) => p.on("exit", (code) => resolve(code)));
  assert.equal(exit, 0);
  assert.equal(replies, 20);
  type("after exit\n"); // the child is gone: a no-op, not a throw
  await new Promise((r) => setTimeout(r, 50)); // let any asynchronous EPIPE surface inside this test
});
