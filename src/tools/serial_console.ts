// The host's serial console, as a user at the machine's UART sees it: the
// hardware domain's console output (a Linux Domain-0's hvc0, written with
// console_io) and the keys typed for it. The hypervisor's receive ring is
// small (128 bytes, as a UART's FIFO); the machine pulls queued keys as it
// has room, so a pasted command is paced rather than cut.

import { ConsoleHistory } from "./console_history.js";

export class SerialConsole extends ConsoleHistory {
  constructor(private readonly ready: () => void) { super(); }
  service(): void { if (this.pendingInput.length) this.ready(); }
  // Up to `max` of the queued keys, oldest first, taken.
  take(max: number): Uint8Array {
    const n = Math.min(max, this.pendingInput.length);
    return Uint8Array.from(this.pendingInput.splice(0, n));
  }
}
