// `xents bench migrate`: live migration of a 256 MiB Debian domU between two
// hosts (two machines in this process, TCP on loopback), idle and while a
// program in the guest dirties memory at a set rate. Downtime is measured
// from the source pausing the guest to the destination unpausing it (one
// clock, as both hosts share this process); the acknowledged downtime adds
// the destination's RUNNING reaching the source;
// the client gap is the longest time between two echo replies that a
// client pinging the guest every 10 ms sees across the move. The client
// stands on a LAN switch that both hosts' xenbr0 are cabled to, and finds
// the guest only as a real client would: by ARP, then wherever the switch
// learnt its MAC (the destination's netback announces it with RARP, as
// QEMU's announce-self does). The console gap is the same for the guest's
// 10 ms ticks on its console.
//
// The reference is QEMU's own live migration on this machine: the same
// kernel, initramfs and dirtier in a qemu-system-aarch64 -M virt guest of
// the same memory size, to a second QEMU with -incoming over TCP loopback,
// with QEMU's default bandwidth and downtime limits; downtime and total
// time as QEMU's query-migrate reports them, and the same console gap and
// memory check.

import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawn, ChildProcess, execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { HostFactory, BootedHost } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack, Guest } from "./toolstack.js";
import { initrdWithPrograms } from "./initrd_programs.js";
import { migrateOut, MigrationListener } from "./migration.js";
import { parseVifSpec } from "./vif_spec.js";
import { PingClient } from "./net/ping_client.js";
import { Bridge } from "./net/bridge.js";
import { BridgeLink } from "./net/bridge_link.js";
import { freePort } from "./net/free_port.js";
import { QmpClient } from "./qmp.js";
import { until } from "./until.js";
import { childInput } from "./child_input.js";

export interface MigrateFigures { downtime_ms: number; acked_downtime_ms: number; client_gap_ms: number; console_gap_ms: number; pings_sent: number; pings_answered: number; total_s: number; pages_sent: number; rounds: number; dirty_pages_per_s: number; }
export interface QemuMigrateFigures { downtime_ms: number; total_ms: number; setup_ms: number; transferred_bytes: number; dirty_sync_count: number; console_gap_ms: number; dirty_pages_per_s: number; }
export interface MigrateBenchResult {
  benchmark: "migrate"; memory_mib: number; idle: MigrateFigures; busy: MigrateFigures;
  qemu: { version: string; idle: QemuMigrateFigures; busy: QemuMigrateFigures };
}

const TICK = /^T \d+\r?$/gm;
const longestGap = (ticks: number[]): number => { let gap = 0; for (let i = 1; i < ticks.length; i++) gap = Math.max(gap, ticks[i] - ticks[i - 1]); return gap; };

