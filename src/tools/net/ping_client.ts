// A minimal IPv4 host on one or more bridges, for measuring what a network
// client sees and for giving a guest someone to ping: it answers ARP and
// ICMP echo requests for its own address, resolves its target's MAC, sends
// echo requests and notes when each reply comes back. When it joins
// several bridges it stands for a LAN that all of them reach (the hosts of
// a migration), sending to all and hearing from all. What it sends in
// answer goes out on a later turn, as from a real wire, never from inside
// the sender's own transmit path.

import type { Bridge, BridgePort } from "./bridge.js";
import { onesSum } from "./checksum.js";

const ipBytes = (ip: string): number[] => {
  const b = ip.split(".").map(Number);
  if (b.length !== 4 || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`'${ip}' is not an IPv4 address`);
  return b;
};

// Writes the checksum of f[from, to) at f[at].
function putChecksum(f: Uint8Array, from: number, to: number, at: number): void {
  f[at] = 0; f[at + 1] = 0;
  const c = ~onesSum(f, from, to) & 0xFFFF;
  f[at] = c >> 8; f[at + 1] = c & 0xFF;
}

export class PingClient implements BridgePort {
  readonly name = "ping-client";
  private readonly bridges: Bridge[] = [];
  private readonly ip: number[];
  private readonly target: number[];
  private targetMac: Uint8Array | null = null;
  private seq = 0;
  private readonly id = 0x7853;
  readonly replies: { seq: number; at: number }[] = [];
  readonly rtts: number[] = []; // ms, of the replies to pings sent here
  private readonly sentAt = new Map<number, number>();
  sent = 0;
  stats = { arpReplies: 0, echoReplies: 0 };

  // `target`: whom ping() pings; a host that only answers needs none.
  constructor(private readonly mac: Uint8Array, ip: string, target?: string) {
    this.ip = ipBytes(ip);
    this.target = target === undefined ? [] : ipBytes(target);
  }

  attach(b: Bridge): void { this.bridges.push(b); b.join(this); }
  detach(): void { for (const b of this.bridges) b.leave(this); this.bridges.length = 0; }

  private send(f: Uint8Array): void { for (const b of this.bridges) b.send(this, f.slice()); }
  private answer(f: Uint8Array): void { setImmediate(() => this.send(f)); }

  private arp(op: 1 | 2, dstMac: Uint8Array | null, dstIp: number[]): void {
    const f = new Uint8Array(60);
    if (dstMac) f.set(dstMac, 0); else f.fill(0xff, 0, 6);
    f.set(this.mac, 6);
    f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op], 12);
    f.set(this.mac, 22);
    f.set(this.ip, 28);
    if (dstMac) f.set(dstMac, 32);
    f.set(dstIp, 38);
    if (op === 2) { this.stats.arpReplies++; this.answer(f); } else this.send(f);
  }

  // One echo request (or, until the target's MAC is known, an ARP request).
  ping(): void {
    if (this.target.length !== 4) throw new Error("this host was given no target to ping");
    if (!this.targetMac) { this.arp(1, null, this.target); return; }
    const f = new Uint8Array(14 + 20 + 8 + 32);
    f.set(this.targetMac, 0);
    f.set(this.mac, 6);
    f[12] = 0x08; f[13] = 0x00;
    const ip = 14;
    f.set([0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 1, 0, 0], ip); // version/IHL, length 60, DF, TTL 64, ICMP
    f.set(this.ip, ip + 12);
    f.set(this.target, ip + 16);
    putChecksum(f, ip, ip + 20, ip + 10);
    const icmp = ip + 20, seq = this.seq++ & 0xffff;
    f.set([8, 0, 0, 0, this.id >> 8, this.id & 0xff, seq >> 8, seq & 0xff], icmp);
    putChecksum(f, icmp, f.length, icmp + 2);
    this.sent++;
    this.sentAt.set(seq, performance.now());
    if (this.sentAt.size > 4096) this.sentAt.delete(this.sentAt.keys().next().value!);
    this.send(f);
  }

  deliver(f: Uint8Array): void {
    if (f.length < 42) return;
    const type = (f[12] << 8) | f[13];
    const forMe = (at: number): boolean => f[at] === this.ip[0] && f[at + 1] === this.ip[1] && f[at + 2] === this.ip[2] && f[at + 3] === this.ip[3];
    if (type === 0x0806 && forMe(38)) {
      const op = (f[20] << 8) | f[21];
      const senderIp = [...f.subarray(28, 32)];
      if (op === 1) this.arp(2, f.slice(22, 28), senderIp);
      if (this.target.length === 4 && senderIp.every((b, i) => b === this.target[i])) this.targetMac = f.slice(22, 28);
      return;
    }
    if (type !== 0x0800 || f[14 + 9] !== 1 || !forMe(14 + 16)) return;
    const ihl = (f[14] & 0xf) * 4, total = (f[16] << 8) | f[17], icmp = 14 + ihl;
    if (ihl < 20 || total < ihl + 8 || 14 + total > f.length) return;
    if (f[icmp] === 8) { // an echo request: the same back, addresses swapped
      const r = f.slice(0, 14 + total);
      r.set(f.subarray(6, 12), 0); r.set(this.mac, 6);
      r.set(this.ip, 26); r.set(f.subarray(26, 30), 30);
      r[22] = 64;
      putChecksum(r, 14, icmp, 24);
      r[icmp] = 0;
      putChecksum(r, icmp, r.length, icmp + 2);
      this.stats.echoReplies++;
      this.answer(r);
      return;
    }
    if (f[icmp] !== 0 || ((f[icmp + 4] << 8) | f[icmp + 5]) !== this.id) return;
    const seq = (f[icmp + 6] << 8) | f[icmp + 7], at = performance.now();
    this.replies.push({ seq, at });
    const sent = this.sentAt.get(seq);
    if (sent !== undefined) { this.rtts.push(at - sent); this.sentAt.delete(seq); }
  }

  // The longest time between two consecutive replies.
  longestGapMs(): number {
    let gap = 0;
    for (let i = 1; i < this.replies.length; i++) gap = Math.max(gap, this.replies[i].at - this.replies[i - 1].at);
    return gap;
  }
}
