// The xl-compatible commands: same names, flags and output shapes as Xen
// 4.17's xl, talking to the host daemon over its control socket.

import { readFileSync } from "node:fs";
import { resolve, dirname, isAbsolute } from "node:path";
import type { Command } from "./cli.js";
import { HostClient } from "./daemon/client.js";
import { hostPaths } from "./home.js";
import { parseXlCfg, domainSpec, DomainSpec } from "./xl_cfg.js";
import { UsageError, parseArgs, parseFlags, wholeNumber } from "./args.js";
import type { EvtchnStatus } from "./xc/xc.js";
import { EVTCHNSTAT } from "../xen/public/event_channel.js";

async function withHost<T>(f: (c: HostClient) => Promise<T>): Promise<T> {
  const c = await HostClient.connect(hostPaths());
  try { return await f(c); } finally { c.close(); }
}

// xl's sizes: default KiB, or b/k/m/g/t suffixes. Returns MiB.
export function parseMemMiB(s: string): number {
  const m = /^(\d+)([bkmgtBKMGT]?)$/.exec(s);
  if (!m) throw new UsageError(`bad memory size '${s}' (e.g. 512m, 1g, 262144)`);
  const n = Number(m[1]);
  const kib = { "": n, k: n, b: n / 1024, m: n * 1024, g: n * 1024 * 1024, t: n * 1024 ** 3 }[m[2].toLowerCase()]!;
  return Math.floor(kib / 1024);
}

function need(rest: string[], n: number, what: string): void {
  if (rest.length < n) throw new UsageError(`missing ${what}`);
}

// Read an xl.cfg with `KEY=VALUE` overrides from the command line; paths in
// it are taken relative to the file's directory.
export function loadConfig(file: string, overrides: string[]): DomainSpec {
  let text: string;
  try { text = readFileSync(file, "utf8"); } catch (e) { throw new UsageError(`cannot read ${file}: ${(e as Error).message}`); }
  if (overrides.length) text += "\n" + overrides.join("\n") + "\n";
  const { spec, warnings } = domainSpec(parseXlCfg(text, file), file);
  for (const w of warnings) process.stderr.write(`${file}: warning: ${w}\n`);
  const abs = (p?: string): string | undefined => (p === undefined ? p : isAbsolute(p) ? p : resolve(dirname(file), p));
  return { ...spec, kernel: abs(spec.kernel), ramdisk: abs(spec.ramdisk), deviceTree: abs(spec.deviceTree) };
}

const CTRL_RIGHT_BRACKET = 0x1D;

// The detach character as `-e` names it: ^X (a control character), one
// character, or "none" (only the end of the input detaches). A Linux
// Domain-0's `xl console` wants a Ctrl-] of its own to come back from a
// domU, so its host's console takes another (xents console -e ^A 0).
function escapeChar(v: string | undefined): number | null {
  if (v === "none") return null;
  if (v !== undefined && /^\^[@-_a-z]$/i.test(v)) return v.toUpperCase().charCodeAt(1) & 0x1F;
  if (v !== undefined && v.length === 1) return v.charCodeAt(0);
  throw new UsageError(`-e ${v ?? ""}: the detach character is ^X, one character, or none`);
}

async function attachConsole(c: HostClient, domain: string, escapeKey: number | null = CTRL_RIGHT_BRACKET): Promise<number> {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  const con = await c.console(domain, (d) => process.stdout.write(d));
  if (tty) stdin.setRawMode(true);
  // As xl console: Ctrl-] (or the -e character) read on its own detaches
  // (a terminal in raw mode or a pipe alike), and so does the end of the input.
  const onData = (d: Buffer): void => {
    if (escapeKey !== null && ((tty && d.includes(escapeKey)) || (d.length === 1 && d[0] === escapeKey))) { con.close(); return; }
    con.send(new Uint8Array(d));
  };
  const onEnd = (): void => con.close();
  stdin.on("data", onData);
  stdin.once("end", onEnd);
  stdin.resume();
  await con.closed;
  stdin.off("data", onData);
  stdin.off("end", onEnd);
  if (tty) stdin.setRawMode(false);
  stdin.pause();
  return 0;
}

