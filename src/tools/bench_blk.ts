// `xents bench blk`: block I/O from inside a Debian domU through
// blkfront/blkback, beside the host doing the same requests on the same
// kind of image, in the same run. One program (bench/programs/blk_bench.c)
// runs in the guest on /dev/xvda and natively on the host: sequential 1 MiB
// reads and writes, random 4 KiB reads and writes, writes ending with
// fdatasync (a FLUSH through the ring in the guest).
//
// Same caching on both sides: blkback opens images buffered, so the host
// reference is buffered too, and before every phase the image's pages are
// written back and evicted from the host page cache (posix_fadvise; no root
// needed), so neither side reads what the other just wrote. The guest uses
// O_DIRECT on /dev/xvda so its own page cache is not what is measured.
// For --format qcow2 the host side runs the same requests through xents'
// qcow2 code (the one blkback uses) on its own copy of the same image, so
// the ratio is the cost of the guest, its ring and the hypervisor alone.

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
import { Qcow2Image } from "./backends/qcow2.js";

interface Figures { seq_read_mbps: number; seq_write_mbps: number; rand_read_iops: number; rand_write_iops: number; }
export interface BlkBenchResult {
  benchmark: "blk"; format: string; span_mib: number; rand_ops: number;
  caching: string; host_reference: string;
  guest: Figures; host: Figures; guest_vs_host: Figures;
}

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
interface Phase { mode: "seqwrite" | "seqread" | "randread" | "randwrite"; block: number; ops: number; seed: number }
function phases(ops: number): Phase[] {
  return [{ mode: "seqwrite", block: 1 << 20, ops: 0, seed: 1 }, { mode: "seqread", block: 1 << 20, ops: 0, seed: 1 },
    { mode: "randread", block: 4096, ops, seed: 7 }, { mode: "randwrite", block: 4096, ops, seed: 9 }];
}
const argsOf = (path: string, span: number, p: Phase, caching: "direct" | "buffered"): string[] =>
  [path, p.mode, String(span), String(p.block), String(p.ops), String(p.seed), caching];

// blk_bench's loop, through xents' qcow2 code: the same offsets (its
// xorshift64 from the same seed), the same sizes, fdatasync after writes.
function qcow2Phase(path: string, span: number, p: Phase): string {
  const img = new Qcow2Image(path, false);
  try {
    const buf = new Uint8Array(p.block).fill(0x5A);
    const blocks = BigInt((span << 20) / p.block);
    const rnd = p.mode.startsWith("rand"), write = p.mode.endsWith("write");
    const ops = rnd ? p.ops : Number(blocks);
    const M = (1n << 64n) - 1n;
    let x = BigInt(p.seed) | 1n, moved = 0;
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) {
      let b = BigInt(i);
      if (rnd) { x ^= (x << 13n) & M; x ^= x >> 7n; x ^= (x << 17n) & M; b = x % blocks; }
      const at = Number(b) * p.block;
      if (write) img.write(at, buf); else img.read(at, buf);
      moved += p.block;
    }
    if (write) img.flush();
    return `${p.mode} ${moved} ${((performance.now() - t0) / 1000).toFixed(6)} ${ops}\n`;
  } finally { img.close(); }
}

export async function benchBlk(factory: HostFactory, opts: { spanMiB?: number; ops?: number; format?: "raw" | "qcow2" } = {}): Promise<BlkBenchResult> {
  const span = opts.spanMiB ?? 64, ops = opts.ops ?? 2000, format = opts.format ?? "raw";
  if (!Number.isInteger(span) || span < 1 || span > 1024) throw new Error(`--span must be a whole number of MiB from 1 to 1024, not ${span}`);
  if (!Number.isInteger(ops) || ops < 1) throw new Error(`--ops must be a positive whole number, not ${ops}`);
  const hostBin = buildHost(SRC, ["-O2"], "blk_bench");
  const dir = mkdtempSync(join(tmpdir(), "xents-bench-blk-"));
  try {
    // a fully written image, so neither side reads holes
    const raw = join(dir, "disk.img");
    const fd = openSync(raw, "w");
    const chunk = new Uint8Array(1 << 20).fill(0xA5);
    for (let i = 0; i < span; i++) writeSync(fd, chunk);
    closeSync(fd);
    let img = raw, hostImg = raw;
    if (format === "qcow2") {
      img = join(dir, "disk.qcow2"); hostImg = join(dir, "host.qcow2");
      for (const f of [img, hostImg]) execFileSync("qemu-img", ["convert", "-q", "-O", "qcow2", raw, f]);
    }
    const drop = (f: string): void => { execFileSync(hostBin, [f, "drop"]); };
    // the host reference first, each phase from a cold cache
    let hostOut = "";
    for (const p of phases(ops)) {
      drop(hostImg);
      hostOut += format === "qcow2" ? qcow2Phase(hostImg, span, p) : execFileSync(hostBin, argsOf(raw, span, p, "buffered"), { encoding: "utf8" });
    }
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
    // the guest, one phase at a time, the image's host cache dropped before each
    let guestOut = "";
    for (const [i, p] of phases(ops).entries()) {
      drop(img);
      const mark = out.length;
      // the marker is computed, so the echoed command line cannot match it
      g.console.input(new Uint8Array(Buffer.from(`/opt/blk_bench ${argsOf("/dev/xvda", span, p, "direct").join(" ")} && echo PHASE-$((${i}+1000))\n`)));
      const done = new RegExp(`PHASE-${i + 1000}\\r?\\n`);
      await h.run(() => done.test(out.slice(mark)) || g.state !== "running" || performance.now() - t0 > 1_800_000);
      if (!done.test(out.slice(mark))) throw new Error(`the guest's ${p.mode} did not finish:\n${out.slice(mark).slice(-2000)}`);
      guestOut += out.slice(mark);
    }
    ts.destroy(g.domid);
    const guest = figures(parse(guestOut)), host = figures(parse(hostOut));
    const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
    return {
      benchmark: "blk", format, span_mib: span, rand_ops: ops,
      caching: "buffered on the host on both sides, the image's host page cache written back and dropped before each phase; the guest uses O_DIRECT on /dev/xvda",
      host_reference: format === "qcow2" ? "xents' qcow2 code on the host, the same requests on a copy of the same image" : "bench/programs/blk_bench.c on the host, on the same image file",
      guest, host,
      guest_vs_host: {
        seq_read_mbps: ratio(guest.seq_read_mbps, host.seq_read_mbps), seq_write_mbps: ratio(guest.seq_write_mbps, host.seq_write_mbps),
        rand_read_iops: ratio(guest.rand_read_iops, host.rand_read_iops), rand_write_iops: ratio(guest.rand_write_iops, host.rand_write_iops),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
