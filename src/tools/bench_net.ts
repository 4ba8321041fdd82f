// `xents bench net`: TCP throughput between two Debian domUs on xenbr0
// (bench/programs/tcp_xfer.c, 16 MiB in 256 KiB writes, timed from the
// command to the receiver's end), and from a domU to a receiver on the host reached
// through a TAP device on xenbr0 (in a network namespace of its own, so the
// host's own addresses are untouched; needs root), beside TCP over the
// host's loopback measured in the same run.

import { readFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { TapPort } from "./net/tap_port.js";
import { initrdWithPrograms } from "./initrd_programs.js";
import { createServer, connect } from "node:net";
import type { HostFactory } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack, Guest } from "./toolstack.js";
import { parseVifSpec } from "./vif_spec.js";

export interface NetBenchResult { benchmark: "net"; mib: number; domu_to_domu_mbps: number; host_loopback_mbps: number; ratio: number; domu_to_host_mbps: number | null; domu_to_host_note?: string; }

async function loopbackMbps(bytes: number): Promise<number> {
  return new Promise((res, rej) => {
    let got = 0, t0 = 0;
    const srv = createServer((s) => s.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= bytes) { const dt = (performance.now() - t0) / 1000; s.destroy(); srv.close(); res((bytes * 8) / dt / 1e6); }
    }));
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const c = connect({ host: "127.0.0.1", port: typeof a === "object" && a ? a.port : 0 }, () => {
        t0 = performance.now();
        const chunk = Buffer.alloc(64 << 10);
        let sent = 0;
        const pump = (): void => { while (sent < bytes) { sent += chunk.length; if (!c.write(chunk)) { c.once("drain", pump); return; } } c.end(); };
        pump();
      });
      c.on("error", rej);
    });
  });
}

export async function benchNet(factory: HostFactory, opts: { mib?: number } = {}): Promise<NetBenchResult> {
  const mib = opts.mib ?? 16;
  const img = fetchImages();
  const h = factory.boot({ ramMiB: 768, deterministic: false });
  const ts = new Toolstack(h.dom0);
  let stop = false;
  const loop = h.run(() => stop);
  try {
    const kernel = new Uint8Array(readFileSync(img.kernel)), ramdisk = initrdWithPrograms(img.initrd, ["bench/programs/tcp_xfer.c"]);
    const out = new Map<number, string>();
    const mk = (name: string, mac: string): Guest => {
      const g = ts.create({ name, memoryMiB: 160, vcpus: 1, kernel, ramdisk, cmdline: "console=hvc0", vifs: [parseVifSpec(`mac=${mac}, bridge=xenbr0`)] });
      out.set(g.domid, "");
      g.console.listeners.add((d) => {
        const t = Buffer.from(d).toString("latin1");
        out.set(g.domid, out.get(g.domid)! + t);
        if (t.includes("\x1b[6n")) g.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
      });
      return g;
    };
    const a = mk("bench-a", "00:16:3e:00:01:01"), b = mk("bench-b", "00:16:3e:00:01:02");
    const until = async (f: () => boolean, ms: number, what: string): Promise<void> => {
      const t0 = performance.now();
      while (!f()) { if (performance.now() - t0 > ms) throw new Error(`timed out: ${what}`); await new Promise((r) => setTimeout(r, 20)); }
    };
    const shell = (g: Guest): boolean => { const o = out.get(g.domid)!; const i = o.indexOf("xents: busybox shell"); return i >= 0 && o.indexOf("/ # ", i) >= 0; };
    await until(() => shell(a) && shell(b), 600_000, "the guests' shells");
    const type = (g: Guest, s: string): void => g.console.input(new Uint8Array(Buffer.from(s)));
    type(a, "ip link set eth0 up; ip addr add 10.0.0.1/24 dev eth0\n");
    type(b, "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; /opt/tcp_xfer recv 5000; echo GOT-$((40+2))\n");
    await new Promise((r) => setTimeout(r, 1000));
    const mark = out.get(a.domid)!.length;
    type(a, `until /opt/tcp_xfer send 10.0.0.2 5000 ${mib}; do sleep 1; done; echo SENT-$((40+2))\n`);
    const t0 = performance.now();
    await until(() => /SENT-42/.test(out.get(a.domid)!.slice(mark)) && /GOT-42/.test(out.get(b.domid)!), 600_000, "the transfer");
    const dt = (performance.now() - t0) / 1000;
    const got = /RECV (\d+)/.exec(out.get(b.domid)!);
    if (!got || Number(got[1]) !== mib << 20) throw new Error(`the receiving guest got ${got?.[1] ?? "nothing"} of ${mib << 20} bytes`);
    const domu = (mib * 1048576 * 8) / dt / 1e6;
    let toHost: number | null = null, note: string | undefined;
    if (process.getuid?.() !== 0 || spawnSync("ip", ["netns", "list"]).status !== 0) note = "needs root and ip netns for the TAP device";
    else {
      const m2 = out.get(a.domid)!.length;
      toHost = await domuToHost(ts, mib, (s) => type(a, s), () => /SENT2-42/.test(out.get(a.domid)!.slice(m2)), until);
    }
    const lo = await loopbackMbps(256 << 20);
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    return {
      benchmark: "net", mib, domu_to_domu_mbps: r1(domu), host_loopback_mbps: r1(lo), ratio: Math.round((domu / lo) * 10000) / 10000,
      domu_to_host_mbps: toHost === null ? null : r1(toHost), ...(note ? { domu_to_host_note: note } : {}),
    };
  } finally {
    stop = true;
    await loop;
  }
}

