// A TCP forwarder between a client and a server on loopback that a test can
// turn into a bad network: hold back what the client sends (and later let
// it, or part of it, through), swallow the server's answers (or some), drop everything
// (a partition: connections stay open and carry nothing, new ones too), or
// cut every connection. Half-closes are passed on.

import { createServer, connect, Server, Socket } from "node:net";

interface Pair { src: Socket; dst: Socket; held: Buffer[] }

export class TcpProxy {
  private readonly server: Server;
  private readonly pairs: Pair[] = [];
  private holding = false;
  private swallowing: boolean | RegExp = false;
  private partitioned = false;
  constructor(private readonly dstPort: number) { this.server = createServer({ allowHalfOpen: true }, (s) => this.pipe(s)); }
  listen(): Promise<number> { return new Promise((res) => this.server.listen(0, "127.0.0.1", () => res((this.server.address() as { port: number }).port))); }
  private pipe(src: Socket): void {
    const dst = connect({ port: this.dstPort, host: "127.0.0.1", allowHalfOpen: true });
    const pair: Pair = { src, dst, held: [] };
    this.pairs.push(pair);
    const kill = (): void => { src.destroy(); dst.destroy(); };
    src.on("error", kill); dst.on("error", kill);
    src.on("end", () => { if (!this.holding && !this.partitioned) dst.end(); });
    dst.on("end", () => { if (!this.partitioned) src.end(); });
    src.on("data", (d: Buffer) => { if (this.partitioned) return; if (this.holding) pair.held.push(d); else dst.write(d); });
    dst.on("data", (d: Buffer) => {
      const swallow = this.swallowing instanceof RegExp ? this.swallowing.test(d.toString("latin1")) : this.swallowing;
      if (!swallow && !this.partitioned) src.write(d);
    });
  }
  hold(): void { this.holding = true; }
  // what was held goes on, and everything after it
  release(): void {
    this.holding = false;
    for (const p of this.pairs) { for (const d of p.held.splice(0)) p.dst.write(d); }
  }
  // every answer from the server, or those (pieces as they come) that match
  swallowAnswers(like?: RegExp): void { this.swallowing = like ?? true; }
  partition(): void { this.partitioned = true; }
  // what was held back, all but the last `keep` bytes, then every connection cut
  cutAfterPartOfHeld(keep: number): number {
    const p = this.pairs.at(-1);
    if (!p) return 0;
    const all = Buffer.concat(p.held);
    p.dst.write(all.subarray(0, Math.max(0, all.length - keep)), () => this.cut());
    return all.length;
  }
  cut(): void { for (const p of this.pairs) { p.src.destroy(); p.dst.destroy(); } }
  close(): Promise<void> { this.cut(); return new Promise((res) => this.server.close(() => res())); }
}
