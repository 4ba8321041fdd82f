// `xents bench cpu`: the CPU-bound program of bench/programs/cpu_bench.c on
// xents' core (user-mode runner) and under qemu-aarch64 in the same run.

import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { buildAarch64 } from "./toolchain.js";
import { runUserProgram } from "../linux_user/runner.js";

export interface CpuBenchResult {
  benchmark: "cpu";
  program: string;
  instructions: number;
  xents_s: number;
  qemu_s: number;
  mips: number;
  qemu_mips: number;
  ratio: number;
  checksum_match: boolean;
}

export function benchCpu(iterations = 400): CpuBenchResult {
  const elfPath = buildAarch64("bench/programs/cpu_bench.c", [
    "-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", `-DITERATIONS=${iterations}`,
  ], `cpu_bench_${iterations}`);
  const elf = new Uint8Array(readFileSync(elfPath));
  let xOut = "";
  const t0 = performance.now();
  const r = runUserProgram(elf, { argv: ["cpu_bench"], stdout: (b) => { xOut += Buffer.from(b).toString(); } });
  const xents_s = (performance.now() - t0) / 1000;
  if (!("code" in r.status) || r.status.code !== 0) throw new Error(`benchmark failed on xents: ${JSON.stringify(r.status)}`);
  // QEMU: best of three runs (it starts fast; the first run pays for page cache)
  let qemu_s = Infinity;
  let qOut = "";
  for (let i = 0; i < 3; i++) {
    const q0 = performance.now();
    const q = spawnSync("qemu-aarch64", [elfPath], { encoding: "utf8" });
    const dt = (performance.now() - q0) / 1000;
    if (q.status !== 0) throw new Error(`qemu-aarch64 failed: ${q.stderr}`);
    qOut = q.stdout;
    qemu_s = Math.min(qemu_s, dt);
  }
  const n = Number(r.instructions);
  return {
    benchmark: "cpu",
    program: "bench/programs/cpu_bench.c",
    instructions: n,
    xents_s: round(xents_s),
    qemu_s: round(qemu_s),
    mips: round(n / xents_s / 1e6),
    qemu_mips: round(n / qemu_s / 1e6),
    ratio: round(xents_s / qemu_s),
    checksum_match: xOut === qOut,
  };
}

function round(x: number): number { return Math.round(x * 1000) / 1000; }
