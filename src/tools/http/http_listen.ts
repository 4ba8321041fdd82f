// Where a host daemon's HTTP API listens (--http), parsed apart from the
// server itself, so that commands that only parse the option (xents host)
// do not load the server's modules at their start.

export const DEFAULT_HTTP_PORT = 8480;

// Where the API listens: host and port, given as ADDR:PORT, PORT or "off".
export interface HttpListen { host: string; port: number; explicit: boolean }
export function parseHttpListen(text: string | undefined, allowPublic: boolean): HttpListen | null {
  if (text === "off") return null;
  if (text === undefined) return { host: "127.0.0.1", port: DEFAULT_HTTP_PORT, explicit: false };
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`--http takes ADDRESS:PORT, PORT or off, not '${text}'`);
  const host = (m[1] ?? "127.0.0.1").replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || /^127\./.test(host);
  if (!loopback && !allowPublic) throw new Error(`--http ${text} listens beyond this machine: say so with --http-public (anyone who reaches it and has the token drives the host)`);
  return { host, port, explicit: true };
}
