// A tiny host on a bridge for tests: it answers ARP requests for its IPv4
// address and ICMP echo requests sent to it, so that a guest's ping gets
// replies without a second guest. It counts what it answered.

import type { Bridge, BridgePort } from "../../src/tools/net/bridge.js";

function ipSum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export class PingResponder implements BridgePort {
  readonly name = "responder";
  stats = { arpReplies: 0, echoReplies: 0 };
  private readonly mac: Uint8Array;
  private readonly ip: Uint8Array;

  constructor(private readonly bridge: Bridge, mac: string, ip: string) {
    this.mac = Uint8Array.from(mac.split(":").map((x) => parseInt(x, 16)));
    this.ip = Uint8Array.from(ip.split(".").map(Number));
  }

  private isMe(b: Uint8Array, off: number): boolean { return this.ip.every((x, i) => b[off + i] === x); }

  // Replies go out on a later turn, as a real wire would, never from inside
  // the sender's own transmit path.
  private reply(frame: Uint8Array): void { setImmediate(() => this.bridge.send(this, frame)); }

  deliver(f: Uint8Array): void {
    const type = (f[12] << 8) | f[13];
    if (type === 0x0806 && f.length >= 42 && f[21] === 1 && this.isMe(f, 38)) {
      const r = new Uint8Array(42);
      r.set(f.subarray(6, 12), 0); r.set(this.mac, 6); r.set([0x08, 0x06], 12);
      r.set([0, 1, 8, 0, 6, 4, 0, 2], 14);
      r.set(this.mac, 22); r.set(this.ip, 28); r.set(f.subarray(22, 28), 32); r.set(f.subarray(28, 32), 38);
      this.stats.arpReplies++;
      this.reply(r);
      return;
    }
    if (type !== 0x0800 || f.length < 34) return;
    const ihl = (f[14] & 15) * 4, total = (f[16] << 8) | f[17];
    if (f[23] !== 1 || !this.isMe(f, 30) || 14 + total > f.length || total < ihl + 8 || f[14 + ihl] !== 8) return;
    const r = f.slice(0, 14 + total);
    r.set(f.subarray(6, 12), 0); r.set(this.mac, 6);
    r.set(f.subarray(30, 34), 26); r.set(f.subarray(26, 30), 30); // swap the addresses
    r[22] = 64; r[24] = r[25] = 0;
    const hs = ipSum(r, 14, ihl); r[24] = hs >> 8; r[25] = hs & 0xff;
    const icmp = 14 + ihl;
    r[icmp] = 0; r[icmp + 2] = r[icmp + 3] = 0;
    const cs = ipSum(r, icmp, total - ihl); r[icmp + 2] = cs >> 8; r[icmp + 3] = cs & 0xff;
    this.stats.echoReplies++;
    this.reply(r);
  }
}
