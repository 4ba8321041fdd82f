// Differential testing against QEMU: many small cases (an initial register,
// flag, FP and memory state plus a few instruction words) are built into one
// static AArch64 program. The same program runs under qemu-aarch64 and under
// xents' user-mode runner; each case writes its final state to stdout, and
// the two outputs must be identical.
//
// Memory layout of the program (data at DATA_BASE, one block per case):
//   in-state  (1024 bytes): x0..x30, nzcv, fpcr, fpsr, v0..v31
//   out-state (1024 bytes): the same after the case ran
//   scratch   (SCRATCH bytes): memory the instructions may load and store

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runUserProgram } from "../../src/linux_user/runner.js";
import type { JitStats } from "../../src/cpu/jit/jit.js";

export const DATA_BASE = 0x10000000n;
export const STATE_SIZE = 1024;
export const SCRATCH = 512;
export const CASE_SIZE = 2 * STATE_SIZE + SCRATCH;
export const OUT_SIZE = STATE_SIZE + SCRATCH;

// State offsets
export const S_X = 0, S_NZCV = 248, S_FPCR = 256, S_FPSR = 264, S_V = 272;

export interface DiffCase {
  insns: number[]; // instruction words
  x: bigint[]; // x0..x30
  nzcv: number; // 4 bits
  fpcr: number;
  fpsr: number;
  v: [bigint, bigint][]; // 32 x (lo, hi)
  scratch: Uint8Array; // SCRATCH bytes
  note?: string; // what the generator meant (for failure messages)
}

export function caseBase(i: number): bigint { return DATA_BASE + BigInt(i * CASE_SIZE); }
export function scratchAddr(i: number): bigint { return caseBase(i) + BigInt(2 * STATE_SIZE); }

function stateBytes(c: DiffCase): Uint8Array {
  const b = new Uint8Array(STATE_SIZE);
  const dv = new DataView(b.buffer);
  for (let r = 0; r < 31; r++) dv.setBigUint64(S_X + r * 8, BigInt.asUintN(64, c.x[r] ?? 0n), true);
  dv.setBigUint64(S_NZCV, BigInt(c.nzcv & 0xF) << 28n, true);
  dv.setBigUint64(S_FPCR, BigInt(c.fpcr >>> 0), true);
  dv.setBigUint64(S_FPSR, BigInt(c.fpsr >>> 0), true);
  for (let r = 0; r < 32; r++) {
    const [lo, hi] = c.v[r] ?? [0n, 0n];
    dv.setBigUint64(S_V + r * 16, BigInt.asUintN(64, lo), true);
    dv.setBigUint64(S_V + r * 16 + 8, BigInt.asUintN(64, hi), true);
  }
  return b;
}

function hex(n: bigint | number): string { return "0x" + n.toString(16); }

// Assembly for one case: load the in-state with x30 as the base, run the
// instructions with SP pointing at the out-state, store everything, write
// the out-state and scratch to stdout.
function caseAsm(i: number, c: DiffCase): string {
  const inA = caseBase(i), outA = inA + BigInt(STATE_SIZE);
  const L: string[] = [];
  L.push(`case_${i}:`);
  L.push(`  ldr x30, =${hex(outA)}`, "  mov sp, x30");
  L.push(`  ldr x30, =${hex(inA)}`);
  for (let r = 0; r < 32; r += 2) L.push(`  ldp q${r}, q${r + 1}, [x30, #${S_V + r * 16}]`);
  L.push(`  ldr x0, [x30, #${S_FPCR}]`, "  msr fpcr, x0");
  L.push(`  ldr x0, [x30, #${S_FPSR}]`, "  msr fpsr, x0");
  L.push(`  ldr x0, [x30, #${S_NZCV}]`, "  msr nzcv, x0");
  for (let r = 0; r < 30; r += 2) L.push(`  ldp x${r}, x${r + 1}, [x30, #${r * 8}]`);
  L.push(`  ldr x30, [x30, #240]`);
  for (const w of c.insns) L.push(`  .inst ${hex(w >>> 0)}`);
  for (let r = 0; r < 30; r += 2) L.push(`  stp x${r}, x${r + 1}, [sp, #${r * 8}]`);
  L.push("  str x30, [sp, #240]");
  L.push("  mrs x0, nzcv", `  str x0, [sp, #${S_NZCV}]`);
  L.push("  mrs x0, fpcr", `  str x0, [sp, #${S_FPCR}]`);
  L.push("  mrs x0, fpsr", `  str x0, [sp, #${S_FPSR}]`);
  for (let r = 0; r < 32; r += 2) L.push(`  stp q${r}, q${r + 1}, [sp, #${S_V + r * 16}]`);
  L.push("  mov x0, #1", "  mov x1, sp", `  ldr x2, =${OUT_SIZE}`, "  mov x8, #64", "  svc #0");
  L.push(`  b case_${i}_end`, "  .ltorg", `case_${i}_end:`);
  return L.join("\n");
}

