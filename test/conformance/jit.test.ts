// Translation to WebAssembly (src/cpu/jit, src/cpu/core/jit.ts): translated
// code leaves the machine exactly as the interpreter would at every exit, and
// code that is written (by the guest or by the host) is translated again.
// The QEMU differential tests also run every case translated (test/diff).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exit, SR } from "../../src/cpu/cpu.js";
import { translatePage, JIT_FUNCS } from "../../src/cpu/jit/translate_page.js";
import { jitOptionsFromEnv } from "../../src/cpu/jit/jit.js";
import { backgroundTranslator } from "../../src/cpu/jit/background.js";
import type { JitStats, JitOptions } from "../../src/cpu/jit/jit.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bareCore, RAM_BASE } from "../helpers/bare.js";
import { assemble } from "../helpers/asm.js";
import { Rng, seedFromEnv, caseCount } from "../diff/rng.js";

const AT_ONCE = { enabled: true, threshold: 0, maxModules: 64 };
const OFF = { enabled: false, threshold: 0, maxModules: 64 };

const LOOP = `
    adr x3, data
    mov x0, #0
    mov x1, #300
  loop:
    add x0, x0, x1, lsl #1
    ldr x2, [x3]
    add x2, x2, #3
    str x2, [x3], #8
    stp x0, x1, [x3, #16]
    ldp x5, x6, [x3, #16]
    sub x3, x3, #8
    tbz x1, #0, even
    eor x7, x7, x0
  even:
    subs x1, x1, #1
    csinc x8, x8, x8, eq
    b.ne loop
    hvc #1
  data:
    .quad 0, 0, 0, 0, 0, 0
`;

let lastStats: JitStats | null = null; // of the last trace()

function trace(jit: typeof AT_ONCE, budget: bigint, source = LOOP): string[] {
  const { core, cpu } = bareCore(source, { jit });
  const out: string[] = [];
  for (let i = 0; i < 100000; i++) {
    const r = cpu.run(budget);
    const regs = [0, 1, 2, 3, 5, 6, 7, 8].map((n) => cpu.x(n).toString(16)).join(",");
    out.push(`${r} ${cpu.instret} ${cpu.pc.toString(16)} ${cpu.nzcv} ${regs}`);
    if (r !== Exit.BUDGET) break;
  }
  lastStats = core.jitStats();
  if (jit.enabled) assert.ok(lastStats.instructions_translated > 0, "nothing ran translated");
  return out;
}

// The trace of `source` translated at threshold 0 equals the interpreter's at
// every budget, and the run ends with `exit`; the interpreter's last line.
function sameAsInterpreted(source: string, budgets: bigint[], exit: number): string {
  let last = "";
  for (const budget of budgets) {
    const a = trace(OFF, budget, source), b = trace(AT_ONCE, budget, source);
    last = a[a.length - 1];
    assert.equal(last.split(" ")[0], String(exit), last);
    assert.deepEqual(b, a, `budget ${budget}`);
  }
  return last;
}

test("translated code exits with the interpreter's instruction count, pc and registers at every budget", () => {
  sameAsInterpreted(LOOP, [1n, 7n, 37n, 1000n, 100000n], Exit.HVC);
});

test("a guest store into translated code is seen by the next execution of it", () => {
  const src = `
      mov x4, #0
    again:
      adr x1, target
    target:
      mov x0, #5
      cbnz x4, done
      mov x4, #1
      ldr w2, newinsn
      str w2, [x1]
      b again
    done:
      hvc #0
    newinsn:
      .word 0xd28000e0
  `;
  for (const jit of [OFF, AT_ONCE]) {
    const { core, cpu } = bareCore(src, { jit });
    assert.equal(cpu.run(10000n), Exit.HVC);
    assert.equal(cpu.x(0), 7n, `rewritten mov executed (translation ${jit.enabled ? "on" : "off"})`);
    if (jit.enabled) assert.ok(core.jitStats().invalidations >= 1);
  }
});

test("a host write to translated code (noteWrite) is seen by the next execution of it", () => {
  const { core, cpu } = bareCore("mov x0, #1\n hvc #0", { jit: AT_ONCE });
  assert.equal(cpu.run(100n), Exit.HVC);
  assert.equal(cpu.x(0), 1n);
  assert.ok(core.jitStats().instructions_translated >= 2);
  const v = new DataView(core.ram(RAM_BASE, 4).buffer);
  v.setUint32(core.hostOffset(RAM_BASE), 0xd2800040, true); // mov x0, #2
  core.noteWrite(core.hostOffset(RAM_BASE), 4);
  cpu.pc = RAM_BASE;
  assert.equal(cpu.run(100n), Exit.HVC);
  assert.equal(cpu.x(0), 2n);
});

test("every instruction word translates into a module WebAssembly accepts", () => {
  const seed = seedFromEnv();
  const rng = new Rng(seed);
  const n = caseCount("XENTS_JIT_WORDS", 300);
  for (let i = 0; i < n; i++) {
    const w = new Uint32Array(1024);
    for (let j = 0; j < 1024; j++) w[j] = rng.bits(32);
    const p = translatePage(w, [0, 4 * rng.int(1024), 4 * rng.int(1024)]);
    assert.ok(WebAssembly.validate(p.bytes), `page ${i} (seed ${seed}) does not validate`);
    // ... and along only some paths, as what has run says (any bits at all)
    const ran = new Uint8Array(128).map(() => rng.bits(8) & rng.bits(8));
    const q = translatePage(w, [0, 4 * rng.int(1024)], i % 2 === 1, ran);
    assert.ok(WebAssembly.validate(q.bytes), `page ${i} along what ran (seed ${seed}) does not validate`);
  }
});

// Entering a translation: baseline code finds the head by a binary search
// over the heads' offsets, optimised code by a br_table over the page. At a
// room of 0 nothing runs: a head answers 0 (its first block does not fit),
// any other offset 2 (not a head), with pc at the offset either way.
test("baseline and optimised code agree on which offsets of the page are heads", () => {
  const seed = seedFromEnv();
  const rng = new Rng(seed);
  const n = caseCount("XENTS_JIT_HEAD_PAGES", 40);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const pc = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const instret = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const nzcv = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  const nothing = (): never => { throw new Error("nothing may run in a room of 0"); };
  const env = { memory, pc, instret, nzcv, jitStep: nothing, jitMrs: nothing, jitDcZva: nothing, jitExclusive: nothing, jitCall: nothing };
  let heads = 0;
  for (let i = 0; i < n; i++) {
    // Branches, loads and adds among random words: heads everywhere.
    const w = new Uint32Array(1024);
    for (let j = 0; j < 1024; j++) {
      const k = rng.int(4);
      w[j] = k === 0 ? 0x54000001 | (rng.int(64) << 5) : k === 1 ? 0xF9400020 : k === 2 ? 0x91000421 : rng.bits(32);
    }
    const ran = new Uint8Array(128).map(() => rng.bits(8) | rng.bits(8));
    const entries = [0, 4 * rng.int(1024), 4 * rng.int(1024)];
    const answers: number[][] = [];
    for (const optimised of [false, true]) {
      const p = translatePage(w, entries, optimised, ran);
      const f = new WebAssembly.Instance(new WebAssembly.Module(p.bytes), { env }).exports.f as (...a: unknown[]) => number;
      const got: number[] = [];
      for (let off = 0; off < 4096; off += 4) {
        got.push(f(0, 0, 0x40000000n, off, 0));
        assert.equal(pc.value, 0x40000000n + BigInt(off), `pc after an entry at ${off} (page ${i}, seed ${seed})`);
      }
      assert.equal(got.filter((r) => r === 0).length, p.heads, `page ${i} (seed ${seed}): heads found`);
      assert.ok(got.every((r) => r === 0 || r === 2), `page ${i} (seed ${seed}): ${got.join(",")}`);
      answers.push(got);
      heads += p.heads;
    }
    assert.deepEqual(answers[0], answers[1], `page ${i} (seed ${seed})`);
  }
  assert.ok(heads > n * 20, `${heads} heads over ${n} pages`);
});

// Background translation (the default for guests): the frame is interpreted
// until its code, compiled on the worker thread, is installed between runs.
const BACKGROUND = { ...AT_ONCE, background: true };

