// Option values the commands parse themselves are checked before anything
// else happens (no host is needed to see the error).
import { test } from "node:test";
import assert from "node:assert/strict";
import { xlCommands } from "../../src/tools/cmd_xl.js";
import { UsageError, parseArgs } from "../../src/tools/args.js";
import { ASSIGNABLE_OPTIONS, assignableDisks, assignableNics } from "../../src/tools/linux_dom0_options.js";
import { benchCommand } from "../../src/tools/cmd_bench.js";
import type { HostFactory } from "../../src/tools/cmd_demo.js";
import { medianIndex } from "../../src/tools/bench_boot.js";

test("top refuses a delay or an iteration count that is not a positive number (-d abc was NaN: a busy loop)", async () => {
  const top = xlCommands().top;
  for (const argv of [["-d", "abc"], ["-d", "0"], ["-d", "-1"], ["-d"], ["-i", "x"], ["-i", "0"], ["-i", "1.5"], ["-i"], ["-x", "1"]]) {
    await assert.rejects(async () => top.run(argv), (e: unknown) => e instanceof UsageError, `xents top ${argv.join(" ")}`);
  }
});

test("bench takes each benchmark's own options through the one parser: another benchmark's option, a bad number or a stray word is refused before anything runs", async () => {
  const bench = benchCommand({} as HostFactory); // nothing is booted: every case fails in parsing
  for (const argv of [["cpu", "--span", "3"], ["cpu", "--iterations", "abc"], ["blk", "--format", "vmdk"], ["net", "--mib"], ["net", "16"],
    ["boot", "--dom0", "linux", "--vcpus", "2"], ["boot", "--dom0", "other"], ["boot", "--rounds", "0"], ["boot", "--rounds", "21"],
    ["boot", "--reference", "kvm"], ["boot", "--reference", "none", "--rounds", "2"], ["boot", "--dom0", "linux", "--rounds", "2"], ["nosuch"], ["constructor"]]) {
    await assert.rejects(async () => bench.run(argv), (e: unknown) => e instanceof UsageError, `xents bench ${argv.join(" ")}`);
  }
});

test("--assignable-disk and --assignable-nic are checked before a host starts: a bad interface name, a TAP named twice, too many", () => {
  const nics = (...names: string[]): string[] => assignableNics(parseArgs(names.flatMap((n) => ["--assignable-nic", n]), ASSIGNABLE_OPTIONS));
  assert.deepEqual(nics("xtap0", "xtap1"), ["xtap0", "xtap1"]);
  assert.deepEqual(nics(), []);
  assert.throws(() => nics("bad/name"), (e: Error) => e instanceof UsageError && /--assignable-nic bad\/name: an interface name/.test(e.message));
  assert.throws(() => nics("a-very-long-interface-name"), UsageError);
  assert.throws(() => nics("t", "t"), /each NIC needs a TAP device of its own/);
  assert.throws(() => nics("a", "b", "c", "d", "e"), /at most 4 NICs/);
  assert.throws(() => assignableDisks(parseArgs(["--assignable-disk", "qcow2:/nonexistent/x.img,ro"], ASSIGNABLE_OPTIONS)), /--assignable-disk qcow2:\/nonexistent\/x.img,ro: \/nonexistent\/x.img does not exist/);
});

test("bench boot's median is a round that ran: the middle one, or the lower middle of an even count", () => {
  assert.equal(medianIndex([3.1, 2.2, 2.9]), 2);
  assert.equal(medianIndex([2.5]), 0);
  assert.equal(medianIndex([4, 1, 3, 2]), 3); // 2 (index 3) of 1, 2, 3, 4
  assert.equal(medianIndex([2, 2, 1]), 0);
});

test("bench without --json prints a line per figure, nested ones (a profile, rounds) as JSON rather than [object Object]", async () => {
  const result = { benchmark: "demo", ratio: 1.5, rounds: [{ a: 1 }, { a: 2 }], profile: { exits: { HVC: 3 } }, note: null };
  const bench = benchCommand({} as HostFactory, { demo: { options: {}, run: () => result } });
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => { lines.push(s); return true; }) as typeof process.stdout.write;
  try {
    assert.equal(await bench.run(["demo"]), 0);
  } finally {
    process.stdout.write = write;
  }
  assert.deepEqual(lines, [
    `${"benchmark".padEnd(16)} demo\n`, `${"ratio".padEnd(16)} 1.5\n`, `${"rounds".padEnd(16)} [{"a":1},{"a":2}]\n`,
    `${"profile".padEnd(16)} {"exits":{"HVC":3}}\n`, `${"note".padEnd(16)} null\n`,
  ]);
});
