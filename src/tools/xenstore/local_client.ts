// A xenstore client for the control domain's own services (backends): the
// xs_wire protocol over an in-process connection to xenstored, as libxenstore
// speaks it over the socket. Requests are answered synchronously; watch
// events are delivered on a later turn of the event loop, so that a handler
// never runs inside the write that fired it.

import { Xenstored, Connection } from "./xenstored.js";
import { XS, XSD_SOCKMSG_SIZE } from "../../xen/public/io/xs_wire.js";

export class XenstoreError extends Error {
  constructor(readonly op: string, readonly path: string, readonly code: string) { super(`xenstore ${op} ${path}: ${code}`); }
}

export type WatchHandler = (path: string) => void;

export class XsClient {
  private readonly conn: Connection;
  private reply: { type: number; payload: Uint8Array } | null = null;
  private readonly watches = new Map<string, WatchHandler>(); // token -> handler
  private nextToken = 1;
  private closed = false;

  constructor(private readonly xsd: Xenstored, readonly name: string, domid = 0) {
    this.conn = xsd.connect(domid, domid === 0, false, {
      send: (msg) => this.receive(msg),
      close: () => { this.closed = true; },
    }, name);
  }

  private receive(msg: Uint8Array): void {
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const type = dv.getUint32(0, true);
    const payload = msg.subarray(XSD_SOCKMSG_SIZE, XSD_SOCKMSG_SIZE + dv.getUint32(12, true));
    if (type === XS.WATCH_EVENT) {
      const [path, token] = Buffer.from(payload).toString("utf8").split("\0");
      const h = this.watches.get(token);
      if (h) setImmediate(() => { if (this.watches.get(token) === h) h(path); });
      return;
    }
    this.reply = { type, payload: payload.slice() };
  }

  private call(type: number, op: string, path: string, args: string[], value?: Uint8Array): Uint8Array {
    if (this.closed) throw new XenstoreError(op, path, "connection closed");
    const head = Buffer.from(args.map((a) => a + "\0").join(""));
    const body = value ? Buffer.concat([head, value]) : head;
    this.reply = null;
    this.xsd.request(this.conn, type, 0, 0, new Uint8Array(body));
    const r = this.reply as { type: number; payload: Uint8Array } | null;
    if (!r) throw new XenstoreError(op, path, "no reply");
    if (r.type === XS.ERROR) throw new XenstoreError(op, path, Buffer.from(r.payload).toString("utf8").replace(/\0.*$/s, ""));
    return r.payload;
  }

  read(path: string): string | null {
    try {
      return Buffer.from(this.call(XS.READ, "read", path, [path])).toString("utf8");
    } catch (e) {
      if (e instanceof XenstoreError && e.code === "ENOENT") return null;
      throw e;
    }
  }
  readInt(path: string): number | null {
    const v = this.read(path);
    return v !== null && /^\s*\d+\s*$/.test(v) ? Number(v) : null;
  }
  write(path: string, value: string): void {
    this.call(XS.WRITE, "write", path, [path], new Uint8Array(Buffer.from(value)));
  }
  mkdir(path: string): void { this.call(XS.MKDIR, "mkdir", path, [path]); }
  rm(path: string): void {
    try { this.call(XS.RM, "rm", path, [path]); } catch (e) { if (!(e instanceof XenstoreError && e.code === "ENOENT")) throw e; }
  }
  directory(path: string): string[] {
    try {
      const s = Buffer.from(this.call(XS.DIRECTORY, "directory", path, [path])).toString("utf8");
      return s.split("\0").filter((x) => x.length > 0);
    } catch (e) {
      if (e instanceof XenstoreError && e.code === "ENOENT") return [];
      throw e;
    }
  }
  // perms as xenstore-chmod writes them: "n0", "r5", ...
  setPerms(path: string, perms: string[]): void { this.call(XS.SET_PERMS, "set_perms", path, [path, ...perms]); }

  // Fires once at registration and on every change at or below `path`.
  watch(path: string, h: WatchHandler): () => void {
    const token = `${this.name}-${this.nextToken++}`;
    this.watches.set(token, h);
    this.call(XS.WATCH, "watch", path, [path, token]);
    return () => {
      this.watches.delete(token);
      if (!this.closed) { try { this.call(XS.UNWATCH, "unwatch", path, [path, token]); } catch { /* already gone */ } }
    };
  }

  close(): void {
    if (this.closed) return;
    this.watches.clear();
    this.closed = true;
    this.xsd.disconnect(this.conn);
  }
}