async function until(what: string, cond: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 20_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test("a page translated in the background runs from a later run on, and every exit is the interpreter's", async () => {
  // The data in a page of its own: stores to the code's page while it is
  // being translated would have the translation dropped (the next test).
  const source = LOOP.replace("  data:", "  .balign 4096\n  data:");
  const reference = trace(OFF, 37n, source);
  const { core, cpu } = bareCore(source, { jit: BACKGROUND });
  const out: string[] = [];
  let r = cpu.run(37n);
  // The first block head asked for the page; nothing is translated until its code arrives.
  assert.equal(core.jitStats().pages_translated, 0);
  const record = (): void => {
    const regs = [0, 1, 2, 3, 5, 6, 7, 8].map((n) => cpu.x(n).toString(16)).join(",");
    out.push(`${r} ${cpu.instret} ${cpu.pc.toString(16)} ${cpu.nzcv} ${regs}`);
  };
  record();
  await until("the background translation", () => { core.jit.poll(); return core.jitStats().pages_translated === 1; });
  while (r === Exit.BUDGET) { r = cpu.run(37n); record(); }
  const s = core.jitStats();
  assert.ok(s.background && s.instructions_translated > 0 && s.worker_ms >= 0, JSON.stringify(s));
  assert.deepEqual(out, reference);
});

// One long run (10 M iterations of a block): the frame waits for its
// translation while the run goes on, and the core asks for what has
// arrived every 1024 entries into it, so the translation takes over within
// the run (between runs only, the whole loop would be interpreted).
const SPIN = `
    movz x1, #0x9680
    movk x1, #0x98, lsl #16
  loop:
    add x0, x0, #1
    subs x1, x1, #1
    b.ne loop
    hvc #1
`;

test("a background translation that arrives during a long run is installed within it", () => {
  const { core, cpu } = bareCore(SPIN, { jit: BACKGROUND });
  assert.equal(cpu.run(100_000_000n), Exit.HVC);
  assert.equal(cpu.x(0), 10_000_000n);
  const s = core.jitStats();
  assert.equal(s.pages_translated, 1, JSON.stringify(s));
  assert.ok(s.instructions_translated > 0 && s.interpreted.pending > 0, JSON.stringify(s));
  // Every instruction is counted once, translated or interpreted.
  const i = s.interpreted;
  assert.equal(s.instructions_translated + i.cold + i.pending + i.blocked + i.not_head + i.no_fit + i.other, Number(cpu.instret));
});

test("a background translation of a page written before it arrived is dropped, and the new words run", async () => {
  const { core, cpu } = bareCore("mov x0, #1\n hvc #0", { jit: BACKGROUND });
  assert.equal(cpu.run(100n), Exit.HVC);
  assert.equal(cpu.x(0), 1n);
  // Not code yet, so a write to the frame is not noticed: the translation
  // under way is of the old words.
  new DataView(core.memory.buffer).setUint32(core.hostOffset(RAM_BASE), 0xd2800040, true); // mov x0, #2
  await until("the background translation", () => { core.jit.poll(); return core.jitStats().dropped === 1; });
  assert.equal(core.jitStats().pages_translated, 0);
  cpu.pc = RAM_BASE;
  assert.equal(cpu.run(100n), Exit.HVC);
  assert.equal(cpu.x(0), 2n);
  // Asked for again, translated from the new words, and installed.
  await until("the second translation", () => { core.jit.poll(); return core.jitStats().pages_translated === 1; });
  cpu.pc = RAM_BASE;
  cpu.setX(0, 0n);
  assert.equal(cpu.run(100n), Exit.HVC);
  assert.equal(cpu.x(0), 2n);
  assert.ok(core.jitStats().instructions_translated >= 2);
});

// Baseline requests are answered before optimised ones (first in the
// worker's queue, and not behind an optimised compile, which V8's threads
// do): a frame waiting for its baseline code is interpreted meanwhile, one
// waiting for its optimised code runs its baseline code. A (optimised) is being
// compiled, for milliseconds, when B (optimised) and C (baseline) arrive,
// microseconds apart (or all three are waiting as the worker starts): C is
// compiled before B, where in order of arrival B came first.
test("the background translator compiles baseline requests before optimised ones that arrived earlier", async () => {
  const bg = backgroundTranslator();
  assert.ok(bg, "a background translator");
  const page = new Uint32Array(1024).fill(0x91000400); // add x0, x0, #1
  page[1023] = 0xD65F03C0; // ret
  const order: string[] = [];
  for (const [name, optimise] of [["A", true], ["B", true], ["C", false]] as const) {
    bg.post(page.slice(), [0], optimise, null, (r) => { assert.ok(!("error" in r), JSON.stringify(r)); order.push(name); });
  }
  await until("three compiles", () => { bg.drain(); return order.length === 3; });
  // (A first if the worker was already waiting, C first if it was starting.)
  assert.ok(order.indexOf("C") < order.indexOf("B"), order.join(" "));
});

// An optimised compile asked for a translation that has gone (the page was
// translated again) is not made if the worker has not started it: B waits
// behind A (one optimised compile at a time) and is cancelled; A, not
// cancelled, is answered. A cancel for a request already answered is
// nothing. (A is a page of loads and stores, tens of milliseconds of
// TurboFan, so that the cancel, posted right after B, arrives while A is
// under way: with a page of ADDs A was sometimes done first in a loaded run.)
test("an optimised request cancelled while it waits is not compiled", async () => {
  const bg = backgroundTranslator();
  assert.ok(bg, "a background translator");
  const page = new Uint32Array(1024);
  // ldr x1, [x2, #8]; str x1, [x3, #16]; add x0, x1, x2; ldr w4, [x2, #12]; strh w5, [x3, #2]; ldp x6, x7, [x2, #16]
  const words = [0xF9400441, 0xF9000861, 0x8B020020, 0xB9400C44, 0x79000465, 0xA9411C46];
  for (let i = 0; i < 1023; i++) page[i] = words[i % words.length];
  page[1023] = 0xD65F03C0; // ret
  const got = new Map<string, string>();
  const post = (name: string): number => bg.post(page.slice(), [0], true, null, (r) => { got.set(name, "cancelled" in r ? "cancelled" : "error" in r ? `error ${r.error}` : "module"); });
  post("A");
  const b = post("B");
  bg.cancel(b);
  await until("both answered", () => { bg.drain(); return got.size === 2; });
  assert.deepEqual(Object.fromEntries(got), { A: "module", B: "cancelled" });
  bg.cancel(b); // (answered: nothing to cancel)
  const c = post("C");
  await until("C answered", () => { bg.drain(); return got.has("C"); });
  assert.equal(got.get("C"), "module");
  bg.cancel(c);
});

// Optimised compiles run on V8's own threads while the worker goes on with
// baseline requests, each module naming its compiler in its bytes
// (src/cpu/jit/engine.ts): baseline requests made while a long optimised
// compile is under way are answered meanwhile, each compiled by the
// baseline compiler. (The worker answered at most one before, compiling
// the optimised one itself; V8's process-wide compiler flags, set around an
// optimised compile, made baseline compiles on another thread optimised
// too.) From V8's own trace, in a child process.
test("baseline compiles are answered while an optimised one is under way, and each uses its own compiler", () => {
  const background = new URL("../../src/cpu/jit/background.js", import.meta.url).href;
  const script = `
    import { backgroundTranslator } from ${JSON.stringify(background)};
    const bg = backgroundTranslator();
    const page = (words) => { const p = new Uint32Array(1024); for (let i = 0; i < 1023; i++) p[i] = words[i % words.length]; p[1023] = 0xD65F03C0; return p; };
    // ldr x1, [x2, #8]; str x1, [x3, #16]; add x0, x1, x2; ldr w4, [x2, #12]; strh w5, [x3, #2]; ldp x6, x7, [x2, #16]
    const big = page([0xF9400441, 0xF9000861, 0x8B020020, 0xB9400C44, 0x79000465, 0xA9411C46]);
    const arrived = [];
    const post = (name, words, optimise) => bg.post(words, [0], optimise, null, (r) => { if ("error" in r) throw new Error(r.error); arrived.push(name); });
    const pause = () => new Promise((r) => setTimeout(r, 2));
    // Both threads up first.
    post("warm", page([0x91000400]), false); post("warmopt", page([0x91000821]), true);
    while (arrived.length < 2) { bg.drain(); await pause(); }
    post("A", big, true);
    // One baseline request at a time until A is done, each a page of its own (add x2, x2, #i).
    let i = 0;
    while (!arrived.includes("A")) { if (arrived.length === 2 + i) post("B", page([0x91000042 | (++i << 10)]), false); bg.drain(); await pause(); }
    while (arrived.length < 3 + i) { bg.drain(); await pause(); }
    console.error("ORDER " + arrived.join(" "));
  `;
  // (From a file: with a script given with -e, the worker gets the process's
  // options without --input-type, given explicitly, and Node refuses V8's
  // trace flag given so.)
  const dir = mkdtempSync(join(tmpdir(), "xents-jit-"));
  const file = join(dir, "tiers.mjs");
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, ["--trace-wasm-compilation-times", file], { encoding: "utf8" });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  const order = /ORDER (.*)\n/.exec(r.stderr)?.[1].split(" ") ?? [];
  const before = order.indexOf("A") - 2, total = order.length - 3;
  assert.deepEqual(order.slice(0, 2), ["warm", "warmopt"], r.stderr);
  assert.ok(before >= 3, `baseline compiles answered during the optimised one: ${before} (${r.stderr})`);
  // Only V8's trace is on stdout.
  const compiled = (tier: string): number => compiles(r.stdout).pages.filter((l) => l.includes(`using ${tier}`)).length;
  assert.deepEqual([compiled("Liftoff"), compiled("TurboFan")], [1 + total, 2], r.stdout);
});

test("XENTS_JIT_BACKGROUND=0 translates on the vCPU's thread", () => {
  assert.equal(jitOptionsFromEnv({}).background, true);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_BACKGROUND: "0" }).background, false);
});

test("a page that keeps changing under its background translations is left to the interpreter", async () => {
  const { core, cpu } = bareCore(`
      adr x3, data
    loop:
      str x0, [x3]
      add x0, x0, #1
      b loop
    data:
      .quad 0
  `, { jit: BACKGROUND });
  const runFor = async (ms: number): Promise<void> => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) { assert.equal(cpu.run(1000n), Exit.BUDGET); await new Promise((r) => setTimeout(r, 1)); }
  };
  await until("eight dropped translations", () => { cpu.run(1000n); return core.jitStats().dropped >= 8; });
  await runFor(200);
  const s = core.jitStats();
  assert.equal(s.dropped, 8, "asked for again after the eighth");
  assert.equal(s.pages_translated, 0);
  assert.equal(cpu.x(0), cpu.instret / 3n);
});

// Flags set and read in different blocks of translated code, and left to the
// interpreter at every way out: the same NZCV at every exit (budget exits
// land on block heads, the MMIO load leaves from a slow path, BR goes to the
// interpreter), whichever instruction set them and in whichever block they
// are read. (Kept from an experiment with lazy flags, which it caught
// leaving translated code with the flags unsynchronised.)
const FLAGS = `
    adr x10, data
    mov x1, #5
    mov x2, #7
  loop:
    subs x3, x1, x2
    b.lt neg
    adds x4, x1, x2
  neg:
    ands x5, x1, #4
    csel x6, x1, x2, ne
    cmn w1, w2
    b.hi skip
    tst w1, #0x80000000
  skip:
    cmp x1, #90
    add x1, x1, #1
    b.ne next
  next:
    csinc x7, x7, x7, lo
    ccmp x1, x2, #4, hs
    cinc x8, x8, gt
    subs x9, x1, #60
    ldr x11, [x10]
    b.ne loop
    cmp x1, #61
    adr x13, mid
    br x13
    nop
  mid:
    b.mi over
    mov x8, #1
  over:
    mov x12, #0x9000000
    ldr x11, [x12]
    hvc #1
    .balign 4096
  data:
    .quad 3
`;

test("flags left pending by translated code are the interpreter's at every exit", () => {
  sameAsInterpreted(FLAGS, [1n, 5n, 13n, 1000n], Exit.DABT);
});

// Calls and returns: BL within the page stays in translated code; BLR and
// RET within the page go round its dispatch loop; across pages translated
// code goes on in the other page's translation (jitChain).
const CALLS = `
    mov x0, #0
    mov x1, #40
    adr x4, far
  loop:
    bl near
    blr x4
    subs x1, x1, #1
    b.ne loop
    hvc #1
  near:
    add x0, x0, #3
    ret
    .balign 4096
  far:
    eor x2, x0, x1
    add x3, x3, x2
    ret
`;

// Branches to registers within the page: to heads, into the middle of a
// block (not a head of the translation), BLR X30 (the old X30 is the
// target), and to a misaligned address (the fault is taken there).
const REG_BRANCHES = `
    mov x1, #20
    adr x9, inpage
  loop:
    blr x9
    subs x1, x1, #1
    b.ne loop
    adr x30, mid
    blr x30
    adr x7, inpage
    add x7, x7, #2
    br x7
  inpage:
    add x0, x0, #3
    add x0, x0, #4
    ret
  mid:
    add x5, x5, #1
    adr x6, inpage + 4
    br x6
`;

test("BR, BLR and RET to addresses within the page, into a block, from X30 and misaligned, as interpreted", () => {
  sameAsInterpreted(REG_BRANCHES, [1n, 2n, 5n, 1000n], Exit.EXCEPTION);
});

test("BL, BLR and RET in translated code exit as interpreted, within the page and across pages", () => {
  sameAsInterpreted(CALLS, [1n, 3n, 11n, 1000n], Exit.HVC);
  assert.ok(lastStats!.chained >= 40, `the call to the far page and its return chain: ${JSON.stringify(lastStats)}`);
});

// A chain from page to page is a loop in the core: 200,000 crossings in
// one entry from the run loop (as nested calls they would overflow the
// stack).
// A loop in the first page that calls `far`, at the start of the next
// page, n times, then HVC.
function callsFarPage(n: number, far: string): string {
  return `
    mov x1, #${n}
    adr x4, far
  loop:
    blr x4
    subs x1, x1, #1
    b.ne loop
    hvc #1
    .balign 4096
  far:
${far}`;
}
const PING_PONG = callsFarPage(50000, "add x0, x0, #1\n ret");

test("translated code goes on into other pages' translations without the run loop, however long the chain", () => {
  const { core, cpu } = bareCore(PING_PONG, { jit: AT_ONCE });
  assert.equal(cpu.run(10_000_000n), Exit.HVC);
  assert.equal(cpu.x(0), 50000n);
  const s = core.jitStats();
  // Every call but the first into the far page (not translated yet then)
  // is made from the caller's code, and comes back into it (jitCall); the
  // first comes back by a chain.
  assert.equal(s.chained, 50000, JSON.stringify(s));
  assert.equal(s.returned, 49999, JSON.stringify(s));
  assert.equal(s.calls, 2, "entries from the run loop: the start and the far page's first");
  assert.equal(cpu.instret, 2n + 50000n * 5n + 1n);
});

