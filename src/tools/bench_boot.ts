// `xents bench boot`: the same kernel and initramfs booted to the shell
// prompt on xents (as a Xen domU) and on qemu-system-aarch64 -M virt (TCG),
// in the same run. The marker is the line the initramfs's /init prints on
// the console just before it starts the shell.
//
// Rounds (3 by default), each a boot on both, their order alternating; the
// figures are the medians. One boot of each said little on a shared
// two-core machine: QEMU's own boot took 1.7-3.3 s in one afternoon, and
// single rounds came to ratios of 0.99-1.26 with nothing changed. Each xents
// boot runs in a process of its own (`--reference none`: the guest alone, in
// this process), started cold as a user's is: a second boot in the same
// process found V8's code caches and the translator warm and took ~20% less.
// It is timed from the start of that process, as QEMU's boot is from its
// spawn: what a user waits for includes loading the program (`startup_s`,
// ~0.2 s to the guest's build: Node itself and the modules), which a boot
// timed from the guest's build left out (~0.4 s of it until session 50).
// `phases` sets the same phases of the two kernels' init side by side, by
// their own clocks (boot_phases.ts): where the boots differ, not only by how much.

import type { JitStats } from "../cpu/jit/jit.js";
import { join } from "node:path";
import { spawn } from "node:child_process";
import type { HostFactory } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack } from "./toolstack.js";
import { packageRoot } from "./package_root.js";
import { BootFile } from "./boot_image.js";
import { kernelPhases, type KernelPhases } from "./boot_phases.js";

// where xents' time went: walks per thousand instructions, whole-TLB
// invalidations (and how many cleared every entry), exits by kind, and
// the seconds inside the core against the whole boot
export interface BootProfile { translate_per_kinsn: number; tlb_flushes: number; tlb_full_flushes: number; exits: Record<string, number>; core_s: number; outside_core_s: number; jit: JitStats }

// One boot of the guest on xents (`bench boot --reference none`).
export interface XentsBootResult {
  benchmark: "boot";
  reference: "none";
  kernel: string;
  xents_s: number; // from this process's start to the marker
  startup_s: number; // of which before the guest's build began (Node, the modules, the images read)
  instructions: number;
  xents_mips: number;
  vcpus: number;
  memory_mib: number;
  phases: KernelPhases | null; // by the guest kernel's clock (boot_phases.ts)
  profile: BootProfile;
}

export interface BootBenchResult {
  benchmark: "boot";
  kernel: string;
  xents_s: number; // median of the rounds, each from its process's start
  startup_s: number; // of the median xents boot: before the guest's build began
  qemu_s: number; // median of the rounds, each from its spawn
  ratio: number; // xents_s / qemu_s
  rounds: { xents_s: number; qemu_s: number }[]; // in the order run (odd rounds ran QEMU first)
  instructions: number; // of the median xents boot, as is its profile
  xents_mips: number;
  vcpus: number;
  memory_mib: number;
  // By each guest kernel's own clock, of the median boots: the same phases
  // on both (null where the console did not show them).
  phases: { xents: KernelPhases | null; qemu: KernelPhases | null };
  profile: BootProfile;
}

const MARKER = "xents: busybox shell";

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

// The guest booted once on xents, in this process (timed from its start:
// one boot a process, as `bench boot --reference none` makes it).
export async function bootXentsOnce(factory: HostFactory, opts: { vcpus?: number; memoryMiB?: number } = {}): Promise<XentsBootResult> {
  const img = fetchImages();
  const vcpus = opts.vcpus ?? 1, mem = opts.memoryMiB ?? 256;
  const startup = performance.now(); // (Node's clock counts from the process's start)
  const h = factory.boot({ ramMiB: mem + 256, deterministic: false });
  const ts = new Toolstack(h.dom0);
  const g = ts.create({
    name: "bench", memoryMiB: mem, vcpus, kernel: new BootFile(img.kernel),
    ramdisk: new BootFile(img.initrd), cmdline: "console=hvc0",
  });
  let out = "";
  g.console.listeners.add((d) => { out += Buffer.from(d).toString("latin1"); });
  await h.run(() => out.includes(MARKER) || g.state !== "running" || performance.now() - startup > 600_000);
  const xents_s = performance.now() / 1000;
  if (!out.includes(MARKER)) throw new Error("the guest did not reach its shell on xents");
  const instructions = h.instructions(g.domid);
  const p = h.profile(); // the guest's vCPUs (the TypeScript Domain-0 has none)
  ts.destroy(g.domid);
  return {
    benchmark: "boot", reference: "none", kernel: img.kernel, xents_s: r3(xents_s), startup_s: r3(startup / 1000), instructions,
    xents_mips: r3(instructions / (xents_s - startup / 1000) / 1e6), vcpus, memory_mib: mem, phases: kernelPhases(out),
    profile: {
      translate_per_kinsn: r3(p.tlbMisses / (p.instructions / 1000)), tlb_flushes: p.tlbFlushes, tlb_full_flushes: p.tlbFullFlushes,
      exits: p.exits, core_s: r3(p.coreS), outside_core_s: r3(xents_s - p.coreS), jit: p.jit,
    },
  };
}

