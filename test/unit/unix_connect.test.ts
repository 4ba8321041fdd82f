// connectUnix: Linux refuses a non-blocking connect() with EAGAIN when a unix
// socket's accept queue is full, and the control-socket test's thousand
// clients at once met exactly that on CI (not ok: connect EAGAIN). A listener
// with a queue of one that stops accepting for a while (a busy host) must
// cost a client a wait, not an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, createServer, Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectUnix } from "../../src/tools/net/unix_connect.js";
import { HostClient } from "../../src/tools/daemon/client.js";
import { hostPaths } from "../../src/tools/home.js";

// A listener with a backlog of 1 that blocks its event loop for `busyMs`
// after it starts listening, then greets each connection.
const LISTENER = `
const net = require("node:net");
const srv = net.createServer((s) => { s.on("error", () => {}); s.end("hi\\n"); }); // the plain clients have gone
srv.listen({ path: process.argv[1], backlog: 1 }, () => {
  process.stdout.write("ready\\n");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[2]));
});
setTimeout(() => srv.close(), 20000).unref();
process.stdin.on("end", () => process.exit(0)); process.stdin.resume();`;

function greeting(s: Socket): Promise<string> {
  return new Promise((res) => { let b = ""; s.setEncoding("utf8"); s.on("data", (d: string) => { b += d; }); s.on("close", () => res(b)); });
}

test("a full accept queue: a plain connect gets EAGAIN, connectUnix waits and gets through", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-unix-"));
  const path = join(dir, "s.sock");
  const child = spawn(process.execPath, ["-e", LISTENER, path, "1500"], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    await new Promise<void>((res) => child.stdout.once("data", () => res()));
    const plain = await Promise.all(Array.from({ length: 16 }, () => new Promise<string>((res) => {
      const s = connect(path);
      s.once("connect", () => { s.destroy(); res("connected"); });
      s.once("error", (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
    })));
    assert.ok(plain.includes("EAGAIN"), `the premise: a plain connect to a full queue is refused (${plain.join(",")})`);
    const patient = await Promise.all(Array.from({ length: 16 }, async () => greeting(await connectUnix(path))));
    assert.deepEqual(patient, Array(16).fill("hi\n"), "every patient client got through once the listener accepted again");
    await assert.rejects(connectUnix(join(dir, "nothing.sock")), /ENOENT/, "only EAGAIN is waited out");
  } finally {
    child.stdin.end();
    rmSync(dir, { recursive: true, force: true });
  }
});

// connectUnix leaves a connected socket's errors to its caller; the CLI's
// client must take them (a host that dies mid-request resets the
// connection), or the error would throw in the CLI's process.
test("the CLI's client answers a reset by the host with an error, and its process goes on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xents-unix-"));
  const paths = hostPaths(dir);
  // reads nothing, then goes: the request left unread in the socket makes a reset
  const srv = createServer({ pauseOnConnect: true }, (c) => { setTimeout(() => c.destroy(), 200); });
  await new Promise<void>((r) => srv.listen(paths.control, () => r()));
  try {
    const client = await HostClient.connect(paths);
    await assert.rejects(client.call("list"), /the host closed the connection/);
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

