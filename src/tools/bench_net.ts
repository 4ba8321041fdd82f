// `xents bench net`: TCP throughput between two Debian domUs on xenbr0,
// and from a domU to a receiver on the host reached through a TAP device on
// xenbr0 (in a network namespace of its own, so the host's own addresses
// are untouched; needs root), beside the host's loopback. Every figure is
// the same program (bench/programs/tcp_xfer.c: <MiB> MiB in 256 KiB writes)
// moving the same bytes, timed by its receiver from accept to the end of
// the stream. The loopback reference runs after the guests are destroyed,
// so it does not share the CPU with them.
//
// With --driver-domain, the same two guests then move the same bytes with
// their vifs served by a network driver domain (a Linux domU with the
// driver domain's file system: xl devd, xen-netback, its own xenbr0)
// instead of Domain-0's netback and switch: "dom0" and "driver_domain".

import { readFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { freePort } from "./net/free_port.js";
import { TapPort } from "./net/tap_port.js";
import { initrdWithPrograms } from "./initrd_programs.js";
import type { HostFactory } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { fetchDriverDomainImages } from "./dom0_image.js";
import { Toolstack, Guest } from "./toolstack.js";
import { parseVifSpec } from "./vif_spec.js";
import { buildHost } from "./toolchain.js";
import { until } from "./until.js";

export interface NetBenchResult {
  benchmark: "net"; mib: number; program: string;
  domu_to_domu_mbps: number; domu_to_domu_wall_mbps: number; host_loopback_mbps: number; ratio: number;
  domu_to_host_mbps: number | null; domu_to_host_note?: string;
  // --driver-domain: domU to domU through each kind of backend (ratio: to the host's loopback)
  dom0?: PairFigures;
  driver_domain?: PairFigures & { vs_dom0: number };
}
interface PairFigures { domu_to_domu_mbps: number; domu_to_domu_wall_mbps: number; ratio: number }

const SRC = "bench/programs/tcp_xfer.c";


// The receiver's own line: "RECV <bytes> <ms>", checked for the whole stream.
function received(text: string, mib: number, where: string): { bytes: number; mbps: number } {
  const m = /RECV (\d+) ([\d.]+)/.exec(text);
  if (!m || Number(m[1]) !== mib << 20) throw new Error(`${where} received ${m?.[1] ?? "nothing"} of ${mib << 20} bytes`);
  return { bytes: Number(m[1]), mbps: (Number(m[1]) * 8) / (Math.max(0.001, Number(m[2])) / 1000) / 1e6 };
}

// tcp_xfer on the host's loopback, receiver and sender as two processes.
async function loopbackMbps(bin: string, mib: number): Promise<number> {
  const port = await freePort();
  let text = "";
  const rx = spawn(bin, ["recv", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  rx.stdout.on("data", (d: Buffer) => { text += d.toString(); });
  const exited = new Promise<void>((res) => rx.on("close", () => res()));
  try {
    // the receiver is listening once a connect succeeds; tcp_xfer send fails fast until then
    await until(() => spawnSync(bin, ["send", "127.0.0.1", String(port), String(mib)]).status === 0, 30_000, "the loopback transfer");
    await exited;
  } finally { rx.kill(); }
  return received(text, mib, "the host's loopback receiver").mbps;
}

export async function benchNet(factory: HostFactory, opts: { mib?: number; driverDomain?: boolean } = {}): Promise<NetBenchResult> {
  const mib = opts.mib ?? 16;
  if (!Number.isInteger(mib) || mib < 1 || mib > 4096) throw new Error(`--mib must be a whole number from 1 to 4096, not ${mib}`);
  const img = fetchImages();
  const hostBin = buildHost(SRC, ["-O2"], "tcp_xfer");
  const h = factory.boot({ ramMiB: 768, deterministic: false });
  const ts = new Toolstack(h.dom0);
  let stop = false;
  const loop = h.run(() => stop);
  let domu: { mbps: number }, wall: number, toHost: number | null = null, note: string | undefined;
  let viaDriver: { mbps: number; wall: number } | undefined;
  const guests: Guest[] = [];
  try {
    const kernel = new Uint8Array(readFileSync(img.kernel)), ramdisk = initrdWithPrograms(img.initrd, [SRC]);
    const out = new Map<number, string>();
    const mk = (name: string, vif: string, memoryMiB = 160, initrd = ramdisk, driverDomain = false): Guest => {
      const g = ts.create({ name, memoryMiB, vcpus: 1, kernel, ramdisk: initrd, cmdline: "console=hvc0", vifs: vif ? [parseVifSpec(vif)] : [], driverDomain });
      guests.push(g);
      out.set(g.domid, "");
      g.console.listeners.add((d) => {
        const t = Buffer.from(d).toString("latin1");
        out.set(g.domid, out.get(g.domid)! + t);
        if (t.includes("\x1b[6n")) g.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
      });
      return g;
    };
    const type = (g: Guest, s: string): void => g.console.input(new Uint8Array(Buffer.from(s)));
    const gone = (g: Guest): void => { ts.destroy(g.domid); guests.splice(guests.indexOf(g), 1); };
    // two guests on one switch, a to b, timed by b's receiver and by the wall clock
    const pair = async (tag: string, vif: (mac: string) => string): Promise<{ a: Guest; b: Guest; mbps: number; wall: number }> => {
      const a = mk(`bench-${tag}a`, vif(`00:16:3e:00:01:${tag === "" ? "01" : "03"}`)), b = mk(`bench-${tag}b`, vif(`00:16:3e:00:01:${tag === "" ? "02" : "04"}`));
      const shell = (g: Guest): boolean => { const o = out.get(g.domid)!; const i = o.indexOf("xents: busybox shell"); return i >= 0 && o.indexOf("/ # ", i) >= 0; };
      await until(() => shell(a) && shell(b), 600_000, "the guests' shells");
      type(a, "ip link set eth0 up; ip addr add 10.0.0.1/24 dev eth0\n");
      type(b, "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; /opt/tcp_xfer recv 5000; echo GOT-$((40+2))\n");
      await new Promise((r) => setTimeout(r, 1000));
      const mark = out.get(a.domid)!.length;
      type(a, `until /opt/tcp_xfer send 10.0.0.2 5000 ${mib}; do sleep 1; done; echo SENT-$((40+2))\n`);
      const t0 = performance.now();
      await until(() => /SENT-42/.test(out.get(a.domid)!.slice(mark)) && /GOT-42/.test(out.get(b.domid)!), 600_000, "the transfer");
      return { a, b, wall: ((mib << 20) * 8) / ((performance.now() - t0) / 1000) / 1e6, mbps: received(out.get(b.domid)!, mib, "the receiving guest").mbps };
    };
    const first = await pair("", (mac) => `mac=${mac}, bridge=xenbr0`);
    const a = first.a;
    domu = first;
    wall = first.wall;
    if (process.getuid?.() !== 0 || spawnSync("ip", ["netns", "list"]).status !== 0) note = "needs root and ip netns for the TAP device";
    else {
      const m2 = out.get(a.domid)!.length;
      toHost = await domuToHost(ts, hostBin, mib, (s) => type(a, s), () => /SENT2-42/.test(out.get(a.domid)!.slice(m2)));
    }
    if (opts.driverDomain) {
      gone(first.a);
      gone(first.b);
      const drv = mk("net", "", 256, new Uint8Array(readFileSync(fetchDriverDomainImages().initrd)), true);
      await until(() => /xents-driver: driver domain up[\s\S]*driver:\/# /.test(out.get(drv.domid)!), 600_000, "the network driver domain");
      const second = await pair("dd", (mac) => `backend=net, mac=${mac}, bridge=xenbr0`);
      viaDriver = { mbps: second.mbps, wall: second.wall };
    }
  } finally {
    stop = true;
    await loop;
    for (const g of [...guests]) ts.destroy(g.domid);
  }
  // the reference, with the guests gone
  const lo = await loopbackMbps(hostBin, mib);
  const r1 = (x: number): number => Math.round(x * 10) / 10, r4 = (x: number): number => Math.round(x * 10000) / 10000;
  const figures = (p: { mbps: number; wall: number }): PairFigures => ({ domu_to_domu_mbps: r1(p.mbps), domu_to_domu_wall_mbps: r1(p.wall), ratio: r4(p.mbps / lo) });
  return {
    benchmark: "net", mib, program: SRC, domu_to_domu_mbps: r1(domu.mbps), domu_to_domu_wall_mbps: r1(wall), host_loopback_mbps: r1(lo),
    ratio: r4(domu.mbps / lo), domu_to_host_mbps: toHost === null ? null : r1(toHost), ...(note ? { domu_to_host_note: note } : {}),
    ...(viaDriver ? { dom0: figures({ mbps: domu.mbps, wall }), driver_domain: { ...figures(viaDriver), vs_dom0: r4(viaDriver.mbps / domu.mbps) } } : {}),
  };
}

// The sending guest (10.0.0.1) to tcp_xfer's receiver at 10.0.0.254 in a
// fresh namespace whose only link is a TAP device on xenbr0.
async function domuToHost(ts: Toolstack, bin: string, mib: number, type: (s: string) => void, sent: () => boolean): Promise<number> {
  const tag = process.pid.toString(36);
  const ns = `xbn-${tag}`, ifname = `xbt${tag}`.slice(0, 15);
  const ip = (...a: string[]): void => {
    const r = spawnSync("ip", a, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${a.join(" ")}: ${r.stderr.trim()}`);
  };
  const tap = await TapPort.open(ts.bridges.get("xenbr0"), ifname);
  let text = "", done = false;
  try {
    ip("netns", "add", ns);
    ip("link", "set", ifname, "netns", ns);
    ip("-n", ns, "addr", "add", "10.0.0.254/24", "dev", ifname);
    ip("-n", ns, "link", "set", ifname, "up");
    const rx = spawn("ip", ["netns", "exec", ns, bin, "recv", "5001"], { stdio: ["ignore", "pipe", "inherit"] });
    rx.stdout.on("data", (d: Buffer) => { text += d.toString(); });
    rx.on("close", () => { done = true; });
    // the sender retries until the receiver listens
    type(`until /opt/tcp_xfer send 10.0.0.254 5001 ${mib}; do sleep 1; done; echo SENT2-$((40+2))\n`);
    await until(() => done, 600_000, "the transfer to the host");
    await until(sent, 60_000, "the sender's end");
    return received(text, mib, "the host's receiver behind the TAP").mbps;
  } finally {
    tap.close();
    spawnSync("ip", ["netns", "del", ns]);
  }
}
