// A console client attached to the host daemon (attachConsole) gets what
// was said while nobody listened, then what comes, in that order, even
// when output arrives in the moment between the attach and the replay of
// the history (the daemon writes its JSON reply in that moment).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect } from "node:net";
import type { Socket } from "node:net";
import { once } from "node:events";
import { attachConsole } from "../../src/tools/daemon/control_server.js";
import { ConsoleHistory } from "../../src/tools/console_history.js";

class Console extends ConsoleHistory {
  service(): void { /* no other side: input stays queued */ }
}

test("output that arrives while a console client attaches comes after the history, never before it", async () => {
  const c = new Console();
  c.emit(Buffer.from("tick-14\n"));
  c.emit(Buffer.from("tick-15\n"));
  const server = createServer((sock: Socket) => {
    attachConsole(c, sock);
    c.emit(Buffer.from("tick-16\n")); // before the history's turn
    setImmediate(() => setImmediate(() => c.emit(Buffer.from("tick-17\n"))));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const client = connect(port, "127.0.0.1");
  let got = "";
  client.on("data", (d: Buffer) => { got += d.toString("latin1"); });
  try {
    for (let i = 0; i < 200 && !got.includes("tick-17"); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, "tick-14\ntick-15\ntick-16\ntick-17\n");
  } finally {
    client.destroy();
    server.close();
  }
});
