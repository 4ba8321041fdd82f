// Debian's static busybox for arm64 under `xents run-user` against the same
// binary under qemu-aarch64: shell scripts (loops, arithmetic, pipes, command
// substitution, traps) and applets (sort, checksums, gzip, awk, sed, wc, cut,
// tr) must give the same stdout bytes, the same exit status and stderr in the
// same cases. The differential cases use only shell builtins and applets
// busybox runs in-process: qemu-user cannot execve an arm64 program (busybox
// re-executing itself through /proc/self/exe fails there), so applets that
// sh executes are checked under xents alone, against known answers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir, constants as osConstants } from "node:os";
import { delimiter, join } from "node:path";
import { runUserProgram } from "../../src/linux_user/runner.js";
import { busyboxBinary } from "../../src/tools/images.js";

function findQemu(): string | null {
  for (const d of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(d, "qemu-aarch64");
    if (d && existsSync(p)) return p;
  }
  return null;
}

function findBusybox(): { path: string } | { error: string } {
  try {
    return { path: busyboxBinary() };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

const qemu = findQemu();
const bb = findBusybox();
const skip = !qemu ? "qemu-aarch64 is not installed" : "error" in bb ? `busybox-static for arm64 is not available: ${bb.error}` : false;
const BB = "path" in bb ? bb.path : "";

// A fixed, small environment: no PATH to host programs, so that nothing the
// shell runs can silently be a host binary.
const ENV = { PATH: "/nonexistent-xents-path", LC_ALL: "C", HOME: "/" };

interface Outcome { stdout: Buffer; stderr: Buffer; status: number; }

function underQemu(dir: string, argv: string[], stdin?: Uint8Array): Outcome {
  const r = spawnSync(qemu!, [BB, ...argv], { cwd: dir, env: ENV, input: stdin, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? 128 + (r.signal ? osConstants.signals[r.signal] : 0) };
}

function underXents(dir: string, argv: string[], stdin?: Uint8Array): Outcome & { log: string } {
  const out: Uint8Array[] = [], err: Uint8Array[] = [];
  let log = "";
  const r = runUserProgram(new Uint8Array(readFileSync(BB)), {
    argv: ["busybox", ...argv], exePath: BB, cwd: dir, env: Object.entries(ENV).map(([k, v]) => `${k}=${v}`),
    stdin: stdin ?? new Uint8Array(0), stdout: (b) => out.push(b), stderr: (b) => err.push(b),
    log: (l) => { log += l + "\n"; }, ramSize: 256 << 20, maxInstructions: 20_000_000_000n,
  });
  const status = "code" in r.status ? r.status.code : 128 + r.status.signal;
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), status, log };
}

interface Case { argv: string[]; stdin?: Uint8Array; }
const sh = (script: string): Case => ({ argv: ["sh", "-c", script] });
const applet = (...argv: string[]): Case => ({ argv });

function show(b: Buffer): string {
  const s = b.toString("latin1");
  return JSON.stringify(s.length > 300 ? s.slice(0, 300) + "..." : s);
}

// Run every case both ways; one assertion listing every difference.
function differential(dir: string, cases: Case[]): void {
  const bad: string[] = [];
  for (const c of cases) {
    const q = underQemu(dir, c.argv, c.stdin);
    const x = underXents(dir, c.argv, c.stdin);
    const what = c.argv.join(" ");
    if (!q.stdout.equals(x.stdout)) {
      let i = 0;
      while (i < q.stdout.length && q.stdout[i] === x.stdout[i]) i++;
      bad.push(`${what}: stdout differs at byte ${i} (qemu ${q.stdout.length} bytes ${show(q.stdout.subarray(i))}, xents ${x.stdout.length} bytes ${show(x.stdout.subarray(i))})`);
    }
    if (q.status !== x.status) bad.push(`${what}: exit status qemu ${q.status}, xents ${x.status} (xents stderr ${show(x.stderr)}${x.log ? ", log " + x.log : ""})`);
    if ((q.stderr.length > 0) !== (x.stderr.length > 0)) bad.push(`${what}: stderr qemu ${show(q.stderr)}, xents ${show(x.stderr)}`);
  }
  assert.deepEqual(bad, []);
}

// ---- deterministic input files
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
}

