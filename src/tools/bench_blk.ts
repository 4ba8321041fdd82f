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
//
// With --driver-domain the same guest then runs the same phases with its
// disk served by a storage driver domain instead of Domain-0: a Linux domU
// (the driver domain's file system: xl devd, xen-blkback) to which the
// machine's virtio disk on the same image is passed through, behind the
// SMMU. "dom0" and "driver_domain" are measured in the same run, on the same
// image, with the same cache drops.

import { readFileSync, mkdtempSync, rmSync, openSync, writeSync, closeSync, copyFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostFactory, BootedHost, MachineDeviceInfo } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack, type Guest } from "./toolstack.js";
import { parseDiskSpec, type DiskSpec } from "./disk_spec.js";
import { fetchDriverDomainImages } from "./dom0_image.js";
import { virtioPassthroughTree } from "./passthrough_tree.js";
import { initrdWithPrograms } from "./initrd_programs.js";
import { buildHost } from "./toolchain.js";
import { Qcow2Image } from "./backends/qcow2.js";

interface Figures { seq_read_mbps: number; seq_write_mbps: number; rand_read_iops: number; rand_write_iops: number; }
export interface BlkBenchResult {
  benchmark: "blk"; format: string; span_mib: number; rand_ops: number;
  caching: string; host_reference: string;
  guest: Figures; host: Figures; guest_vs_host: Figures;
}
// --driver-domain: each way of serving the guest's disk, with its ratio to the host
export interface BlkDriverDomainResult {
  benchmark: "blk"; format: string; span_mib: number; rand_ops: number;
  caching: string; host_reference: string; driver_domain_path: string;
  host: Figures; dom0: Figures & { vs_host: Figures }; driver_domain: Figures & { vs_host: Figures; vs_dom0: Figures };
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

// A guest on the host's run loop: its console collected, the shell's
// cursor query answered, and a wait for a pattern from a point in it.
class BenchGuest {
  out = "";
  constructor(private readonly h: BootedHost, readonly g: Guest) {
    g.console.listeners.add((d) => {
      const t = Buffer.from(d).toString("latin1");
      this.out += t;
      if (t.includes("\x1b[6n")) g.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
    });
  }
  async waitFor(re: RegExp, from: number, timeoutMs: number, what: string): Promise<void> {
    const t0 = performance.now();
    await this.h.run(() => re.test(this.out.slice(from)) || this.g.state !== "running" || performance.now() - t0 > timeoutMs);
    if (!re.test(this.out.slice(from))) throw new Error(`${this.g.name}: ${what}:\n${this.out.slice(from).slice(-2000)}`);
  }
  type(text: string): void { this.g.console.input(new Uint8Array(Buffer.from(text))); }
}

// The guest's phases on /dev/xvda, one at a time, `image`'s host cache dropped before each.
async function guestPhases(h: BootedHost, ts: Toolstack, name: string, disk: DiskSpec, initrd: Uint8Array, span: number, ops: number, drop: () => void): Promise<string> {
  const g = ts.create({ name, memoryMiB: 192, vcpus: 1, kernel: new Uint8Array(readFileSync(fetchImages().kernel)), ramdisk: initrd, cmdline: "console=hvc0", disks: [disk] });
  const b = new BenchGuest(h, g);
  await b.waitFor(new RegExp(`${SHELL}[\\s\\S]*/ # `), 0, 600_000, "the guest did not reach its shell");
  let guestOut = "";
  for (const [i, p] of phases(ops).entries()) {
    drop();
    const mark = b.out.length;
    // the marker is computed, so the echoed command line cannot match it
    b.type(`/opt/blk_bench ${argsOf("/dev/xvda", span, p, "direct").join(" ")} && echo PHASE-$((${i}+1000))\n`);
    await b.waitFor(new RegExp(`PHASE-${i + 1000}\\r?\\n`), mark, 1_800_000, `the guest's ${p.mode} did not finish`);
    guestOut += b.out.slice(mark);
  }
  ts.destroy(g.domid);
  return guestOut;
}

// A storage driver domain given the machine's disk `dev`: the driver
// domain's file system, the device passed through as xl.cfg's dtdev, iomem,
// irqs and device_tree would, running once xl devd is up.
async function storageDriverDomain(h: BootedHost, ts: Toolstack, dev: MachineDeviceInfo): Promise<Guest> {
  const mfn = dev.address / 4096;
  const d = ts.create({
    name: "storage", memoryMiB: 256, vcpus: 1, kernel: new Uint8Array(readFileSync(fetchImages().kernel)),
    ramdisk: new Uint8Array(readFileSync(fetchDriverDomainImages().initrd)), cmdline: "console=hvc0", driverDomain: true,
    passthrough: { dtdev: [dev.path], iomem: [{ mfn, pages: 1, gfn: mfn }], irqs: [dev.irq], deviceTree: virtioPassthroughTree(dev) },
  });
  await new BenchGuest(h, d).waitFor(/xents-driver: driver domain up[\s\S]*driver:\/# /, 0, 600_000, "the driver domain did not come up");
  return d;
}

const ratios = (a: Figures, b: Figures): Figures => {
  const r = (x: number, y: number): number => Math.round((x / y) * 1000) / 1000;
  return { seq_read_mbps: r(a.seq_read_mbps, b.seq_read_mbps), seq_write_mbps: r(a.seq_write_mbps, b.seq_write_mbps), rand_read_iops: r(a.rand_read_iops, b.rand_read_iops), rand_write_iops: r(a.rand_write_iops, b.rand_write_iops) };
};

export async function benchBlk(factory: HostFactory, opts: { spanMiB?: number; ops?: number; format?: "raw" | "qcow2"; driverDomain?: boolean } = {}): Promise<BlkBenchResult | BlkDriverDomainResult> {
  const span = opts.spanMiB ?? 64, ops = opts.ops ?? 2000, format = opts.format ?? "raw", withDriver = opts.driverDomain === true;
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
    // the driver domain's own copy: the machine's disk must not share an
    // image with Domain-0's blkback (two qcow2 openers would each cache metadata)
    let img = raw, hostImg = raw, ddImg = join(dir, `dd.${format}`);
    if (format === "qcow2") {
      img = join(dir, "disk.qcow2"); hostImg = join(dir, "host.qcow2");
      for (const f of [img, hostImg, ...(withDriver ? [ddImg] : [])]) execFileSync("qemu-img", ["convert", "-q", "-O", "qcow2", raw, f]);
    } else if (withDriver) copyFileSync(raw, ddImg);
    const drop = (f: string): void => { execFileSync(hostBin, [f, "drop"]); };
    // the host reference first, each phase from a cold cache
    let hostOut = "";
    for (const p of phases(ops)) {
      drop(hostImg);
      hostOut += format === "qcow2" ? qcow2Phase(hostImg, span, p) : execFileSync(hostBin, argsOf(raw, span, p, "buffered"), { encoding: "utf8" });
    }
    // the guest: the stock initramfs plus a second archive with the program
    const initrd = initrdWithPrograms(fetchImages().initrd, [SRC]);
    const h = factory.boot({ ramMiB: withDriver ? 1024 : 512, deterministic: false, assignable: withDriver ? [{ path: ddImg, format, readonly: false }] : [] });
    const ts = new Toolstack(h.dom0);
    const dom0Out = await guestPhases(h, ts, "bench-blk", parseDiskSpec(`format=${format}, vdev=xvda, access=rw, target=${img}`), initrd, span, ops, () => drop(img));
    const guest = figures(parse(dom0Out)), host = figures(parse(hostOut));
    const caching = "buffered on the host on both sides, the image's host page cache written back and dropped before each phase; the guest uses O_DIRECT on /dev/xvda";
    const hostReference = format === "qcow2" ? "xents' qcow2 code on the host, the same requests on a copy of the same image" : "bench/programs/blk_bench.c on the host, on the same image file";
    if (!withDriver) {
      return { benchmark: "blk", format, span_mib: span, rand_ops: ops, caching, host_reference: hostReference, guest, host, guest_vs_host: ratios(guest, host) };
    }
    const dev = h.devices().find((d) => d.name === "pt-vda");
    if (!dev) throw new Error("the machine has no assignable disk for the driver domain");
    const drv = await storageDriverDomain(h, ts, dev);
    const ddOut = await guestPhases(h, ts, "bench-blk-dd", parseDiskSpec("backend=storage, vdev=xvda, access=rw, target=/dev/vda"), initrd, span, ops, () => drop(ddImg));
    ts.destroy(drv.domid);
    const driver = figures(parse(ddOut));
    return {
      benchmark: "blk", format, span_mib: span, rand_ops: ops, caching, host_reference: hostReference,
      driver_domain_path: "blkfront -> the storage driver domain's xen-blkback -> its virtio-blk, passed through behind the SMMU -> a copy of the same image",
      host, dom0: { ...guest, vs_host: ratios(guest, host) }, driver_domain: { ...driver, vs_host: ratios(driver, host), vs_dom0: ratios(driver, guest) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
