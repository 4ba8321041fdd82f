// The xenbus state machine every backend kind shares (xenbus_backend.ts),
// driven through a real xenstored by a frontend the test plays, with a
// kind that records what the framework asked of it: the handshake, a
// hotplug failure, a frontend that cannot be connected, hot-unplug asked
// and called off, the frontend closing and starting again, and destroy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Xenstored } from "../../src/tools/xenstore/xenstored.js";
import { XsClient } from "../../src/tools/xenstore/local_client.js";
import { XenbusBackend } from "../../src/tools/backends/xenbus_backend.js";
import type { BackendEnv } from "../../src/tools/backends/backend_driver.js";
import { XenbusState as S } from "../../src/xen/public/io/xenbus.js";

class Recorder extends XenbusBackend {
  protected readonly label = "test d5/0";
  calls: string[] = [];
  failPrepare = false;
  rings = false;
  protected prepare(): void {
    this.calls.push("prepare");
    if (this.failPrepare) throw new Error("no such image");
    this.env.xs.write(`${this.be}/feature-x`, "1");
  }
  protected connectRings(): void {
    this.calls.push("connect");
    this.frontendInt("ring-ref"); // throws when the frontend did not write it
    this.rings = true;
  }
  protected override afterConnect(): void { this.calls.push("after"); }
  protected release(): void { this.calls.push("release"); this.rings = false; }
  protected holdsRings(): boolean { return this.rings; }
  protected override drain(): void { this.calls.push("drain"); }
  protected override closed(): void { this.calls.push("closed"); }
}

const FE = "/local/domain/5/device/test/0", BE = "/local/domain/0/backend/test/5/0";
function setup(): { xs: XsClient; dev: Recorder; logs: string[] } {
  const xsd = new Xenstored({ introduce() {}, release() {}, log() {} });
  const xs = new XsClient(xsd, "test");
  const logs: string[] = [];
  xs.write(`${BE}/frontend`, FE);
  xs.write(`${BE}/online`, "1");
  xs.write(`${FE}/state`, String(S.Initialising));
  const env = { xs, log: (l: string) => logs.push(l) } as unknown as BackendEnv; // the recorder uses xenstore alone
  return { xs, dev: new Recorder(env, 5, 0, BE), logs };
}
const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 5)); // watch events arrive on a later turn
const state = (xs: XsClient): number | null => xs.readInt(`${BE}/state`);

test("xenbus backend: handshake, unplug asked and called off, frontend closing and starting again, destroy", async () => {
  const { xs, dev } = setup();
  dev.start();
  await turn();
  assert.equal(state(xs), S.InitWait);
  assert.equal(xs.read(`${BE}/hotplug-status`), "connected");
  assert.equal(xs.read(`${BE}/feature-x`), "1");
  xs.write(`${FE}/ring-ref`, "8");
  xs.write(`${FE}/state`, String(S.Initialised));
  await turn();
  assert.equal(state(xs), S.Connected);
  assert.ok(dev.connected);
  assert.deepEqual(dev.calls, ["prepare", "connect", "after"]);
  // the toolstack asks for the device back, the guest does not answer, the toolstack changes its mind
  xs.write(`${BE}/online`, "0");
  await turn();
  assert.equal(state(xs), S.Closing);
  xs.write(`${BE}/online`, "1");
  await turn();
  assert.equal(state(xs), S.Connected, "the rings were never let go: connected again");
  // the frontend closes, then starts again; what it queued before closing is served before the rings go
  dev.calls = [];
  xs.write(`${FE}/state`, String(S.Closing));
  await turn();
  assert.equal(state(xs), S.Closing);
  assert.deepEqual(dev.calls, ["drain", "release"]);
  xs.write(`${FE}/state`, String(S.Closed));
  await turn();
  assert.equal(state(xs), S.Closed);
  dev.calls = [];
  xs.write(`${BE}/online`, "1");
  await turn();
  assert.equal(state(xs), S.Closed, "without rings, online does not bring Connected back");
  xs.write(`${FE}/state`, String(S.Initialising));
  await turn();
  assert.equal(state(xs), S.InitWait);
  xs.write(`${FE}/state`, String(S.Connected));
  await turn();
  assert.equal(state(xs), S.Connected);
  dev.calls = [];
  dev.destroy();
  assert.deepEqual(dev.calls, ["drain", "release", "closed"]);
  xs.write(`${FE}/state`, String(S.Closed));
  await turn();
  assert.equal(state(xs), S.Connected, "a destroyed device watches nothing");
});

test("xenbus backend: a hotplug failure leaves the device Closed with the reason; a frontend it cannot connect gets Closing and an error", async () => {
  const a = setup();
  a.dev.failPrepare = true;
  a.dev.start();
  assert.equal(state(a.xs), S.Closed);
  assert.equal(a.xs.read(`${BE}/hotplug-status`), "error");
  assert.equal(a.xs.read(`${BE}/hotplug-error`), "no such image");
  a.xs.write(`${FE}/state`, String(S.Initialised));
  await turn();
  assert.equal(state(a.xs), S.Closed, "nothing watches a device that failed to start");

  const b = setup();
  b.dev.start();
  b.xs.write(`${FE}/state`, String(S.Initialised)); // no ring-ref
  await turn();
  assert.equal(state(b.xs), S.Closing);
  assert.match(b.xs.read(`${BE}/error`) ?? "", /connecting: .*ring-ref is missing/);
  assert.ok(b.logs.some((l) => /^test d5\/0: connecting: .*; disconnecting$/.test(l)), b.logs.join("\n"));
  assert.deepEqual(b.dev.calls, ["prepare", "connect", "release"]);

  const c = setup();
  c.xs.write(`${BE}/frontend`, "/local/domain/6/device/test/0");
  const dev = new Recorder(c.dev.env, 5, 0, BE);
  dev.start();
  assert.equal(c.xs.read(`${BE}/hotplug-error`), "frontend path '/local/domain/6/device/test/0' is not in d5's tree");
  assert.deepEqual(dev.calls, [], "a frontend in another domain's tree is refused before anything is opened");
});
