// A virtual switch in the control domain (xenbr0 and friends): vifs and
// host TAP devices join by the bridge's name; frames go to the port that
// last sent from the destination MAC, or to every other port when the MAC
// is unknown, broadcast or multicast. A frame never goes back where it came
// from. Learned addresses age out after five minutes, and the table holds
// at most FDB_MAX of them: a guest sending from endless made-up source
// addresses cannot grow it without bound (once it is full of live entries,
// new addresses are not learned and frames to them are flooded, as a
// switch with a full table does).

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
export const FDB_MAX = 4096;
const macKey = (f: Uint8Array, off: number): string => Buffer.from(f.subarray(off, off + 6)).toString("hex");

export class Bridge {
  readonly ports = new Set<BridgePort>();
  private readonly fdb = new Map<string, { port: BridgePort; seen: number }>();
  private lastSweep = 0;
  stats = { frames: 0, flooded: 0, dropped: 0, unlearned: 0 };
  constructor(readonly name: string) {}

  join(p: BridgePort): void { this.ports.add(p); }
  leave(p: BridgePort): void {
    this.ports.delete(p);
    for (const [k, v] of this.fdb) if (v.port === p) this.fdb.delete(k);
  }

  private learn(mac: string, port: BridgePort, now: number): void {
    const e = this.fdb.get(mac);
    if (e) { e.port = port; e.seen = now; return; }
    if (this.fdb.size >= FDB_MAX) {
      // sweep out aged entries, at most once a second (a sweep per frame would let a guest buy work cheaply)
      if (now - this.lastSweep >= 1000) {
        this.lastSweep = now;
        for (const [k, v] of this.fdb) if (now - v.seen >= AGE_MS || !this.ports.has(v.port)) this.fdb.delete(k);
      }
      if (this.fdb.size >= FDB_MAX) { this.stats.unlearned++; return; }
    }
    this.fdb.set(mac, { port, seen: now });
  }
  get learned(): number { return this.fdb.size; }

  // A frame from `from`: learn its source, forward it.
  send(from: BridgePort, frame: Uint8Array, gso?: Gso): void {
    if (frame.length < 14) { this.stats.dropped++; return; }
    this.stats.frames++;
    const now = Date.now();
    const src = macKey(frame, 6);
    if ((frame[6] & 1) === 0) this.learn(src, from, now);
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
