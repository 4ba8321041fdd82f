// `xents bench remus`: Remus protection of a Debian domU (memory and
// network; no disk) at intervals of 25, 50, 100 and 200 ms, against the
// same guest unprotected, measured in the same run (the reference).
//
// Machines are hosts in this process, each cabled to one LAN switch by its
// xenbr0, replicating over TCP on loopback through a forwarder that plays
// the network between them. A client on the LAN pings the guest every
// 10 ms. For each interval:
// - checkpoints_per_s and pause_ms (mean, with where it goes) while a
//   CPU-bound program runs in the guest (bench/programs/cpu_bench.c, ~2 s
//   unprotected) and then the client's echo requests (2 s);
// - slowdown_cpu: that program's time, protected / unprotected;
// - slowdown_net: the client's mean echo round trip, protected /
//   unprotected (a request-response network workload: each answer waits
//   for the checkpoint of the epoch that produced it);
// - failover_gap_ms: the primary machine dies (its run loop stops, its
//   cable and its replication connection are cut, as a killed host
//   process's would be) and the backup's copy takes over; the longest time
//   between two echo replies the client sees. Fail-over is the
//   automatic one without an arbiter (--unsafe-failover): an arbiter adds
//   its lease's time (2 s) to the gap.
// The guest then runs on the backup, which is protected towards a fresh
// machine for the next interval.

import { readFileSync } from "node:fs";
import { createServer, connect, Server, Socket } from "node:net";
import { randomBytes } from "node:crypto";
import type { HostFactory, BootedHost } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack, Guest } from "./toolstack.js";
import { initrdWithPrograms } from "./initrd_programs.js";
import { MigrationListener } from "./migration.js";
import { parseVifSpec } from "./vif_spec.js";
import { PingClient } from "./net/ping_client.js";
import { Bridge } from "./net/bridge.js";
import { BridgeLink } from "./net/bridge_link.js";
import { until } from "./until.js";
import { RemusPrimary } from "./remus/primary.js";
import { RemusBackup } from "./remus/backup.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RemusIntervalFigures {
  interval_ms: number; checkpoints_per_s: number; pause_ms: number; pause_parts_ms: { dirty_log: number; pages: number; context: number; xenstore: number };
  pages_per_checkpoint: number; kib_per_checkpoint: number; ack_ms: number; initial_sync_ms: number;
  cpu_s: number; slowdown_cpu: number; ping_rtt_ms: number; slowdown_net: number; failover_gap_ms: number;
}
export interface RemusBenchResult {
  benchmark: "remus"; memory_mib: number;
  unprotected: { cpu_s: number; ping_rtt_ms: number };
  intervals: RemusIntervalFigures[];
}

const INTERVALS = [25, 50, 100, 200];
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// The network between two machines: forwards one TCP connection each way;
// cut() resets it, as the kernel does for a process that was killed.
class Wire {
  private readonly server: Server;
  private readonly socks: Socket[] = [];
  constructor(private readonly to: number) {
    this.server = createServer((a) => {
      const b = connect(this.to, "127.0.0.1");
      this.socks.push(a, b);
      a.pipe(b); b.pipe(a);
      const kill = (): void => { a.destroy(); b.destroy(); };
      a.on("error", kill); b.on("error", kill); a.on("close", kill); b.on("close", kill);
    });
  }
  listen(): Promise<number> { return new Promise((res) => this.server.listen(0, "127.0.0.1", () => res((this.server.address() as { port: number }).port))); }
  cut(): void { for (const s of this.socks) s.resetAndDestroy(); }
  close(): Promise<void> { this.cut(); return new Promise((res) => this.server.close(() => res())); }
}

interface Machine { h: BootedHost; ts: Toolstack; stop: boolean; loop: Promise<void>; cable: BridgeLink; listener: MigrationListener; port: number }

