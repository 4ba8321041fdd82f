// `xents host start|stop|status`: the host daemon's life cycle.

import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import type { Command } from "./cli.js";
import type { HostFactory } from "./cmd_demo.js";
import { checkHostMemory } from "./cmd_demo.js";

export const DEFAULT_HOST_MIB = 2048;
import { HostDaemon } from "./daemon/host_daemon.js";
import { LinuxHostDaemon } from "./daemon/linux_host_daemon.js";
import type { LinuxDom0Config } from "./cmd_demo.js";
import { fetchDom0Images } from "./dom0_image.js";
import { readFileSync } from "node:fs";
import { HostClient } from "./daemon/client.js";
import { hostPaths, ensureHome } from "./home.js";
import { parseArgs, UsageError } from "./args.js";

export function hostCommand(factory: HostFactory, entry: string): Command {
  return {
    summary: "start, stop or inspect this host (XENTS_HOME selects it)",
    usage: "xents host start [--foreground] [--memory MiB] [--deterministic] [--migrate-port N] [--dom0 xents|linux [--dom0-mem MiB] [--dom0-vcpus N] [--dom0-kernel Image] [--dom0-ramdisk initrd] [--dom0-cmdline '...']] | host stop | host status [--json]",
    async run(argv) {
      const [sub, ...rest] = argv;
      const paths = hostPaths();
      if (sub === "start") {
        const a = parseArgs(rest, {
          foreground: "bool", memory: "int", deterministic: "bool", "migrate-port": "int", dom0: "string", "dom0-mem": "int",
          "dom0-vcpus": "int", "dom0-kernel": "string", "dom0-ramdisk": "string", "dom0-cmdline": "string",
        });
        const ramMiB = checkHostMemory(factory, (a.memory as number | undefined) ?? DEFAULT_HOST_MIB, "--memory");
        const kind = (a.dom0 as string | undefined) ?? "xents";
        if (kind !== "xents" && kind !== "linux") throw new UsageError(`--dom0 ${kind}: a host's Domain-0 is 'xents' (the TypeScript tools, the default) or 'linux'`);
        if (kind === "xents") for (const o of ["dom0-mem", "dom0-vcpus", "dom0-kernel", "dom0-ramdisk", "dom0-cmdline"]) if (a[o] !== undefined) throw new UsageError(`--${o} is for --dom0 linux`);
        if (kind === "linux" && a["migrate-port"] !== undefined) throw new UsageError("--migrate-port: with --dom0 linux, migration is xl's (xl migrate in Domain-0)");
        if (a.foreground) {
          const d = kind === "linux"
            ? new LinuxHostDaemon(paths, factory, { ramMiB, deterministic: a.deterministic === true, dom0: linuxDom0Config(a, ramMiB) })
            : new HostDaemon(paths, factory, { ramMiB, deterministic: a.deterministic === true, migratePort: a["migrate-port"] as number | undefined });
          await d.start();
          process.stderr.write(`xents: host running in ${paths.home}\n`);
          await d.serve();
          return 0;
        }
        ensureHome(paths);
        const log = openSync(paths.daemonLog, "a");
        const child = spawn(process.execPath, [entry, "host", "start", "--foreground", ...rest], {
          detached: true, stdio: ["ignore", log, log], env: { ...process.env, XENTS_HOME: paths.home },
        });
        child.unref();
        const t0 = Date.now();
        for (;;) {
          try {
            const c = await HostClient.connect(paths);
            await c.call("status");
            c.close();
            process.stderr.write(`xents: host started in ${paths.home} (pid ${child.pid})\n`);
            return 0;
          } catch {
            if (child.exitCode !== null) throw new Error(`the host did not start (exit ${child.exitCode}); see ${paths.daemonLog}`);
            if (Date.now() - t0 > 30_000) throw new Error(`the host did not answer within 30 s; see ${paths.daemonLog}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
      if (sub === "stop") {
        const c = await HostClient.connect(paths);
        await c.call("stop");
        await new Promise<void>((res) => { const s = setInterval(async () => { try { await HostClient.connect(paths).then((x) => x.close()); } catch { clearInterval(s); res(); } }, 200); });
        c.close();
        return 0;
      }
      if (sub === "status") {
        const a = parseArgs(rest, { json: "bool" });
        const c = await HostClient.connect(paths);
        const s = (await c.call("status")) as Record<string, unknown>;
        c.close();
        if (a.json) process.stdout.write(JSON.stringify(s, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)) + "\n");
        else for (const [k, v] of Object.entries(s)) process.stdout.write(`${k.padEnd(18)} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}\n`);
        return 0;
      }
      throw new UsageError(`unknown host command '${sub ?? ""}'`);
    },
  };
}

export const DEFAULT_DOM0_MIB = 512; // Xen's own default without dom0_mem=
const DOM0_HOST_RESERVE_MIB = 64; // the hypervisor's own pages: stage-2 tables, grant and event structures

// A Linux Domain-0 as the options describe it: Debian's kernel and the
// Domain-0 file system built from Debian's Xen packages (dom0_image.ts)
// unless others are named.
function linuxDom0Config(a: Record<string, unknown>, ramMiB: number): LinuxDom0Config {
  const memMiB = (a["dom0-mem"] as number | undefined) ?? Math.min(DEFAULT_DOM0_MIB, ramMiB - DOM0_HOST_RESERVE_MIB);
  if (memMiB < 64 || memMiB > ramMiB - DOM0_HOST_RESERVE_MIB) throw new UsageError(`--dom0-mem ${memMiB}: Domain-0 needs 64 MiB at least, and at most the host's memory less ${DOM0_HOST_RESERVE_MIB} MiB (${ramMiB - DOM0_HOST_RESERVE_MIB})`);
  const vcpus = (a["dom0-vcpus"] as number | undefined) ?? 1;
  if (vcpus < 1 || vcpus > 8) throw new UsageError(`--dom0-vcpus ${vcpus}: 1 to 8`);
  let kernelPath = a["dom0-kernel"] as string | undefined, ramdiskPath = a["dom0-ramdisk"] as string | undefined;
  if (!kernelPath || !ramdiskPath) {
    const g = fetchDom0Images((s) => process.stderr.write(`xents: ${s}\n`));
    kernelPath ??= g.kernel;
    ramdiskPath ??= g.initrd;
  }
  const read = (p: string, what: string): Uint8Array => {
    try { return new Uint8Array(readFileSync(p)); } catch (e) { throw new UsageError(`cannot read the Domain-0 ${what} ${p}: ${(e as Error).message}`); }
  };
  return { kernel: read(kernelPath, "kernel"), initrd: read(ramdiskPath, "ramdisk"), cmdline: (a["dom0-cmdline"] as string | undefined) ?? "console=hvc0", memMiB, vcpus };
}
