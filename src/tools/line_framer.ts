// Newline-framed messages from a byte stream, with a limit on each message
// (not on the connection's lifetime: a client may send any number of
// lines), and a switch to raw bytes after a line (the control socket's
// console, a migration's records after its handshake): whatever follows
// the line that switched goes to the raw handler. One reader for the host
// daemon, its client and migration. Lines are split on byte 10 and decoded
// whole, so a UTF-8 character split across chunks arrives intact.

const EMPTY = Buffer.alloc(0);

export class LineFramer {
  private buf: Buffer = EMPTY;
  private scanned = 0; // bytes of buf known to hold no newline
  private rawHandler: ((d: Buffer) => void) | null = null;

  // Set (by a line handler, or later) to take every byte after the last
  // line raw, those already received included.
  get raw(): ((d: Buffer) => void) | null { return this.rawHandler; }
  set raw(h: ((d: Buffer) => void) | null) {
    this.rawHandler = h;
    if (h && this.buf.length) {
      const rest = this.buf;
      this.buf = EMPTY;
      this.scanned = 0;
      h(rest);
    }
  }

  constructor(private readonly onLine: (line: string) => void, readonly maxLine: number, private readonly encoding: BufferEncoding = "utf8") {}

  // false: a line grew past maxLine before its newline came (drop the connection).
  push(chunk: Buffer): boolean {
    if (this.rawHandler) { this.rawHandler(chunk); return true; }
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let i: number;
    // a line handler that switches to raw takes the rest of the chunk (the setter)
    while (!this.rawHandler && (i = this.buf.indexOf(10, this.scanned)) >= 0) {
      const line = this.buf.toString(this.encoding, 0, i);
      this.buf = this.buf.subarray(i + 1);
      this.scanned = 0;
      this.onLine(line);
    }
    this.scanned = this.buf.length;
    return this.buf.length <= this.maxLine;
  }
}
