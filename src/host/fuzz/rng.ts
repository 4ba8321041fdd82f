// A small, fast, seeded PRNG (sfc32, seeded through splitmix32) for fuzzers:
// every run can be replayed from the seed it prints.

export class FuzzRng {
  private a: number; private b: number; private c: number; private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9E3779B9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85EBCA6B);
      z = Math.imul(z ^ (z >>> 13), 0xC2B2AE35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix(); this.b = mix(); this.c = mix(); this.d = mix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  int(n: number): number { return this.u32() % n; } // [0, n)
  chance(p: number): boolean { return this.u32() < p * 4294967296; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
}

// A seed from text (decimal or 0x hex), or a fresh one.
export function parseSeed(text: string | undefined): number {
  if (text === undefined || text === "") return (Date.now() ^ (process.pid << 16)) >>> 0;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0 || v > 0xFFFFFFFF) throw new Error(`seed '${text}' is not a 32-bit unsigned integer`);
  return v;
}