// The guest booted once on xents in a process of its own (this CLI with
// `bench boot --reference none`).
function bootXentsInChild(vcpus: number, mem: number): Promise<XentsBootResult> {
  return new Promise((resolve, reject) => {
    const args = [join(packageRoot, "bin/xents.js"), "bench", "boot", "--json", "--reference", "none", "--vcpus", String(vcpus), "--memory", String(mem)];
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    p.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    p.on("error", (e) => reject(new Error(`the xents boot could not start: ${e.message}`)));
    p.on("close", (code) => {
      if (code !== 0) { reject(new Error(`the xents boot failed (exit ${code}): ${stderr.trim()}`)); return; }
      try {
        resolve(JSON.parse(stdout) as XentsBootResult);
      } catch {
        reject(new Error(`the xents boot printed no result: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

// A boot on QEMU: seconds to the shell, and the kernel's phases on its console.
interface QemuBoot { s: number; phases: KernelPhases | null }

// The same images on QEMU, its own virt machine and PL011 console.
function bootQemu(vcpus: number, mem: number): Promise<QemuBoot> {
  const img = fetchImages();
  return new Promise((resolve, reject) => {
    const q0 = performance.now();
    const p = spawn("qemu-system-aarch64", ["-M", "virt", "-cpu", "cortex-a57", "-smp", String(vcpus), "-m", String(mem), "-nographic",
      "-kernel", img.kernel, "-initrd", img.initrd, "-append", "console=ttyAMA0"], { stdio: ["ignore", "pipe", "pipe"] });
    let qout = "";
    const timer = setTimeout(() => { p.kill("SIGKILL"); reject(new Error("qemu did not reach the shell in 600 s")); }, 600_000);
    p.stdout.on("data", (d: Buffer) => {
      qout += d.toString("latin1");
      if (qout.includes(MARKER)) { const dt = (performance.now() - q0) / 1000; clearTimeout(timer); p.kill("SIGKILL"); resolve({ s: dt, phases: kernelPhases(qout) }); }
    });
    p.on("error", (e) => { clearTimeout(timer); reject(new Error(`qemu-system-aarch64: ${e.message}`)); });
    p.on("exit", (code) => { if (!qout.includes(MARKER)) { clearTimeout(timer); reject(new Error(`qemu exited (${code}) before the shell`)); } });
  });
}

// The middle value (the lower of the middle two for an even count, so that
// it is a round that ran).
export function medianIndex(xs: readonly number[]): number {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  return order[(xs.length - 1) >> 1];
}

export async function benchBoot(opts: { vcpus?: number; memoryMiB?: number; rounds?: number } = {}): Promise<BootBenchResult> {
  const vcpus = opts.vcpus ?? 1, mem = opts.memoryMiB ?? 256, n = opts.rounds ?? 3;
  const xents: XentsBootResult[] = [], qemuBoots: QemuBoot[] = [];
  for (let r = 0; r < n; r++) {
    if (r % 2 === 0) { xents.push(await bootXentsInChild(vcpus, mem)); qemuBoots.push(await bootQemu(vcpus, mem)); }
    else { qemuBoots.push(await bootQemu(vcpus, mem)); xents.push(await bootXentsInChild(vcpus, mem)); }
  }
  const qemu = qemuBoots.map((q) => q.s);
  const mid = xents[medianIndex(xents.map((x) => x.xents_s))], qmid = qemuBoots[medianIndex(qemu)];
  const qemu_s = r3(qmid.s);
  return {
    benchmark: "boot", kernel: mid.kernel, xents_s: mid.xents_s, startup_s: mid.startup_s, qemu_s, ratio: r3(mid.xents_s / qemu_s),
    rounds: xents.map((x, i) => ({ xents_s: x.xents_s, qemu_s: r3(qemu[i]) })),
    instructions: mid.instructions, xents_mips: mid.xents_mips, vcpus, memory_mib: mem,
    phases: { xents: mid.phases, qemu: qmid.phases }, profile: mid.profile,
  };
}
