// A credit scheduler for one physical CPU: every accounting period each
// domain with runnable vCPUs earns credit in proportion to its weight,
// limited by its cap (percent of one CPU, 0 = none); running costs credit
// per retired instruction. Runnable vCPUs with credit (UNDER) go before
// those without (OVER), round robin within each class; capped domains out
// of credit wait for the next period.

import type { Domain } from "./domain.js";
import type { Vcpu } from "./vcpu.js";

export const PERIOD_INSTRUCTIONS = 30_000_000; // ~0.3 s of guest time at 100 MIPS
export const DEFAULT_WEIGHT = 256;

export class CreditScheduler {
  private tick = 0;
  private sincePeriod = 0;

  constructor(private readonly domains: () => Iterable<Domain>) {}

  private refill(): void {
    const active = [...this.domains()].filter((d) => d.vcpus.some((v) => d.runnable(v)));
    const total = active.reduce((s, d) => s + d.weight, 0);
    for (const d of active) {
      let share = total ? PERIOD_INSTRUCTIONS * d.weight / total : 0;
      if (d.cap > 0) share = Math.min(share, PERIOD_INSTRUCTIONS * d.cap / 100);
      const vs = d.vcpus.filter((v) => d.runnable(v));
      for (const v of vs) v.credit = Math.min(v.credit + share / vs.length, share); // no hoarding beyond one period
    }
  }

  pick(): { d: Domain; v: Vcpu } | null {
    let best: { d: Domain; v: Vcpu } | null = null;
    let bestUnder = false;
    for (const d of this.domains()) {
      for (const v of d.vcpus) {
        if (!d.runnable(v)) continue;
        const under = v.credit > 0;
        if (!under && d.cap > 0) continue; // capped and out of credit
        if (!best || (under && !bestUnder) || (under === bestUnder && v.lastRun < best.v.lastRun)) {
          best = { d, v };
          bestUnder = under;
        }
      }
    }
    if (best && !bestUnder) {
      // everyone runnable is OVER: start a new period early
      this.refill();
      this.sincePeriod = 0;
    }
    return best;
  }

  charge(v: Vcpu, instructions: number): void {
    v.credit -= instructions;
    v.lastRun = ++this.tick;
    this.sincePeriod += instructions;
    if (this.sincePeriod >= PERIOD_INSTRUCTIONS) { this.sincePeriod = 0; this.refill(); }
  }
}
