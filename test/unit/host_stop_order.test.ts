// The host daemon's last steps at `host stop`: its last log line is written
// before its control socket closes, and `host stop` waits for the socket to
// close (then for the process to exit), so nothing is written into
// XENTS_HOME after `host stop` returns. The line used to come after the
// close: a test that removed the directory next failed with ENOTEMPTY when
// the daemon's appendFileSync re-created host.log in it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostDaemon } from "../../src/tools/daemon/host_daemon.js";
import { HostClient } from "../../src/tools/daemon/client.js";
import { hostPaths } from "../../src/tools/home.js";
import { makeHostFactory } from "../../src/host/host_factory.js";

test("the daemon's last log line comes before its control socket closes", async () => {
  const home = mkdtempSync(join(tmpdir(), "xents-stop-"));
  try {
    const paths = hostPaths(home);
    const daemon = new HostDaemon(paths, makeHostFactory(() => {}), { ramMiB: 128, deterministic: false });
    const order: string[] = [];
    const log = daemon.log.bind(daemon);
    daemon.log = (l: string): void => { order.push(l); log(l); };
    await daemon.start();
    const control = (daemon as unknown as { control: { close(): Promise<void> } }).control; // (private: the order is what is tested)
    const close = control.close.bind(control);
    control.close = async (): Promise<void> => { order.push("<control socket closes>"); await close(); };
    const serving = daemon.serve();
    const c = await HostClient.connect(paths);
    await c.call("stop");
    c.close();
    await serving;
    assert.deepEqual(order.slice(-2), ["host stopped", "<control socket closes>"]);
    assert.match(readFileSync(paths.daemonLog, "utf8").trimEnd().split("\n").at(-1) ?? "", /host stopped$/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