// lsevtchn's wording for each EVTCHNSTAT
function describeEvtchn(p: EvtchnStatus): string {
  switch (p.status) {
    case EVTCHNSTAT.unbound: return `Interdomain (Waiting connection) - Remote Domain ${p.u0}`;
    case EVTCHNSTAT.interdomain: return `Interdomain (Connected) - Remote Domain ${p.u0}, Port ${p.u1}`;
    case EVTCHNSTAT.pirq: return `Physical IRQ ${p.u0}`;
    case EVTCHNSTAT.virq: return `Virtual IRQ ${p.u0}`;
    case EVTCHNSTAT.ipi: return "IPI";
    default: return `Unknown (${p.status})`;
  }
}


const simple = (name: string, summary: string, usage: string, run: (argv: string[]) => Promise<number>): [string, Command] => [name, { summary, usage, run }];

export function xlCommands(): Record<string, Command> {
  return Object.fromEntries([
    simple("list", "list domains", "xents list [-l] [domain...]", async (argv) => {
      const { f, rest } = parseFlags(argv, "lv");
      return withHost(async (c) => {
        let rows = await c.call("list");
        if (rest.length) rows = rows.filter((r) => rest.includes(r.name) || rest.includes(String(r.id)));
        if (f.has("l")) { process.stdout.write(JSON.stringify(rows, null, 4) + "\n"); return 0; }
        process.stdout.write("Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
        for (const r of rows) process.stdout.write(`${r.name.padEnd(40)} ${String(r.id).padStart(5)} ${String(r.mem).padStart(5)} ${String(r.vcpus).padStart(5)}     ${r.state} ${r.time.toFixed(1).padStart(10)}\n`);
        return 0;
      });
    }),
    simple("create", "create a domain from an xl.cfg file", "xents create [-c] [-p] [-n] <config> [KEY=VALUE...]", async (argv) => {
      const { f, rest } = parseFlags(argv, "cpnqe");
      need(rest, 1, "configuration file");
      const spec = loadConfig(rest[0], rest.slice(1));
      if (f.has("n")) { process.stdout.write(JSON.stringify(spec, null, 4) + "\n"); return 0; }
      return withHost(async (c) => {
        const r = await c.call("create", { spec, paused: f.has("p") });
        if (!f.has("q")) process.stderr.write(`Parsing config from ${rest[0]}\n`);
        if (f.has("c")) return attachConsole(c, String(r.domid));
        return 0;
      });
    }),
    simple("destroy", "terminate a domain immediately", "xents destroy <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => { await c.call("destroy", { domain: argv[0] }); return 0; });
    }),
    simple("shutdown", "ask a domain to shut down", "xents shutdown [-w] [-a] <domain>", async (argv) => {
      const { f, rest } = parseFlags(argv, "waF");
      return withHost(async (c) => {
        const doms = f.has("a") ? (await c.call("list")).filter((r) => r.id !== 0).map((r) => String(r.id)) : rest;
        if (!doms.length) throw new UsageError("missing domain");
        for (const d of doms) await c.call("shutdown", { domain: d, wait: f.has("w") });
        return 0;
      });
    }),
    simple("reboot", "ask a domain to reboot", "xents reboot [-w] <domain>", async (argv) => {
      const { f, rest } = parseFlags(argv, "wF");
      need(rest, 1, "domain");
      return withHost(async (c) => { await c.call("shutdown", { domain: rest[0], reboot: true, wait: f.has("w") }); return 0; });
    }),
    simple("pause", "pause a domain", "xents pause <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => { await c.call("pause", { domain: argv[0] }); return 0; });
    }),
    simple("unpause", "unpause a domain", "xents unpause <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => { await c.call("unpause", { domain: argv[0] }); return 0; });
    }),
    simple("console", "attach to a domain's console (Ctrl-] detaches)", "xents console [-e ^X|none] <domain>", async (argv) => {
      const { v, rest } = parseFlags(argv, "t", "e");
      const escapeKey = v.has("e") ? escapeChar(v.get("e")) : CTRL_RIGHT_BRACKET;
      need(rest, 1, "domain");
      return withHost((c) => attachConsole(c, rest[0], escapeKey));
    }),
    simple("info", "host information", "xents info", async () => withHost(async (c) => {
      const info = await c.call("info");
      for (const [k, v] of Object.entries(info)) process.stdout.write(`${k.padEnd(23)}: ${String(v)}\n`);
      return 0;
    })),
    simple("dmesg", "the hypervisor's console", "xents dmesg [-c]", async (argv) => {
      const { f } = parseFlags(argv, "c");
      return withHost(async (c) => { process.stdout.write(String(await c.call("dmesg", { clear: f.has("c") }))); return 0; });
    }),
    simple("uptime", "domain uptimes", "xents uptime", async () => withHost(async (c) => {
      process.stdout.write("Name                                ID Uptime\n");
      for (const r of await c.call("uptime")) {
        const s = r.uptime_s;
        process.stdout.write(`${r.name.padEnd(32)} ${String(r.id).padStart(5)} ${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}\n`);
      }
      return 0;
    })),
    simple("vcpu-list", "list vCPUs", "xents vcpu-list [domain]", async (argv) => withHost(async (c) => {
      process.stdout.write("Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n");
      for (const v of await c.call("vcpu-list", argv[0] === undefined ? {} : { domain: argv[0] })) {
        process.stdout.write(`${v.name.padEnd(32)} ${String(v.id).padStart(5)} ${String(v.vcpu).padStart(5)} ${String(v.cpu).padStart(5)}   ${v.state.padEnd(4)} ${v.time.toFixed(1).padStart(9)}  ${v.affinity}\n`);
      }
      return 0;
    })),
    simple("vcpu-set", "set the number of online vCPUs", "xents vcpu-set <domain> <count>", async (argv) => {
      need(argv, 2, "domain and count");
      return withHost(async (c) => { await c.call("vcpu-set", { domain: argv[0], count: Number(argv[1]) }); return 0; });
    }),
    simple("vcpu-pin", "pin a vCPU to physical CPUs", "xents vcpu-pin <domain> <vcpu|all> <cpus|all>", async (argv) => {
      need(argv, 3, "domain, vcpu and cpus");
      return withHost(async (c) => { await c.call("vcpu-pin", { domain: argv[0], vcpu: argv[1], cpus: argv[2] }); return 0; });
    }),
    simple("mem-set", "set a domain's memory target (balloon)", "xents mem-set <domain> <mem>", async (argv) => {
      need(argv, 2, "domain and memory size");
      const mib = parseMemMiB(argv[1]);
      return withHost(async (c) => { await c.call("mem-set", { domain: argv[0], mib }); return 0; });
    }),
    simple("mem-max", "set a domain's maximum memory", "xents mem-max <domain> <mem>", async (argv) => {
      need(argv, 2, "domain and memory size");
      const mib = parseMemMiB(argv[1]);
      return withHost(async (c) => { await c.call("mem-max", { domain: argv[0], mib }); return 0; });
    }),
    simple("rename", "rename a domain", "xents rename <domain> <new-name>", async (argv) => {
      need(argv, 2, "domain and new name");
      return withHost(async (c) => { await c.call("rename", { domain: argv[0], name: argv[1] }); return 0; });
    }),
    simple("domid", "the id of a named domain", "xents domid <name>", async (argv) => {
      need(argv, 1, "name");
      return withHost(async (c) => { process.stdout.write(`${String(await c.call("domid", { name: argv[0] }))}\n`); return 0; });
    }),
    simple("domname", "the name of a domain id", "xents domname <id>", async (argv) => {
      need(argv, 1, "domain id");
      return withHost(async (c) => { process.stdout.write(`${String(await c.call("domname", { domid: Number(argv[0]) }))}\n`); return 0; });
    }),
    simple("sched-credit2", "get or set credit2 weight and cap", "xents sched-credit2 [-d domain] [-w weight] [-c cap]", async (argv) => {
      const { v, rest } = parseFlags(argv, "", "dwc");
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}' (the domain goes with -d)`);
      const a: { domain?: string; weight?: number; cap?: number } = {};
      if (v.has("d")) a.domain = v.get("d");
      if (v.has("w")) a.weight = wholeNumber(v.get("w")!, "-w (weight)", 1);
      if (v.has("c")) a.cap = wholeNumber(v.get("c")!, "-c (cap)");
      return withHost(async (c) => {
        process.stdout.write("Name                                ID Weight  Cap\n");
        for (const r of await c.call("sched-credit2", a)) {
          process.stdout.write(`${r.name.padEnd(32)} ${String(r.id).padStart(5)} ${String(r.weight).padStart(6)} ${String(r.cap).padStart(4)}\n`);
        }
        return 0;
      });
    }),
    simple("block-attach", "attach a virtual disk to a running domain", "xents block-attach <domain> <disk-spec>", async (argv) => {
      need(argv, 2, "domain and disk spec");
      return withHost(async (c) => { await c.call("block-attach", { domain: argv[0], spec: argv.slice(1).join(",") }); return 0; });
    }),
    simple("block-detach", "detach a virtual disk", "xents block-detach [-f] <domain> <vdev|devid>", async (argv) => {
      const { f, rest } = parseFlags(argv, "f");
      need(rest, 2, "domain and device");
      return withHost(async (c) => { await c.call("block-detach", { domain: rest[0], device: rest[1], force: f.has("f") }); return 0; });
    }),
    simple("block-list", "list a domain's virtual disks", "xents block-list <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => {
        process.stdout.write("Vdev  BE  handle state evt-ch ring-ref BE-path\n");
        // xl's columns: devid, backend domain, frontend domain, state, event channel, ring-ref, backend path
        const list = await c.call("block-list", { domain: argv[0] });
        const dom = /\/vbd\/(\d+)\//.exec(list[0]?.backend ?? "")?.[1] ?? "";
        for (const d of list) {
          process.stdout.write(`${String(d.devid).padEnd(5)} ${String(d.backendId).padEnd(3)} ${dom.padEnd(6)} ${String(d.feState).padEnd(5)} ${String(d.evtch).padEnd(6)} ${String(d.ringRef).padEnd(8)} ${d.backend}\n`);
        }
        return 0;
      });
    }),
    simple("migrate", "move a running domain to another host", "xents migrate [--no-live] [--key-file F] <domain> <host[:port]>", async (argv) => {
      const o = parseArgs(argv, { "no-live": "bool", "key-file": "string" });
      const live = o["no-live"] !== true, keyFile = typeof o["key-file"] === "string" ? resolve(o["key-file"]) : undefined;
      const rest = o._;
      need(rest, 2, "domain and destination");
      const m = /^(.+?)(?::(\d+))?$/.exec(rest[1])!;
      const host = m[1], port = Number(m[2] ?? 8002);
      const tty = process.stderr.isTTY === true;
      return withHost(async (c) => {
        const poll = await HostClient.connect(hostPaths());
        const timer = setInterval(() => {
          void poll.call("migrate-status").then((p) => {
            const s = p as { phase: string; round: number; pagesSent: number; totalPages: number; dirty: number; dirtyRatePps: number; expectedDowntimeMs: number } | null;
            if (!s) return;
            const pct = Math.min(100, Math.round((s.pagesSent / Math.max(1, s.totalPages)) * 100));
            const bar = "#".repeat(Math.round(pct / 5)).padEnd(20, ".");
            const line = `${s.phase} round ${s.round} [${bar}] ${s.pagesSent} pages sent, ${s.dirty} dirty (${s.dirtyRatePps} pages/s), expected downtime ${s.expectedDowntimeMs} ms`;
            process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
          }).catch(() => { /* the status is best effort */ });
        }, 250);
        try {
          const r = await c.call("migrate", { domain: rest[0], host, port, live, keyFile });
          process.stderr.write(`${tty ? "\r\x1b[K" : ""}migration done: ${r.rounds} rounds, ${r.pagesSent} pages (${r.totalPages} in the domain), ${r.totalMs} ms total, ${r.downtimeMs} ms downtime\n`);
          return 0;
        } finally { clearInterval(timer); poll.close(); }
      });
    }),
    simple("remus", "protect a running domain with a copy on a backup host, checkpointed continuously", "xents remus [-i MS] [--timeout MS] [--arbiter etcd://HOST:PORT | --unsafe-failover] [--no-net-buffer] [--no-disk] [--key-file F] <domain> <host[:port]>", async (argv) => {
      const o = parseArgs(argv, { interval: "int", timeout: "int", arbiter: "string", "no-net-buffer": "bool", "no-disk": "bool", "unsafe-failover": "bool", "key-file": "string" }, { interval: "i" });
      need(o._, 2, "domain and backup host");
      const m = /^(.+?)(?::(\d+))?$/.exec(o._[1])!;
      return withHost(async (c) => {
        const s = await c.call("remus", {
          domain: o._[0], host: m[1], port: Number(m[2] ?? 8002), intervalMs: o.interval as number | undefined, timeoutMs: o.timeout as number | undefined,
          netBuffer: o["no-net-buffer"] !== true, disk: o["no-disk"] !== true, unsafeFailover: o["unsafe-failover"] === true, arbiter: o.arbiter as string | undefined,
          keyFile: typeof o["key-file"] === "string" ? resolve(o["key-file"]) : undefined,
        });
        process.stderr.write(`${s.domain} is protected by ${s.backup}: first checkpoint in ${s.initial_sync_ms} ms, then every ${s.interval_ms} ms; fail-over ${s.failover === "manual" ? "manual (xents remus-takeover on the backup)" : s.arbiter ? `automatic, arbitrated by ${s.arbiter}` : "automatic"}\n`);
        return 0;
      });
    }),
    simple("remus-status", "Remus protection on this host: domains it protects and copies it holds", "xents remus-status [--json]", async (argv) => {
      const o = parseArgs(argv, { json: "bool" });
      return withHost(async (c) => {
        const list = await c.call("remus-status");
        if (o.json === true) { process.stdout.write(`${JSON.stringify(list, null, 2)}\n`); return 0; }
        process.stdout.write("Domain           Role     Peer                   State         Interval Checkpoints Pause(ms) Pages  Bytes\n");
        for (const s of list) {
          const peer = s.role === "primary" ? s.backup : s.primary;
          const pause = s.role === "primary" ? String(s.last_pause_ms) : "-";
          process.stdout.write(`${s.domain.padEnd(16)} ${s.role.padEnd(8)} ${peer.padEnd(22)} ${s.state.padEnd(13)} ${String(s.interval_ms ?? "-").padStart(8)} ${String(s.checkpoints).padStart(11)} ${pause.padStart(9)} ${String(s.last_pages).padStart(5)} ${String(s.last_bytes).padStart(6)}\n`);
          if (s.why) process.stdout.write(`  ${s.why}\n`);
        }
        return 0;
      });
    }),
    simple("remus-stop", "end a domain's Remus protection: it runs on here, the backup discards its copy", "xents remus-stop <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => { await c.call("remus-stop", { domain: argv[0] }); return 0; });
    }),
    simple("remus-switch", "move a protected domain to its backup host: a last checkpoint, then the copy there runs and this one goes (fail-back after a take-over)", "xents remus-switch <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => {
        const r = await c.call("remus-switch", { domain: argv[0] });
        process.stderr.write(`${argv[0]} runs on ${r.backup} now, as domain ${r.domid}\n`);
        return 0;
      });
    }),
    simple("remus-takeover", "on a backup host: run the Remus copy of a domain whose primary is lost", "xents remus-takeover <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => {
        const r = await c.call("remus-takeover", { domain: argv[0] });
        process.stderr.write(`${r.name} runs here as domain ${r.domid}\n`);
        return 0;
      });
    }),
    simple("save", "save a domain's state to a file (and destroy it, unless -c)", "xents save [-c] <domain> <file>", async (argv) => {
      const { f, rest } = parseFlags(argv, "c");
      need(rest, 2, "domain and file");
      return withHost(async (c) => {
        const r = await c.call("save", { domain: rest[0], file: resolve(rest[1]), keepRunning: f.has("c") });
        process.stderr.write(`Saving to ${rest[1]}: ${r.pages} pages\n`);
        return 0;
      });
    }),
    simple("restore", "restore a domain from a saved state file", "xents restore [-p] [-c] <file>", async (argv) => {
      const { f, rest } = parseFlags(argv, "pc");
      need(rest, 1, "file");
      return withHost(async (c) => {
        const r = await c.call("restore", { file: resolve(rest[0]), paused: f.has("p") });
        if (f.has("c")) return attachConsole(c, String(r.domid));
        return 0;
      });
    }),
    simple("network-attach", "attach a virtual network interface to a running domain", "xents network-attach <domain> [mac=..., bridge=...]", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => { await c.call("network-attach", { domain: argv[0], spec: argv.slice(1).join(",") }); return 0; });
    }),
    simple("network-detach", "detach a virtual network interface", "xents network-detach [-f] <domain> <devid|mac>", async (argv) => {
      const { f, rest } = parseFlags(argv, "f");
      need(rest, 2, "domain and device");
      return withHost(async (c) => { await c.call("network-detach", { domain: rest[0], device: rest[1], force: f.has("f") }); return 0; });
    }),
    simple("network-list", "list a domain's virtual network interfaces", "xents network-list <domain>", async (argv) => {
      need(argv, 1, "domain");
      return withHost(async (c) => {
        process.stdout.write("Idx BE Mac Addr.         handle state bridge\n");
        for (const v of await c.call("network-list", { domain: argv[0] })) {
          process.stdout.write(`${String(v.handle).padEnd(3)} ${String(v.backendId).padEnd(2)} ${v.mac}  ${String(v.handle).padEnd(6)} ${String(v.feState).padEnd(5)} ${v.bridge}\n`);
        }
        return 0;
      });
    }),
    simple("tap-attach", "join a host TAP device (created if missing) to a bridge", "xents tap-attach <bridge> <ifname>", async (argv) => {
      need(argv, 2, "bridge and interface");
      return withHost(async (c) => { await c.call("tap-attach", { bridge: argv[0], ifname: argv[1] }); return 0; });
    }),
    simple("tap-detach", "take a host TAP device off its bridge", "xents tap-detach <ifname>", async (argv) => {
      need(argv, 1, "interface");
      return withHost(async (c) => { await c.call("tap-detach", { ifname: argv[0] }); return 0; });
    }),
    simple("bridge-list", "list the host's bridges and their ports", "xents bridge-list", async () => withHost(async (c) => {
      process.stdout.write("bridge           frames  flooded dropped ports\n");
      for (const b of await c.call("bridge-list", {})) {
        process.stdout.write(`${b.name.padEnd(16)} ${String(b.frames).padStart(7)} ${String(b.flooded).padStart(8)} ${String(b.dropped).padStart(7)} ${b.ports.join(" ")}\n`);
      }
      return 0;
    })),
    simple("device-list", "list the machine's devices: device-tree path, register page, SPI and owner", "xents device-list", async (argv) => withHost(async (c) => {
      if (argv.length) throw new UsageError(`unexpected argument '${argv[0]}'`);
      process.stdout.write("name       kind         path                    iomem     irq owner\n");
      for (const d of await c.call("device-list", {})) {
        process.stdout.write(`${d.name.padEnd(10)} ${d.kind.padEnd(12)} ${d.path.padEnd(23)} ${(d.address / 4096).toString(16).padEnd(9)} ${String(d.irq).padStart(3)} ${d.owner === null ? "-" : String(d.owner)}\n`);
      }
      return 0;
    })),
    simple("assignable-list", "the device-tree paths of the machine's devices no domain has (for dtdev)", "xents assignable-list", async (argv) => withHost(async (c) => {
      if (argv.length) throw new UsageError(`unexpected argument '${argv[0]}'`);
      for (const d of await c.call("device-list", {})) if (d.owner === null) process.stdout.write(`${d.path}\n`);
      return 0;
    })),
    simple("lsevtchn", "list a domain's event channels (Domain-0 by default)", "xents lsevtchn [domain]", async (argv) => withHost(async (c) => {
      const ports = await c.call("lsevtchn", argv[0] === undefined ? {} : { domain: argv[0] });
      for (const p of ports) process.stdout.write(`${String(p.port).padStart(4)}: VCPU ${p.vcpu}: ${describeEvtchn(p)}\n`);
      return 0;
    })),
    simple("top", "live view of domains (q to quit)", "xents top [-d seconds] [-i iterations]", async (argv) => {
      const { v, rest } = parseFlags(argv, "", "di");
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
      // Number() alone took "abc" as NaN: a busy loop for -d, nothing at all for -i.
      let delay = 1;
      const d = v.get("d");
      if (d !== undefined) {
        delay = /^\d+(\.\d+)?$/.test(d) ? Number(d) : NaN;
        if (!(delay > 0)) throw new UsageError(`-d wants a delay in seconds greater than 0, not '${d}'`);
      }
      const iterations = v.has("i") ? wholeNumber(v.get("i")!, "-i (iterations)", 1) : Infinity;
      return withHost(async (c) => {
        const last = new Map<number, { t: number; at: number }>();
        let quit = false;
        const tty = process.stdin.isTTY === true;
        if (tty) { process.stdin.setRawMode(true); process.stdin.resume(); process.stdin.on("data", (d: Buffer) => { if (d.includes(0x71) || d.includes(3)) quit = true; }); }
        for (let n = 0; n < iterations && !quit; n++) {
          const rows = await c.call("list");
          const now = Date.now();
          let out = tty ? "\x1b[H\x1b[2J" : "";
          out += `xents top - ${new Date().toTimeString().slice(0, 8)}   ${rows.length} domains\n`;
          out += "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) VCPUS\n";
          for (const r of rows) {
            const prev = last.get(r.id);
            const pct = prev ? Math.max(0, ((r.time - prev.t) / ((now - prev.at) / 1000)) * 100) : 0;
            last.set(r.id, { t: r.time, at: now });
            out += `${r.name.slice(0, 10).padStart(10)} ${r.state} ${r.time.toFixed(0).padStart(10)} ${pct.toFixed(1).padStart(6)} ${String(r.mem * 1024).padStart(10)} ${String(r.vcpus).padStart(5)}\n`;
          }
          process.stdout.write(out);
          if (n + 1 < iterations && !quit) await new Promise((r) => setTimeout(r, delay * 1000));
        }
        if (tty) { process.stdin.setRawMode(false); process.stdin.pause(); }
        return 0;
      });
    }),
  ]);
}
