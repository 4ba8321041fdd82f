// xenstored's local socket (what /run/xenstored/socket is on a Xen host):
// local tools such as Debian's xenstore-utils connect here, as privileged
// dom0 clients speaking the same wire protocol. The socket is mode 0600.

import { createServer, Server, Socket } from "node:net";
import { chmodSync, existsSync, unlinkSync } from "node:fs";
import type { Xenstored, Connection } from "./xenstored.js";

export class XenstoreSocketServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly xs: Xenstored, readonly path: string) {}

  async listen(): Promise<void> {
    if (existsSync(this.path)) unlinkSync(this.path);
    this.server = createServer((sock) => this.accept(sock));
    await new Promise<void>((res, rej) => { this.server!.once("error", rej); this.server!.listen(this.path, () => res()); });
    chmodSync(this.path, 0o600);
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    let conn: Connection | null = null;
    conn = this.xs.connect(0, true, false, {
      send: (m) => { if (!sock.destroyed) sock.write(m); },
      close: () => sock.destroy(),
    }, "socket client");
    sock.on("data", (d) => { if (conn) this.xs.input(conn, new Uint8Array(d)); });
    const gone = (): void => { this.sockets.delete(sock); if (conn) this.xs.disconnect(conn); conn = null; };
    sock.on("close", gone);
    sock.on("error", gone);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server ? this.server.close(() => res()) : res());
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}
