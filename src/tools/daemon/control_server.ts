// The host daemon's control socket, whatever kind of Domain-0 the host
// has: one JSON request per line, one reply line for each whatever it
// holds (no message can take the host down, issue 12), and "console"
// turning the connection into a raw byte stream both ways.

import { createServer, Server, Socket } from "node:net";
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync, appendFileSync, statSync, renameSync } from "node:fs";
import { HostPaths, ensureHome } from "../home.js";
import { Request, Reply, MAX_REQUEST_BYTES, parseRequest } from "./protocol.js";
import { LineFramer } from "../line_framer.js";
import { type Args, type CommandName, type Results, checkArgs, isCommand } from "./commands.js";
import { processAlive } from "./client.js";
import type { ConsoleHistory } from "../console_history.js";

// A handler for every command of the table (commands.ts), with its checked arguments.
// `sock`: the control socket's connection (console takes it over); null for a client of another kind
export type Handlers = { [K in CommandName]: (args: Args<K>, sock: Socket | null) => Results[K] | Promise<Results[K]> };

export class RequestError extends Error {}

const CONSOLE_CLIENT_BACKLOG = 1 << 20; // output queued for one attached console client
const LISTEN_BACKLOG = 4096; // connections the kernel queues before accept (capped by net.core.somaxconn); past it, clients retry (connectUnix)

// One command run for any client (the control socket's, the HTTP API's):
// its arguments checked against the table before its handler sees them,
// and an exception the daemon did not mean counted and logged as a bug.
export type Outcome = { ok: true; result: unknown } | { ok: false; error: string; kind: "request" | "arguments" | "unknown" | "bug" };
export class Dispatcher {
  readonly stats = { bugs: 0 }; // requests that ended in an exception the daemon did not mean
  handlers: Handlers | null = null;
  constructor(private readonly logLine: (line: string) => void) {}

  async run(cmd: string, args: unknown, sock: Socket | null): Promise<Outcome> {
    if (!isCommand(cmd) || !this.handlers) return { ok: false, error: `unknown command '${cmd}'`, kind: "unknown" };
    if (typeof args !== "object" || args === null || Array.isArray(args)) return { ok: false, error: "the arguments must be an object", kind: "arguments" };
    const checked = checkArgs(cmd, args as Record<string, unknown>);
    if (!checked.ok) return { ok: false, error: checked.error, kind: "arguments" };
    const h = this.handlers[cmd] as (a: unknown, sock: Socket | null) => unknown; // the table pairs each command with its arguments' type
    try {
      return { ok: true, result: await h(checked.args, sock) };
    } catch (e) {
      // a TypeError and its kin mean the daemon trusted something it should
      // have checked: a bug, logged and counted, though the client only sees an error
      if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError) {
        this.stats.bugs++;
        this.logLine(`BUG: ${cmd}: ${e.stack?.split("\n").slice(0, 4).join(" | ")}`);
        return { ok: false, error: e.message, kind: "bug" };
      }
      return { ok: false, error: e instanceof Error ? e.message : String(e), kind: "request" };
    }
  }
}

export class ControlServer {
  private server: Server | null = null;
  readonly dispatcher: Dispatcher;

  constructor(readonly paths: HostPaths, logLine: (line: string) => void) { this.dispatcher = new Dispatcher(logLine); }
  get stats(): { bugs: number } { return this.dispatcher.stats; }
  get handlers(): Handlers | null { return this.dispatcher.handlers; }
  set handlers(h: Handlers | null) { this.dispatcher.handlers = h; }

  // Refuses a home another live host holds.
  static claimHome(paths: HostPaths): void {
    ensureHome(paths);
    if (existsSync(paths.pidfile)) {
      const pid = Number(readFileSync(paths.pidfile, "utf8"));
      if (pid && pid !== process.pid && processAlive(pid)) throw new Error(`a host is already running in ${paths.home} (pid ${pid})`);
    }
  }