function makeFiles(dir: string): void {
  const r = lcg(12345);
  const nums: string[] = [];
  for (let i = 0; i < 3000; i++) nums.push(String((r() % 20001) - 10000));
  writeFileSync(join(dir, "nums.txt"), nums.join("\n") + "\n");
  const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"];
  const lines: string[] = [];
  for (let i = 0; lines.join("\n").length < 200 * 1024 && i < 100000; i++) {
    const w: string[] = [];
    for (let j = 0; j < 6; j++) w.push(words[r() % words.length]);
    lines.push(`${w.join(" ")} ${i} ${((r() % 1000000) / 7919).toFixed(4)}`);
  }
  writeFileSync(join(dir, "text.txt"), lines.join("\n") + "\n");
  const data = new Uint8Array(200 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = r() >>> 24;
  writeFileSync(join(dir, "data.bin"), data);
  const dup: string[] = [];
  for (let i = 0; i < 2000; i++) dup.push(words[r() % words.length] + (r() % 3));
  writeFileSync(join(dir, "words.txt"), dup.join("\n") + "\n");
}

let dir = "";
test.before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "xents-busybox-"));
  makeFiles(dir);
});
test.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

test("busybox sh: arithmetic, loops, functions, exit statuses", { skip }, () => {
  differential(dir, [
    sh("i=0; s=0; while [ $i -lt 200 ]; do s=$((s+i*i)); i=$((i+1)); done; echo $s"),
    sh("for x in 1 2 3 4 5; do for y in a b; do printf '%s%s ' $x $y; done; done; echo"),
    sh("f() { return $(( $1 % 5 )); }; f 13; echo $?; (exit 3); echo $?; set -- a b c; echo $# \"$@\"; shift; echo $1"),
    sh("case foo in f*) echo match;; esac; [ -f nums.txt ] && echo file; test 3 -gt 2 && echo yes; expr 3 + 4 \\* 5"),
    sh("x=10; while :; do x=$((x-3)); [ $x -lt 0 ] && break; done; echo $x; echo $((0x1f << 2)) $((7 / 2)) $((-7 % 3))"),
    applet("false"),
    applet("true"),
    sh("exit 7"),
    sh("false || exit 42"),
    applet("cat", "no-such-file"),
    sh("echo out; echo err >&2; exit 3"),
  ]);
});

test("busybox sh: pipes, command substitution, here-documents, redirections, signals", { skip }, () => {
  differential(dir, [
    sh("seq 1 500 | sort -r | head -3"),
    sh("seq 1 100000 | head -1; echo $?"),
    sh("a=$(seq 1 100 | sort -rn | head -1); b=$(echo \"$(echo nested) x\"); echo \"$a|$b|$(( $(seq 5 9 | head -1) * 7 ))\""),
    sh("seq 3 | while read n; do echo \"n=$n\"; done; echo $(seq 1 5 | sort -rn)"),
    sh("read a b c <<EOF\nhere $((6*7)) $(echo sub)\nEOF\necho \"$c $b $a\"; head -1 <<'X'\nliteral $x\nX"),
    sh("echo hello > o.txt; echo more >> o.txt; read x < o.txt; echo $x; head -2 < o.txt; rm o.txt; [ -e o.txt ] || echo gone"),
    sh("seq 1 2000 | sort -n | md5sum; seq 1 30000 | sort -rn | head -2"),
    sh("trap 'echo trapped' USR1; kill -USR1 $$; echo done"),
    sh("kill -TERM $$; echo notreached"),
    sh("trap 'echo bye' EXIT; echo body"),
  ]);
});

