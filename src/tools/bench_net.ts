// `xents bench net`: TCP throughput between two Debian domUs on xenbr0
// (busybox nc, 16 MiB from /dev/zero, timed inside the sending guest),
// beside TCP over the host's loopback measured in the same run.

import { readFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import type { HostFactory } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack, Guest } from "./toolstack.js";
import { parseVifSpec } from "./vif_spec.js";

export interface NetBenchResult { benchmark: "net"; mib: number; domu_to_domu_mbps: number; host_loopback_mbps: number; ratio: number; domu_to_host_mbps: null; domu_to_host_note: string; }

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
    const kernel = new Uint8Array(readFileSync(img.kernel)), ramdisk = new Uint8Array(readFileSync(img.initrd));
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
    type(b, "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; nc -l -p 5000 > /dev/null; echo GOT-$((40+2))\n");
    await new Promise((r) => setTimeout(r, 1000));
    const mark = out.get(a.domid)!.length;
    type(a, `until dd if=/dev/zero bs=64k count=${mib * 16} 2>/dev/null | nc 10.0.0.2 5000; do sleep 1; done; echo SENT-$((40+2))\n`);
    const t0 = performance.now();
    await until(() => /SENT-42/.test(out.get(a.domid)!.slice(mark)) && /GOT-42/.test(out.get(b.domid)!), 600_000, "the transfer");
    const dt = (performance.now() - t0) / 1000;
    const domu = (mib * 1048576 * 8) / dt / 1e6;
    const lo = await loopbackMbps(256 << 20);
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    return {
      benchmark: "net", mib, domu_to_domu_mbps: r1(domu), host_loopback_mbps: r1(lo), ratio: Math.round((domu / lo) * 10000) / 10000,
      domu_to_host_mbps: null, domu_to_host_note: "no TAP device to the host network yet",
    };
  } finally {
    stop = true;
    await loop;
  }
}