  async listen(): Promise<void> {
    if (existsSync(this.paths.control)) unlinkSync(this.paths.control);
    this.server = createServer((s) => this.accept(s));
    await new Promise<void>((res, rej) => { this.server!.once("error", rej); this.server!.listen({ path: this.paths.control, backlog: LISTEN_BACKLOG }, () => res()); });
    chmodSync(this.paths.control, 0o600);
    writeFileSync(this.paths.pidfile, String(process.pid));
  }

  async close(): Promise<void> {
    await new Promise<void>((res) => this.server ? this.server.close(() => res()) : res());
    for (const p of [this.paths.control, this.paths.pidfile]) if (existsSync(p)) unlinkSync(p);
  }

  private accept(sock: Socket): void {
    let streaming = false;
    const send = (reply: Reply): void => {
      if (sock.destroyed) return;
      let text: string;
      try { text = JSON.stringify(reply, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)); } catch (e) { text = JSON.stringify({ id: reply.id, ok: false, error: `the reply could not be encoded: ${(e as Error).message}` }); }
      sock.write(text + "\n");
    };
    const reader = new LineFramer((line) => {
      if (streaming || !line.trim()) return;
      const req = parseRequest(line);
      if ("error" in req) { send({ id: req.id, ok: false, error: req.error }); return; }
      this.dispatch(req, sock).then((reply) => {
        send(reply);
        if (reply.ok && req.cmd === "console") streaming = true;
      }, (e: unknown) => send({ id: req.id, ok: false, error: String(e) }));
    }, MAX_REQUEST_BYTES);
    sock.on("data", (chunk: Buffer) => {
      if (streaming) return; // console input is handled by the console hook
      if (!reader.push(chunk)) { send({ id: 0, ok: false, error: `a request line longer than ${MAX_REQUEST_BYTES} bytes` }); sock.destroy(); }
    });
    sock.on("error", () => sock.destroy());
  }

  private async dispatch(req: Request, sock: Socket): Promise<Reply> {
    const o = await this.dispatcher.run(req.cmd, req.args, sock);
    return o.ok ? { id: req.id, ok: true, result: o.result } : { id: req.id, ok: false, error: o.error };
  }
}

// Attach a console client: after the JSON reply, what was said while
// nobody listened, then output as it comes; what the client types is the
// console's input.
// (The history waits a turn for the reply to go first; output that comes
// meanwhile waits behind it: written at once, it reached the client before
// what was said earlier, and a migrated guest's first line on the new host
// seemed to skip the ticks before it.)
export function attachConsole(c: ConsoleHistory, sock: Socket): void {
  const history = c.historyText();
  let early: Uint8Array[] | null = [];
  // A client that stops reading loses output (as a serial line would)
  // rather than growing the daemon's socket buffer without a bound.
  const write = (d: Uint8Array): void => { if (!sock.destroyed && sock.writableLength < CONSOLE_CLIENT_BACKLOG) sock.write(d); };
  const out = (d: Uint8Array): void => { if (early) early.push(d); else write(d); };
  setImmediate(() => {
    const waiting = early ?? [];
    early = null;
    if (history.length && !sock.destroyed) sock.write(history);
    for (const d of waiting) write(d);
  });
  c.listeners.add(out);
  sock.removeAllListeners("data");
  sock.on("data", (d: Buffer) => c.input(new Uint8Array(d)));
  const ended = (): void => { setTimeout(() => sock.end(), 50); }; // let the last words reach the client first
  const bye = (): void => { c.listeners.delete(out); c.endListeners.delete(ended); };
  c.endListeners.add(ended);
  sock.on("close", bye);
  sock.on("error", bye);
}

// A console log file beside the home's other logs, rotated to one older
// generation at `max` bytes so that a console that never stops talking
// fills no disk.
export function logConsoleTo(c: ConsoleHistory, file: string, max: number): void {
  let size = existsSync(file) ? statSync(file).size : 0;
  c.listeners.add((d) => {
    try {
      if (size + d.length > max) { renameSync(file, file + ".1"); size = 0; }
      appendFileSync(file, d);
      size += d.length;
    } catch { /* disk full: the in-memory history still has it */ }
  });
}