// Calls out of a page are made as wasm calls (the core's jitCall), and the
// caller's code goes on in place when the callee comes back to the return
// point. Exact at every budget in both tiers against the interpreter:
// BL and BLR to another page; recursion across two pages far deeper than
// the nesting allowed (32; as wasm calls 2000 deep would overflow the
// host's stack); a callee that comes back elsewhere (x30 changed); a
// callee that rewrites an instruction of its caller's page (the caller's
// translation goes: it must not go on in it); a callee that flushes the
// TLB; and the exit (HVC) from inside a callee.
const NESTED_CALLS = `
    adr x9, stack_top
    mov sp, x9
    mov x1, #2
    adr x4, far
  loop:
    bl far
    blr x4
    mov x0, #1000
    bl deep
    bl elsewhere
    add x3, x3, #7
  back:
    add x3, x3, #1
    bl flush
    subs x1, x1, #1
    b.ne loop
    bl writer
  patch:
    add x3, x3, #100
    bl finish
    b .
    .balign 4096
  far:
    add x2, x2, #1
    ret
  elsewhere:
    adr x30, back
    ret
  writer:
    adr x9, patch
    ldr w10, [x9]
    add w10, w10, #25, lsl #12
    str w10, [x9]
    ret
  flush:
    tlbi vmalle1
    dsb sy
    isb
    ret
  finish:
    add x2, x2, #1000
    hvc #1
    .balign 4096
  deep:
    stp x29, x30, [sp, #-16]!
    subs x0, x0, #1
    b.eq 1f
    bl deep2
  1:
    ldp x29, x30, [sp], #16
    add x5, x5, #1
    ret
    .balign 4096
  deep2:
    stp x29, x30, [sp, #-16]!
    bl deep
    ldp x29, x30, [sp], #16
    ret
    .balign 4096
    .space 0x20000
  stack_top:
`;

// Recursion across two pages 40,000 calls deep: nested as wasm calls past
// the allowed depth it would overflow the host's stack.
const DEEP_CALLS = NESTED_CALLS.replace("mov x1, #2", "mov x1, #1").replace("mov x0, #1000", "mov x0, #20000").replace(".space 0x20000", ".space 0xA0000");

test("calls out of pages nest only so deep, however deep the guest's recursion", () => {
  sameInBothTiers(DEEP_CALLS, [100000n, 10_000_000n], Exit.HVC);
});

test("a call out of a page comes back into its caller's code, exactly as interpreted, however it returns", () => {
  sameInBothTiers(NESTED_CALLS, [1n, 3n, 17n, 64n, 333n, 100000n], Exit.HVC);
  // With the MMU on (off, every access is to Device memory and leaves
  // translated code for the interpreter, so no call comes back)
  const mapped = identityMap(64) + NESTED_CALLS;
  sameInBothTiers(mapped, [17n, 333n, 100000n], Exit.HVC);
  const last = trace(AT_ONCE, 1_000_000n, mapped).pop()!;
  assert.equal(last.split(" ")[0], String(Exit.HVC), last);
  assert.ok(lastStats!.returned > 50, `calls came back into their callers' code (${JSON.stringify(lastStats)})`);
});

// Chained into an entry that is not a head of the other page's translation
// (`late`, reached only by BR from the first page, past the far page's
// translation, which ends at the B): the interpreter goes on
// from there, the miss counts once and against that page, which is
// translated again with it after 256 misses; from then on the chain takes it.
// A loop in the first page that calls `far` (in the next page) once, then
// `late` (in the same page) n times, then HVC.
function farThenLate(n: number, farPage: string): string {
  return `
    mov x1, #${n}
    adr x4, far
    adr x6, late
    blr x4
  loop:
    blr x6
    subs x1, x1, #1
    b.ne loop
    hvc #1
    .balign 4096
${farPage}`;
}
const FAR_AND_LATE = `
  far:
    add x0, x0, #1
    ret
    b far
  late:
    add x5, x5, #1
    ret
`;
const CHAIN_NOT_HEAD = farThenLate(300, FAR_AND_LATE);

// Runs a farThenLate program translated at once with maxEntries: it halts
// having made `calls` calls to `late`; the translator's figures.
function lateCalls(source: string, maxEntries: number, calls: bigint, jit: JitOptions = AT_ONCE): JitStats {
  const { core, cpu } = bareCore(source, { jit: { ...jit, maxEntries } });
  assert.equal(cpu.run(100_000n), Exit.HVC);
  assert.equal(cpu.x(5), calls);
  return core.jitStats();
}

test("a chain into an entry that is not a head leaves the rest to the interpreter, and the page is translated again with it", () => {
  sameAsInterpreted(CHAIN_NOT_HEAD, [1n, 3n, 11n, 1000n, 100000n], Exit.HVC);
  const s = lateCalls(CHAIN_NOT_HEAD, 8, 300n);
  // 256 entries at `late` interpreted (its ADD and RET), then translated.
  assert.equal(s.interpreted.not_head, 256 * 2, JSON.stringify(s));
  assert.equal(s.retranslations, 1, JSON.stringify(s));
});

// The same with the far page's entries spent (maxEntries 1): the first
// retranslation for `late` is refused, the second (after 512 misses) goes
// through, so a hot entry is never interpreted for good.
test("a page at maxEntries whose other entry keeps missing gets it when the refusals double", () => {
  const many = CHAIN_NOT_HEAD.replace("mov x1, #300", "mov x1, #2000");
  sameAsInterpreted(many, [1000n, 100000n], Exit.HVC);
  const s = lateCalls(many, 1, 2000n);
  assert.equal(s.interpreted.not_head, 512 * 2, JSON.stringify(s));
  assert.equal(s.retranslations, 1, JSON.stringify(s));
});

// The far page is translated from its first entry (`far`), and the walk
// after its RET reaches the function behind it. One that begins as
// compilers begin functions (ftrace's `mov x9, x30`, BTI C, PACIASP) is a
// block head, so the pointer calls that follow find code at once; one that
// begins with anything else is inside a block and misses.
function calledLater(start: string): string {
  return farThenLate(100, `
  far:
    add x0, x0, #1
    ret
    nop
    nop
  late:
    ${start}
    add x5, x5, #1
    ret
`);
}

test("where a function begins (mov x9, x30; BTI C; PACIASP) is a block head of its page's translation", () => {
  for (const start of ["mov x9, x30", "bti c", "paciasp", "add x7, x7, #1"]) {
    const src = calledLater(start);
    sameAsInterpreted(src, [3n, 1000n], Exit.HVC);
    const s = lateCalls(src, 8, 100n);
    if (start.startsWith("add")) assert.equal(s.interpreted.not_head, 100 * 3, `${start}: every call misses ${JSON.stringify(s)}`);
    else assert.equal(s.interpreted.not_head, 0, `${start}: ${JSON.stringify(s)}`);
  }
});

// The page function's locals: 9 i64 and 11 i32 of the translator's own
// (temporaries, and the operands of the last flag-setter),
// then one i64 for each guest register the translated code uses (V8's
// baseline compiler pays for every local declared). Here x0, x1, x2 and SP.
test("an optimised page declares a local for each guest register it uses and no more; a baseline page none", () => {
  const words = new Uint32Array(1024);
  words.set(new Uint32Array(assemble("add x0, x1, #1\n ldr x2, [sp, #8]\n hvc #0").buffer.slice(0, 12)));
  const locals = (optimised: boolean): [number, number][] => {
    const bytes = translatePage(words, [0], optimised).bytes;
    // The code section's one body: its size, then the local declarations.
    let i = 8;
    const leb = (): number => { let v = 0, s = 0, b: number; do { b = bytes[i++]; v |= (b & 0x7F) << s; s += 7; } while (b & 0x80); return v; };
    while (bytes[i] !== 10) { i++; const n = leb(); i += n; }
    i++; leb(); leb(); leb();
    const groups: [number, number][] = [];
    for (let g = leb(); g > 0; g--) { const n = leb(); groups.push([n, bytes[i++]]); }
    return groups;
  };
  assert.deepEqual(locals(true), [[9, 0x7E], [12, 0x7F], [4, 0x7E]], "the temporaries, then x0, x1, SP and x2");
  assert.deepEqual(locals(false), [[9, 0x7E], [12, 0x7F]], "the temporaries only");
});

// Blocks that branch to their own head are wasm loops with the registers
// they use loaded once before the loop: loads, stores, flags, budget exits
// inside the loop and an MMIO exit from its slow path leave the machine as
// interpreted.
const SELF_LOOPS = `
    adr x3, data
    mov x1, #200
    mov x0, #0
  spin:
    ldr x2, [x3, x1, lsl #3]
    add x0, x0, x2
    str x0, [x3, #8]
    subs x1, x1, #1
    csinc x5, x5, x5, hi
    b.ne spin
    mov x6, #0x9000000
  spin2:
    add x7, x7, #1
    cmp x7, #5
    b.lo spin2
  spin3:
    add x8, x8, x7
    ldr x2, [x6]
    b spin3
    .balign 4096
  data:
    .fill 512, 8, 3
`;

test("self-looping blocks keep registers across iterations and exit as interpreted", () => {
  sameAsInterpreted(SELF_LOOPS, [1n, 7n, 37n, 1000n], Exit.DABT);
});

// System instructions run in the interpreter inside a translated block (no
// block end, no return to the run loop) unless they need attention or
// change the translation regime; hints and barriers are translated as
// nothing. At every budget the machine is the interpreter's: MRS of the
// counter, NZCV, TPIDR_EL1 and SP_EL0, DC ZVA, CLREX between LDXR and STXR, DAIF, a TLB flush,
// cache maintenance, SEV then WFE, and the WFI exit.
const SYSTEM = `
    adr x3, data
    mov x1, #30
    mov x0, #0
  loop:
    hint #25
    hint #34
    dmb ish
    add x0, x0, x1
    mrs x5, tpidr_el1
    add x5, x5, x0
    msr tpidr_el1, x5
    msr sp_el0, x5
    mrs x9, sp_el0
    add x9, x9, #1
    adr x10, zeroes
    str x9, [x10, #8]
    dc zva, x10
    ldr x11, [x10, #8]
    add x8, x8, x11
    add x8, x8, x9
    cmp x1, #7
    mrs x6, nzcv
    ldxr x2, [x3]
    clrex
    stxr w7, x2, [x3]
    add x8, x8, x7
    dsb sy
    isb
    msr daifset, #2
    mrs x12, daif
    mrs x7, cntvct_el0
    msr daifclr, #2
    mrs x13, daif
    mrs x14, ctr_el0
    mrs x15, dczid_el0
    add x12, x12, x13
    add x14, x14, x15
    add x8, x8, x12
    add x8, x8, x14
    tlbi vmalle1
    dc civac, x3
    yield
    subs x1, x1, #1
    b.ne loop
    sev
    wfe
    wfi
    .balign 8
  data:
    .quad 5
    .balign 64
  zeroes:
    .fill 8, 8, 7
`;

test("system instructions inside translated blocks leave the machine as interpreted", () => {
  sameAsInterpreted(SYSTEM, [1n, 3n, 11n, 1000n], Exit.WFI);
});

test("hints and barriers are translated as nothing, other system instructions are called without ending the block", () => {
  const w = (s: string): number[] => [...new Uint32Array(assemble(s).buffer)];
  const words = new Uint32Array(1024).fill(0xD503201F);
  // paciasp, dmb, isb, mrs (twice), add, msr daifclr (attention: what follows is a head), add, mrs, dc zva, b .
  words.set(w("hint #25\n dmb ish\n isb\n mrs x0, midr_el1\n mrs x3, tpidr_el1\n add x1, x1, #1\n msr daifclr, #2\n add x2, x2, #1\n mrs x4, sp_el0\n dc zva, x5\n b ."));
  const p = translatePage(words, [0]);
  assert.equal(p.heads, 3, "heads: the entry, after the MSR, the branch to itself (also what follows DC ZVA, a SYS)");
  assert.equal(p.called, 2, "MRS of MIDR_EL1 and MSR go to the interpreter");
  assert.equal(p.translated, 9, "the hint, the barriers, the adds, MRS of TPIDR_EL1 and SP_EL0 (jitMrs), DC ZVA (jitDcZva) and the branch are translated");
});

