// A host TAP device as a bridge port: the bridge's frames reach the host's
// network stack (and whatever the host bridges or routes it to), and the
// host's frames reach the guests. tap_relay.c holds the device open and
// relays frames over its stdin/stdout; when it dies the port leaves the
// bridge and says why.

import { spawn, ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { Bridge, BridgePort, Gso } from "./bridge.js";
import { segmentTcp } from "./tcp_segment.js";
import { buildHost } from "../toolchain.js";

const MAX_FRAME = 65535;
const QUEUE_LIMIT = 4 << 20; // bytes waiting for the relay; past this frames are dropped, as a full NIC queue would

export class TapError extends Error {}

export class TapPort implements BridgePort {
  readonly name: string;
  stats = { toHost: 0, fromHost: 0, dropped: 0 };
  private buf = Buffer.alloc(2 + MAX_FRAME);
  private have = 0;
  private closed = false;
  private readonly header = Buffer.alloc(2);

  private constructor(readonly ifname: string, readonly bridge: Bridge, private readonly child: ChildProcessByStdio<Writable, Readable, Readable>, private readonly log: (l: string) => void) {
    this.name = `tap:${ifname}`;
    child.stdout.on("data", (d: Buffer) => this.input(d));
    child.stdin.on("error", () => { /* the exit handler reports */ });
    child.on("exit", (code, sig) => {
      if (!this.closed) this.log(`tap ${ifname}: the relay exited (${sig ?? `status ${code}`}); the port leaves ${bridge.name}`);
      this.closed = true;
      bridge.leave(this);
    });
  }

  // Attaches (creating it when it does not exist) host TAP device `ifname`
  // to `bridge`. Needs CAP_NET_ADMIN and /dev/net/tun.
  static open(bridge: Bridge, ifname: string, log: (l: string) => void = () => {}): Promise<TapPort> {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) return Promise.reject(new TapError(`'${ifname}' is not a valid interface name (1-15 letters, digits, '_', '.', '-')`));
    const relay = buildHost("src/tools/net/tap_relay.c", ["-O2", "-Wall"], "tap_relay");
    const child = spawn(relay, [ifname], { stdio: ["pipe", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
      let err = "";
      const onErr = (d: Buffer): void => {
        err += d.toString("utf8");
        const m = /^attached (\S+)$/m.exec(err);
        if (!m) return;
        child.stderr.off("data", onErr);
        // what it said before (a MAC address it could not set) and after
        for (const l of err.slice(0, m.index).split("\n").filter(Boolean)) log(`tap ${ifname}: ${l.replace(/^tap_relay: /, "")}`);
        child.stderr.on("data", (x: Buffer) => log(`tap ${ifname}: ${x.toString("utf8").trim()}`));
        const port = new TapPort(m[1], bridge, child, log);
        bridge.join(port);
        resolve(port);
      };
      child.stderr.on("data", onErr);
      child.once("error", (e) => reject(new TapError(`cannot run the TAP relay: ${e.message}`)));
      child.once("exit", (code) => reject(new TapError(err.trim().replace(/^tap_relay: /, "") || `the TAP relay exited with status ${code}`)));
    });
  }

  private readonly writeFrame = (frame: Uint8Array): void => this.deliver(frame);

  deliver(frame: Uint8Array, gso?: Gso): void {
    // the device takes ordinary frames (no virtio-net header): super-packets are cut up here
    if (gso) { if (segmentTcp(frame, gso.size, this.writeFrame) < 0) this.stats.dropped++; return; }
    if (this.closed || frame.length > MAX_FRAME) { this.stats.dropped++; return; }
    if (this.child.stdin.writableLength > QUEUE_LIMIT) { this.stats.dropped++; return; }
    this.header.writeUInt16BE(frame.length, 0);
    this.child.stdin.write(Buffer.from(this.header));
    this.child.stdin.write(frame);
    this.stats.toHost++;
  }

  // Bytes from the relay: whole frames go to the bridge.
  private input(d: Buffer): void {
    let at = 0;
    while (at < d.length) {
      const need = this.have < 2 ? 2 : 2 + this.buf.readUInt16BE(0);
      const n = Math.min(need - this.have, d.length - at);
      d.copy(this.buf, this.have, at, at + n);
      this.have += n;
      at += n;
      if (this.have >= 2 && this.have === 2 + this.buf.readUInt16BE(0)) {
        const frame = new Uint8Array(this.buf.subarray(2, this.have)); // the bridge may queue it
        this.have = 0;
        this.stats.fromHost++;
        this.bridge.send(this, frame);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bridge.leave(this);
    this.child.stdin.end();
    this.child.kill("SIGTERM");
  }
}
