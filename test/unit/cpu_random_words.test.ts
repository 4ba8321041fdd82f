// Random 32-bit words executed at EL0 and EL1, for robustness only: the host
// never throws and every exit is one of the contract's. What the words do is
// checked against QEMU by the differential tests, not here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Core, Exit, SR, CTRL_EXC_TO_HOST } from "../../src/cpu/cpu.js";
import { Rng, seedFromEnv, caseCount } from "../diff/rng.js";

const N = caseCount("XENTS_RANDOM_WORDS", 40000);

for (const el of [0, 1]) {
  test(`random instruction words at EL${el} (${N}) never throw on the host`, () => {
    const seed = seedFromEnv();
    const rng = new Rng(seed + BigInt(el));
    const core = new Core({ ramBase: 0x40000000n, ramSize: 4 << 20 });
    const cpu = core.createVcpu();
    const exits = new Map<number, number>();
    for (let i = 0; i < N; i++) {
      const word = Number(rng.next64() & 0xFFFFFFFFn);
      core.write32(0x40001000n, word);
      for (let r = 0; r < 31; r++) cpu.setX(r, rng.value64());
      cpu.setSys(SR.SP_EL0, 0x40100000n);
      cpu.setSys(SR.SP_EL1, 0x40200000n);
      cpu.setSys(SR.CTRL, CTRL_EXC_TO_HOST);
      cpu.setSys(SR.CPACR, 3n << 20n);
      cpu.setSys(SR.VBAR, 0x40002000n);
      cpu.pc = 0x40001000n;
      cpu.pstate = el === 1 ? 0x3C5n : 0n;
      let r: number;
      try {
        r = cpu.run(1n, 0n, 40960n);
      } catch (e) {
        assert.fail(`host exception for word 0x${word.toString(16)} at EL${el} (seed ${seed}): ${e}`);
      }
      exits.set(r, (exits.get(r) ?? 0) + 1);
      assert.ok(r in { 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1 }, `unexpected exit ${r} for 0x${word.toString(16)}`);
    }
    // most random words are unallocated: they must have raised exceptions, not silently run
    assert.ok((exits.get(Exit.EXCEPTION) ?? 0) > N / 4, `exceptions: ${JSON.stringify([...exits])}`);
  });
}