// Where the core's jitMrs or jitDcZva declines (EL0, SP_EL0 with SPSel 0, a
// TLB miss), translated code runs the instruction through jitStep as the
// k-th instruction of its block, leaves if that says so, and otherwise
// (MRS) reads Rt again from the vCPU block, where the interpreter wrote it.
// Translated code counts what it runs in 32 bits from the instret it was
// entered with, against the room it was given (what it may retire, which
// the core computes from its limit); a call out of the page passes on what
// is left of it. At any instret, with no room or all of it, and after a
// call that came back having run instructions of its own, it leaves the
// count the interpreter would.
test("translated code counts instructions exactly at any instret and in any room", () => {
  const w = (s: string): number[] => [...new Uint32Array(assemble(s).buffer)];
  const words = new Uint32Array(1024).fill(0xD503201F);
  // two adds and a call out of the page that comes back; two adds and a branch out of the page
  words.set(w("add x1, x1, #1\n add x1, x1, #1\n bl .+0x2000\n add x1, x1, #1\n add x1, x1, #1\n b .+0x3000"));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const view = new DataView(memory.buffer);
  const pc = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const instret = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const nzcv = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  const page = 0x40000000n;
  const ic = (): bigint => BigInt.asUintN(64, instret.value);
  let calleeRuns = 0n;
  const calls: [bigint, bigint, number][] = []; // pc, instret, room at each call
  const nothing = (): never => { throw new Error("no interpreter here"); };
  const env = {
    memory, pc, instret, nzcv, jitStep: nothing, jitMrs: nothing, jitDcZva: nothing, jitExclusive: nothing,
    // the callee runs calleeRuns instructions and comes back to the return point
    jitCall: (ret: number, room: number): number => {
      calls.push([pc.value, ic(), room]);
      instret.value += calleeRuns; pc.value = page + BigInt(ret);
      return 6;
    },
  };
  const MAX = 0x7FFFFFFF;
  for (const optimised of [false, true]) {
    const f = new WebAssembly.Instance(new WebAssembly.Module(translatePage(words, [0], optimised).bytes), { env }).exports.f as (...a: unknown[]) => number;
    const run = (start: bigint, room: number): number => {
      view.setBigUint64(8, 0n, true); calls.length = 0; instret.value = start; pc.value = 0n;
      return f(0, 0, page, 0, room);
    };
    const tier = optimised ? "optimised" : "baseline";
    // all the room at a large instret (and past 2^63): everything runs; the call gets what is left
    for (const start of [(1n << 40n) + 7n, (1n << 63n) + 5n]) {
      calleeRuns = 1000n;
      assert.equal(run(start, MAX), 3, `${tier}: left the page by the branch`);
      assert.equal(ic(), start + 6n + 1000n, `${tier}: instret counted across the call`);
      assert.equal(pc.value, page + 20n + 0x3000n, tier);
      assert.equal(view.getBigUint64(8, true), 4n, `${tier}: every add ran`);
      assert.deepEqual(calls, [[page + 8n + 0x2000n, start + 3n, MAX - 3]], `${tier}: the call, with the room left`);
    }
    const big = (1n << 40n) + 7n;
    // just the room for it all
    assert.equal(run(big, 1006), 3, tier);
    assert.equal(ic(), big + 1006n, tier);
    assert.deepEqual(calls, [[page + 8n + 0x2000n, big + 3n, 1003]], tier);
    // no room: nothing runs
    assert.equal(run(big, 0), 0, `${tier}: the first block does not fit`);
    assert.equal(ic(), big, tier);
    assert.equal(pc.value, page, `${tier}: pc at the entry`);
    assert.equal(view.getBigUint64(8, true), 0n, `${tier}: nothing ran`);
    assert.deepEqual(calls, [], tier);
    // room up to the call's return: the block after it does not fit, and the count is the call's
    calleeRuns = 0n;
    assert.equal(run(big, 3), 1, `${tier}: stopped at the return point`);
    assert.equal(ic(), big + 3n, tier);
    assert.equal(pc.value, page + 12n, tier);
    assert.equal(view.getBigUint64(8, true), 2n, tier);
    assert.deepEqual(calls, [[page + 8n + 0x2000n, big + 3n, 0]], `${tier}: the call with no room left`);
    // ... and one short of the block after it, having run some in the callee
    calleeRuns = 2n;
    assert.equal(run(big, 7), 1, tier);
    assert.equal(ic(), big + 5n, tier);
    assert.equal(pc.value, page + 12n, tier);
  }
});

test("an MRS or DC ZVA the core's helper declines goes through the interpreter, and an MRS's Rt is read again", () => {
  const w = (s: string): number[] => [...new Uint32Array(assemble(s).buffer)];
  const words = new Uint32Array(1024).fill(0xD503201F);
  words.set(w("add x1, x0, #1\n add x5, x3, #2\n mrs x0, sp_el0\n add x2, x0, #5\n mrs x3, tpidr_el1\n add x4, x3, x2\n dc zva, x6\n dc zva, x7\n b ."));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const view = new DataView(memory.buffer);
  const pc = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const instret = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const nzcv = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  const steps: [number, bigint][] = [], mrs: [number, number][] = [], zva: bigint[] = [];
  let leave = 0;
  const env = {
    memory, pc, instret, nzcv,
    // the interpreter: Rt of the MRS at offset 8 (the block's third instruction) is 37
    jitStep: (at: number, ic: bigint): number => { steps.push([at, ic]); view.setBigUint64(0, 37n, true); return leave; },
    // the core: SP_EL0 is left to the interpreter, TPIDR_EL1 reads 1000
    jitMrs: (key: number, rt: number): number => { mrs.push([key, rt]); if (rt !== 3) return 0; view.setBigUint64(rt * 8, 1000n, true); return 1; },
    // DC ZVA: done at x6's address, left to the interpreter at x7's
    jitDcZva: (x: bigint): number => { zva.push(x); return x === 0x600n ? 1 : 0; },
    jitExclusive: (): never => { throw new Error("no exclusive here"); },
    jitCall: (): never => { throw new Error("no call out of the page here"); },
  };
  view.setBigUint64(6 * 8, 0x600n, true); view.setBigUint64(7 * 8, 0x700n, true);
  const p = translatePage(words, [0]);
  const f = new WebAssembly.Instance(new WebAssembly.Module(p.bytes), { env }).exports.f as (...a: unknown[]) => number;
  instret.value = 100n;
  assert.equal(f(0, 0, 0x40000000n, 0, 9), 1, "the blocks ran and stopped at the branch to itself (its room)");
  assert.deepEqual(mrs, [[0xC208, 0], [0xC684, 3]], "jitMrs is asked with the register's key and Rt");
  assert.deepEqual(zva, [0x600n, 0x700n], "jitDcZva is asked with Xt");
  // (after DC ZVA, a SYS, a new block begins: the second is its first instruction, at instret 107)
  assert.deepEqual(steps, [[(2 << 12) | 8, 100n], [(0 << 12) | 28, 107n]], "the interpreter runs the MRS it was left, the block's third instruction, and the DC ZVA it was left");
  assert.equal(view.getBigUint64(2 * 8, true), 42n, "x2 = x0 + 5 with x0 as the interpreter wrote it, not as loaded before");
  assert.equal(view.getBigUint64(4 * 8, true), 1042n, "x4 = x3 + x2 with x3 as jitMrs wrote it, not as loaded before");
  // the interpreter says leave (an exception): nothing after the MRS runs
  view.setBigUint64(2 * 8, 0n, true); steps.length = 0; mrs.length = 0; zva.length = 0; leave = 1; instret.value = 100n;
  assert.equal(f(0, 0, 0x40000000n, 0, 9), 1);
  assert.deepEqual(zva, [], "nothing after the MRS ran");
  assert.equal(view.getBigUint64(2 * 8, true), 0n, "the add after the MRS did not run");
  assert.deepEqual(mrs, [[0xC208, 0]]);
});

// The MMU on with identity page tables for the first `pages` pages of RAM
// (at 0x40010000; x2 = RAM's base, x4 = a page descriptor's attributes,
// x22 = the level-3 table), built at run time.
const identityMap = (pages: number): string => `
    movz x20, #0x4001, lsl #16
    add x21, x20, #0x1000
    add x22, x20, #0x2000
    orr x1, x21, #3
    str x1, [x20, #8]
    orr x1, x22, #3
    str x1, [x21]
    movz x2, #0x4000, lsl #16
    mov x4, #0x403
    mov x3, #0
  fill:
    add x1, x2, x3, lsl #12
    orr x1, x1, x4
    str x1, [x22, x3, lsl #3]
    add x3, x3, #1
    cmp x3, #${pages}
    b.ne fill
    mov x1, #0xFF
    msr mair_el1, x1
    mov x1, #25
    orr x1, x1, #0x800000
    msr tcr_el1, x1
    msr ttbr0_el1, x20
    isb
    mrs x1, sctlr_el1
    orr x1, x1, #1
    msr sctlr_el1, x1
    isb
`;
const IDENTITY_MAP = identityMap(32);

// The page being run is remapped to another frame and the TLB flushed: the
// next instruction comes from the new frame, as the interpreter fetches it
// (translated code of the old frame must leave after the TLBI).
const REMAP = `
    .macro body imm
    add x0, x0, #\\imm
    str x10, [x12]
    tlbi vmalle1
    add x0, x0, #\\imm
    hvc #0
    .endm
${IDENTITY_MAP}    add x12, x22, #8
    add x10, x2, #0x2000
    orr x10, x10, x4
    mov x0, #0
    add x5, x2, #0x1000
    br x5
    .balign 4096
    body 1
    .balign 4096
    body 100
`;

test("a TLB flush that remaps the page being run: the next instruction comes from the new frame", () => {
  const last = sameAsInterpreted(REMAP, [1n, 4n, 1000n], Exit.HVC);
  assert.match(last, / 65,/, "x0 = 1 + 100: the second add is the new frame's");
});

// An exclusive the core's jitExclusive does: translated code goes on with
// the registers it wrote (Rt of a load, Rs of a store) read again; one it
// declines: the interpreter runs it as the block's k-th instruction.
test("an exclusive goes through the core's jitExclusive, or the interpreter where it declines, and the registers it writes are read again", () => {
  const w = (s: string): number[] => [...new Uint32Array(assemble(s).buffer)];
  const words = new Uint32Array(1024).fill(0xD503201F);
  const prog = w("add x2, x2, #1\n add x4, x4, #1\n ldxr x2, [x9]\n add x3, x2, #1\n stxr w4, x3, [x9]\n add x5, x4, #7\n ldaxr x6, [x10]\n add x7, x6, #1\n b .");
  words.set(prog);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const view = new DataView(memory.buffer);
  const pc = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const instret = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const nzcv = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  const asked: number[] = [], steps: [number, bigint][] = [];
  const env = {
    memory, pc, instret, nzcv, jitMrs: (): number => 0, jitDcZva: (): number => 0, jitCall: (): number => 3,
    // the core: LDXR reads 50, STXR succeeds (status 0); LDAXR (x10) is declined
    jitExclusive: (insn: number): number => {
      const word = insn >>> 0; // (an i32 from wasm)
      asked.push(word);
      if (word === prog[2]) { view.setBigUint64(2 * 8, 50n, true); return 1; }
      if (word === prog[4]) { view.setBigUint64(4 * 8, 0n, true); return 1; }
      return 0;
    },
    // the interpreter: LDAXR reads 60
    jitStep: (at: number, ic: bigint): number => { steps.push([at, ic]); view.setBigUint64(6 * 8, 60n, true); return 0; },
  };
  const p = translatePage(words, [0]);
  const f = new WebAssembly.Instance(new WebAssembly.Module(p.bytes), { env }).exports.f as (...a: unknown[]) => number;
  instret.value = 100n;
  assert.equal(f(0, 0, 0x40000000n, 0, 8), 1, "the block ran and stopped at the branch to itself (its room)");
  assert.deepEqual(asked, [prog[2], prog[4], prog[6]], "jitExclusive is asked with each instruction word");
  assert.deepEqual(steps, [[(6 << 12) | 24, 100n]], "the interpreter runs the LDAXR it was left, the block's seventh instruction");
  assert.equal(view.getBigUint64(3 * 8, true), 51n, "x3 = x2 + 1 with x2 as the LDXR wrote it, not as loaded before");
  assert.equal(view.getBigUint64(5 * 8, true), 7n, "x5 = x4 + 7 with x4 as the STXR's status, not as loaded before");
  assert.equal(view.getBigUint64(7 * 8, true), 61n, "x7 = x6 + 1 with x6 as the interpreter wrote it");
});