test("busybox applets: sort, sha256sum, md5sum", { skip }, () => {
  differential(dir, [
    applet("sort", "-n", "nums.txt"),
    applet("sort", "-rn", "nums.txt"),
    applet("sort", "-u", "words.txt"),
    applet("sort", "text.txt"),
    applet("sort", "-t", " ", "-k8,8n", "text.txt"),
    applet("sha256sum", "data.bin", "text.txt"),
    applet("md5sum", "data.bin", "text.txt"),
    sh("sha256sum < data.bin; md5sum nums.txt | cut -d' ' -f1"),
  ]);
});

test("busybox applets: gzip and gunzip", { skip }, () => {
  differential(dir, [applet("gzip", "-c", "text.txt"), applet("gzip", "-9", "-c", "data.bin")]);
  // round trip: xents decompresses what it compressed, and what qemu compressed
  const gz = underXents(dir, ["gzip", "-c", "text.txt"]);
  assert.equal(gz.status, 0);
  writeFileSync(join(dir, "text.txt.gz"), gz.stdout);
  const back = underXents(dir, ["gunzip", "-c", "text.txt.gz"]);
  assert.equal(back.status, 0);
  assert.ok(back.stdout.equals(readFileSync(join(dir, "text.txt"))), "gunzip -c gives back the original");
  differential(dir, [applet("gunzip", "-c", "text.txt.gz"), applet("gzip", "-t", "text.txt.gz")]);
});

test("busybox applets: awk, sed, wc, cut, tr", { skip }, () => {
  const text = new Uint8Array(readFileSync(join(dir, "text.txt")));
  differential(dir, [
    applet("awk", "{ s += $8; n++ } END { printf \"%.4f %d %.3e %g\\n\", s / n, n, s, s / 3 }", "text.txt"),
    applet("awk", "-F", " ", "$1 == \"alpha\" { c[$2]++ } END { for (k in c) print k, c[k] }", "text.txt"),
    applet("awk", "BEGIN { for (i = 1; i <= 10; i++) printf \"%d %.3f %s\\n\", i, sqrt(i), substr(\"abcdefghij\", i, 2) }"),
    applet("awk", "NR % 500 == 1 { print NR \": \" toupper($3), length($0) }", "text.txt"),
    // system() and popen() run /bin/sh: the host's under qemu, busybox standing in for it under xents
    applet("awk", "BEGIN { r = system(\"echo from-system; exit 3\"); print \"r=\" r; \"printf '%s\\\\n' piped two\" | getline x; print x }"),
    applet("sed", "s/alpha/A/g; s/beta/[&]/", "text.txt"),
    applet("sed", "-n", "10,20p; /kappa kappa/p", "text.txt"),
    applet("sed", "3,1000d; /gamma/!d; s/ [0-9]*$//", "text.txt"),
    applet("find", ".", "-name", "*.txt"),
    applet("ls", "-l", "nums.txt", "words.txt"),
    applet("wc", "text.txt", "nums.txt"),
    applet("wc", "-l", "text.txt"),
    applet("cut", "-d", " ", "-f2,7-8", "text.txt"),
    applet("cut", "-c1-5", "nums.txt"),
    { argv: ["tr", "a-z", "A-Z"], stdin: text },
    { argv: ["tr", "-d", "aeiou"], stdin: text },
    { argv: ["tr", "-s", " "], stdin: new Uint8Array(Buffer.from("a   b  c\n")) },
  ]);
});

// ---- under xents alone: what qemu-user cannot run

const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");

