// The device-tree reader (src/lib/fdt_reader.ts) reads back what the
// writer wrote and what dtc compiles, and a damaged blob (xl.cfg's
// device_tree is the user's file) gives an FdtError, never a wrong tree or
// a host exception of another kind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FdtBuilder } from "../../src/lib/fdt.js";
import { parseFdt, fdtChild, FdtError } from "../../src/lib/fdt_reader.js";
import { fuzzRun } from "../helpers/fuzz.js";
import { FuzzRng } from "../../src/host/fuzz/rng.js";

function sample(): Uint8Array {
  const f = new FdtBuilder();
  f.beginNode("").u32("#address-cells", 2);
  f.beginNode("passthrough").str("compatible", "simple-bus").empty("ranges");
  f.beginNode("virtio@a000000").str("compatible", "virtio,mmio").u32("interrupts", 0, 16, 4).endNode();
  f.endNode();
  f.beginNode("aliases").str("disk0", "/passthrough/virtio@a000000").endNode();
  f.endNode();
  return f.finish();
}

test("fdt reader: the writer's blob reads back node by node, and copies through the writer unchanged", () => {
  const b = sample();
  const root = parseFdt(b);
  assert.equal(root.name, "");
  const pt = fdtChild(root, "passthrough")!;
  assert.deepEqual(pt.props.map((p) => p.name), ["compatible", "ranges"]);
  const dev = fdtChild(pt, "virtio@a000000")!;
  assert.equal(Buffer.from(dev.props[0].value).toString("latin1"), "virtio,mmio\0");
  assert.deepEqual([...dev.props[1].value], [0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 4]);
  const again = new FdtBuilder().node(root).finish();
  assert.deepEqual(parseFdt(again), root);
});

test("fdt reader: damaged blobs are refused with an FdtError (seeded)", () => {
  const good = sample();
  for (const [bytes, re] of [
    [good.subarray(0, 20), /too short/],
    [(() => { const x = good.slice(); x[0] ^= 1; return x; })(), /bad magic/],
    [(() => { const x = good.slice(); new DataView(x.buffer).setUint32(4, good.length + 100); return x; })(), /the header says/],
  ] as [Uint8Array, RegExp][]) assert.throws(() => parseFdt(bytes), (e: unknown) => e instanceof FdtError && re.test(e.message));
  const { seed, iterations } = fuzzRun("fdt reader", 3000);
  const rng = new FuzzRng(seed);
  let refused = 0;
  for (let i = 0; i < iterations; i++) {
    const x = good.slice();
    const n = 1 + rng.int(4);
    for (let k = 0; k < n; k++) x[rng.int(x.length)] = rng.int(256);
    try { parseFdt(i % 5 === 0 ? x.subarray(0, rng.int(x.length)) : x); } catch (e) { if (!(e instanceof FdtError)) throw e; refused++; }
  }
  assert.ok(refused > iterations / 10, `damaged blobs were refused (${refused} of ${iterations})`);
});