// The core's helpers decline exactly where the interpreter would do more
// than read or zero: MRS at EL0, SP_EL0 with SPSel 0, DC ZVA at EL0 without
// SCTLR_EL1.DZE or without the block in the TLB. (Called between runs: a
// one-instruction run at the state to test sets the core's hot state.)
test("jitMrs, jitDcZva and jitExclusive decline where the interpreter would trap or walk", () => {
  const { core, cpu } = bareCore("nop\n nop\n nop\n nop\n hvc #0", { jit: OFF });
  const ex = core.exports as unknown as { jitMrs(key: number, rt: number): number; jitDcZva(x: bigint): number; jitExclusive(insn: number): number };
  cpu.setSys(SR.SP_EL0, 0x1111n); cpu.setSys(SR.TPIDR_EL1, 0x2222n);
  const at = (pstate: bigint): void => { cpu.pstate = pstate; assert.equal(cpu.run(1n), Exit.BUDGET); };
  const SP_EL0 = 0xC208, TPIDR_EL1 = 0xC684, MIDR_EL1 = 0xC000;
  at(0x3C5n); // EL1h
  assert.equal(ex.jitMrs(SP_EL0, 3), 1); assert.equal(cpu.x(3), 0x1111n);
  assert.equal(ex.jitMrs(TPIDR_EL1, 4), 1); assert.equal(cpu.x(4), 0x2222n);
  assert.equal(ex.jitMrs(MIDR_EL1, 5), 0, "not one jitMrs reads");
  // DAIF, CTR_EL0 and DCZID_EL0 as the interpreter's MRS reads them at EL1
  const interpreted = bareCore("msr daifset, #2\n mrs x0, daif\n mrs x1, ctr_el0\n mrs x2, dczid_el0\n hvc #0", { jit: OFF });
  interpreted.cpu.pstate = 0x145n; // EL1h, A and F masked; the program masks I
  assert.equal(interpreted.cpu.run(100n), Exit.HVC);
  assert.equal(interpreted.cpu.x(0), 0x1C0n);
  const DAIF = 0xDA11, CTR_EL0 = 0xD801, DCZID_EL0 = 0xD807;
  at(0x1C5n); // EL1h, A, I and F masked
  for (const [key, rt, from] of [[DAIF, 6, 0], [CTR_EL0, 7, 1], [DCZID_EL0, 8, 2]]) {
    assert.equal(ex.jitMrs(key, rt), 1);
    assert.equal(cpu.x(rt), interpreted.cpu.x(from), `key ${key.toString(16)}`);
  }
  // (the page being run is in the TLB, read, write and execute, from the fetch's walk)
  const block = core.ram(RAM_BASE + 0x800n, 128);
  block.fill(0xAB);
  assert.equal(ex.jitDcZva(RAM_BASE + 0x10000n), 0, "a page not in the TLB: nothing walked, nothing zeroed");
  assert.equal(ex.jitDcZva(RAM_BASE + 0x810n), 1);
  assert.deepEqual([block[0], block[63], block[64]], [0, 0, 0xAB], "the aligned 64 bytes at 0x800 are zeroed, no more");
  block.fill(0xAB);
  // exclusives on the same page: the monitor kept as the interpreter keeps it
  const [ldxr, stxr, ldxp, casal, ldarb] = [0xC85F7D03, 0xC8057D04, 0xC87F1903, 0xC8E0FD03, 0x08DFFD03].map((v) => v | 0); // ldxr x3, [x8]; stxr w5, x4, [x8]; ldxp x3, x6, [x8]; casal x0, x3, [x8]; ldarb w3, [x8]
  cpu.setX(8, RAM_BASE + 0x800n); cpu.setX(4, 0x1234n); cpu.setX(5, 99n);
  assert.equal(ex.jitExclusive(ldxr), 1);
  assert.equal(cpu.x(3), 0xABABABABABABABABn);
  assert.equal(ex.jitExclusive(stxr), 1);
  assert.equal(cpu.x(5), 0n, "the store succeeded");
  assert.equal(new DataView(block.buffer, block.byteOffset).getBigUint64(0, true), 0x1234n);
  assert.equal(ex.jitExclusive(stxr), 1);
  assert.equal(cpu.x(5), 1n, "the monitor was cleared by the last: this one fails, with no access");
  assert.equal(ex.jitExclusive(ldarb), 1);
  assert.equal(cpu.x(3), 0x34n);
  cpu.setX(8, RAM_BASE + 0x808n);
  assert.equal(ex.jitExclusive(ldxp), 0, "a pair of X registers misaligned for its 16 bytes: the interpreter's alignment fault");
  assert.equal(ex.jitExclusive(casal), 0, "CASAL (no FEAT_LSE): the interpreter's UNDEFINED");
  cpu.setX(8, RAM_BASE + 0x10000n); cpu.setX(3, 7n);
  assert.equal(ex.jitExclusive(ldxr), 0, "a page not in the TLB: nothing walked");
  assert.equal(cpu.x(3), 7n, "nothing written");
  block.fill(0xAB);
  at(0x3C4n); // EL1t: SP is SP_EL0
  assert.equal(ex.jitMrs(SP_EL0, 3), 0, "SP_EL0 with SPSel 0 is UNDEFINED");
  assert.equal(ex.jitMrs(TPIDR_EL1, 4), 1);
  at(0x3C0n); // EL0t
  assert.equal(ex.jitMrs(TPIDR_EL1, 4), 0, "no EL1 register at EL0");
  for (const key of [DAIF, CTR_EL0, DCZID_EL0]) assert.equal(ex.jitMrs(key, 4), 0, "at EL0, SCTLR_EL1 decides: the interpreter's");
  assert.equal(ex.jitDcZva(RAM_BASE + 0x810n), 0, "EL0 without DZE traps");
  assert.equal(block[0], 0xAB);
});

// DC ZVA with the MMU on (identity map of 32 pages, as REMAP's), where the
// data TLB holds the block: translated code has the core's jitDcZva zero it
// without the interpreter; the stores around it and the loads after it see
// what the interpreter's would.
const ZVA = `
${IDENTITY_MAP}    add x5, x2, #0x5000
    mov x1, #0
    mov x3, #0
    mov x6, #0
    mov x7, #40
  loop:
    add x6, x6, #1
    str x6, [x5, #8]
    str x6, [x5, #64]
    dc zva, x5
    ldr x0, [x5, #8]
    add x1, x1, x0
    ldr x2, [x5, #64]
    add x3, x3, x2
    subs x7, x7, #1
    b.ne loop
    hvc #0
`;

// Exclusives and acquire/release with the MMU on, where the data TLB holds
// the line: translated code has the core's jitExclusive do them; stores
// that succeed, fail for a cleared monitor or a changed value, pairs,
// bytes, and the registers they write used at once.
const EXCLUSIVES = `
${IDENTITY_MAP}    add x5, x2, #0x5000
    add x9, x5, #0x100
    mov x1, #0
    mov x7, #40
  loop:
    ldxr x0, [x5]
    add x0, x0, #3
    stxr w6, x0, [x5]
    add x1, x1, x6
    ldaxr w0, [x5]
    clrex
    stlxr w6, w0, [x5]
    add x1, x1, x6, lsl #4
    ldxp x10, x11, [x9]
    add x10, x10, #1
    add x11, x11, x10
    stxp w6, x10, x11, [x9]
    add x1, x1, x6, lsl #8
    ldxrb w12, [x5]
    add w12, w12, #1
    stlxrb w6, w12, [x5]
    add x1, x1, x6, lsl #12
    ldar x13, [x9]
    add x13, x13, x12
    stlr x13, [x9, #0]
    ldxr x0, [x5]
    str x7, [x5]
    stxr w6, x0, [x5]
    add x1, x1, x6, lsl #16
    subs x7, x7, #1
    b.ne loop
    hvc #0
`;

test("exclusives in translated code (through the core's jitExclusive) leave memory, monitor and registers as interpreted", () => {
  const last = sameAsInterpreted(EXCLUSIVES, [9n, 31n, 1000n], Exit.HVC);
  // x1: 40 failed stores for the cleared monitor (<< 4) and 40 for the changed value (<< 16); the rest succeeded
  assert.match(last, /^\S+ \S+ \S+ \S+ [0-9a-f]+,280280,/, last);
});

test("DC ZVA in translated code zeroes its block as interpreted, and only that block", () => {
  const last = sameAsInterpreted(ZVA, [7n, 13n, 1000n], Exit.HVC);
  // x1 sums what was left at +8 (zeroed each time), x3 what was left at +64 (the next block: 1 + ... + 40)
  assert.match(last, /^\S+ \S+ \S+ \S+ [0-9a-f]+,0,[0-9a-f]+,334,/, last);
});

// Three functions on one page, each entered only from another page (a `b`
// after each RET keeps the translator's walk from reaching the next). The
// page is translated from the first entry; the other two miss, and the
// retranslation they cause takes both from the core's ring of recent misses,
// so there is one retranslation, not one per function.
const THREE_ENTRIES = `
    mov x1, #600
    adr x4, f1
    adr x5, f2
    adr x6, f3
  loop:
    blr x4
    blr x5
    blr x6
    subs x1, x1, #1
    b.ne loop
    hvc #1
    .balign 4096
  f1:
    add x2, x2, #1
    ret
    b f1
  f2:
    add x3, x3, #2
    ret
    b f2
  f3:
    add x7, x7, #3
    ret
    b f3
`;

test("entries that miss a page's translation are gathered into one retranslation, and every instruction is counted once", () => {
  const { core, cpu } = bareCore(THREE_ENTRIES, { jit: { ...AT_ONCE, maxEntries: 4 } });
  assert.equal(cpu.run(1_000_000n), Exit.HVC);
  assert.deepEqual([cpu.x(2), cpu.x(3), cpu.x(7)], [600n, 1200n, 1800n]);
  const s = core.jitStats();
  assert.equal(s.retranslations, 1, JSON.stringify(s));
  // Misses until the retranslation (256 of them, two instructions each), then none.
  assert.ok(s.interpreted.not_head > 0 && s.interpreted.not_head <= 2 * 256 + 8, JSON.stringify(s.interpreted));
  // Translated and interpreted (for whatever reason) add up to what ran.
  const i = s.interpreted;
  assert.equal(s.instructions_translated + i.cold + i.pending + i.blocked + i.not_head + i.no_fit + i.other, Number(cpu.instret));
});

test("a page's first translation takes the entries from other pages that recurred while it was cold", () => {
  const { core, cpu } = bareCore(THREE_ENTRIES, { jit: { ...AT_ONCE, threshold: 64, maxEntries: 4 } });
  assert.equal(cpu.run(1_000_000n), Exit.HVC);
  assert.deepEqual([cpu.x(2), cpu.x(3), cpu.x(7)], [600n, 1200n, 1800n]);
  const s = core.jitStats();
  // Translated once, from all three functions: no entry ever misses.
  assert.equal(s.retranslations, 0, JSON.stringify(s));
  assert.equal(s.interpreted.not_head, 0, JSON.stringify(s.interpreted));
  assert.ok(s.interpreted.cold > 0);
  const i = s.interpreted;
  assert.equal(s.instructions_translated + i.cold + i.pending + i.blocked + i.not_head + i.no_fit + i.other, Number(cpu.instret));
});

