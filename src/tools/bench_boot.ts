// `xents bench boot`: the same kernel and initramfs booted to the shell
// prompt on xents (as a Xen domU) and on qemu-system-aarch64 -M virt (TCG),
// in the same run. The marker is the line the initramfs's /init prints on
// the console just before it starts the shell.

import type { JitStats } from "../cpu/jit/jit.js";
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import type { HostFactory } from "./cmd_demo.js";
import { fetchImages } from "./images.js";
import { Toolstack } from "./toolstack.js";

export interface BootBenchResult {
  benchmark: "boot";
  kernel: string;
  xents_s: number;
  qemu_s: number;
  ratio: number;
  instructions: number;
  xents_mips: number;
  vcpus: number;
  memory_mib: number;
  // where xents' time went: walks per thousand instructions, whole-TLB
  // invalidations (and how many cleared every entry), exits by kind, and
  // the seconds inside the core against the whole boot
  profile: { translate_per_kinsn: number; tlb_flushes: number; tlb_full_flushes: number; exits: Record<string, number>; core_s: number; outside_core_s: number; jit: JitStats };
}

const MARKER = "xents: busybox shell";

export async function benchBoot(factory: HostFactory, opts: { vcpus?: number; memoryMiB?: number } = {}): Promise<BootBenchResult> {
  const img = fetchImages();
  const vcpus = opts.vcpus ?? 1, mem = opts.memoryMiB ?? 256;
  // xents
  const t0 = performance.now();
  const h = factory.boot({ ramMiB: mem + 256, deterministic: false });
  const ts = new Toolstack(h.dom0);
  const g = ts.create({
    name: "bench", memoryMiB: mem, vcpus, kernel: readFileSync(img.kernel),
    ramdisk: readFileSync(img.initrd), cmdline: "console=hvc0",
  });
  let out = "";
  g.console.listeners.add((d) => { out += Buffer.from(d).toString("latin1"); });
  await h.run(() => out.includes(MARKER) || g.state !== "running" || performance.now() - t0 > 600_000);
  const xents_s = (performance.now() - t0) / 1000;
  if (!out.includes(MARKER)) throw new Error("the guest did not reach its shell on xents");
  const instructions = h.instructions(g.domid);
  const p = h.profile(); // the guest's vCPUs (the TypeScript Domain-0 has none)
  ts.destroy(g.domid);
  // QEMU, same images, its own virt machine and PL011 console
  const qemu_s = await new Promise<number>((resolve, reject) => {
    const q0 = performance.now();
    const p = spawn("qemu-system-aarch64", ["-M", "virt", "-cpu", "cortex-a57", "-smp", String(vcpus), "-m", String(mem), "-nographic",
      "-kernel", img.kernel, "-initrd", img.initrd, "-append", "console=ttyAMA0"], { stdio: ["ignore", "pipe", "pipe"] });
    let qout = "";
    const timer = setTimeout(() => { p.kill("SIGKILL"); reject(new Error("qemu did not reach the shell in 600 s")); }, 600_000);
    p.stdout.on("data", (d: Buffer) => {
      qout += d.toString("latin1");
      if (qout.includes(MARKER)) { const dt = (performance.now() - q0) / 1000; clearTimeout(timer); p.kill("SIGKILL"); resolve(dt); }
    });
    p.on("error", (e) => { clearTimeout(timer); reject(new Error(`qemu-system-aarch64: ${e.message}`)); });
    p.on("exit", (code) => { if (!qout.includes(MARKER)) { clearTimeout(timer); reject(new Error(`qemu exited (${code}) before the shell`)); } });
  });
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    benchmark: "boot", kernel: img.kernel, xents_s: r3(xents_s), qemu_s: r3(qemu_s), ratio: r3(xents_s / qemu_s),
    instructions, xents_mips: r3(instructions / xents_s / 1e6), vcpus, memory_mib: mem,
    profile: {
      translate_per_kinsn: r3(p.tlbMisses / (p.instructions / 1000)), tlb_flushes: p.tlbFlushes, tlb_full_flushes: p.tlbFullFlushes,
      exits: p.exits, core_s: r3(p.coreS), outside_core_s: r3(xents_s - p.coreS), jit: p.jit,
    },
  };
}