export function buildProgram(cases: DiffCase[]): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "xents-diff-"));
  try {
    const text: string[] = [".text", ".globl _start", "_start:"];
    cases.forEach((c, i) => text.push(caseAsm(i, c)));
    text.push("  mov x0, #0", "  mov x8, #93", "  svc #0");
    writeFileSync(join(dir, "t.s"), text.join("\n") + "\n");
    const data = new Uint8Array(cases.length * CASE_SIZE);
    cases.forEach((c, i) => {
      data.set(stateBytes(c), i * CASE_SIZE);
      data.set(c.scratch.subarray(0, SCRATCH), i * CASE_SIZE + 2 * STATE_SIZE);
    });
    writeFileSync(join(dir, "data.bin"), data);
    execFileSync("aarch64-linux-gnu-as", ["-march=armv8-a+crc", "-o", join(dir, "t.o"), join(dir, "t.s")]);
    execFileSync("aarch64-linux-gnu-objcopy", [
      "-I", "binary", "-O", "elf64-littleaarch64", "-B", "aarch64",
      "--rename-section", ".data=.casedata,alloc,load,data,contents",
      join(dir, "data.bin"), join(dir, "data.o"),
    ]);
    execFileSync("aarch64-linux-gnu-ld", [
      "-static", "-nostdlib", "-Ttext=0x400000", `--section-start=.casedata=${hex(DATA_BASE)}`,
      "-o", join(dir, "t.elf"), join(dir, "t.o"), join(dir, "data.o"),
    ]);
    return new Uint8Array(readFileSync(join(dir, "t.elf")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function runQemu(elf: Uint8Array): { out: Uint8Array; status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "xents-diffq-"));
  try {
    writeFileSync(join(dir, "t.elf"), elf, { mode: 0o755 });
    const r = spawnSync("qemu-aarch64", ["-cpu", "cortex-a57", join(dir, "t.elf")], { maxBuffer: 1 << 30 });
    return { out: new Uint8Array(r.stdout), status: r.status, stderr: r.stderr.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// How xents runs a program: the interpreter alone, every page translated
// on its first block head (baseline code, whose slow paths call the
// interpreter), or the same and then optimised once its code has run
// (optimised code leaves on a slow path: a different way out).
export type XentsMode = "interpreted" | "translated" | "optimised";
export function runXents(elf: Uint8Array, mode: XentsMode): { out: Uint8Array; status: string; undefined: Record<string, number>; jit: JitStats } {
  const jit = mode !== "interpreted";
  const chunks: Uint8Array[] = [];
  const errs: Uint8Array[] = [];
  const r = runUserProgram(elf, {
    argv: ["diff"], stdout: (b) => chunks.push(b.slice()), stderr: (b) => errs.push(b.slice()),
    maxInstructions: 1n << 32n, ramSize: 64 << 20, jit: { enabled: jit, threshold: 0, maxModules: 4096, optimizeAfter: mode === "optimised" ? 1 : 0 },
  });
  const out = Buffer.concat(chunks);
  const status = "code" in r.status ? `exit ${r.status.code}` : `signal ${r.status.signal}`;
  return { out: new Uint8Array(out), status, undefined: r.undefined, jit: r.jit };
}

function describeState(b: Uint8Array): Map<string, bigint> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = new Map<string, bigint>();
  for (let r = 0; r < 31; r++) m.set(`x${r}`, dv.getBigUint64(S_X + r * 8, true));
  m.set("nzcv", dv.getBigUint64(S_NZCV, true) >> 28n);
  m.set("fpcr", dv.getBigUint64(S_FPCR, true));
  m.set("fpsr", dv.getBigUint64(S_FPSR, true));
  for (let r = 0; r < 32; r++) {
    m.set(`v${r}`, (dv.getBigUint64(S_V + r * 16 + 8, true) << 64n) | dv.getBigUint64(S_V + r * 16, true));
  }
  for (let o = 0; o < SCRATCH; o += 8) m.set(`mem+${o}`, dv.getBigUint64(STATE_SIZE + o, true));
  return m;
}

export function disassemble(words: number[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "xents-dis-"));
  try {
    const b = Buffer.alloc(words.length * 4);
    words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
    writeFileSync(join(dir, "x.bin"), b);
    const out = execFileSync("aarch64-linux-gnu-objdump", ["-D", "-b", "binary", "-m", "aarch64", join(dir, "x.bin")]).toString();
    return out.split("\n").filter((l) => /^\s+[0-9a-f]+:\s/.test(l)).map((l) => l.replace(/^\s+[0-9a-f]+:\s+/, "").trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DiffResult { cases: number; failures: string[]; undefined: Record<string, number>; }

// Optimised code is compiled by V8's optimising compiler, a page at a time
// (~5x the whole run for 2000 cases): it runs the first this many.
export const OPTIMISED_CASES = 250;

// Runs the cases on qemu and on xents, interpreted and with every page
// translated (the first OPTIMISED_CASES optimised too), and describes every
// case whose final state differs.
export function differential(cases: DiffCase[], label: string, seed: bigint, maxReports = 5): DiffResult {
  const elf = buildProgram(cases);
  const q = runQemu(elf);
  const failures: string[] = [];
  const qCases = Math.floor(q.out.length / OUT_SIZE);
  if (q.status !== 0) failures.push(`${label}: qemu stopped after ${qCases} cases (status ${q.status}): ${q.stderr.slice(0, 200)} — case ${qCases}: ${disassemble(cases[qCases]?.insns ?? []).join("; ")} (seed ${seed})`);
  let n = qCases;
  let undef: Record<string, number> = {};
  for (const mode of ["interpreted", "translated", "optimised"] as const) {
    const jit = mode !== "interpreted";
    const side = jit ? `xents (${mode})` : "xents";
    const sliced = mode === "optimised" && cases.length > OPTIMISED_CASES;
    // (The cases' code is laid out in order: the first ones' code and data are the same in a shorter program.)
    const x = runXents(sliced ? buildProgram(cases.slice(0, OPTIMISED_CASES)) : elf, mode);
    if (!jit) undef = x.undefined;
    if (jit && (x.jit.errors !== 0 || x.jit.instructions_translated === 0)) {
      failures.push(`${label}: ${mode} code ran ${x.jit.instructions_translated} instructions with ${x.jit.errors} failed pages (${x.jit.last_error})`);
    }
    if (mode === "optimised" && x.jit.instructions_optimized === 0) failures.push(`${label}: nothing ran optimised`);
    const xCases = Math.floor(x.out.length / OUT_SIZE);
    if (x.status !== "exit 0") failures.push(`${label}: ${side} stopped after ${xCases} cases (${x.status}) — case ${xCases}: ${disassemble(cases[xCases]?.insns ?? []).join("; ")} (seed ${seed})`);
    if (!sliced) n = Math.min(n, xCases);
    for (let i = 0; i < Math.min(qCases, xCases) && failures.length < maxReports; i++) {
      const a = q.out.subarray(i * OUT_SIZE, (i + 1) * OUT_SIZE);
      const b = x.out.subarray(i * OUT_SIZE, (i + 1) * OUT_SIZE);
      if (Buffer.compare(a, b) === 0) continue;
      const ma = describeState(a), mb = describeState(b);
      const diffs: string[] = [];
      for (const [k, va] of ma) {
        const vb = mb.get(k)!;
        if (va !== vb) diffs.push(`${k}: qemu ${hex(va)} ${side} ${hex(vb)}`);
      }
      const c = cases[i];
      const inputs = c.x.map((v, r) => `x${r}=${hex(v)}`).join(" ");
      failures.push(`${label} case ${i} (seed ${seed}, ${side}): ${disassemble(c.insns).join("; ")}${c.note ? ` [${c.note}]` : ""}\n  ${diffs.slice(0, 8).join("\n  ")}\n  nzcv_in=${c.nzcv} fpcr_in=${hex(c.fpcr)} ${inputs}`);
    }
  }
  return { cases: n, failures, undefined: undef };
}
