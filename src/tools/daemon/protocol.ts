// The host daemon's control protocol: one JSON object per line each way.
// A request names a command and its arguments; the reply carries a result
// or an error message. "console" switches the connection to a raw byte
// stream in both directions after its reply.

export interface Request { id: number; cmd: string; args: Record<string, unknown>; }
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export class LineReader {
  private buf = "";
  constructor(private readonly onLine: (line: string) => void) {}
  feed(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      if (line.trim()) this.onLine(line);
    }
  }
  rest(): string { const r = this.buf; this.buf = ""; return r; }
}

export const MAX_REQUEST_BYTES = 1 << 20;
