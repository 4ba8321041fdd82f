// What every fuzzer reports and how it counts: the run's seed and size,
// exceptions that reached the host (with the first few stacks), leaks (with
// the first few examples), whether the books came back, the distinct results
// seen, and the time taken. Each fuzzer adds figures of its own.

export interface FuzzFigures {
  target: string;
  seed: number;
  iterations: number;
  host_exceptions: number;
  exception_messages: string[];
  audit_failures: number;
  leaks: number;
  leak_examples: string[];
  accounting_ok: boolean;
  distinct_results: string[];
  seconds: number;
}

const EXAMPLES = 5;
const MAX_DISTINCT = 4000;

export class FuzzTally<R extends FuzzFigures> {
  readonly r: R;
  private readonly distinct = new Set<string>();
  private readonly t0 = performance.now();

  constructor(target: R["target"], o: { seed: number; iterations: number }, own: Omit<R, keyof FuzzFigures>) {
    if (!Number.isInteger(o.iterations) || o.iterations < 1) throw new Error("the fuzzer needs at least 1 iteration");
    this.r = {
      target, seed: o.seed, iterations: o.iterations, host_exceptions: 0, exception_messages: [], audit_failures: 0,
      leaks: 0, leak_examples: [], accounting_ok: false, distinct_results: [], seconds: 0, ...own,
    } as unknown as R; // the common figures and the fuzzer's own make the whole report
  }

  exception(where: string, e: unknown): void {
    this.r.host_exceptions++;
    this.note(`${where}: ${e instanceof Error ? e.stack?.split("\n").slice(0, 4).join(" | ") ?? e.message : String(e)}`);
  }
  // A line for exception_messages (the first few are kept).
  note(text: string): void { if (this.r.exception_messages.length < EXAMPLES) this.r.exception_messages.push(text); }
  leak(what: string): void {
    this.r.leaks++;
    if (this.r.leak_examples.length < EXAMPLES) this.r.leak_examples.push(what);
  }
  result(what: string): void { if (this.distinct.size < MAX_DISTINCT) this.distinct.add(what); }
  has(what: string): boolean { return this.distinct.has(what); }

  finish(): R {
    this.r.distinct_results = [...this.distinct].sort();
    this.r.seconds = Number(((performance.now() - this.t0) / 1000).toFixed(2));
    return this.r;
  }
}
