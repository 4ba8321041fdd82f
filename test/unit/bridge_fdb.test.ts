// The bridge's address table is bounded: a guest sending from endless
// made-up source MACs cannot grow it (and the host's memory) without end.
// Addresses learned before stay learned; new ones are learned again once
// old entries age out.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { Bridge, BridgePort, FDB_MAX } from "../../src/tools/net/bridge.js";

class Port implements BridgePort {
  got = 0;
  constructor(readonly name: string) {}
  deliver(): void { this.got++; }
}
const frame = (dst: number[], src: number[]): Uint8Array => { const f = new Uint8Array(60); f.set(dst, 0); f.set(src, 6); return f; };
const macOf = (i: number): number[] => [0x02, (i >> 24) & 0xFF, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF, 0x42];

test("a flood of made-up source MACs fills the table to its bound and no further; what was learned before still works", () => {
  mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
  try {
    const br = new Bridge("xenbr-test");
    const a = new Port("a"), b = new Port("b"), c = new Port("c");
    for (const p of [a, b, c]) br.join(p);
    const A = [0x00, 0x16, 0x3e, 0, 0, 1];
    br.send(a, frame([255, 255, 255, 255, 255, 255], A));
    for (let i = 0; i < 50_000; i++) br.send(b, frame([255, 255, 255, 255, 255, 255], macOf(i)));
    assert.equal(br.learned, FDB_MAX, "the table stops at its bound");
    assert.ok(br.stats.unlearned >= 50_000 - FDB_MAX, `${br.stats.unlearned} addresses not learned`);
    // A is still known: a frame to it goes to a alone
    a.got = c.got = 0;
    br.send(b, frame(A, macOf(1)));
    assert.deepEqual([a.got, c.got], [1, 0]);
    // an address that was not learned floods
    a.got = c.got = 0;
    br.send(c, frame(macOf(49_999), A));
    assert.deepEqual([a.got, b.got > 0], [1, true]);
    // five minutes on, the old entries age out and new addresses are learned again
    mock.timers.tick(301_000);
    br.send(b, frame([255, 255, 255, 255, 255, 255], macOf(60_000)));
    assert.ok(br.learned < FDB_MAX, `${br.learned} entries after the sweep`);
    c.got = 0; b.got = 0;
    br.send(a, frame(macOf(60_000), A));
    assert.deepEqual([b.got, c.got], [1, 0], "the new address was learned");
  } finally {
    mock.timers.reset();
  }
});
