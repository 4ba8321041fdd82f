// The authenticated link between two xents hosts that live migration and
// Remus replication share (migration.ts, remus/).
//
// Handshake (lines): the destination sends "XENTS-MIGRATE 1 <nonce>"; the
// source answers "AUTH <HMAC-SHA256(key, 'src:'+nonce)> <its nonce>", with
// " REMUS" after it when it asks for replication rather than a move; the
// destination proves itself with "AUTH <HMAC(key, 'dst:'+nonce')>". No guest
// byte crosses before both sides have shown they hold the shared key.

import { connect, Socket } from "node:net";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { LineFramer } from "./line_framer.js";

export const LINK_TIMEOUT_MS = 15_000; // a link that moves nothing this long is dead
export type LinkMode = "migrate" | "remus";

const hmac = (key: Uint8Array, what: string): string => createHmac("sha256", key).update(what).digest("hex");
function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex"), y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export class LinkError extends Error {}

// Lines from a socket until someone switches it to raw records.
export class Lines {
  private waiting: ((l: string | null) => void)[] = [];
  private queue: string[] = [];
  private ended = false;
  // every line as it comes, instead of the queue (a long-lived peer's
  // acknowledgements); lines already queued are handed over at once
  private listener: ((l: string) => void) | null = null;
  private readonly framer = new LineFramer((l) => {
    if (this.listener) { this.listener(l); return; }
    const w = this.waiting.shift();
    if (w) w(l); else this.queue.push(l);
  }, 4096, "latin1");
  get raw(): ((d: Buffer) => void) | null { return this.framer.raw; }
  set raw(h: ((d: Buffer) => void) | null) { this.framer.raw = h; }
  constructor(sock: Socket) {
    sock.on("data", (d: Buffer) => { if (!this.framer.push(d)) sock.destroy(new Error("handshake line too long")); });
    const end = (): void => { this.ended = true; for (const w of this.waiting.splice(0)) w(null); };
    sock.on("close", end);
    sock.on("error", end);
  }
  next(timeoutMs: number): Promise<string | null> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    if (this.ended) return Promise.resolve(null);
    return new Promise((res) => {
      let t: ReturnType<typeof setTimeout> | undefined;
      const done = (l: string | null): void => { clearTimeout(t); res(l); };
      t = setTimeout(() => { this.waiting = this.waiting.filter((w) => w !== done); res(null); }, timeoutMs);
      this.waiting.push(done);
    });
  }
  // Why the peer refused, if it said so ("ERR <why>") in a line not yet
  // read: a copy cut short by the peer reports that rather than the close.
  refusal(): string | null {
    const l = this.queue.find((x) => x.startsWith("ERR "));
    return l === undefined ? null : l.slice(4);
  }
  onLine(f: (l: string) => void): void {
    this.listener = f;
    for (const l of this.queue.splice(0)) f(l);
  }
}

// The source's side: connected and authenticated, or a LinkError.
export async function connectLink(host: string, port: number, key: Uint8Array, mode: LinkMode): Promise<{ sock: Socket; lines: Lines }> {
  const sock = connect({ host, port });
  await new Promise<void>((res, rej) => { sock.once("connect", res); sock.once("error", (e) => rej(new LinkError(`cannot reach ${host}:${port}: ${e.message}`))); });
  sock.setNoDelay(true);
  sock.setTimeout(LINK_TIMEOUT_MS, () => sock.destroy(new Error(`no progress on the link for ${LINK_TIMEOUT_MS / 1000} s`)));
  const lines = new Lines(sock);
  try {
    const hello = await lines.next(10_000);
    const m = /^XENTS-MIGRATE 1 ([0-9a-f]{64})$/.exec(hello ?? "");
    if (!m) throw new LinkError(`${host}:${port} is not a xents migration listener`);
    const mine = randomBytes(32).toString("hex");
    sock.write(`AUTH ${hmac(key, `src:${m[1]}`)} ${mine}${mode === "remus" ? " REMUS" : ""}\n`);
    const their = await lines.next(10_000);
    const a = /^AUTH ([0-9a-f]{64})$/.exec(their ?? "");
    if (!a || !sameHex(a[1], hmac(key, `dst:${mine}`))) throw new LinkError(`the destination did not authenticate${their?.startsWith("ERR") ? `: ${their.slice(4)}` : ""}`);
    return { sock, lines };
  } catch (e) {
    sock.destroy();
    throw e;
  }
}

// The destination's side: the mode the source asked for once both have
// proved the key, or null (the source was told, or has gone).
export async function acceptLink(sock: Socket, lines: Lines, key: Uint8Array): Promise<LinkMode | null> {
  const nonce = randomBytes(32).toString("hex");
  sock.write(`XENTS-MIGRATE 1 ${nonce}\n`);
  const auth = await lines.next(10_000);
  const m = /^AUTH ([0-9a-f]{64}) ([0-9a-f]{64})( REMUS)?$/.exec(auth ?? "");
  if (!m || !sameHex(m[1], hmac(key, `src:${nonce}`))) return null;
  sock.write(`AUTH ${hmac(key, `dst:${m[2]}`)}\n`);
  return m[3] ? "remus" : "migrate";
}

// Waits while the link's send buffer is full; throws (as `error` makes it)
// once the link has failed or the peer has closed it.
export function linkDrain(sock: Socket, peer: string, error: (m: string) => Error): () => Promise<void> {
  let failure: Error | null = null;
  sock.on("error", (e) => { failure = e; });
  return async () => {
    if (failure) throw error(`the link to the ${peer} failed: ${(failure as Error).message}`);
    if (sock.destroyed) throw error(`the ${peer} closed the connection`);
    if (sock.writableNeedDrain) await new Promise<void>((res) => { sock.once("drain", res); sock.once("close", res); });
  };
}
