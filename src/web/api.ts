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

export interface DomainRow { name: string; id: number; mem: number; vcpus: number; state: string; time: number }
export interface Counters { vbds: { devid: number; sectorsRead: number; sectorsWritten: number; requests: number }[]; vifs: { handle: number; txBytes: number; rxBytes: number }[] }
export interface DomainDetails extends DomainRow {
  disks?: { vdev: string; target: string; devid: number }[];
  vifs?: { handle: number; mac: string; bridge: string }[];
  event_channels?: unknown[];
  counters?: Counters;
}
export interface MigrationProgress { phase: string; round: number; pagesSent: number; totalPages: number; dirty: number }