// The sending guest (10.0.0.1) to a TCP receiver at 10.0.0.254 in a fresh
// namespace whose only link is a TAP device on xenbr0; timed from the
// command to the receiver seeing the end of the stream.
async function domuToHost(ts: Toolstack, mib: number, type: (s: string) => void, sent: () => boolean,
  until: (f: () => boolean, ms: number, what: string) => Promise<void>): Promise<number> {
  const tag = process.pid.toString(36);
  const ns = `xbn-${tag}`, ifname = `xbt${tag}`.slice(0, 15);
  const ip = (...a: string[]): void => {
    const r = spawnSync("ip", a, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${a.join(" ")}: ${r.stderr.trim()}`);
  };
  const tap = await TapPort.open(ts.bridges.get("xenbr0"), ifname);
  const receiver = "let n=0;require('net').createServer((c)=>{c.on('data',(d)=>{n+=d.length});c.on('end',()=>{console.log('DONE '+n);process.exit(0)})}).listen(5001,'10.0.0.254',()=>console.log('listening'))";
  let text = "";
  try {
    ip("netns", "add", ns);
    ip("link", "set", ifname, "netns", ns);
    ip("-n", ns, "addr", "add", "10.0.0.254/24", "dev", ifname);
    ip("-n", ns, "link", "set", ifname, "up");
    const rx = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", receiver], { stdio: ["ignore", "pipe", "inherit"] });
    rx.stdout.on("data", (d: Buffer) => { text += d.toString(); });
    await until(() => text.includes("listening"), 30_000, "the host's receiver");
    type(`until /opt/tcp_xfer send 10.0.0.254 5001 ${mib}; do sleep 1; done; echo SENT2-$((40+2))\n`);
    const t0 = performance.now();
    await until(() => /DONE \d+/.test(text), 600_000, "the transfer to the host");
    const dt = (performance.now() - t0) / 1000;
    const bytes = Number(/DONE (\d+)/.exec(text)![1]);
    if (bytes !== mib << 20) throw new Error(`the host received ${bytes} bytes of ${mib << 20}`);
    await until(sent, 60_000, "the sender's end");
    return (bytes * 8) / dt / 1e6;
  } finally {
    tap.close();
    spawnSync("ip", ["netns", "del", ns]);
  }
}
