// `xents bench cpu`: the CPU-bound program of bench/programs/cpu_bench.c on
// xents' core (user-mode runner) and under qemu-aarch64 in the same run.

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { spawnSync } from "node:child_process";
import { buildAarch64 } from "./toolchain.js";
import { runUserProgram } from "../linux_user/runner.js";
import { JitStats, jitOptionsFromEnv } from "../cpu/jit/jit.js";

export interface CpuBenchResult {
  benchmark: "cpu";
  program: string;
  runs: number; // on each side; the best time of each
  instructions: number;
  xents_s: number;
  qemu_s: number;
  mips: number;
  interpreter_mips: number; // the same program with translation off (XENTS_JIT=0)
  qemu_mips: number;
  ratio: number;
  checksum_match: boolean;
  jit: JitStats; // the translation's figures for the last translated run
}

// Each side runs the same program `runs` times; the best time of each is
// reported (the first run of either pays for warm-up: WebAssembly
// compilation, the page cache). A checksum that differs between the two,
// or between runs, is an error: the times would not be of the same work.
export function benchCpu(iterations = 400, runs = 3, program = "bench/programs/cpu_bench.c"): CpuBenchResult {
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be at least 1");
  const elfPath = buildAarch64(program, [
    "-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", `-DITERATIONS=${iterations}`,
  ], `${basename(program, ".c")}_${iterations}`);
  const elf = new Uint8Array(readFileSync(elfPath));
  const outputs = new Set<string>();
  let xents_s = Infinity, qemu_s = Infinity, interp_s = Infinity, n = 0;
  let jit: JitStats | undefined;
  // xents translating hot pages to WebAssembly (whatever XENTS_JIT says), and
  // the interpreter alone, on the same program.
  const translated = { ...jitOptionsFromEnv(), enabled: true };
  const interpreted = { ...translated, enabled: false };
  for (let i = 0; i < runs; i++) {
    let xOut = "", iOut = "";
    const t0 = performance.now();
    const r = runUserProgram(elf, { argv: ["cpu_bench"], stdout: (b) => { xOut += Buffer.from(b).toString(); }, jit: translated });
    xents_s = Math.min(xents_s, (performance.now() - t0) / 1000);
    jit = r.jit;
    if (!("code" in r.status) || r.status.code !== 0) throw new Error(`benchmark failed on xents: ${JSON.stringify(r.status)}`);
    n = Number(r.instructions);
    const i0 = performance.now();
    const ri = runUserProgram(elf, { argv: ["cpu_bench"], stdout: (b) => { iOut += Buffer.from(b).toString(); }, jit: interpreted });
    interp_s = Math.min(interp_s, (performance.now() - i0) / 1000);
    if (!("code" in ri.status) || ri.status.code !== 0) throw new Error(`benchmark failed on xents' interpreter: ${JSON.stringify(ri.status)}`);
    const q0 = performance.now();
    const q = spawnSync("qemu-aarch64", [elfPath], { encoding: "utf8" });
    qemu_s = Math.min(qemu_s, (performance.now() - q0) / 1000);
    if (q.status !== 0) throw new Error(`qemu-aarch64 failed: ${q.stderr}`);
    outputs.add(`xents: ${xOut.trim()}`);
    outputs.add(`xents interpreter: ${iOut.trim()}`);
    outputs.add(`qemu: ${q.stdout.trim()}`);
    if (xOut !== q.stdout || iOut !== q.stdout || outputs.size !== 3) throw new Error(`the checksums differ, so the times are not of the same work: ${[...outputs].join("; ")}`);
  }
  return {
    benchmark: "cpu",
    program,
    runs,
    instructions: n,
    xents_s: round(xents_s),
    qemu_s: round(qemu_s),
    mips: round(n / xents_s / 1e6),
    interpreter_mips: round(n / interp_s / 1e6),
    jit: jit!,
    qemu_mips: round(n / qemu_s / 1e6),
    ratio: round(xents_s / qemu_s),
    checksum_match: true,
  };
}

function round(x: number): number { return Math.round(x * 1000) / 1000; }