// Live modules are bounded: with room for two translations, four pages
// that take turns evict one another (the oldest goes), and every exit is
// still the interpreter's.
// (THREE_ENTRIES with each function in a page of its own.)
const FOUR_PAGES = THREE_ENTRIES.replace("#600", "#50").replace("    b f1\n", "    .balign 4096\n").replace("    b f2\n", "    .balign 4096\n");

test("live translations are bounded: past maxModules the oldest is evicted, and exits stay the interpreter's", () => {
  const bounded = { ...AT_ONCE, maxModules: 2 };
  for (const budget of [3n, 100n, 100000n]) assert.deepEqual(trace(bounded, budget, FOUR_PAGES), trace(OFF, budget, FOUR_PAGES), `budget ${budget}`);
  const { core, cpu } = bareCore(FOUR_PAGES, { jit: bounded });
  assert.equal(cpu.run(1_000_000n), Exit.HVC);
  assert.deepEqual([cpu.x(2), cpu.x(3), cpu.x(7)], [50n, 100n, 150n]);
  const s = core.jitStats();
  assert.ok(s.live_modules <= 2 && s.evicted > 0, JSON.stringify(s));
  assert.equal(s.pages_translated, s.evicted + s.live_modules, "every translation is live or was evicted");
});

// An evicted translation is garbage: nothing but its table slot held it.
// (Page modules that imported the function table stayed on V8's list of
// that table's importers for good, and every table.set walked the list.)
// The child counts instances made and collected while the core lives on.
test("evicted translations are collected while the core runs on", () => {
  const bare = new URL("../helpers/bare.js", import.meta.url).href;
  const script = `
    import { bareCore } from ${JSON.stringify(bare)};
    let made = 0, collected = 0;
    const registry = new FinalizationRegistry(() => { collected++; });
    WebAssembly.Instance = class extends WebAssembly.Instance {
      constructor(m, i) { super(m, i); made++; registry.register(this, 0); }
    };
    const { core, cpu } = bareCore(${JSON.stringify(FOUR_PAGES)}, { jit: ${JSON.stringify({ ...AT_ONCE, maxModules: 2 })} });
    cpu.run(1000000n);
    const s = core.jitStats();
    for (let i = 0; i < 20 && collected < s.evicted; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
    console.log(JSON.stringify({ made, collected, evicted: s.evicted, live: s.live_modules, x7: String(cpu.x(7)) }));
  `;
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { made: number; collected: number; evicted: number; live: number; x7: string };
  assert.equal(out.x7, "150");
  assert.ok(out.evicted >= 2, r.stdout);
  assert.equal(out.made, 2 + out.evicted + out.live, `the core's instance, the translator's and every translation's: ${r.stdout}`);
  assert.equal(out.collected, out.evicted, `every evicted translation and no live one: ${r.stdout}`);
});

// Heat decays: every heatDecay instructions the heat of frames without code
// is halved, so a page entered a little all along (here once every ~400
// instructions: ~10 entries between halvings, never more than ~20 heat)
// stays below the threshold, where without the halving it is translated at
// its 64th entry. Exits are the interpreter's either way.
const NOW_AND_THEN = `
    mov x1, #300
    adr x4, far
  outer:
    mov x2, #200
  spin:
    subs x2, x2, #1
    b.ne spin
    blr x4
    subs x1, x1, #1
    b.ne outer
    hvc #1
    .balign 4096
  far:
    add x0, x0, #1
    ret
`;

test("heat decays: a page entered now and then is not translated, and is without the halving", () => {
  const run = (heatDecay: number): JitStats => {
    const { core, cpu } = bareCore(NOW_AND_THEN, { jit: { ...AT_ONCE, threshold: 64, heatDecay } });
    // (Heat decays at the end of a run, as the hypervisor's slices end.)
    let r: number = Exit.BUDGET;
    for (let i = 0; i < 1000 && r === Exit.BUDGET; i++) r = cpu.run(1000n);
    assert.equal(r, Exit.HVC);
    assert.equal(cpu.x(0), 300n);
    return core.jitStats();
  };
  const decaying = run(4000), kept = run(0);
  assert.equal(decaying.pages_translated, 1, `only the busy loop's page: ${JSON.stringify(decaying)}`);
  assert.equal(kept.pages_translated, 2, JSON.stringify(kept));
  // The far page's ADD and RET interpreted on every call, against its first 63 without the halving.
  assert.equal(decaying.interpreted.cold - kept.interpreted.cold, (300 - 63) * 2, `${JSON.stringify(decaying.interpreted)} ${JSON.stringify(kept.interpreted)}`);
  for (const budget of [7n, 1000n, 100000n]) {
    assert.deepEqual(trace({ ...AT_ONCE, threshold: 64, heatDecay: 4000 } as typeof AT_ONCE, budget, NOW_AND_THEN), trace(OFF, budget, NOW_AND_THEN), `budget ${budget}`);
  }
});

test("XENTS_JIT_DECAY sets the instructions between halvings of heat; bad values are refused", () => {
  assert.deepEqual([jitOptionsFromEnv({}).threshold, jitOptionsFromEnv({}).heatDecay], [3000, 5_000_000]);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_DECAY: "0" }).heatDecay, 0);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_DECAY: "1000" }).heatDecay, 1000);
  for (const bad of ["-1", "1.5", "x", "4294967296"]) assert.throws(() => jitOptionsFromEnv({ XENTS_JIT_DECAY: bad }), /XENTS_JIT_DECAY/);
});

// Optimised compiles (src/cpu/jit/engine.ts): a translation that has retired
// optimizeAfter guest instructions is compiled again by V8's optimising
// compiler, from the same words and entries, into the same table slot.
const OPTIMISED = { ...AT_ONCE, optimizeAfter: 100 };

// The trace of `source` in baseline and in optimised code equals the
// interpreter's at every budget, and the run ends with `exit`.
function sameInBothTiers(source: string, budgets: bigint[], exit: number): void {
  for (const budget of budgets) {
    const a = trace(OFF, budget, source);
    assert.equal(a[a.length - 1].split(" ")[0], String(exit), a[a.length - 1]);
    assert.deepEqual(trace(AT_ONCE, budget, source), a, `baseline, budget ${budget}`);
    assert.deepEqual(trace(OPTIMISED, budget, source), a, `optimised, budget ${budget}`);
  }
}
// (Its data in a page of its own: stores into the code's page would have the translation invalidated.)
const LOOP_APART = LOOP.replace("  data:", "  .balign 4096\n  data:");

// Flags are computed lazily inside a translated block (translate_page.ts):
// ADDS/SUBS/ANDS keep their operands, conditions test those, and the packed
// NZCV is computed where it is read whole or the block is left. Here flags
// are pending at each way out from inside a block: a load that misses the
// TLB just flushed (translated code leaves and the interpreter runs it),
// MRS NZCV (the interpreter's), a
// condition with no fused form (VS), and an MMIO load at the end (the exit
// to the host). Baseline and optimised code keep the interpreter's NZCV,
// registers and exits at every budget. In the loops the flags come round
// the back edge pending: a condition at the top of loop2 reads them; in
// loop3 a load that misses the TLB (a new page each iteration) and the
// budget check at the loop's head are ways out before a condition reads
// them; loop4's last flag-setter is a CCMP, not the SUBS its words
// suggest, so its flags are computed at the back edge.
const FLAGS_PENDING = `
    adr x3, data
    mov x1, #40
    mov x0, #0
    mov x6, #0x9000000
  loop:
    adds x0, x0, x1
    tlbi vmalle1
    cmp x1, #20
    ldr x2, [x3, x1, lsl #3]
    csinc x5, x5, x5, hi
    mrs x9, nzcv
    add x8, x8, x9, lsr #28
    subs w7, w1, #30
    ldr x2, [x3]
    cset x9, vs
    add x8, x8, x9, lsl #8
    adds x4, x0, x0
    cset x9, cs
    add x8, x8, x9, lsl #16
    ands x4, x1, #6
    b.gt skip
    add x5, x5, #0x100
  skip:
    subs x1, x1, #1
    b.ne loop
    adr x4, loop
    mov x1, #30
  loop2:
    csinc x7, x7, x7, eq
    subs x1, x1, #1
    b.ne loop2
    mov x1, #30
  loop3:
    ldr x2, [x4]
    add x4, x4, #1, lsl #12
    csinc x5, x5, x5, eq
    add x0, x0, x2
    subs x1, x1, #1
    b.ne loop3
    mov x1, #20
  loop4:
    ldr x2, [x4]
    add x4, x4, #1, lsl #12
    csinc x8, x8, x8, mi
    subs x1, x1, #1
    ccmp x1, #9, #8, ne
    csinc x5, x5, x5, eq
    cbnz x1, loop4
    cmp x0, #3
    ldr x2, [x6]
    hvc #1
    .balign 4096
  data:
    .fill 512, 8, 3
`;

test("pending flags reach every way out of a translated block, baseline and optimised", () => {
  for (const budget of [1n, 5n, 13n, 1000n]) {
    const a = trace(OFF, budget, FLAGS_PENDING);
    assert.equal(a[a.length - 1].split(" ")[0], String(Exit.DABT), a[a.length - 1]);
    assert.deepEqual(trace(AT_ONCE, budget, FLAGS_PENDING), a, `baseline, budget ${budget}`);
    assert.deepEqual(trace(OPTIMISED, budget, FLAGS_PENDING), a, `optimised, budget ${budget}`);
    if (budget === 1000n) assert.ok(lastStats!.instructions_optimized > 0, JSON.stringify(lastStats));
  }
});

// The wasm loops in the translation of a program's first page from its
// start: baseline and optimised.
function wasmLoops(source: string): [number, number] {
  const code = assemble(source);
  const words = new Uint32Array(1024);
  words.set(new Uint32Array(code.buffer.slice(0, 4096)));
  return [translatePage(words, [0]).loops, translatePage(words, [0], true).loops];
}

// A loop entered in its middle, as GCC lays out the kernel's
// mpihelp_addmul_1 and submul_1 (half a boot's instructions): `b` past the
// loop's first instruction to the rest of its body, so that a head sits
// inside the body. The block from the loop's head runs on through it and
// is one self-looping block; ADC takes its carry in from the ADDS before
// it, pending; a second loop whose body holds an instruction the
// interpreter runs, and an MMIO load at the end.
const MID_ENTRY_LOOPS = `
    adr x3, data
    mov w2, #-40
    mov x0, #0
    mov x6, #7
    sxtw x5, w2
    add x3, x3, #320
    b mid
  top:
    sxtw x5, w2
  mid:
    ldr x4, [x3, x5, lsl #3]
    cmp x4, x6
    cinc x8, x8, lo
    adds x6, x6, x4
    str x6, [x3, x5, lsl #3]
    adc x0, x0, x4
    adds w2, w2, #1
    b.ne top
    mov x1, #12
    b mid2
  top2:
    mrs x9, nzcv
  mid2:
    subs x1, x1, #3
    add x7, x7, x9
    b.hi top2
    mov x6, #0x9000000
    ldr x2, [x6]
    hvc #1
    .balign 4096
  data:
    .fill 40, 8, 0x7000000000000001
    .fill 472, 8, 5
`;

test("a loop entered in its middle is one self-looping block, and exits, flags and ADC's carry are the interpreter's", () => {
  // Both loops are wasm loops (the heads `mid` and `mid2` have blocks of their own too).
  assert.deepEqual(wasmLoops(MID_ENTRY_LOOPS), [2, 2]);
  sameInBothTiers(MID_ENTRY_LOOPS, [9n, 10n, 17n, 23n, 1000n], Exit.DABT); // (below 9 no block fits)
});

