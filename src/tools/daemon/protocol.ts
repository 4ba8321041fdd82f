// The host daemon's control protocol: one JSON object per line each way.
// A request names a command and its arguments; the reply carries a result
// or an error message. "console" switches the connection to a raw byte
// stream in both directions after its reply.

export interface Request { id: number; cmd: string; args: Record<string, unknown>; }
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export const MAX_REQUEST_BYTES = 1 << 20; // one line; a connection may send any number of them

// A request line as a client sent it, checked: a JSON object with a string
// `cmd`, a numeric `id` (0 if absent) and an object `args` (empty if absent).
export function parseRequest(line: string): Request | { id: number; error: string } {
  let v: unknown;
  try { v = JSON.parse(line); } catch { return { id: 0, error: "malformed request: not JSON" }; }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { id: 0, error: "malformed request: not a JSON object" };
  const o = v as Record<string, unknown>;
  const id = typeof o.id === "number" && Number.isSafeInteger(o.id) ? o.id : 0;
  if (typeof o.cmd !== "string") return { id, error: "malformed request: no command" };
  const args = o.args ?? {};
  if (typeof args !== "object" || args === null || Array.isArray(args)) return { id, error: "malformed request: args is not an object" };
  return { id, cmd: o.cmd, args: args as Record<string, unknown> };
}
