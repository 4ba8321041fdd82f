// The machine's counter in real-time mode: guest time follows the host's and
// never runs far ahead of it, whatever the core's speed does between slices.
// (A lead once grew to 76 s after translated code made slices fast and page
// compilation made one slow: an idle guest then waited 76 s for its timer,
// and `sleep 1` or a poweroff never finished.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { Clock, COUNTER_HZ } from "../../src/hw/clock.js";

const TICKS_PER_MS = Number(COUNTER_HZ) / 1000;

// Runs slices as the hypervisor does: base from now(), the slice's scale,
// ran() with it, the speed observed; the host clock advanced by each slice's time.
function slices(clock: Clock, host: { ms: number }, count: number, instructions: number, ms: number, seen: bigint[]): void {
  for (let i = 0; i < count; i++) {
    const base = clock.now();
    const scale = clock.sliceScale();
    const n = BigInt(instructions);
    const end = base + ((n * scale) >> 16n);
    seen.push(base, end);
    host.ms += ms;
    clock.ran(base, n, scale);
    clock.observe(instructions, ms / 1000);
  }
}

test("guest time stays within tens of ms of the host's after a slow slice and a run of fast ones", () => {
  const host = { ms: 0 };
  const clock = new Clock({ hostMs: () => host.ms });
  const seen: bigint[] = [];
  slices(clock, host, 20, 500_000, 5, seen); // 100 MIPS, as assumed
  slices(clock, host, 1, 500_000, 2000, seen); // a 2 s pause inside a slice
  slices(clock, host, 2000, 500_000, 1, seen); // 500 MIPS: translated code
  const lead = Number(clock.lead()) / TICKS_PER_MS;
  assert.ok(lead < 50, `guest time is ${lead.toFixed(1)} ms ahead of the host's`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `the counter went back at ${i}: ${seen[i - 1]} -> ${seen[i]}`);
  // and it kept moving: the guest saw about as much time as the host spent
  const guestMs = Number(seen[seen.length - 1]) / TICKS_PER_MS;
  assert.ok(guestMs > host.ms * 0.9 && guestMs < host.ms + 50, `guest ${guestMs.toFixed(0)} ms against host ${host.ms} ms`);
});

test("a slice slower than the core can be (a host pause) moves the rate only within bounds", () => {
  const host = { ms: 0 };
  const clock = new Clock({ hostMs: () => host.ms });
  const before = clock.scale;
  clock.observe(500_000, 60); // 0.008 MIPS measured: a minute's pause, not the core
  assert.ok(clock.scale <= (before * 7n + Clock.scaleFor(5)) / 8n, `scale ${clock.scale}`);
});

test("deterministic mode: the counter is the instructions alone, no slewing", () => {
  const host = { ms: 0 };
  const clock = new Clock({ deterministic: true, hostMs: () => host.ms });
  const scale = clock.sliceScale();
  assert.equal(scale, clock.scale);
  clock.ran(0n, 1_000_000n, scale);
  host.ms += 10_000;
  assert.equal(clock.now(), (1_000_000n * scale) >> 16n);
  assert.equal(clock.lead(), 0n);
});
