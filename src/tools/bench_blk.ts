// `xents bench blk`: block I/O from inside a Debian domU through
// blkfront/blkback, beside the host's raw speed on the same image file, in
// the same run. One program (bench/programs/blk_bench.c, O_DIRECT) runs in
// the guest on /dev/xvda and natively on the host on the image file:
// sequential 1 MiB reads and writes, random 4 KiB reads and writes.

import { readFileSync, mkdtempSync, rmSync, openSync, writeSync, closeSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostFactory } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack } from "./toolstack.js";
import { parseDiskSpec } from "./disk_spec.js";
import { initrdWithPrograms } from "./initrd_programs.js";
import { buildHost } from "./toolchain.js";

interface Figures { seq_read_mbps: number; seq_write_mbps: number; rand_read_iops: number; rand_write_iops: number; }
export interface BlkBenchResult { benchmark: "blk"; format: string; span_mib: number; rand_ops: number; guest: Figures; host: Figures; guest_vs_host: Figures; }

const SRC = "bench/programs/blk_bench.c";
const SHELL = "xents: busybox shell";

function figures(lines: Map<string, { bytes: number; s: number; ops: number }>): Figures {
  const get = (m: string) => { const r = lines.get(m); if (!r) throw new Error(`no result for ${m}`); return r; };
  const mbps = (m: string) => Math.round(get(m).bytes / get(m).s / 1e6 * 10) / 10;
  const iops = (m: string) => Math.round(get(m).ops / get(m).s);
  return { seq_read_mbps: mbps("seqread"), seq_write_mbps: mbps("seqwrite"), rand_read_iops: iops("randread"), rand_write_iops: iops("randwrite") };
}
function parse(out: string): Map<string, { bytes: number; s: number; ops: number }> {
  const m = new Map<string, { bytes: number; s: number; ops: number }>();
  for (const [, mode, bytes, s, ops] of out.matchAll(/^(seqread|seqwrite|randread|randwrite) (\d+) ([\d.]+) (\d+)\r?$/gm)) m.set(mode, { bytes: Number(bytes), s: Number(s), ops: Number(ops) });
  return m;
}
function runs(bin: string, dev: string, span: number, ops: number): string[] {
  return [`${bin} ${dev} seqwrite ${span} 1048576 0 1`, `${bin} ${dev} seqread ${span} 1048576 0 1`,
    `${bin} ${dev} randread ${span} 4096 ${ops} 7`, `${bin} ${dev} randwrite ${span} 4096 ${ops} 9`];
}

export async function benchBlk(factory: HostFactory, opts: { spanMiB?: number; ops?: number; format?: "raw" | "qcow2" } = {}): Promise<BlkBenchResult> {
  const span = opts.spanMiB ?? 64, ops = opts.ops ?? 2000, format = opts.format ?? "raw";
  const hostBin = buildHost(SRC, ["-O2"], "blk_bench");
  const dir = mkdtempSync(join(tmpdir(), "xents-bench-blk-"));
  try {
    // a fully written image, so neither side reads holes
    const raw = join(dir, "disk.img");
    const fd = openSync(raw, "w");
    const chunk = new Uint8Array(1 << 20).fill(0xA5);
    for (let i = 0; i < span; i++) writeSync(fd, chunk);
    closeSync(fd);
    let img = raw;
    if (format === "qcow2") { img = join(dir, "disk.qcow2"); execFileSync("qemu-img", ["convert", "-q", "-O", "qcow2", raw, img]); }
    // host reference, on the same file
    const hostOut = runs(hostBin, raw, span, ops).map((c) => { const [b, ...a] = c.split(" "); return execFileSync(b, a, { encoding: "utf8" }); }).join("");
    // the guest: the stock initramfs plus a second archive with the program
    const initrd = initrdWithPrograms(fetchImages().initrd, [SRC]);
    const h = factory.boot({ ramMiB: 512, deterministic: false });
    const ts = new Toolstack(h.dom0);
    const g = ts.create({
      name: "bench-blk", memoryMiB: 192, vcpus: 1, kernel: new Uint8Array(readFileSync(fetchImages().kernel)), ramdisk: initrd,
      cmdline: "console=hvc0", disks: [parseDiskSpec(`format=${format}, vdev=xvda, access=rw, target=${img}`)],
    });
    let out = "";
    g.console.listeners.add((d) => {
      const t = Buffer.from(d).toString("latin1");
      out += t;
      if (t.includes("\x1b[6n")) g.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
    });
    const t0 = performance.now();
    await h.run(() => out.includes(SHELL) && /\/ # /.test(out.slice(out.indexOf(SHELL))) || g.state !== "running" || performance.now() - t0 > 600_000);
    if (!out.includes(SHELL)) throw new Error("the guest did not reach its shell");
    const mark = out.length;
    g.console.input(new Uint8Array(Buffer.from(runs("/opt/blk_bench", "/dev/xvda", span, ops).join(" && ") + " && echo BENCH-$((40+2))\n"))); // the marker is computed, so the echoed command line cannot match it
    await h.run(() => /BENCH-42\r?\n/.test(out.slice(mark)) || g.state !== "running" || performance.now() - t0 > 1_800_000);
    const guestOut = out.slice(mark);
    if (!/BENCH-42\r?\n/.test(guestOut)) throw new Error(`the guest benchmark did not finish:\n${guestOut.slice(-2000)}`);
    ts.destroy(g.domid);
    const guest = figures(parse(guestOut)), host = figures(parse(hostOut));
    const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
    return {
      benchmark: "blk", format, span_mib: span, rand_ops: ops, guest, host,
      guest_vs_host: {
        seq_read_mbps: ratio(guest.seq_read_mbps, host.seq_read_mbps), seq_write_mbps: ratio(guest.seq_write_mbps, host.seq_write_mbps),
        rand_read_iops: ratio(guest.rand_read_iops, host.rand_read_iops), rand_write_iops: ratio(guest.rand_write_iops, host.rand_write_iops),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
