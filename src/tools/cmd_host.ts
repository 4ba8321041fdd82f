// `xents host start|stop|status`: the host daemon's life cycle.

import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import type { Command } from "./cli.js";
import type { HostFactory } from "./cmd_demo.js";
import { checkHostMemory } from "./cmd_demo.js";

export const DEFAULT_HOST_MIB = 2048;
import { linuxDom0Config, dom0Kind, DOM0_OPTIONS, ASSIGNABLE_OPTIONS, assignableDisks, assignableNics as assignableNicsOf } from "./linux_dom0_options.js";
import { HostClient, processAlive } from "./daemon/client.js";
import { parseHttpListen, type HttpListen } from "./http/http_listen.js";
import { hostPaths, ensureHome } from "./home.js";
import { parseArgs, UsageError } from "./args.js";

export function hostCommand(factory: HostFactory, entry: string): Command {
  return {
    summary: "start, stop or inspect this host (XENTS_HOME selects it)",
    usage: "xents host start [--foreground] [--memory MiB] [--deterministic] [--no-jit] [--migrate-port N] [--http ADDR:PORT|PORT|off [--http-public]] [--dom0 xents|linux [--dom0-mem MiB] [--dom0-vcpus N] [--dom0-kernel Image] [--dom0-ramdisk initrd] [--dom0-cmdline '...'] [--dom0-disk [raw:|qcow2:]PATH[,ro]]... [--dom0-tap NAME]] [--assignable-disk [raw:|qcow2:]PATH[,ro]]... [--assignable-nic TAP]... | host stop | host status [--json]",
    async run(argv) {
      const [sub, ...rest] = argv;
      const paths = hostPaths();
      if (sub === "start") {
        const a = parseArgs(rest, { foreground: "bool", memory: "int", deterministic: "bool", "no-jit": "bool", "migrate-port": "int", http: "string", "http-public": "bool", ...DOM0_OPTIONS, ...ASSIGNABLE_OPTIONS });
        const assignable = assignableDisks(a), assignableNics = assignableNicsOf(a);
        const ramMiB = checkHostMemory(factory, (a.memory as number | undefined) ?? DEFAULT_HOST_MIB, "--memory");
        const kind = dom0Kind(a);
        if (kind === "linux" && a["migrate-port"] !== undefined) throw new UsageError("--migrate-port: with --dom0 linux, migration is xl's (xl migrate in Domain-0)");
        if (kind === "linux" && (a.http !== undefined || a["http-public"] !== undefined)) throw new UsageError("--http: with --dom0 linux the toolstack is xl in Domain-0, and the HTTP API is the TypeScript Domain-0's");
        let http: HttpListen | null;
        try { http = kind === "linux" ? null : parseHttpListen(a.http as string | undefined, a["http-public"] === true); } catch (e) { throw new UsageError((e as Error).message); }
        if (a.foreground) {
          // (the daemons' modules are loaded here, not by every command)
          const d = kind === "linux"
            ? new (await import("./daemon/linux_host_daemon.js")).LinuxHostDaemon(paths, factory, { ramMiB, deterministic: a.deterministic === true, noJit: a["no-jit"] === true, dom0: linuxDom0Config(a, ramMiB), assignable, assignableNics })
            : new (await import("./daemon/host_daemon.js")).HostDaemon(paths, factory, { ramMiB, deterministic: a.deterministic === true, noJit: a["no-jit"] === true, migratePort: a["migrate-port"] as number | undefined, assignable, assignableNics, http });
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
        const pid = Number((await c.call("status")).pid);
        await c.call("stop");
        await new Promise<void>((res) => { const s = setInterval(async () => { try { await HostClient.connect(paths).then((x) => x.close()); } catch { clearInterval(s); res(); } }, 200); });
        c.close();
        // and until the process is gone: its last writes into XENTS_HOME are
        // done (a script may remove the directory next)
        const t0 = Date.now();
        while (processAlive(pid)) {
          if (Date.now() - t0 > 30_000) throw new Error(`the host (pid ${pid}) closed its control socket but has not exited after 30 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
        return 0;
      }
      if (sub === "status") {
        const a = parseArgs(rest, { json: "bool" });
        const c = await HostClient.connect(paths);
        const s = await c.call("status");
        c.close();
        if (a.json) process.stdout.write(JSON.stringify(s, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)) + "\n");
        else for (const [k, v] of Object.entries(s)) process.stdout.write(`${k.padEnd(18)} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}\n`);
        return 0;
      }
      throw new UsageError(`unknown host command '${sub ?? ""}'`);
    },
  };
}

