// The CLI's side of the control socket.

import { connect, Socket } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import type { HostPaths } from "../home.js";
import type { Reply } from "./protocol.js";

export class NoHost extends Error {}

export class HostClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { res: (r: Reply) => void; raw?: (d: Buffer) => void }>();
  private buf: Buffer = Buffer.alloc(0);
  private raw: ((d: Buffer) => void) | null = null;

  private constructor(private readonly sock: Socket) {
    sock.on("data", (d: Buffer) => {
      if (this.raw) { this.raw(d); return; }
      this.buf = Buffer.concat([this.buf, d]);
      let i: number;
      while (!this.raw && (i = this.buf.indexOf(10)) >= 0) {
        const line = this.buf.subarray(0, i).toString("utf8");
        this.buf = this.buf.subarray(i + 1);
        if (!line.trim()) continue;
        let r: Reply;
        try { r = JSON.parse(line) as Reply; } catch { r = { id: 0, ok: false, error: `the host sent a malformed reply: ${line.slice(0, 80)}` }; }
        if (r.id === 0) { for (const w of this.waiting.values()) w.res(r); this.waiting.clear(); continue; } // no id: it concerns every request
        const w = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        if (w?.raw && r.ok) this.raw = w.raw; // the console stream follows its reply
        w?.res(r);
      }
      if (this.raw && this.buf.length) { const rest = this.buf; this.buf = Buffer.alloc(0); this.raw(rest); }
    });
    sock.on("close", () => {
      for (const w of this.waiting.values()) w.res({ id: 0, ok: false, error: "the host closed the connection" });
      this.waiting.clear();
    });
  }

  static connect(paths: HostPaths): Promise<HostClient> {
    return new Promise((res, rej) => {
      if (!existsSync(paths.control)) { rej(new NoHost(`no xents host is running in ${paths.home} (start one with: xents host start)`)); return; }
      const s = connect(paths.control);
      s.once("connect", () => res(new HostClient(s)));
      s.once("error", (e) => rej(new NoHost(gone(paths) ?? `cannot reach the host in ${paths.home}: ${e.message}`)));
    });
  }

  private request(cmd: string, args: Record<string, unknown>, raw?: (d: Buffer) => void): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((res, rej) => {
      this.waiting.set(id, { res: (r) => (r.ok ? res(r.result) : rej(new Error(r.error))), raw });
      this.sock.write(JSON.stringify({ id, cmd, args }) + "\n");
    });
  }

  call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> { return this.request(cmd, args); }

  // Attach to a domain console: bytes flow both ways until either side closes.
  async console(domain: string, out: (d: Buffer) => void): Promise<{ send(d: Uint8Array): void; closed: Promise<void>; close(): void }> {
    const closed = new Promise<void>((res) => this.sock.once("close", () => res()));
    await this.request("console", { domain }, out);
    return { send: (d) => { if (!this.sock.destroyed) this.sock.write(d); }, closed, close: () => this.sock.end() };
  }

  close(): void { this.sock.end(); }
}

// A host that died without cleaning up (SIGKILL, a crash) leaves its pid
// file and sockets: say so plainly.
function gone(paths: HostPaths): string | null {
  let pid = 0;
  try { pid = Number(readFileSync(paths.pidfile, "utf8")); } catch { return null; }
  if (!pid || processAlive(pid)) return null;
  return `the host in ${paths.home} is gone: its process (pid ${pid}) is not running (killed or crashed); its guests went with it. Start it again with: xents host start`;
}

// Whether a process runs: a zombie (dead, not yet reaped by whoever adopted
// it) does not.
export function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
  try { return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")); } catch { return true; }
}
