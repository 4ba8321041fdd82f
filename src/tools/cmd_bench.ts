// `xents bench <what> [--json]`: benchmarks printed as JSON beside their
// reference measured in the same run.

import type { Command } from "./cli.js";
import { benchCpu } from "./bench_cpu.js";

const benches: Record<string, (args: string[]) => Promise<object> | object> = {
  cpu: (args) => benchCpu(Number(valueOf(args, "--iterations") ?? 400)),
};

function valueOf(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export const benchCommand: Command = {
  summary: "run a benchmark beside its reference (cpu)",
  usage: "xents bench <cpu> [--json] [--iterations N]",
  async run(args) {
    const what = args[0];
    const b = what ? benches[what] : undefined;
    if (!b) throw new Error(`unknown benchmark '${what ?? ""}' (have: ${Object.keys(benches).join(", ")})`);
    const result = await b(args.slice(1));
    if (args.includes("--json")) process.stdout.write(JSON.stringify(result) + "\n");
    else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(16)} ${v}\n`);
    return 0;
  },
};
