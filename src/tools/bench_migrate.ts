// `xents bench migrate`: live migration of a 256 MiB Debian domU between two
// hosts (two machines in this process, TCP on loopback), idle and while a
// program in the guest dirties memory at a set rate. Downtime is measured
// from the source pausing the guest to the destination unpausing it (one
// clock, as both hosts share this process); the acknowledged downtime adds
// the destination's RUNNING reaching the source;
// the client gap is the longest time between two echo replies that a
// client pinging the guest every 10 ms sees across the move (the client
// stands on a LAN both hosts' xenbr0 reach); the console gap is the same
// for the guest's 10 ms ticks on its console.

import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import type { HostFactory, BootedHost } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack, Guest } from "./toolstack.js";
import { initrdWithPrograms } from "./initrd_programs.js";
import { migrateOut, MigrationListener } from "./migration.js";
import { parseVifSpec } from "./vif_spec.js";
import { PingClient } from "./net/ping_client.js";

export interface MigrateFigures { downtime_ms: number; acked_downtime_ms: number; client_gap_ms: number; console_gap_ms: number; pings_sent: number; pings_answered: number; total_s: number; pages_sent: number; rounds: number; dirty_pages_per_s: number; }
export interface MigrateBenchResult { benchmark: "migrate"; memory_mib: number; idle: MigrateFigures; busy: MigrateFigures; }

async function scenario(factory: HostFactory, memoryMiB: number, rate: number, initrd: Uint8Array, kernel: Uint8Array): Promise<MigrateFigures> {
  const hosts: BootedHost[] = [factory.boot({ ramMiB: memoryMiB + 256, deterministic: false }), factory.boot({ ramMiB: memoryMiB + 256, deterministic: false })];
  const [tsA, tsB] = hosts.map((h) => new Toolstack(h.dom0));
  let stop = false;
  const loops = hosts.map((h) => h.run(() => stop));
  const key = randomBytes(32);
  const listener = new MigrationListener(tsB, key);
  const port = await listener.listen(0, "127.0.0.1");
  let pinger: ReturnType<typeof setInterval> | undefined;
  try {
    const g = tsA.create({ name: "mig", memoryMiB, vcpus: 1, kernel, ramdisk: initrd, cmdline: "console=hvc0", vifs: [parseVifSpec("mac=00:16:3e:00:09:02, bridge=xenbr0")] });
    const client = new PingClient(new Uint8Array([0x02, 0, 0, 0, 0x09, 0x01]), "10.0.9.1", "10.0.9.2");
    for (const ts of [tsA, tsB]) client.attach(ts.bridges.get("xenbr0"));
    pinger = setInterval(() => client.ping(), 10);
    let out = "";
    const ticks: number[] = [];
    const watch = (x: Guest): void => { x.console.listeners.add((d) => {
      const t = Buffer.from(d).toString("latin1");
      out += t;
      if (t.includes("\x1b[6n")) x.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
      const now = performance.now();
      for (const _ of t.matchAll(/^T \d+\r?$/gm)) ticks.push(now);
    }); };
    watch(g);
    const until = async (f: () => boolean, ms: number, what: string): Promise<void> => {
      const t0 = performance.now();
      while (!f()) { if (performance.now() - t0 > ms) throw new Error(`timed out: ${what}`); await new Promise((r) => setTimeout(r, 20)); }
    };
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
    let gap = 0;
    for (let i = 1; i < ticks.length; i++) gap = Math.max(gap, ticks[i] - ticks[i - 1]);
    for (const x of [...tsB.guests.values()]) tsB.destroy(x.domid);
    return {
      downtime_ms: Math.round(listener.resumedAt - r.pausedAt), acked_downtime_ms: r.downtimeMs, client_gap_ms: Math.round(client.longestGapMs()), console_gap_ms: Math.round(gap), pings_sent: client.sent, pings_answered: client.replies.length,
      total_s: Math.round(r.totalMs) / 1000, pages_sent: r.pagesSent, rounds: r.rounds, dirty_pages_per_s: rate,
    };
  } finally {
    clearInterval(pinger);
    await listener.close();
    stop = true;
    await Promise.all(loops);
  }
}

export async function benchMigrate(factory: HostFactory, opts: { memoryMiB?: number; dirtyRate?: number } = {}): Promise<MigrateBenchResult> {
  const mem = opts.memoryMiB ?? 256;
  const img = fetchImages();
  const initrd = initrdWithPrograms(img.initrd, ["bench/programs/dirty.c"]);
  const kernel = new Uint8Array(readFileSync(img.kernel));
  const idle = await scenario(factory, mem, 0, initrd, kernel);
  const busy = await scenario(factory, mem, opts.dirtyRate ?? 2000, initrd, kernel);
  return { benchmark: "migrate", memory_mib: mem, idle, busy };
}
