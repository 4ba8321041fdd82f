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

export function seedFromEnv(name = "XENTS_DIFF_SEED"): bigint {
  const s = process.env[name];
  if (s) return BigInt(s);
  return BigInt(Date.now()) ^ BigInt(process.pid) << 20n;
}
