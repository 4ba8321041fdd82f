// The CLI's one option parser (src/tools/args.ts, on Node's util.parseArgs):
// xents' own --options and xl's grouped single-letter flags, each bad use a
// UsageError in the CLI's words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs, parseFlags, UsageError, wholeNumber } from "../../src/tools/args.js";

test("parseArgs: values, whole numbers, repeated options, positionals anywhere, and every misuse refused by name", () => {
  assert.deepEqual(parseArgs(["--memory", "256", "x", "--json", "--dom0-disk", "a", "--dom0-disk=b", "--", "--y"], { memory: "int", json: "bool", "dom0-disk": "list" }),
    { _: ["x", "--y"], memory: 256, json: true, "dom0-disk": ["a", "b"] });
  const bad: [string[], RegExp][] = [
    [["--memory", "abc"], /^--memory wants a whole number, not 'abc'$/],
    [["--memory", "-1"], /^--memory needs a value/],
    [["--bogus"], /^unknown option --bogus$/],
    [["-m", "5"], /^unknown option -m$/],
    [["--json=1"], /^--json takes no value$/],
    [["--memory"], /^--memory needs a value$/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseArgs(argv, { memory: "int", json: "bool" }), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(" "));
});

test("parseFlags: xl's letters, grouped or apart, among positionals; an unknown letter is refused", () => {
  const { f, rest } = parseFlags(["-pc", "guest.cfg", "memory=512", "-q"], "cpnqe");
  assert.deepEqual([...f].sort(), ["c", "p", "q"]);
  assert.deepEqual(rest, ["guest.cfg", "memory=512"]);
  assert.throws(() => parseFlags(["-x", "a"], "cp"), (e: unknown) => e instanceof UsageError && e.message === "unknown option -x");
  assert.throws(() => parseFlags(["--long"], "cp"), (e: unknown) => e instanceof UsageError && e.message === "unknown option --long");
});

test("parseFlags: letters that take a value (-d 5, -d5, grouped after flags), the last one counting; a missing value refused", () => {
  const { f, v, rest } = parseFlags(["-t", "-e", "^A", "guest", "-d5", "-d", "7"], "t", "ed");
  assert.deepEqual([...f], ["t"]);
  assert.deepEqual(Object.fromEntries(v), { e: "^A", d: "7" });
  assert.deepEqual(rest, ["guest"]);
  assert.deepEqual(Object.fromEntries(parseFlags(["-te", "none", "g"], "t", "e").v), { e: "none" });
  assert.throws(() => parseFlags(["guest", "-e"], "t", "e"), (e: unknown) => e instanceof UsageError && e.message === "-e needs a value");
  assert.throws(() => parseFlags(["-w", "3"], "", "d"), (e: unknown) => e instanceof UsageError && e.message === "unknown option -w");
});

test("wholeNumber: digits only, at least the minimum, refused in the option's words", () => {
  assert.equal(wholeNumber("256", "-w (weight)", 1), 256);
  assert.equal(wholeNumber("0", "-c (cap)"), 0);
  for (const [bad, min] of [["abc", 0], ["-1", 0], ["1.5", 0], ["", 0], ["0", 1]] as const) {
    assert.throws(() => wholeNumber(bad, "-i (iterations)", min), (e: unknown) => e instanceof UsageError && e.message.startsWith("-i (iterations) wants a whole number") && e.message.includes(`'${bad}'`), bad);
  }
});
