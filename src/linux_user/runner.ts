// Runs a static AArch64 Linux program on the core in user mode, like
// qemu-aarch64: the program and every process it forks run on emulated
// vCPUs under the emulated kernel, with the host's file system.

import { Core } from "../cpu/cpu.js";
import { JitOptions, JitStats } from "../cpu/jit/jit.js";
import { UserKernel } from "./kernel.js";
import { Scheduler } from "./scheduler.js";
import { ExitStatus } from "./process.js";
import { HostFile } from "./host_file.js";
import { OpenFile, O_RDONLY, O_WRONLY } from "./open_file.js";
import { InputBuffer, OutputStream } from "./stream_file.js";
import { StandIn, busyboxApplets } from "./stand_in.js";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export interface UserRunOptions {
  argv: string[];
  env?: string[];
  exePath?: string; // the program's host path (for /proc/self/exe); default argv[0]
  cwd?: string; // default: the host process's
  ramSize?: number; // machine RAM for all processes (default 512 MiB)
  maxInstructions?: bigint; // stop with an error beyond this
  stdin?: Uint8Array; // default: the host's standard input
  stdout?: (b: Uint8Array) => void; // default: the host's standard output
  stderr?: (b: Uint8Array) => void; // default: the host's standard error
  log?: (line: string) => void; // diagnostics; default: the host's standard error
  // Trace system calls ("all"), or only unimplemented ones ("unknown"); the
  // default comes from XENTS_STRACE (1/all or unknown).
  traceSyscalls?: boolean | "all" | "unknown";
  slice?: number; // instructions per scheduling turn
  // A busybox to run in place of host programs of another architecture that
  // name its applets (the host's /bin/sh for system()); default: the program
  // itself if it is a busybox.
  standIn?: string;
  jit?: JitOptions; // default: from the environment (XENTS_JIT, XENTS_JIT_THRESHOLD)
}

export interface UserRunResult {
  status: ExitStatus;
  instructions: bigint; // all processes together
  undefined: Record<string, number>;
  jit: JitStats;
}

function traceMode(t: UserRunOptions["traceSyscalls"]): "all" | "unknown" | "off" {
  if (t === true || t === "all") return "all";
  if (t === "unknown") return "unknown";
  if (t === false) return "off";
  const env = process.env.XENTS_STRACE ?? "";
  if (env === "1" || env === "all") return "all";
  if (env === "unknown") return "unknown";
  return "off";
}

function standIn(opts: UserRunOptions, exe: string, elf: Uint8Array): StandIn | undefined {
  const path = opts.standIn ?? exe;
  const applets = busyboxApplets(opts.standIn ? new Uint8Array(readFileSync(path)) : elf);
  return applets ? { path, applets } : undefined;
}

export function runUserProgram(elf: Uint8Array, opts: UserRunOptions): UserRunResult {
  const core = new Core({ ramBase: 0x40000000n, ramSize: opts.ramSize ?? 512 << 20, jit: opts.jit });
  const log = opts.log ?? ((line: string) => { process.stderr.write(line + "\n"); });
  const stdio: [OpenFile, OpenFile, OpenFile] = [
    opts.stdin ? new InputBuffer(opts.stdin) : HostFile.inherit(0, O_RDONLY),
    opts.stdout ? new OutputStream(opts.stdout) : HostFile.inherit(1, O_WRONLY),
    opts.stderr ? new OutputStream(opts.stderr) : HostFile.inherit(2, O_WRONLY),
  ];
  const cwd = opts.cwd ?? process.cwd();
  const exe = resolve(cwd, opts.exePath ?? opts.argv[0] ?? "a.out");
  const k = new UserKernel(core, { stdio, cwd, log, trace: traceMode(opts.traceSyscalls), standIn: standIn(opts, exe, elf) });
  const root = k.spawn(exe, elf, opts.argv, opts.env ?? []);
  const sched = new Scheduler(k, { slice: opts.slice ?? 1 << 20, maxInstructions: opts.maxInstructions ?? 1n << 62n });
  try {
    sched.run(root);
  } finally {
    k.terminal.restore();
  }
  // processes left behind (background jobs) end with the program
  for (const p of [...k.procs.values()]) if (!p.exit) k.exitProcess(p, { signal: 9 });
  return { status: root.exit!, instructions: k.instructions, undefined: core.undefinedCounts(), jit: core.jitStats() };
}