async function scenario(factory: HostFactory, memoryMiB: number, rate: number, initrd: Uint8Array, kernel: Uint8Array): Promise<MigrateFigures> {
  const hosts: BootedHost[] = [factory.boot({ ramMiB: memoryMiB + 256, deterministic: false }), factory.boot({ ramMiB: memoryMiB + 256, deterministic: false })];
  const [tsA, tsB] = hosts.map((h) => new Toolstack(h.dom0));
  let stop = false;
  const loops = hosts.map((h) => h.run(() => stop));
  const key = randomBytes(32);
  const listener = new MigrationListener(tsB, key);
  const port = await listener.listen(0, "127.0.0.1");
  let pinger: ReturnType<typeof setInterval> | undefined;
  const links: BridgeLink[] = [];
  try {
    const g = tsA.create({ name: "mig", memoryMiB, vcpus: 1, kernel, ramdisk: initrd, cmdline: "console=hvc0", vifs: [parseVifSpec("mac=00:16:3e:00:09:02, bridge=xenbr0")] });
    const client = new PingClient(new Uint8Array([0x02, 0, 0, 0, 0x09, 0x01]), "10.0.9.1", "10.0.9.2");
    const lan = new Bridge("lan");
    for (const ts of [tsA, tsB]) links.push(new BridgeLink(ts.bridges.get("xenbr0"), lan));
    client.attach(lan);
    pinger = setInterval(() => client.ping(), 10);
    let out = "";
    const ticks: number[] = [];
    const watch = (x: Guest): void => { x.console.listeners.add((d) => {
      const t = Buffer.from(d).toString("latin1");
      out += t;
      if (t.includes("\x1b[6n")) x.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
      const now = performance.now();
      for (const _ of t.matchAll(TICK)) ticks.push(now);
    }); };
    watch(g);
    await until(() => /\/ # /.test(out.slice(out.indexOf("xents: busybox shell") + 1)) && out.includes("xents: busybox shell"), 600_000, "the guest's shell");
    g.console.input(new Uint8Array(Buffer.from(`ip link set eth0 up; ip addr add 10.0.9.2/24 dev eth0; /opt/dirty ${rate} 64 &\n`)));
    await until(() => ticks.length > 150 && client.replies.length > 50, 60_000, "the dirtier's ticks and echo replies");
    tsB.events.onGuestCreated = (x) => watch(x);
    const r = await migrateOut(tsA, g.domid, "127.0.0.1", port, { live: true, key });
    const moved = ticks.length, answered = client.replies.length;
    await until(() => ticks.length > moved + 50 && client.replies.length > answered + 50, 60_000, "ticks and echo replies from the destination");
    clearInterval(pinger);
    // the dirtier checks that every page it wrote came across as last written
    const mark = out.length;
    [...tsB.guests.values()][0]?.console.input(new Uint8Array(Buffer.from("kill -USR1 $(pidof dirty)\n")));
    await until(() => /CHECK (ok|bad)/.test(out.slice(mark)), 30_000, "the dirtier's memory check");
    const check = /CHECK [^\r\n]*/.exec(out.slice(mark))![0];
    if (!check.startsWith("CHECK ok")) throw new Error(`the guest's memory differs after the migration: ${check}`);
    const gap = longestGap(ticks);
    for (const x of [...tsB.guests.values()]) tsB.destroy(x.domid);
    return {
      downtime_ms: Math.round(listener.resumedAt - r.pausedAt), acked_downtime_ms: r.downtimeMs, client_gap_ms: Math.round(client.longestGapMs()), console_gap_ms: Math.round(gap), pings_sent: client.sent, pings_answered: client.replies.length,
      total_s: Math.round(r.totalMs) / 1000, pages_sent: r.pagesSent, rounds: r.rounds, dirty_pages_per_s: rate,
    };
  } finally {
    clearInterval(pinger);
    for (const l of links) l.close();
    await listener.close();
    stop = true;
    await Promise.all(loops);
  }
}

// QEMU migrating the same guest doing the same thing: two
// qemu-system-aarch64 processes, the second waiting with -incoming.
async function qemuScenario(memoryMiB: number, rate: number, initrdPath: string, kernelPath: string, dir: string): Promise<QemuMigrateFigures> {
  const port = await freePort();
  const args = (qmp: string): string[] => ["-M", "virt", "-cpu", "cortex-a57", "-m", String(memoryMiB), "-display", "none", "-serial", "stdio", "-monitor", "none",
    "-kernel", kernelPath, "-initrd", initrdPath, "-append", "console=ttyAMA0", "-qmp", `unix:${qmp},server=on,wait=off`];
  const ticks: number[] = [];
  const procs: ChildProcess[] = [];
  const outs = ["", ""];
  const inputs: ((s: string) => void)[] = [];
  const start = (i: number, extra: string[]): ChildProcess => {
    const p = spawn("qemu-system-aarch64", [...args(join(dir, `qmp-${rate}-${i}`)), ...extra], { stdio: ["pipe", "pipe", "pipe"] });
    procs.push(p);
    const type = childInput(p);
    inputs[i] = type;
    p.stdout!.on("data", (d: Buffer) => {
      const t = d.toString("latin1");
      outs[i] += t;
      if (t.includes("\x1b[6n")) type("\x1b[1;1R"); // busybox's shell asks where the cursor is
      const now = performance.now();
      for (const _ of t.matchAll(TICK)) ticks.push(now);
    });
    p.stderr!.on("data", (d: Buffer) => { outs[i] += d.toString("latin1"); });
    return p;
  };
  const qmps: QmpClient[] = [];
  try {
    start(1, ["-incoming", `tcp:127.0.0.1:${port}`]);
    start(0, []);
    const srcQmp = await QmpClient.open(join(dir, `qmp-${rate}-0`));
    qmps.push(srcQmp, await QmpClient.open(join(dir, `qmp-${rate}-1`)));
    await until(() => outs[0].includes("xents: busybox shell") && /\/ # /.test(outs[0].slice(outs[0].indexOf("xents: busybox shell"))), 600_000, "QEMU's guest shell");
    inputs[0](`/opt/dirty ${rate} 64 &\n`);
    await until(() => ticks.length > 150, 60_000, "the dirtier's ticks under QEMU");
    await srcQmp.execute("migrate", { uri: `tcp:127.0.0.1:${port}` });
    interface Info { status: string; "total-time"?: number; downtime?: number; "setup-time"?: number; ram?: { transferred: number; "dirty-sync-count": number }; "error-desc"?: string }
    let info: Info = { status: "none" };
    const t0 = performance.now();
    while (!["completed", "failed", "cancelled"].includes(info.status)) {
      if (performance.now() - t0 > 600_000) throw new Error("QEMU's migration did not finish in 600 s");
      await new Promise((r) => setTimeout(r, 50));
      info = (await srcQmp.execute("query-migrate")) as Info;
    }
    if (info.status !== "completed") throw new Error(`QEMU's migration ${info.status}: ${info["error-desc"] ?? ""}`);
    const moved = ticks.length;
    await until(() => ticks.length > moved + 50, 60_000, "ticks from QEMU's destination");
    const mark = outs[1].length;
    inputs[1]("kill -USR1 $(pidof dirty)\n");
    await until(() => /CHECK (ok|bad)/.test(outs[1].slice(mark)), 30_000, "the dirtier's memory check under QEMU");
    const check = /CHECK [^\r\n]*/.exec(outs[1].slice(mark))![0];
    if (!check.startsWith("CHECK ok")) throw new Error(`the guest's memory differs after QEMU's migration: ${check}`);
    return {
      downtime_ms: info.downtime ?? -1, total_ms: info["total-time"] ?? -1, setup_ms: info["setup-time"] ?? -1,
      transferred_bytes: info.ram?.transferred ?? -1, dirty_sync_count: info.ram?.["dirty-sync-count"] ?? -1,
      console_gap_ms: Math.round(longestGap(ticks)), dirty_pages_per_s: rate,
    };
  } finally {
    for (const q of qmps) q.close();
    for (const p of procs) p.kill("SIGKILL");
  }
}

export async function benchMigrate(factory: HostFactory, opts: { memoryMiB?: number; dirtyRate?: number } = {}): Promise<MigrateBenchResult> {
  const mem = opts.memoryMiB ?? 256, rate = opts.dirtyRate ?? 2000;
  if (!Number.isInteger(mem) || mem < 64 || mem > 2048) throw new Error(`--memory must be a whole number of MiB from 64 to 2048, not ${mem}`);
  if (!Number.isInteger(rate) || rate < 100 || rate > 100_000) throw new Error(`--dirty-rate must be a whole number of pages per second from 100 to 100000, not ${rate}`);
  const img = fetchImages();
  const initrd = initrdWithPrograms(img.initrd, ["bench/programs/dirty.c"]);
  const kernel = new Uint8Array(readFileSync(img.kernel));
  const idle = await scenario(factory, mem, 0, initrd, kernel);
  const busy = await scenario(factory, mem, rate, initrd, kernel);
  const dir = mkdtempSync(join(tmpdir(), "xents-bench-mig-"));
  try {
    const initrdPath = join(dir, "initrd");
    writeFileSync(initrdPath, initrd);
    const version = /version ([\d.]+)/.exec(spawnVersion())?.[1] ?? "unknown";
    const qIdle = await qemuScenario(mem, 0, initrdPath, img.kernel, dir);
    const qBusy = await qemuScenario(mem, rate, initrdPath, img.kernel, dir);
    return { benchmark: "migrate", memory_mib: mem, idle, busy, qemu: { version, idle: qIdle, busy: qBusy } };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

function spawnVersion(): string {
  return execFileSync("qemu-system-aarch64", ["--version"], { encoding: "utf8" });
}
