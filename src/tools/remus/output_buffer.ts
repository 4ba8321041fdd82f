// Remus's network output commit: the frames a protected domain sends wait
// here until the checkpoint of the epoch that sent them is safe on the
// backup, then leave in the order they were sent. Inbound traffic does not
// pass through here and is never delayed. Were the primary to die, what the
// world has seen of the guest is then never ahead of the backup's copy.

import type { OutputHold, Vif } from "../backends/netback.js";
import type { Gso } from "../net/bridge.js";

interface Held { vif: Vif; frame: Uint8Array; gso: Gso | undefined; epoch: number }

export class OutputBuffer implements OutputHold {
  private queue: Held[] = [];
  private head = 0;
  private epoch = 1; // the epoch frames sent now belong to
  released = 0;
  held = 0; // waiting now
  maxHeld = 0;

  hold(vif: Vif, frame: Uint8Array, gso?: Gso): void {
    this.queue.push({ vif, frame, gso, epoch: this.epoch });
    this.held++;
    if (this.held > this.maxHeld) this.maxHeld = this.held;
  }

  // The checkpoint of `epoch` is taken: what comes next belongs to the next.
  seal(epoch: number): void { this.epoch = epoch + 1; }

  // The backup has the checkpoint of `epoch`: its frames and earlier ones go out.
  release(epoch: number): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head].epoch <= epoch) {
      const h = q[this.head++];
      h.vif.transmit(h.frame, h.gso);
      this.released++;
      this.held--;
    }
    if (this.head > 1024 && this.head * 2 > q.length) { this.queue = q.slice(this.head); this.head = 0; }
  }

  // Protection ends (stopped, or the backup is lost): everything goes out.
  releaseAll(): void { this.release(Number.MAX_SAFE_INTEGER); }
  // This copy may not run on (fenced): what it held never leaves.
  drop(): void { this.queue = []; this.head = 0; this.held = 0; }
}