test("busybox sh runs exec'd applets, #! scripts and exec under xents", { skip: "error" in bb ? bb.error : false }, () => {
  const d = dir || mkdtempSync(join(tmpdir(), "xents-busybox-"));
  if (!dir) makeFiles(d);
  writeFileSync(join(d, "script.sh"), `#!${BB} sh\necho "script $1 $#"\nexit 5\n`);
  chmodSync(join(d, "script.sh"), 0o755);
  if (!existsSync(join(d, "busybox"))) symlinkSync(BB, join(d, "busybox"));
  const cases: [string, string, number][] = [
    ["seq 3 | wc -l", "3\n", 0],
    ["gzip -c data.bin > d.gz && gunzip -c d.gz | md5sum; rm d.gz", `${md5(readFileSync(join(d, "data.bin")))}  -\n`, 0],
    ["exec ./busybox echo via-exec", "via-exec\n", 0],
    ["readlink /proc/self/exe | grep -c busybox", "1\n", 0],
    ["./script.sh arg; echo $?", "script arg 1\n5\n", 0],
    ["sleep 0.05 & wait $!; echo bg=$?", "bg=0\n", 0],
    ["echo abc | tr a-c x-z | sed 's/y/Y/'", "xYz\n", 0],
    ["cat no-such-file 2>/dev/null; echo $?", "1\n", 0],
    ["awk 'BEGIN { print \"b\\na\" | \"sort\"; close(\"sort\"); system(\"seq 2 | tr 12 xy\") }'", "a\nb\nx\ny\n", 0],
  ];
  const bad: string[] = [];
  for (const [script, want, status] of cases) {
    const x = underXents(d, ["sh", "-c", script]);
    if (x.stdout.toString() !== want || x.status !== status) {
      bad.push(`${script}: got ${JSON.stringify(x.stdout.toString())} status ${x.status}, want ${JSON.stringify(want)} status ${status}; stderr ${show(x.stderr)} ${x.log}`);
    }
  }
  if (!dir) rmSync(d, { recursive: true, force: true });
  assert.deepEqual(bad, []);
});

// ---- faults and unknown system calls, with tiny hand-written programs

function staticElf(source: string): Uint8Array | null {
  const d = mkdtempSync(join(tmpdir(), "xents-elf-"));
  try {
    writeFileSync(join(d, "a.s"), `.text\n.globl _start\n_start:\n${source}\n`);
    const as = spawnSync("aarch64-linux-gnu-as", ["-o", join(d, "a.o"), join(d, "a.s")]);
    const ld = as.status === 0 ? spawnSync("aarch64-linux-gnu-ld", ["-static", "-e", "_start", "-o", join(d, "a.elf"), join(d, "a.o")]) : as;
    return ld.status === 0 ? new Uint8Array(readFileSync(join(d, "a.elf"))) : null;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

test("a guest fault ends the process with SIGSEGV (status 139 from the CLI) and a message", (t) => {
  const elf = staticElf("mov x0, #0x10\nldr x1, [x0]\nmov x8, #93\nsvc #0");
  if (!elf) { t.skip("binutils for aarch64 are missing"); return; }
  let log = "";
  const r = runUserProgram(elf, { argv: ["fault"], stdout: () => {}, stderr: () => {}, log: (l) => { log += l; } });
  assert.deepEqual(r.status, { signal: 11 });
  assert.match(log, /SIGSEGV.*0x10/);
  const d = mkdtempSync(join(tmpdir(), "xents-elf-"));
  try {
    writeFileSync(join(d, "fault"), elf, { mode: 0o755 });
    const cli = spawnSync(process.execPath, ["bin/xents.js", "run-user", join(d, "fault")], { encoding: "utf8" });
    assert.equal(cli.status, 139);
    assert.match(cli.stderr, /killed by SIGSEGV/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("an unimplemented system call returns -ENOSYS and can be traced", (t) => {
  // exit(-syscall_999())
  const elf = staticElf("mov x8, #999\nsvc #0\nneg x0, x0\nmov x8, #93\nsvc #0");
  if (!elf) { t.skip("binutils for aarch64 are missing"); return; }
  let log = "";
  const r = runUserProgram(elf, { argv: ["nosys"], stdout: () => {}, stderr: () => {}, log: (l) => { log += l + "\n"; }, traceSyscalls: "unknown" });
  assert.deepEqual(r.status, { code: 38 });
  assert.match(log, /syscall_999\(.*\) = -38 \[not implemented\]/);
  assert.doesNotMatch(log, /exit\(/); // only the unknown one is shown
});
