// Standard streams that belong to the embedding program rather than to the
// host's descriptors: output handed to a callback, input from a buffer. They
// present themselves as pipes, as they would to a program run by spawn().

import { EBADF } from "./errno.js";
import { OpenFile, StatInfo, O_RDONLY, O_WRONLY, S_IFIFO, syntheticStat } from "./open_file.js";

let nextIno = 500n;

export class OutputStream extends OpenFile {
  private readonly ino = nextIno++;
  constructor(private readonly sink: (b: Uint8Array) => void) { super(O_WRONLY); }
  override read(): number { return -EBADF; }
  override write(data: Uint8Array): number {
    this.sink(data.slice());
    return data.length;
  }
  override stat(): StatInfo { return syntheticStat(S_IFIFO | 0o600, this.ino); }
}

export class InputBuffer extends OpenFile {
  private readonly ino = nextIno++;
  private pos = 0;
  constructor(private readonly data: Uint8Array) { super(O_RDONLY); }
  override read(len: number): Uint8Array {
    const out = this.data.slice(this.pos, this.pos + len);
    this.pos += out.length;
    return out;
  }
  override write(): number { return -EBADF; }
  override stat(): StatInfo { return syntheticStat(S_IFIFO | 0o600, this.ino); }
}