// In a self-looping block whose registers are loaded before the loop, they
// stay in their locals round it and are stored only on the ways out. Ways
// out in a late iteration, with registers written after the access in the
// iterations before: a load that walks into a page the TLB does not hold
// yet (the interpreter runs it: the index and the sums must be in the vCPU
// block), the budget at any iteration, the loop's own end, and an MMIO load
// (the exit) chosen by CSEL in its twentieth iteration.
const RESIDENT_LOOPS = `
    adr x3, data
    mov x1, #0
    mov x0, #0
  walk:
    ldr x2, [x3, x1, lsl #3]
    add x0, x0, x2
    add x5, x0, x1
    add x1, x1, #1
    str x5, [x3]
    add x6, x6, #3
    cmp x1, #600
    b.ne walk
    mov x7, #0x9000000
  late:
    add x8, x8, #2
    cmp x8, #40
    csel x9, x7, x3, hs
    ldr x2, [x9]
    add x6, x6, x8
    b late
    .balign 4096
  data:
    .fill 1024, 8, 3
`;

test("a self-looping block's registers are stored on every way out, in whichever iteration, and nowhere else", () => {
  assert.deepEqual(wasmLoops(RESIDENT_LOOPS), [2, 2]); // both loops are wasm loops in both tiers
  sameInBothTiers(RESIDENT_LOOPS, [1n, 6n, 13n, 37n, 1000n, 5000n], Exit.DABT);
});

// Registers written in a block are stored once, at its end or before its
// next load or store, and before the interpreter or a helper that reads the
// vCPU block runs: an exclusive's base and data computed just before it
// (jitExclusive reads them from the vCPU block), an instruction the
// interpreter runs (MRS NZCV), a store and a load that miss the TLB, and
// an MMIO exit, each after registers written twice. (The data page is in
// the TLB from the start, so that the helper takes the exclusives rather
// than the interpreter, and the limbs differ, so that a stale base shows.)
const DIRTY_AT_EXITS = `
    adr x9, data
    ldr x4, [x9]
    mov x1, #3
  again:
    add x4, x9, #8
    add x4, x4, x1, lsl #3
    ldxr x3, [x4]
    add x3, x3, x1
    add x3, x3, #1
    stxr w5, x3, [x4]
    add x6, x5, x3
    add x6, x6, #1
    mrs x7, nzcv
    add x8, x6, x7
    add x8, x8, x8
    str x8, [x9, x1, lsl #3]
    add x2, x9, #1, lsl #12
    add x2, x2, x1, lsl #12
    ldr x2, [x2]
    subs x1, x1, #1
    b.ne again
    mov x10, #0x9000000
    add x0, x0, #1
    add x0, x0, x8
    ldr x2, [x10]
    hvc #1
    .balign 4096
  data:
    .quad 11, 12, 13, 14, 15, 16, 17, 18
    .fill 2040, 8, 9
`;

// An exclusive's base written after the load that put its page in the TLB:
// jitExclusive must find the new one in the vCPU block.
const EXCLUSIVE_AFTER_WRITE = `
    adr x9, data
    add x4, x9, #8
    ldr x0, [x4]
    add x4, x4, #8
    ldxr x3, [x4]
    add x3, x3, #1
    add x5, x4, #8
    stxr w6, x3, [x5]
    ldr x7, [x5]
    ldr x8, [x4]
    hvc #1
    .balign 4096
  data:
    .quad 11, 12, 13, 14, 15
`;

test("registers written in a block are stored once in optimised code, and are in the vCPU block at every way out of it in both tiers", () => {
  sameInBothTiers(EXCLUSIVE_AFTER_WRITE, [11n, 1000n], Exit.HVC);
  const words = new Uint32Array(1024);
  words.set(new Uint32Array(assemble("add x0, x0, #1\n add x0, x0, #2\n add x0, x0, #3\n add x1, x0, #4\n add x0, x1, #5\n hvc #0").buffer.slice(0, 24)));
  assert.equal(translatePage(words, [0], true).stores, 2, "optimised code: x0 and x1, once each, before the interpreter's HVC");
  assert.equal(translatePage(words, [0]).stores, 5, "baseline code: each write, where it is made");
  sameInBothTiers(DIRTY_AT_EXITS, [3n, 4n, 7n, 11n, 1000n], Exit.DABT);
});

// The SBFM/UBFM aliases translated as shifts, sign extensions and masks
// (LSR, ASR, LSL by constants, SXTB/SXTH/SXTW, UXTB/UXTH, UBFX, SBFX, of W
// and X registers) against the interpreter, on edge values (each result
// added to an accumulator rotated first, so that no difference cancels).
const BITFIELD_ALIASES = `
    adr x9, vals
    mov x1, #6
  next:
    ldr x4, [x9], #8
    lsr x2, x4, #13
    eor x0, x2, x0, ror #7
    lsr w2, w4, #7
    eor x0, x2, x0, ror #3
    lsr x2, x4, #0
    eor x0, x2, x0, ror #5
    asr x2, x4, #61
    eor x3, x2, x3, ror #7
    asr w2, w4, #3
    eor x3, x2, x3, ror #5
    asr w2, w4, #0
    eor x3, x2, x3, ror #9
    lsl x2, x4, #17
    eor x5, x2, x5, ror #7
    lsl w2, w4, #9
    eor x5, x2, x5, ror #7
    lsl x2, x4, #63
    eor x5, x2, x5, ror #1
    sxtb x2, w4
    eor x6, x2, x6, ror #7
    sxth x2, w4
    eor x6, x2, x6, ror #11
    sxtw x2, w4
    eor x6, x2, x6, ror #13
    sxtb w2, w4
    eor x7, x2, x7, ror #7
    sxth w2, w4
    eor x7, x2, x7, ror #17
    uxtb w2, w4
    eor x7, x2, x7, ror #31
    uxth w2, w4
    eor x7, x2, x7, ror #37
    ubfx x2, x4, #5, #21
    eor x8, x2, x8, ror #7
    ubfx w2, w4, #9, #13
    eor x8, x2, x8, ror #19
    ubfx x2, x4, #1, #63
    eor x8, x2, x8, ror #3
    ubfx x2, x4, #5, #1
    eor x8, x2, x8, ror #43
    sbfx x2, x4, #3, #40
    eor x8, x2, x8, ror #23
    sbfx w2, w4, #12, #13
    eor x8, x2, x8, ror #13
    sbfx w2, w4, #20, #12
    eor x8, x2, x8, ror #29
    sbfx x2, x4, #0, #1
    eor x8, x2, x8, ror #47
    subs x1, x1, #1
    b.ne next
    hvc #1
  vals:
    .quad 0x8000000000000001, 0x7fffffff80000000, 0xdeadbeefcafef00d, 0x0123456789abcdef, 0xffffffffffffffff, 0x0000000080008080
`;

test("SBFM/UBFM aliases (shifts, extensions, bitfield extracts) translate as interpreted, baseline and optimised", () => {
  sameInBothTiers(BITFIELD_ALIASES, [7n, 1000n], Exit.HVC);
});

test("a translation that has run optimizeAfter instructions is optimised once, and every exit is still the interpreter's", () => {
  for (const budget of [7n, 1000n]) {
    const a = trace(OFF, budget, LOOP_APART), b = trace(OPTIMISED, budget, LOOP_APART);
    assert.deepEqual(b, a, `budget ${budget}`);
    assert.equal(lastStats!.optimized, 1, JSON.stringify(lastStats));
    // Counted as run optimised: what the page ran once its first 100 had
    // asked for the optimised code (the swap is at once here).
    const s = lastStats!;
    assert.ok(s.instructions_optimized > 0 && s.instructions_optimized <= s.instructions_translated - 100, JSON.stringify(s));
  }
  trace(AT_ONCE, 1000n, LOOP_APART);
  assert.equal(lastStats!.optimized, 0, "never, without optimizeAfter");
  assert.equal(lastStats!.instructions_optimized, 0);
});

// Optimised code does not call the interpreter for a load or store whose
// fast path misses (a TLB miss, a page crossing, MMIO, a fault, a store to
// code): TurboFan took ~26% longer to compile pages with those call sites.
// It stops before the instruction (returning 4, pc there), and the
// interpreter runs it and the rest of its block. Here a pair load across a
// page boundary misses on every iteration.
const CROSSING = `
    adr x3, data
    add x3, x3, #4088
    mov x1, #300
  loop:
    add x0, x0, x1
    ldp x2, x6, [x3]
    add x5, x5, x2
    subs x1, x1, #1
    b.ne loop
    hvc #1
    .balign 4096
  data:
    .skip 4088
    .quad 0x1122334455667788, 0x99AABBCCDDEEFF00
`;

test("translated code stops before a load that misses its fast path; the interpreter runs it and the rest of its block", () => {
  for (const budget of [29n, 1000n]) {
    const a = trace(OFF, budget, CROSSING);
    for (const tier of [AT_ONCE, OPTIMISED]) {
      assert.deepEqual(trace(tier, budget, CROSSING), a, `budget ${budget}`);
      const s = lastStats!;
      assert.equal(s.optimized, tier === OPTIMISED ? 1 : 0, JSON.stringify(s));
      // The ADD runs translated, then LDP, ADD, SUBS and B.NE interpreted.
      assert.ok(s.interpreted.slow_path > 0, JSON.stringify(s.interpreted));
    }
  }
});

const LONG_LOOP = LOOP_APART.replace("mov x1, #300", "mov x1, #20000");

// The far page is entered only by chaining (the run starts and ends in the
// first page): its instructions count towards its own optimised compile.
const CHAINED_HOT = callsFarPage(20, `
    mov x2, #50
  spin:
    add x0, x0, x2
    subs x2, x2, #1
    b.ne spin
    ret`);

test("a page entered only from other translated pages is optimised for what it runs there", () => {
  for (const budget of [13n, 1000n, 100000n]) {
    const a = trace(OFF, budget, CHAINED_HOT), b = trace(OPTIMISED, budget, CHAINED_HOT);
    assert.deepEqual(b, a, `budget ${budget}`);
  }
  // One run: the far page retires 20 * 152 instructions, the first 2 + 20 * 3 + 1.
  const { core, cpu } = bareCore(CHAINED_HOT, { jit: { ...OPTIMISED, optimizeAfter: 1000 } });
  assert.equal(cpu.run(1_000_000n), Exit.HVC);
  const s = core.jitStats();
  assert.equal(s.optimized, 1, JSON.stringify(s));
  assert.equal(s.calls, 2, "entries from the run loop: the start and the far page's first");
});

// An optimised page is translated (and compiled) again for an entry that
// is not a head only after 2048 misses there, not 256: the far page is
// optimised by its first call (150 instructions, optimizeAfter 100), then
// `late` misses on every call.
function optimisedThenLate(n: number): string {
  return farThenLate(n, FAR_AND_LATE.replace("    add x0, x0, #1\n", "    mov x2, #50\n  spin:\n    add x0, x0, x2\n    subs x2, x2, #1\n    b.ne spin\n"));
}

test("an optimised page is translated again for an entry that is not a head after 2048 misses there, not 256", () => {
  sameAsInterpreted(optimisedThenLate(300), [5n, 1000n, 100000n], Exit.HVC);
  const run = (n: number): JitStats => lateCalls(optimisedThenLate(n), 8, BigInt(n), OPTIMISED);
  let s = run(300);
  assert.equal(s.optimized, 2, `both pages optimised: ${JSON.stringify(s)}`);
  assert.equal(s.retranslations, 0, JSON.stringify(s));
  assert.equal(s.interpreted.not_head, 300 * 2, JSON.stringify(s.interpreted));
  s = run(2100);
  assert.equal(s.retranslations, 1, JSON.stringify(s));
  assert.equal(s.optimized, 3, `the far page translated again optimised at once: ${JSON.stringify(s)}`);
  assert.equal(s.interpreted.not_head, 2048 * 2, JSON.stringify(s.interpreted));
});

