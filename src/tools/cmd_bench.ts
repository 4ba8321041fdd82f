// `xents bench <what> [--json]`: benchmarks printed as JSON beside their
// reference measured in the same run.

import type { Command } from "./cli.js";
import type { HostFactory } from "./cmd_demo.js";
import { benchCpu } from "./bench_cpu.js";
import { benchBoot } from "./bench_boot.js";
import { benchBootDom0 } from "./bench_boot_dom0.js";
import { benchBlk } from "./bench_blk.js";
import { benchMigrate } from "./bench_migrate.js";
import { benchNet } from "./bench_net.js";

function benches(factory: HostFactory): Record<string, (args: string[]) => Promise<object> | object> {
  return {
    cpu: (args) => benchCpu(Number(valueOf(args, "--iterations") ?? 400), Number(valueOf(args, "--runs") ?? 3)),
    blk: (args) => benchBlk(factory, { spanMiB: Number(valueOf(args, "--span") ?? 64), ops: Number(valueOf(args, "--ops") ?? 2000), format: valueOf(args, "--format") === "qcow2" ? "qcow2" : "raw" }),
    migrate: (args) => benchMigrate(factory, { memoryMiB: Number(valueOf(args, "--memory") ?? 256), dirtyRate: Number(valueOf(args, "--dirty-rate") ?? 2000) }),
    net: (args) => benchNet(factory, { mib: Number(valueOf(args, "--mib") ?? 16) }),
    boot: (args) => {
      const dom0 = valueOf(args, "--dom0") ?? "xents";
      if (dom0 === "linux") return benchBootDom0(factory);
      if (dom0 !== "xents") throw new Error(`--dom0 ${dom0}: 'xents' (a domU booted by the TypeScript Domain-0, the default) or 'linux'`);
      return benchBoot(factory, { vcpus: Number(valueOf(args, "--vcpus") ?? 1), memoryMiB: Number(valueOf(args, "--memory") ?? 256) });
    },
  };
}

function valueOf(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export function benchCommand(factory: HostFactory): Command {
  return {
  summary: "run a benchmark beside its reference (cpu, boot, blk, migrate, net)",
  usage: "xents bench <cpu|boot|blk|migrate|net> [--json] [--iterations N] [--runs N] [--vcpus N] [--memory MiB] [--dom0 linux] [--span MiB] [--ops N] [--format raw|qcow2] [--dirty-rate pages/s] [--mib N]",
  async run(args) {
    const what = args[0];
    const table = benches(factory);
    const b = what ? table[what] : undefined;
    if (!b) throw new Error(`unknown benchmark '${what ?? ""}' (have: ${Object.keys(table).join(", ")})`);
    const result = await b(args.slice(1));
    if (args.includes("--json")) process.stdout.write(JSON.stringify(result) + "\n");
    else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(16)} ${v}\n`);
    return 0;
  },
  };
}
