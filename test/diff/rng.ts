// A small seeded PRNG (splitmix64) so that every differential run can be
// replayed from the seed it prints.

export class Rng {
  private s: bigint;
  constructor(seed: bigint) { this.s = BigInt.asUintN(64, seed); }
  next64(): bigint {
    this.s = BigInt.asUintN(64, this.s + 0x9E3779B97F4A7C15n);
    let z = this.s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94D049BB133111EBn);
    return z ^ (z >> 31n);
  }
  // uniform in [0, n)
  int(n: number): number { return Number(this.next64() % BigInt(n)); }
  bits(n: number): number { return Number(this.next64() & ((1n << BigInt(n)) - 1n)); }
  bool(): boolean { return (this.next64() & 1n) === 1n; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  // 64-bit values biased towards edge cases (0, ±1, sign boundaries, small)
  value64(): bigint {
    switch (this.int(8)) {
      case 0: return this.pick([0n, 1n, 0xFFFFFFFFFFFFFFFFn, 0x8000000000000000n, 0x7FFFFFFFFFFFFFFFn, 0xFFFFFFFFn, 0x80000000n, 0x7FFFFFFFn]);
      case 1: return BigInt(this.int(256));
      case 2: return BigInt.asUintN(64, -BigInt(this.int(256)));
      case 3: return this.next64() & 0xFFFFFFFFn;
      default: return this.next64();
    }
  }
}

// The run's seed: XENTS_SEED (or the older name) when set, else a fresh one;
// printed either way, so that a failure can be replayed.
export function seedFromEnv(name = "XENTS_DIFF_SEED"): bigint {
  const s = process.env.XENTS_SEED ?? process.env[name];
  let seed: bigint;
  try { seed = s ? BigInt(s) : BigInt(Date.now()) ^ BigInt(process.pid) << 20n; } catch { throw new Error(`XENTS_SEED=${s} is not an integer`); }
  process.stderr.write(`seed ${seed} (XENTS_SEED=${seed} replays it)\n`);
  return seed;
}

// How many cases a randomised test runs: from the environment when set;
// 0 (or anything but a positive whole number) is an error, never a pass.
export function caseCount(name: string, dflt: number): number {
  const v = process.env[name];
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: a test needs at least one case`);
  return n;
}