export async function benchRemus(factory: HostFactory, opts: { memoryMiB?: number } = {}): Promise<RemusBenchResult> {
  const mem = opts.memoryMiB ?? 160;
  if (!Number.isInteger(mem) || mem < 64 || mem > 1024) throw new Error(`--memory must be a whole number of MiB from 64 to 1024, not ${mem}`);
  const img = fetchImages();
  const initrd = initrdWithPrograms(img.initrd, ["bench/programs/cpu_bench.c"], ["-nostdlib", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-DITERATIONS=1500"]);
  const kernel = new Uint8Array(readFileSync(img.kernel));
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), "xents-bench-remus-"));
  const lan = new Bridge("lan");
  const client = new PingClient(new Uint8Array([0x02, 0, 0, 0, 0x0a, 0x01]), "10.0.10.1", "10.0.10.2");
  client.attach(lan);
  const machines: Machine[] = [];
  const wires: Wire[] = [];
  let out = "";
  const watch = (g: Guest): void => { g.console.listeners.add((d) => {
    const t = Buffer.from(d).toString("latin1");
    out += t;
    if (t.includes("\x1b[6n")) g.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
  }); };
  const machine = async (): Promise<Machine> => {
    const h = factory.boot({ ramMiB: mem + 256, deterministic: false });
    const ts = new Toolstack(h.dom0);
    ts.events.onGuestCreated = watch;
    const listener = new MigrationListener(ts, key);
    listener.remus = (sock, lines) => new RemusBackup(ts, join(dir, `m${machines.length}`), sock, lines, `machine-${machines.length}`).start();
    const port = await listener.listen(0, "127.0.0.1");
    const m: Machine = { h, ts, stop: false, loop: Promise.resolve(), cable: new BridgeLink(ts.bridges.get("xenbr0"), lan), listener, port };
    m.loop = h.run(() => m.stop);
    machines.push(m);
    return m;
  };
  const type = (g: Guest, s: string): void => g.console.input(new Uint8Array(Buffer.from(s)));
  let runs = 0;
  // the CPU-bound program's time, from the host's clock
  const cpuRun = async (g: Guest): Promise<number> => {
    const tag = `CPU-DONE-${++runs}`, from = out.length;
    const t0 = performance.now();
    type(g, `/opt/cpu_bench >/dev/null; echo ${tag.replace("-", "-''")}\n`);
    await until(() => out.indexOf(tag, from) >= 0, 600_000, "the CPU-bound program");
    return (performance.now() - t0) / 1000;
  };
  // the client's mean echo round trip over `ms`
  const rtt = async (ms: number): Promise<number> => {
    const from = client.rtts.length;
    await new Promise((res) => setTimeout(res, ms));
    const xs = client.rtts.slice(from);
    if (xs.length < 10) throw new Error(`only ${xs.length} echo replies in ${ms} ms`);
    return mean(xs);
  };
  const pinger = setInterval(() => client.ping(), 10);
  try {
    let cur = await machine();
    let g = cur.ts.create({ name: "ha", memoryMiB: mem, vcpus: 1, kernel, ramdisk: initrd, cmdline: "console=hvc0", vifs: [parseVifSpec("mac=00:16:3e:00:0a:02, bridge=xenbr0")] });
    await until(() => out.includes("xents: busybox shell") && /\/ # /.test(out.slice(out.indexOf("xents: busybox shell"))), 600_000, "the guest's shell");
    type(g, "ip link set eth0 up; ip addr add 10.0.10.2/24 dev eth0\n");
    await until(() => client.replies.length > 20, 60_000, "echo replies from the guest");
    await cpuRun(g); // warm: its pages translated, as for every measured run
    const base = { cpu_s: await cpuRun(g), ping_rtt_ms: await rtt(2000) };
    const intervals: RemusIntervalFigures[] = [];
    for (const interval of INTERVALS) {
      const next = await machine();
      const wire = new Wire(next.port);
      wires.push(wire);
      const p = await RemusPrimary.start(cur.ts, g.domid, "127.0.0.1", await wire.listen(), {
        key, intervalMs: interval, timeoutMs: 1000, netBuffer: true, disk: false, failover: "auto", arbiter: null, who: "bench",
      });
      await new Promise((res) => setTimeout(res, 1000));
      // the checkpoint rate over both workloads (seconds, not a few checkpoints)
      const s0 = p.status(), t0 = performance.now();
      const cpu = await cpuRun(g);
      const ping = await rtt(2000);
      const s1 = p.status(), dt = (performance.now() - t0) / 1000;
      const n = Math.max(1, s1.checkpoints - s0.checkpoints);
      // the primary dies
      const before = client.replies.length;
      cur.stop = true;
      await cur.loop;
      cur.cable.close();
      wire.cut();
      await until(() => [...next.ts.guests.values()].some((x) => x.name === "ha"), 30_000, "the backup's take-over");
      await until(() => client.replies.length > before + 50, 30_000, "echo replies from the backup's copy");
      const replies = client.replies.slice(Math.max(0, before - 1));
      let gap = 0;
      for (let i = 1; i < replies.length; i++) gap = Math.max(gap, replies[i].at - replies[i - 1].at);
      const st = p.status();
      intervals.push({
        interval_ms: interval, checkpoints_per_s: round(n / dt), pause_ms: st.mean_pause_ms, pause_parts_ms: st.mean_pause_parts_ms,
        pages_per_checkpoint: st.last_pages, kib_per_checkpoint: round(st.last_bytes / 1024), ack_ms: st.last_ack_ms, initial_sync_ms: st.initial_sync_ms,
        cpu_s: round(cpu, 2), slowdown_cpu: round(cpu / base.cpu_s, 2), ping_rtt_ms: round(ping), slowdown_net: round(ping / base.ping_rtt_ms, 2), failover_gap_ms: Math.round(gap),
      });
      // the dead machine's copy goes; the guest runs on the backup
      for (const x of [...cur.ts.guests.values()]) cur.ts.destroy(x.domid);
      await cur.listener.close();
      g = [...next.ts.guests.values()].find((x) => x.name === "ha")!;
      cur = next;
    }
    return { benchmark: "remus", memory_mib: mem, unprotected: { cpu_s: round(base.cpu_s, 2), ping_rtt_ms: round(base.ping_rtt_ms) }, intervals };
  } finally {
    clearInterval(pinger);
    for (const w of wires) await w.close();
    for (const m of machines) {
      m.cable.close();
      m.stop = true;
      await m.loop;
      await m.listener.close().catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
