// What every backend driver in the control domain does with xenstore: one
// watch on its tree (/local/domain/0/backend/<type>), a device for each
// <domid>/<devid> directory that names a frontend, and the device torn
// down when its directory goes or its domain is destroyed.

import type { Xc } from "../xc/xc.js";
import type { EventChannels } from "../xc/evtchn.js";
import type { GrantDevice } from "../xc/gnttab.js";
import type { XsClient } from "../xenstore/local_client.js";

export interface BackendEnv {
  xs: XsClient;
  xc: Xc;
  evtchn: EventChannels;
  gnt: GrantDevice;
  log(line: string): void;
}

export interface BackendDevice {
  readonly domid: number;
  start(): void;
  destroy(): void;
}

export class BackendDriver<D extends BackendDevice> {
  readonly devices = new Map<string, D>(); // "domid/devid"
  private unwatch: (() => void) | null = null;

  constructor(readonly env: BackendEnv, readonly root: string, private readonly make: (domid: number, devid: number, be: string) => D) {}

  start(): void { this.unwatch = this.env.xs.watch(this.root, () => this.scan()); }

  scan(): void {
    const xs = this.env.xs;
    const seen = new Set<string>();
    for (const d of xs.directory(this.root)) {
      for (const v of xs.directory(`${this.root}/${d}`)) {
        const key = `${d}/${v}`;
        const be = `${this.root}/${key}`;
        seen.add(key);
        if (this.devices.has(key) || xs.read(`${be}/frontend`) === null || !/^\d+$/.test(d) || !/^\d+$/.test(v)) continue;
        const dev = this.make(Number(d), Number(v), be);
        this.devices.set(key, dev);
        dev.start();
      }
    }
    for (const [key, dev] of this.devices) if (!seen.has(key)) { dev.destroy(); this.devices.delete(key); }
  }

  // Before a domain is destroyed: let go of its grants and event channels.
  domainGone(domid: number): void {
    for (const [key, dev] of this.devices) if (dev.domid === domid) { dev.destroy(); this.devices.delete(key); }
  }

  // A domain about to resume in a new incarnation of its frontends (they
  // reconnect from Initialising): each of its devices starts over, with
  // what the old one mapped and bound let go.
  restartDomain(domid: number): void {
    for (const [key, dev] of this.devices) {
      if (dev.domid !== domid) continue;
      dev.destroy();
      const [d, v] = key.split("/").map(Number);
      const fresh = this.make(d, v, `${this.root}/${key}`);
      this.devices.set(key, fresh);
      fresh.start();
    }
  }

  stop(): void {
    this.unwatch?.();
    for (const dev of this.devices.values()) dev.destroy();
    this.devices.clear();
  }
}
