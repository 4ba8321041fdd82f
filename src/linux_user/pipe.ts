// Pipes between emulated processes: a 64 KiB ring buffer and its two ends.
// A read of an empty pipe with writers, or a write that does not fit, would
// block (AGAIN); the scheduler runs other processes until it can go on.

import { EBADF, EPIPE } from "./errno.js";
import { OpenFile, StatInfo, Again, AGAIN, O_RDONLY, O_WRONLY, S_IFIFO, syntheticStat } from "./open_file.js";

export const PIPE_BUF = 4096; // writes up to this size are atomic
export const PIPE_CAPACITY = 65536;

let nextPipeIno = 1000n;

export class Pipe {
  private readonly buf = new Uint8Array(PIPE_CAPACITY);
  private head = 0;
  length = 0;
  readers = 0;
  writers = 0;
  readonly ino = nextPipeIno++;

  get space(): number { return PIPE_CAPACITY - this.length; }

  take(max: number): Uint8Array {
    const n = Math.min(max, this.length);
    const out = new Uint8Array(n);
    const first = Math.min(n, PIPE_CAPACITY - this.head);
    out.set(this.buf.subarray(this.head, this.head + first), 0);
    if (n > first) out.set(this.buf.subarray(0, n - first), first);
    this.head = (this.head + n) % PIPE_CAPACITY;
    this.length -= n;
    return out;
  }

  put(data: Uint8Array): number {
    const n = Math.min(data.length, this.space);
    const tail = (this.head + this.length) % PIPE_CAPACITY;
    const first = Math.min(n, PIPE_CAPACITY - tail);
    this.buf.set(data.subarray(0, first), tail);
    if (n > first) this.buf.set(data.subarray(first, n), 0);
    this.length += n;
    return n;
  }

  // The two ends, with the given extra status flags (O_NONBLOCK).
  ends(flags: number): [PipeEnd, PipeEnd] {
    return [new PipeEnd(this, O_RDONLY | flags), new PipeEnd(this, O_WRONLY | flags)];
  }
}

export class PipeEnd extends OpenFile {
  constructor(readonly pipe: Pipe, flags: number) {
    super(flags);
    if (this.readable) pipe.readers++; else pipe.writers++;
  }

  override read(len: number): Uint8Array | number | Again {
    if (!this.readable) return -EBADF;
    if (len === 0) return new Uint8Array(0);
    if (this.pipe.length > 0) return this.pipe.take(len);
    return this.pipe.writers === 0 ? new Uint8Array(0) : AGAIN;
  }

  // -EPIPE when nobody reads (the caller raises SIGPIPE). Small writes go in
  // whole or not at all; larger ones may be partial, as Linux allows.
  override write(data: Uint8Array): number | Again {
    if (!this.writable) return -EBADF;
    if (this.pipe.readers === 0) return -EPIPE;
    if (data.length === 0) return 0;
    const space = this.pipe.space;
    if (data.length <= PIPE_BUF ? space < data.length : space === 0) return AGAIN;
    return this.pipe.put(data);
  }

  override readReady(): boolean { return this.pipe.length > 0 || this.pipe.writers === 0; }
  override writeReady(): boolean { return this.pipe.readers === 0 || this.pipe.space >= PIPE_BUF; }
  available(): number { return this.pipe.length; }

  override stat(): StatInfo { return { ...syntheticStat(S_IFIFO | 0o600, this.pipe.ino), blksize: PIPE_BUF }; }

  protected override release(): void {
    if (this.readable) this.pipe.readers--; else this.pipe.writers--;
  }
}
