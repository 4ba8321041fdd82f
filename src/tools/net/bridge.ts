// A virtual switch in the control domain (xenbr0 and friends): vifs and
// host TAP devices join by the bridge's name; frames go to the port that
// last sent from the destination MAC, or to every other port when the MAC
// is unknown, broadcast or multicast. A frame never goes back where it came
// from. Learned addresses age out after five minutes.

// A frame that is a TCP super-packet (GSO): `size` is its segment size.
// Its TCP checksum is partial (the pseudo-header's sum), as the sending
// guest left it; a port that cannot take it whole cuts it up
// (tcp_segment.ts), which computes every checksum.
export interface Gso { readonly size: number; readonly v6: boolean; }

export interface BridgePort {
  readonly name: string;
  deliver(frame: Uint8Array, gso?: Gso): void;
}

const AGE_MS = 300_000;
const macKey = (f: Uint8Array, off: number): string => Buffer.from(f.subarray(off, off + 6)).toString("hex");

export class Bridge {
  readonly ports = new Set<BridgePort>();
  private readonly fdb = new Map<string, { port: BridgePort; seen: number }>();
  stats = { frames: 0, flooded: 0, dropped: 0 };
  constructor(readonly name: string) {}

  join(p: BridgePort): void { this.ports.add(p); }
  leave(p: BridgePort): void {
    this.ports.delete(p);
    for (const [k, v] of this.fdb) if (v.port === p) this.fdb.delete(k);
  }

  // A frame from `from`: learn its source, forward it.
  send(from: BridgePort, frame: Uint8Array, gso?: Gso): void {
    if (frame.length < 14) { this.stats.dropped++; return; }
    this.stats.frames++;
    const now = Date.now();
    const src = macKey(frame, 6);
    if ((frame[6] & 1) === 0) this.fdb.set(src, { port: from, seen: now });
    const dst = this.fdb.get(macKey(frame, 0));
    if ((frame[0] & 1) === 0 && dst && now - dst.seen < AGE_MS && this.ports.has(dst.port)) {
      if (dst.port !== from) dst.port.deliver(frame, gso);
      return;
    }
    this.stats.flooded++;
    for (const p of this.ports) if (p !== from) p.deliver(frame, gso);
  }
}

export class Bridges {
  private readonly all = new Map<string, Bridge>();
  get(name: string): Bridge {
    let b = this.all.get(name);
    if (!b) { b = new Bridge(name); this.all.set(name, b); }
    return b;
  }
  list(): Bridge[] { return [...this.all.values()]; }
}
