// The host's terminal as the guest's termios calls see it. Node cannot
// issue termios ioctls itself; what it can do is switch a terminal between
// cooked and raw mode, and that is what line editors (busybox sh, vi) need:
// a termios without ICANON or ECHO makes the host terminal raw.

import { ReadStream } from "node:tty";
import { Out } from "./user_struct.js";

const ICANON = 0o2, ECHO = 0o10;
export const TERMIOS_SIZE = 36;

// termios of a terminal in cooked mode (ICRNL IXON / OPOST ONLCR /
// B38400 CS8 CREAD / ISIG ICANON ECHO ECHOE ECHOK IEXTEN ECHOCTL ECHOKE).
function cooked(): Uint8Array {
  const o = new Out(TERMIOS_SIZE).u32(0, 0o2400).u32(4, 0o5).u32(8, 0o277).u32(12, 0o105073);
  [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0].forEach((v, i) => { o.bytes[17 + i] = v; });
  return o.bytes;
}

export class HostTerminal {
  private termios = cooked();
  private stream: ReadStream | null = null;
  private raw = false;

  get(): Uint8Array { return this.termios.slice(); }

  set(t: Uint8Array, fd: number): void {
    this.termios = t.slice(0, TERMIOS_SIZE);
    const lflag = new DataView(this.termios.buffer).getUint32(12, true);
    const raw = (lflag & (ICANON | ECHO)) !== (ICANON | ECHO);
    if (raw === this.raw) return;
    try {
      this.stream ??= new ReadStream(fd);
      this.stream.setRawMode(raw);
      this.raw = raw;
    } catch {
      // not a terminal node can drive: the guest keeps its termios, the host its mode
    }
  }

  // Back to cooked mode when the program is done.
  restore(): void {
    if (this.raw) this.stream?.setRawMode(false);
    this.raw = false;
    this.stream?.pause();
    this.stream?.unref();
  }
}
