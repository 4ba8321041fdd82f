// The machine's counter: the one clock source for guest time. In real-time
// mode it follows the host's monotonic clock; in deterministic mode it
// advances only with retired instructions (and jumps over idle time), so a
// whole run is reproducible.

export const COUNTER_HZ = 62_500_000n; // as the reference platform (CNTFRQ 62.5 MHz)
export const TICKS_PER_NS_NUM = 1n, TICKS_PER_NS_DEN = 16n; // 62.5 MHz = 1/16 tick per ns

export interface ClockOptions { deterministic?: boolean; mips?: number; }

export class Clock {
  readonly deterministic: boolean;
  private t0 = performance.now();
  private issued = 0n; // highest count handed out (guest time never goes backwards)
  private count = 0n; // deterministic mode: the current count
  // counter ticks per 65536 instructions, as run() takes it
  scale: bigint;

  constructor(opts: ClockOptions = {}) {
    this.deterministic = opts.deterministic ?? false;
    this.scale = Clock.scaleFor(opts.mips ?? 100);
  }

  static scaleFor(mips: number): bigint {
    return BigInt(Math.max(1, Math.round(65536 * Number(COUNTER_HZ) / (mips * 1e6))));
  }

  private host(): bigint { return BigInt(Math.floor((performance.now() - this.t0) * 62500)); }

  // The counter now, for starting a run or for emulation.
  now(): bigint {
    if (this.deterministic) return this.count;
    const h = this.host();
    if (h > this.issued) this.issued = h;
    return this.issued;
  }

  // After a vCPU ran `instructions` from `base`, the counter it saw reached this.
  ran(base: bigint, instructions: bigint): void {
    const end = base + ((instructions * this.scale) >> 16n);
    if (this.deterministic) { if (end > this.count) this.count = end; return; }
    if (end > this.issued) this.issued = end;
  }

  // Deterministic idle: jump to the next event.
  advanceTo(count: bigint): void {
    if (this.deterministic && count > this.count) this.count = count;
  }

  // Adapt the in-slice rate to the measured speed (real-time mode).
  observe(instructions: number, seconds: number): void {
    if (this.deterministic || seconds <= 0 || instructions < 100000) return;
    const mips = instructions / seconds / 1e6;
    const target = Clock.scaleFor(mips);
    this.scale = (this.scale * 7n + target) / 8n;
  }

  // nanoseconds since boot for a count
  static toNs(count: bigint): bigint { return count * 16n; }
  static fromNs(ns: bigint): bigint { return ns / 16n; }
}
