// A client for QEMU's machine protocol (QMP, docs/interop/qmp-spec.txt) on
// a Unix socket: the greeting, qmp_capabilities, then one command at a time,
// each answered by "return" or "error"; asynchronous events are set aside.
// Benchmarks use it to drive QEMU as their reference (its live migration).

import { connect, Socket } from "node:net";

export class QmpError extends Error {}

export class QmpClient {
  private buf = "";
  private waiting: { res: (v: unknown) => void; rej: (e: Error) => void } | null = null;
  readonly events: { event: string; data?: unknown }[] = [];
  private constructor(private readonly sock: Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf("\n")) >= 0) { const line = this.buf.slice(0, i).trim(); this.buf = this.buf.slice(i + 1); if (line) this.line(line); }
    });
    sock.on("close", () => { this.waiting?.rej(new QmpError("QEMU closed its QMP socket")); this.waiting = null; });
  }

  private line(line: string): void {
    let m: { QMP?: unknown; event?: string; data?: unknown; return?: unknown; error?: { class: string; desc: string } };
    try { m = JSON.parse(line) as typeof m; } catch { return; }
    if (m.event) { this.events.push({ event: m.event, data: m.data }); return; }
    const w = this.waiting;
    if (!w) return;
    this.waiting = null;
    if (m.error) w.rej(new QmpError(`${m.error.class}: ${m.error.desc}`));
    else w.res(m.QMP ?? m.return);
  }

  private next(): Promise<unknown> {
    if (this.waiting) throw new QmpError("one QMP command at a time");
    return new Promise((res, rej) => { this.waiting = { res, rej }; });
  }

  // Connects (retrying while QEMU has not made the socket yet) and negotiates.
  static async open(path: string, timeoutMs = 30_000): Promise<QmpClient> {
    const t0 = performance.now();
    for (;;) {
      const sock = await new Promise<Socket | null>((res) => { const s = connect(path); s.once("connect", () => res(s)); s.once("error", () => res(null)); });
      if (sock) {
        const c = new QmpClient(sock);
        await c.next(); // the greeting
        await c.execute("qmp_capabilities");
        return c;
      }
      if (performance.now() - t0 > timeoutMs) throw new QmpError(`no QMP socket at ${path}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const p = this.next();
    this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
    return p;
  }

  close(): void { this.sock.destroy(); }
}
