// A cable between two bridges: each end is a port on its bridge, and what
// one end's bridge forwards to it enters the other bridge from the other
// end. Two hosts' xenbr0 linked to a LAN switch are how a client on that
// LAN reaches a guest only through MAC learning and ARP, wherever the guest
// runs (the migration benchmark). Links must not form a loop: there is no
// spanning tree here, as there is none on a host's xenbr0.

import type { Bridge, BridgePort, Gso } from "./bridge.js";

class LinkEnd implements BridgePort {
  peer!: LinkEnd;
  constructor(readonly name: string, readonly bridge: Bridge) {}
  deliver(frame: Uint8Array, gso?: Gso): void { this.peer.bridge.send(this.peer, frame, gso); }
}

export class BridgeLink {
  private readonly a: LinkEnd;
  private readonly b: LinkEnd;
  constructor(x: Bridge, y: Bridge, name = `${x.name}-${y.name}`) {
    this.a = new LinkEnd(`${name}.0`, x);
    this.b = new LinkEnd(`${name}.1`, y);
    this.a.peer = this.b;
    this.b.peer = this.a;
    x.join(this.a);
    y.join(this.b);
  }
  close(): void { this.a.bridge.leave(this.a); this.b.bridge.leave(this.b); }
}
