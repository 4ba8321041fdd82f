// The machine's main loop: run the hypervisor in bursts of host time,
// yielding to Node's event loop between them so that I/O (console input,
// sockets, timers) is served; when nothing can run, sleep until the next
// guest timer or until something makes a vCPU runnable.

import type { Hypervisor } from "../xen/hypervisor.js";

const LOG_DIRTY_BURST_MS = 4;

export class RunLoop {
  private wakeIdle: (() => void) | null = null;

  constructor(private readonly hv: Hypervisor) {
    hv.onRunnable = () => this.wakeIdle?.();
  }

  async run(done: () => boolean, burstMs = 20): Promise<void> {
    while (!done()) {
      // While a domain's memory is being copied (log-dirty: a migration, or
      // Remus checkpointing it every few tens of ms), the copier, its link
      // and its peer's acknowledgements are served between bursts, so the
      // bursts are short; otherwise shorter ones cost a boot ~6%.
      const r = this.hv.runFor(this.hv.anyLogDirty() ? Math.min(burstMs, LOG_DIRTY_BURST_MS) : burstMs);
      if (done()) break;
      if (r.ran) { await new Promise<void>((res) => setImmediate(res)); continue; }
      // idle: sleep until the next timer deadline (or a little, to let I/O arrive)
      let ms = 10;
      if (r.idleUntil !== null) {
        const now = this.hv.clock.now();
        ms = Math.max(0, Math.min(50, Number((r.idleUntil - now) * 16n / 1_000_000n)));
      }
      // an event for a blocked vCPU (a packet, a console key, an unpause) ends the sleep at once
      await new Promise<void>((res) => {
        const t = setTimeout(() => { this.wakeIdle = null; res(); }, ms);
        this.wakeIdle = () => { clearTimeout(t); this.wakeIdle = null; res(); };
      });
    }
  }
}
