// The page's way to the host: the HTTP API, authenticated by the login
// cookie, every change sent as JSON (which the server requires of a
// cookie's changes, with the page's own Origin that the browser adds).

export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: method === "GET" ? {} : { "content-type": "application/json" },
    body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
  });
  if (r.status === 401) { location.href = "/login"; throw new ApiError(401, "logged out"); }
  const text = await r.text();
  const value = text ? (JSON.parse(text) as unknown) : null;
  if (!r.ok) throw new ApiError(r.status, String((value as { error?: unknown } | null)?.error ?? r.statusText));
  return value as T;
}

// A long operation's answer as server-sent events (progress, then done or
// error), each handed over as it comes; resolves with the last event.
export async function apiEvents(method: string, path: string, body: unknown, on: (event: string, data: unknown) => void): Promise<{ event: string; data: unknown }> {
  const r = await fetch(path, { method, credentials: "same-origin", headers: { "content-type": "application/json", accept: "text/event-stream" }, body: JSON.stringify(body) });
  if (!r.ok || !r.body) {
    const text = await r.text();
    throw new ApiError(r.status, (() => { try { return String((JSON.parse(text) as { error?: unknown }).error); } catch { return r.statusText; } })());
  }
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let last = { event: "", data: null as unknown };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as unknown;
      last = { event, data };
      on(event, data);
    }
  }
  return last;
}

export interface DomainRow { name: string; id: number; mem: number; vcpus: number; state: string; time: number }
export interface Counters { vbds: { devid: number; sectorsRead: number; sectorsWritten: number; requests: number }[]; vifs: { handle: number; txBytes: number; rxBytes: number }[]; grantMappings: number }
export interface DomainDetails extends DomainRow {
  disks?: { vdev: string; target: string; devid: number }[];
  vifs?: { handle: number; mac: string; bridge: string }[];
  event_channels?: unknown[];
  counters?: Counters;
}
export interface MigrationProgress { phase: string; round: number; pagesSent: number; totalPages: number; dirty: number }