test("an optimised compile made in the background takes over from a later run, with every exit the interpreter's", async () => {
  const reference = trace(OFF, 1000n, LONG_LOOP);
  const { core, cpu } = bareCore(LONG_LOOP, { jit: { ...BACKGROUND, optimizeAfter: 2000 } });
  const out: string[] = [];
  let r: number = Exit.BUDGET;
  let optimisedAt = -1;
  while (r === Exit.BUDGET) {
    // Give the worker time while nothing is optimised yet.
    if (core.jitStats().optimized === 0) await new Promise((res) => setTimeout(res, 1));
    r = cpu.run(1000n);
    const regs = [0, 1, 2, 3, 5, 6, 7, 8].map((n) => cpu.x(n).toString(16)).join(",");
    out.push(`${r} ${cpu.instret} ${cpu.pc.toString(16)} ${cpu.nzcv} ${regs}`);
    if (optimisedAt < 0 && core.jitStats().optimized === 1) optimisedAt = out.length;
  }
  assert.ok(optimisedAt > 0 && optimisedAt < out.length - 10, `optimised after run ${optimisedAt} of ${out.length}`);
  assert.equal(core.jitStats().optimized, 1);
  assert.deepEqual(out, reference);
});

test("an optimised compile of a translation that went before it arrived is dropped", async () => {
  const { core, cpu } = bareCore(LONG_LOOP, { jit: { ...BACKGROUND, optimizeAfter: 2000 } });
  await until("the background translation", () => { cpu.run(10n); return core.jitStats().pages_translated === 1; });
  // Past optimizeAfter: the optimised compile is asked for (the MMU is off:
  // each iteration's loads leave translated code, ~5 of its 13 instructions run there) ...
  assert.equal(cpu.run(20000n), Exit.BUDGET);
  // ... and the translation goes (a host write to its frame, of the same words).
  const words = core.ram(RAM_BASE, 4096).slice();
  core.ram(RAM_BASE, 4096).set(words);
  core.noteWrite(core.hostOffset(RAM_BASE), 4096);
  await until("the optimised compile", () => { core.jit.poll(); return core.jitStats().dropped === 1; });
  assert.equal(core.jitStats().optimized, 0);
  assert.equal(cpu.run(1_000_000n), Exit.HVC);
  assert.equal(cpu.x(1), 0n);
});

// A page whose translation was optimised, then entered where it has no
// head (\`late\`, 2048 times, 2100 calls): its new translation is compiled
// optimised at once, not baseline first and optimised again 100
// instructions later.
const HOT_THEN_LATE = CHAIN_NOT_HEAD.replace("  loop:\n    blr x6", "  loop:\n    blr x4\n    blr x6").replace("mov x1, #300", "mov x1, #2100");

// V8's --trace-wasm-compilation-times lines ("Compiled function
// <module>#<index> using <tier>") split into the core's (the module with
// the most functions), the translator's (src/cpu/translator: the other
// module of more than one function) and the translated pages' (each the
// only function of its module, after the imports, at index JIT_FUNCS.length).
function compiles(stdout: string): { core: string[]; translator: string[]; pages: string[] } {
  const lines = stdout.split("\n").filter((l) => l.startsWith("Compiled function"));
  const moduleOf = (l: string): string => /^Compiled function (\S+)#/.exec(l)?.[1] ?? "";
  const indexOf = (l: string): number => Number(/#(\d+) using/.exec(l)?.[1]);
  const functions = new Map<string, Set<number>>();
  for (const l of lines) functions.set(moduleOf(l), (functions.get(moduleOf(l)) ?? new Set()).add(indexOf(l)));
  const many = [...functions].filter(([, f]) => f.size > 1).sort((a, b) => b[1].size - a[1].size).map(([m]) => m);
  assert.ok(many.length <= 2, `modules of several functions: the core's and the translator's only (${many.length})`);
  const pages = lines.filter((l) => !many.includes(moduleOf(l)));
  assert.ok(pages.every((l) => indexOf(l) === JIT_FUNCS.length), pages.join("\n"));
  return { core: lines.filter((l) => moduleOf(l) === many[0]), translator: lines.filter((l) => moduleOf(l) === many[1]), pages };
}

test("a page translated again after its translation was optimised is compiled optimised at once", () => {
  sameAsInterpreted(HOT_THEN_LATE, [5n, 1000n, 100000n], Exit.HVC);
  const bare = new URL("../helpers/bare.js", import.meta.url).href;
  const script = `
    import { bareCore } from ${JSON.stringify(bare)};
    const { core, cpu } = bareCore(${JSON.stringify(HOT_THEN_LATE)}, { jit: ${JSON.stringify({ ...OPTIMISED, maxEntries: 8 })} });
    cpu.run(1000000n);
    console.log("STATS " + JSON.stringify(core.jitStats()) + " X " + cpu.x(0) + " " + cpu.x(5));
  `;
  const r = spawnSync(process.execPath, ["--trace-wasm-compilation-times", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, / X 2101 2100\n/);
  const stats = JSON.parse(/STATS (.*) X/.exec(r.stdout)![1]) as JitStats;
  assert.equal(stats.retranslations, 1, JSON.stringify(stats));
  assert.equal(stats.optimized, 3, "both pages after 100 instructions, and the far page's new translation");
  const { pages } = compiles(r.stdout);
  const compiled = (tier: string): number => pages.filter((l) => l.includes(`using ${tier}`)).length;
  assert.equal(compiled("Liftoff"), 2, r.stdout);
  assert.equal(compiled("TurboFan"), 3, r.stdout);
});

test("XENTS_JIT_OPTIMIZE sets the instructions before an optimised compile; bad values are refused", () => {
  assert.equal(jitOptionsFromEnv({}).optimizeAfter, 2_000_000);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_OPTIMIZE: "0" }).optimizeAfter, 0);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_OPTIMIZE: "1000" }).optimizeAfter, 1000);
  for (const bad of ["-1", "1.5", "x", "4294967296"]) assert.throws(() => jitOptionsFromEnv({ XENTS_JIT_OPTIMIZE: bad }), /XENTS_JIT_OPTIMIZE/);
});

// Which compiler V8 used, from its own trace in a child process: the core's
// functions are all optimised from the start, a translated page's function
// (the only function of its module, after the imported ones) is compiled by the baseline
// compiler and, once it has run optimizeAfter instructions, by the
// optimising one (not V8's cached baseline module for the same bytes).
test("V8 compiles the core and the translator optimised, translated pages baseline first and optimised when asked", () => {
  const bare = new URL("../helpers/bare.js", import.meta.url).href;
  const script = `
    import { bareCore } from ${JSON.stringify(bare)};
    const { core, cpu } = bareCore(${JSON.stringify(LOOP_APART)}, { jit: ${JSON.stringify(OPTIMISED)} });
    cpu.run(1000000n);
    console.log("STATS " + JSON.stringify(core.jitStats()));
  `;
  const r = spawnSync(process.execPath, ["--trace-wasm-compilation-times", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const { core, translator, pages } = compiles(r.stdout);
  const translated = (tier: string): number => pages.filter((l) => l.includes(`using ${tier}`)).length;
  assert.equal(translated("Liftoff"), 1, r.stdout);
  assert.equal(translated("TurboFan"), 1, r.stdout);
  // Every other function compiled is the core's or the translator's, and optimised.
  assert.ok(core.length > 100 && core.every((l) => l.includes("using TurboFan")), core.filter((l) => !l.includes("TurboFan")).join("\n"));
  assert.ok(translator.length > 10 && translator.every((l) => l.includes("using TurboFan")), translator.filter((l) => !l.includes("TurboFan")).join("\n"));
  assert.match(r.stdout, /"optimized":1/);
});

// Pages are translated along what the interpreter ran while they were cold
// (JitOptions.pruned): a path that had not run is left out, and reaching it
// leaves translated code (5) with the interpreter's pc and count; when that
// has happened 256 times the page is translated again with what has run
// since. Here a branch skips two instructions for the first 1000 of 2000
// iterations: the page is hot long before they run.
const RARE_PATH = `
    mov x0, #0
    mov x1, #2000
  loop:
    add x0, x0, #1
    cmp x1, #1000
    b.hi skip
    add x5, x5, #2
    add x6, x6, x0
  skip:
    subs x1, x1, #1
    b.ne loop
    hvc #1
`;
const PRUNED = { enabled: true, threshold: 64, maxModules: 64, pruned: true };

test("a path that had not run when its page was translated leaves to the interpreter, exactly, until the page is translated with it", () => {
  for (const budget of [1n, 7n, 100n, 1000n, 100000n]) {
    const a = trace(OFF, budget, RARE_PATH), b = trace(PRUNED, budget, RARE_PATH);
    assert.equal(a[a.length - 1].split(" ")[0], String(Exit.HVC));
    assert.deepEqual(b, a, `budget ${budget}`);
  }
  const { core, cpu } = bareCore(RARE_PATH, { jit: PRUNED });
  assert.equal(cpu.run(10_000_000n), Exit.HVC);
  assert.equal(cpu.x(5), 2000n);
  const s = core.jitStats();
  // add, add, subs, b.ne interpreted at each of 256 exits, then the path is
  // translated; and the HVC after the loop, which had not run either
  assert.equal(s.interpreted.untranslated, 256 * 4 + 1, JSON.stringify(s));
  assert.equal(s.retranslations, 1, JSON.stringify(s));
  // not pruned: the path was translated from the start
  const whole = bareCore(RARE_PATH, { jit: { ...PRUNED, pruned: false } });
  assert.equal(whole.cpu.run(10_000_000n), Exit.HVC);
  assert.equal(whole.core.jitStats().interpreted.untranslated, 0);
  assert.equal(whole.core.jitStats().retranslations, 0);
});

test("at threshold 0 (the differential tests' mode) pages are translated whole: nothing has run yet", () => {
  const { core, cpu } = bareCore(RARE_PATH, { jit: { ...AT_ONCE, pruned: true } });
  assert.equal(cpu.run(10_000_000n), Exit.HVC);
  const s = core.jitStats();
  assert.equal(s.interpreted.untranslated, 0, JSON.stringify(s));
  assert.equal(s.retranslations, 0, JSON.stringify(s));
});

test("XENTS_JIT_PRUNED=0 translates pages whole; by default only what has run", () => {
  assert.equal(jitOptionsFromEnv({}).pruned, true);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_PRUNED: "0" }).pruned, false);
  assert.equal(jitOptionsFromEnv({ XENTS_JIT_PRUNED: "1" }).pruned, true);
});

// The optimised compile of a page is made along what has run by then, not
// what had run at its baseline translation: here the optimised compile
// comes ~50 iterations after the rare path began, and takes it in, so it
// never leaves for it again (a compile along the old bits would have left
// 256 times and been translated again).
test("an optimised compile takes in the paths that ran since the page's baseline translation", () => {
  const opt = { ...PRUNED, optimizeAfter: 5000 };
  for (const budget of [13n, 100000n]) assert.deepEqual(trace(opt, budget, RARE_PATH), trace(OFF, budget, RARE_PATH), `budget ${budget}`);
  const { core, cpu } = bareCore(RARE_PATH, { jit: opt });
  assert.equal(cpu.run(10_000_000n), Exit.HVC);
  const s = core.jitStats();
  assert.equal(s.optimized, 1, JSON.stringify(s));
  assert.equal(s.retranslations, 0, JSON.stringify(s));
  assert.ok(s.interpreted.untranslated > 4 && s.interpreted.untranslated < 256 * 4, JSON.stringify(s));
});
