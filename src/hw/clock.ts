// The machine's counter: the one clock source for guest time. In real-time
// mode it follows the host's monotonic clock; in deterministic mode it
// advances only with retired instructions (and jumps over idle time), so a
// whole run is reproducible.

export const COUNTER_HZ = 62_500_000n; // as the reference platform (CNTFRQ 62.5 MHz)
export const TICKS_PER_NS_NUM = 1n, TICKS_PER_NS_DEN = 16n; // 62.5 MHz = 1/16 tick per ns

export interface ClockOptions {
  deterministic?: boolean;
  mips?: number;
  hostMs?: () => number; // the host's monotonic clock in ms (tests give their own)
}

// How far guest time may run ahead of the host's before slices are slowed:
// a slice's counter advances with its instructions at the rate measured so
// far, so a slice that runs faster than that (translated code, a warm cache)
// puts guest time ahead, and an idle guest then waits for the host to catch
// up. Past this lead the next slices' rate is cut in proportion.
const SLEW_TICKS = 20n * (COUNTER_HZ / 1000n); // 20 ms
// Speeds a measurement is believed between (MIPS): a slice's time can include
// a host pause (GC, a page compiled) that says nothing of the core's speed.
const MIN_MIPS = 5, MAX_MIPS = 20_000;

export class Clock {
  readonly deterministic: boolean;
  private readonly hostMs: () => number;
  private readonly t0: number;
  private issued = 0n; // highest count handed out (guest time never goes backwards)
  private count = 0n; // deterministic mode: the current count
  // counter ticks per 65536 instructions, as run() takes it
  scale: bigint;

  constructor(opts: ClockOptions = {}) {
    this.deterministic = opts.deterministic ?? false;
    this.hostMs = opts.hostMs ?? (() => performance.now());
    this.t0 = this.hostMs();
    this.scale = Clock.scaleFor(opts.mips ?? 100);
  }

  static scaleFor(mips: number): bigint {
    return BigInt(Math.max(1, Math.round(65536 * Number(COUNTER_HZ) / (mips * 1e6))));
  }

  private host(): bigint { return BigInt(Math.floor((this.hostMs() - this.t0) * 62500)); }

  // The counter now, for starting a run or for emulation.
  now(): bigint {
    if (this.deterministic) return this.count;
    const h = this.host();
    if (h > this.issued) this.issued = h;
    return this.issued;
  }

  // Guest time ahead of the host's, in ticks (0 when behind or deterministic).
  lead(): bigint {
    if (this.deterministic) return 0n;
    const l = this.issued - this.host();
    return l > 0n ? l : 0n;
  }

  // The rate for the next slice: the measured one, slowed while guest time
  // is ahead of the host's so that the lead shrinks instead of growing.
  sliceScale(): bigint {
    const lead = this.lead();
    if (lead <= SLEW_TICKS) return this.scale;
    const s = (this.scale * SLEW_TICKS) / lead;
    return s > 0n ? s : 1n;
  }

  // After a vCPU ran `instructions` from `base` at `scale` (sliceScale()),
  // the counter it saw reached this.
  ran(base: bigint, instructions: bigint, scale: bigint): void {
    const end = base + ((instructions * scale) >> 16n);
    if (this.deterministic) { if (end > this.count) this.count = end; return; }
    if (end > this.issued) this.issued = end;
  }

  // Deterministic idle: jump to the next event.
  advanceTo(count: bigint): void {
    if (this.deterministic && count > this.count) this.count = count;
  }

  // Adapt the in-slice rate to the measured speed (real-time mode). The
  // caller leaves out time that was not the core running (compilation).
  observe(instructions: number, seconds: number): void {
    if (this.deterministic || seconds <= 0 || instructions < 100000) return;
    const mips = Math.min(MAX_MIPS, Math.max(MIN_MIPS, instructions / seconds / 1e6));
    const target = Clock.scaleFor(mips);
    this.scale = (this.scale * 7n + target) / 8n;
  }

  // nanoseconds since boot for a count
  static toNs(count: bigint): bigint { return count * 16n; }
  static fromNs(ns: bigint): bigint { return ns / 16n; }
}
