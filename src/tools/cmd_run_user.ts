// `xents run-user <static aarch64 ELF> [args...]`: run a Linux program in
// user mode on the core and exit with its status (128 + the signal that
// ended it, as a shell reports it).

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "./cli.js";

export const runUserCommand: Command = {
  summary: "run a static AArch64 Linux program on the xents core (user mode)",
  usage: "xents run-user [--trace-syscalls|--trace-unknown] <program> [args...]   (XENTS_STRACE=1|unknown also traces)",
  passThrough: true,
  // The user-mode Linux emulator (~120 KB of the bundle) is loaded only by
  // this command, not parsed by every other one.
  async run(args) {
    let trace: boolean | "unknown" | undefined;
    while (args[0]?.startsWith("-")) {
      const opt = args.shift()!;
      if (opt === "--trace-syscalls") trace = true;
      else if (opt === "--trace-unknown") trace = "unknown";
      else throw new Error(`unknown option ${opt}`);
    }
    const path = args[0];
    if (!path) throw new Error("missing program path");
    const elf = new Uint8Array(readFileSync(path));
    const { runUserProgram } = await import("../linux_user/runner.js");
    const r = runUserProgram(elf, {
      argv: args, exePath: resolve(path), env: Object.entries(process.env).map(([k, v]) => `${k}=${v}`), traceSyscalls: trace,
    });
    if ("signal" in r.status) return 128 + r.status.signal;
    return r.status.code;
  },
};
