// The CLI's side of the control socket.

import type { Socket } from "node:net";
import { connectUnix } from "../net/unix_connect.js";
import { existsSync, readFileSync } from "node:fs";
import type { HostPaths } from "../home.js";
import type { Reply } from "./protocol.js";
import { LineFramer } from "../line_framer.js";
import type { ArgsIn, CommandName, Results } from "./commands.js";

const MAX_REPLY_BYTES = 64 << 20; // one reply line (a domain list, the host's status); the console stream after it is unbounded

export class NoHost extends Error {}

export class HostClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { res: (r: Reply) => void; raw?: (d: Buffer) => void }>();
  private readonly lines: LineFramer;

  private constructor(private readonly sock: Socket) {
    this.lines = new LineFramer((line) => {
      if (!line.trim()) return;
      const r = parseReply(line);
      if (r.id === 0) { for (const w of this.waiting.values()) w.res(r); this.waiting.clear(); return; } // no id: it concerns every request
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (w?.raw && r.ok) this.lines.raw = w.raw; // the console stream follows its reply
      w?.res(r);
    }, MAX_REPLY_BYTES);
    sock.on("data", (d: Buffer) => {
      if (this.lines.push(d)) return;
      for (const w of this.waiting.values()) w.res({ id: 0, ok: false, error: `the host sent a reply longer than ${MAX_REPLY_BYTES} bytes` });
      this.waiting.clear();
      sock.destroy();
    });
    sock.on("error", () => { /* a reset by a dying host: 'close' follows and answers what waits */ });
    sock.on("close", () => {
      for (const w of this.waiting.values()) w.res({ id: 0, ok: false, error: "the host closed the connection" });
      this.waiting.clear();
    });
  }

  static connect(paths: HostPaths): Promise<HostClient> {
    return new Promise((res, rej) => {
      if (!existsSync(paths.control)) { rej(new NoHost(`no xents host is running in ${paths.home} (start one with: xents host start)`)); return; }
      connectUnix(paths.control).then((s) => res(new HostClient(s)),
        (e: Error) => rej(new NoHost(gone(paths) ?? `cannot reach the host in ${paths.home}: ${e.message}`)));
    });
  }

  private request(cmd: string, args: Record<string, unknown>, raw?: (d: Buffer) => void): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((res, rej) => {
      this.waiting.set(id, { res: (r) => (r.ok ? res(r.result) : rej(new Error(r.error))), raw });
      this.sock.write(JSON.stringify({ id, cmd, args }) + "\n");
    });
  }

  // A command of the table (commands.ts), its arguments and answer typed by it.
  call<K extends CommandName>(cmd: K, ...args: object extends ArgsIn<K> ? [ArgsIn<K>?] : [ArgsIn<K>]): Promise<Results[K]> {
    return this.request(cmd, (args[0] ?? {}) as Record<string, unknown>) as Promise<Results[K]>;
  }

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

// A reply line, checked as far as the client relies on it: an object with
// a numeric id and either a result or an error text.
export function parseReply(line: string): Reply {
  const bad: Reply = { id: 0, ok: false, error: `the host sent a malformed reply: ${line.slice(0, 80)}` };
  let v: unknown;
  try { v = JSON.parse(line); } catch { return bad; }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return bad;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== "number" || !Number.isSafeInteger(o.id) || typeof o.ok !== "boolean") return bad;
  if (o.ok) return { id: o.id, ok: true, result: o.result };
  return { id: o.id, ok: false, error: typeof o.error === "string" ? o.error : "the host sent an error without a message" };
}
