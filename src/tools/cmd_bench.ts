// `xents bench <what> [--json]`: benchmarks printed as JSON beside their
// reference measured in the same run.

import type { Command } from "./cli.js";
import type { HostFactory } from "./cmd_demo.js";
import { benchBoot, bootXentsOnce } from "./bench_boot.js";
import { parseArgs, UsageError, type ArgSpec, type Parsed } from "./args.js";

// Each benchmark's options (--json is everyone's), parsed by the CLI's one
// parser: an option another benchmark takes is refused, not ignored. Each
// benchmark's module is loaded when it runs (every command loads this
// table), but bench boot's: its xents boots are timed from their process's
// start, and the modules they need are the ones it imports anyway.
export interface Bench { options: ArgSpec; run(a: Parsed): Promise<object> | object }
function benches(factory: HostFactory): Record<string, Bench> {
  const int = (a: Parsed, k: string, d: number): number => (a[k] as number | undefined) ?? d;
  return {
    cpu: { options: { iterations: "int", runs: "int" }, run: async (a) => (await import("./bench_cpu.js")).benchCpu(int(a, "iterations", 400), int(a, "runs", 3)) },
    blk: {
      options: { span: "int", ops: "int", format: "string", "driver-domain": "bool" },
      run: async (a) => {
        const format = (a.format as string | undefined) ?? "raw";
        if (format !== "raw" && format !== "qcow2") throw new UsageError(`--format ${format}: 'raw' or 'qcow2'`);
        return (await import("./bench_blk.js")).benchBlk(factory, { spanMiB: int(a, "span", 64), ops: int(a, "ops", 2000), format, driverDomain: a["driver-domain"] === true });
      },
    },
    migrate: { options: { memory: "int", "dirty-rate": "int" }, run: async (a) => (await import("./bench_migrate.js")).benchMigrate(factory, { memoryMiB: int(a, "memory", 256), dirtyRate: int(a, "dirty-rate", 2000) }) },
    remus: { options: { memory: "int" }, run: async (a) => (await import("./bench_remus.js")).benchRemus(factory, { memoryMiB: int(a, "memory", 160) }) },
    net: { options: { mib: "int", "driver-domain": "bool" }, run: async (a) => (await import("./bench_net.js")).benchNet(factory, { mib: int(a, "mib", 16), driverDomain: a["driver-domain"] === true }) },
    boot: {
      options: { dom0: "string", vcpus: "int", memory: "int", rounds: "int", reference: "string" },
      run: async (a) => {
        const dom0 = (a.dom0 as string | undefined) ?? "xents";
        if (dom0 === "linux") {
          if (a.vcpus !== undefined || a.memory !== undefined || a.rounds !== undefined || a.reference !== undefined) {
            throw new UsageError("--vcpus, --memory, --rounds and --reference are for the domU benchmark (bench boot --dom0 linux boots Debian's Domain-0 and a domU as configured)");
          }
          return (await import("./bench_boot_dom0.js")).benchBootDom0(factory);
        }
        if (dom0 !== "xents") throw new UsageError(`--dom0 ${dom0}: 'xents' (a domU booted by the TypeScript Domain-0, the default) or 'linux'`);
        const vcpus = int(a, "vcpus", 1), memoryMiB = int(a, "memory", 256);
        const reference = (a.reference as string | undefined) ?? "qemu";
        if (reference === "none") {
          if (a.rounds !== undefined) throw new UsageError("--reference none boots the guest once, in this process (--rounds is for the comparison with QEMU)");
          return bootXentsOnce(factory, { vcpus, memoryMiB });
        }
        if (reference !== "qemu") throw new UsageError(`--reference ${reference}: 'qemu' (the default) or 'none' (the guest alone, once)`);
        const rounds = int(a, "rounds", 3);
        if (rounds < 1 || rounds > 20) throw new UsageError(`--rounds ${rounds}: from 1 to 20`);
        return benchBoot({ vcpus, memoryMiB, rounds });
      },
    },
  };
}

// `extra`: benchmarks that need the machine itself (given by main.ts, which
// composes the layers, as the fuzz targets are).
export function benchCommand(factory: HostFactory, extra: Record<string, Bench> = {}): Command {
  return {
  summary: "run a benchmark beside its reference (cpu, boot, blk, migrate, remus, net, dma)",
  usage: "xents bench <cpu|boot|blk|migrate|remus|net|dma> [--json] [--iterations N] [--runs N] [--vcpus N] [--memory MiB] [--rounds N] [--reference qemu|none] [--dom0 linux] [--span MiB] [--ops N] [--format raw|qcow2] [--driver-domain] [--dirty-rate pages/s] [--mib N]",
  async run(args) {
    const what = args[0];
    const table = { ...benches(factory), ...extra };
    const b = what && Object.hasOwn(table, what) ? table[what] : undefined;
    if (!b) throw new UsageError(`unknown benchmark '${what ?? ""}' (have: ${Object.keys(table).join(", ")})`);
    const a = parseArgs(args.slice(1), { json: "bool", ...b.options });
    if (a._.length) throw new UsageError(`bench ${what} takes no arguments ('${a._[0]}')`);
    const result = await b.run(a);
    if (a.json === true) process.stdout.write(JSON.stringify(result) + "\n");
    // (nested figures, such as a profile or rounds, as JSON: not "[object Object]")
    else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(16)} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}\n`);
    return 0;
  },
  };
}
