// Replay equivalence (issue 14, "proof that nothing changed"): a Linux boot
// on a deterministic host (guest time from instructions, bursts counted in
// slices, a fixed rng-seed) goes through the same exits, at the same
// instruction counts, pc and registers, with translation to WebAssembly on
// (pages translated in the background whenever the worker is done) and off.
// The first exit that differs is printed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { fetchImages } from "../../src/tools/images.js";
import { replaySeed } from "../../src/tools/domain_builder.js";
import { jitOptionsFromEnv } from "../../src/cpu/jit/jit.js";
import type { Domain } from "../../src/xen/domain.js";
import type { Vcpu } from "../../src/xen/vcpu.js";
import type { ExitReason } from "../../src/cpu/cpu.js";

const INSTRUCTIONS = BigInt(process.env.XENTS_REPLAY_INSTRUCTIONS ?? 150_000_000);

async function exitTrace(jit: boolean): Promise<{ exits: string[]; translated: number; console: string }> {
  const images = fetchImages();
  const host = new Host({ ramBytes: 512 << 20, deterministic: true, log: () => {}, jit: { ...jitOptionsFromEnv(), enabled: jit, threshold: 2000 } });
  const ts = new Toolstack(new Dom0(host.privcmd));
  const g = ts.create({
    name: "replay", memoryMiB: 256, vcpus: 1, kernel: new Uint8Array(readFileSync(images.kernel)),
    ramdisk: new Uint8Array(readFileSync(images.initrd)), cmdline: "console=hvc0", rngSeed: replaySeed("replay"),
  });
  const hv = host.hv;
  const exits: string[] = [];
  const handle = hv.handleExit.bind(hv);
  hv.handleExit = (d: Domain, v: Vcpu, exit: ExitReason): void => {
    const st = v.state;
    const regs = Array.from({ length: 31 }, (_, i) => st.x(i).toString(16)).join(",");
    exits.push(`d${d.id} v${v.id} ${st.instret} pc=${st.pc.toString(16)} exit=${exit} nzcv=${st.nzcv} ${regs}`);
    handle(d, v, exit);
  };
  let out = "";
  g.console.listeners.add((b) => { out += Buffer.from(b).toString("latin1"); });
  const vcpu = hv.domains.get(g.domid)!.vcpus[0];
  await host.run(() => vcpu.instructions >= INSTRUCTIONS);
  const translated = hv.core.jitStats().instructions_translated;
  ts.destroy(g.domid);
  return { exits, translated, console: out };
}

test(`a Linux boot replays exit for exit with translation on and off (${INSTRUCTIONS} instructions)`, async () => {
  const off = await exitTrace(false), on = await exitTrace(true);
  assert.ok(off.exits.length > 100, `${off.exits.length} exits`);
  assert.match(off.console, /Booting Linux/, "the boot got somewhere");
  assert.ok(on.translated > Number(INSTRUCTIONS) / 2, `${on.translated} of ${INSTRUCTIONS} instructions ran translated`);
  const first = off.exits.findIndex((e, i) => e !== on.exits[i]);
  assert.equal(first, -1, first < 0 ? "" : `exit ${first} differs:\n interpreted: ${off.exits[first]}\n translated:  ${on.exits[first]}`);
  assert.equal(on.exits.length, off.exits.length);
  assert.equal(on.console, off.console);
});
