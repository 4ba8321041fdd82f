// A machine NIC's end of a wire (a bridge of the machine's, to which a host
// TAP device can be joined): frames the NIC transmits go onto the wire, and
// frames for it come in without offloads.

import type { VirtioNet } from "../hw/virtio_net.js";
import type { Bridge, BridgePort, Gso } from "../tools/net/bridge.js";
import { segmentTcp } from "../tools/net/tcp_segment.js";

export class NicPort implements BridgePort {
  readonly name: string;
  private readonly take = (f: Uint8Array): void => this.nic.receive(f);
  constructor(private readonly nic: VirtioNet, readonly wire: Bridge) {
    this.name = nic.name;
    nic.onTransmit = (f) => wire.send(this, f);
    wire.join(this);
  }
  deliver(frame: Uint8Array, gso?: Gso): void {
    // the NIC takes plain frames (no offloads): super-packets are cut up here
    if (gso) { if (segmentTcp(frame, gso.size, this.take) < 0) this.nic.net.dropped++; return; }
    this.nic.receive(frame);
  }
}
