// `xents bench boot --dom0 linux`: the same Domain-0 (Debian's kernel and
// the Domain-0 file system of dom0_image.ts) and the same domU
// (/etc/xen/domu.cfg in it, created with Debian's `xl create -c`) on xents
// and on the real Xen 4.17 (Debian's xen-hypervisor-4.17-arm64) under
// qemu-system-aarch64 (TCG, virtualization=on, one CPU, dom0_mem=512M), in
// the same run. dom0_s: from the start to Domain-0's shell once the Xen
// daemons are up; domu_s: from `xl create -c` typed at that shell to the
// domU's shell on its console.

import { spawn } from "node:child_process";
import { join } from "node:path";
import type { HostFactory } from "./cmd_demo.js";
import { fetchDom0Images } from "./dom0_image.js";
import { debianPackage } from "./images.js";
import { linuxDom0Config } from "./linux_dom0_options.js";
import { SerialConsole } from "./serial_console.js";
import { childInput } from "./child_input.js";

export interface Dom0BootBenchResult {
  benchmark: "boot";
  dom0: "linux";
  kernel: string;
  dom0_initrd: string;
  dom0_mem_mib: number;
  dom0_s: number;
  domu_s: number;
  real_xen_dom0_s: number;
  real_xen_domu_s: number;
  ratio: number; // xents total / real Xen total
  dom0_ratio: number;
  domu_ratio: number;
  // `xl info` in each Domain-0, field by field: fields one side lacks, and
  // values that differ, but for host-specific ones (memory, release, build)
  // and xents' written choices (given with their reasons)
  xl_info_missing: string[];
  xl_info_extra: string[];
  xl_info_differ: Record<string, [string, string]>; // xents, real Xen: unexplained
  xl_info_choices: Record<string, { xents: string; xen: string; why: string }>; // differences by choice
}

// Fields whose values depend on the machine, the kernel build or the moment.
const XL_INFO_HOST_SPECIFIC = new Set([
  "host", "release", "version", "total_memory", "free_memory", "cpu_mhz", "hw_caps", "xen_extra", "xen_version", "xen_changeset",
  "xen_commandline", "cc_compiler", "cc_compile_by", "cc_compile_domain", "cc_compile_date", "build_id", "platform_params",
  "max_cpu_id", "nr_cpus", "free_cpus", "outstanding_claims", "sharing_freed_memory", "sharing_used_memory",
]);

// Domain-0's shell waiting for a line: its prompt last, and quiet for a
// moment, so that what is typed next is not read while busybox ash waits
// for the answer to its cursor query (it throws away what it reads then).
// A line the kernel printed after the prompt (a bridge port changing
// state, say) leaves the shell waiting where the output no longer ends with
// its prompt: once all is quiet, an empty line asks for a fresh one.
async function atPrompt(e: Expect, alive: () => string | null): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const n = e.out.length;
    await new Promise((r) => setTimeout(r, 500));
    if (e.out.length !== n) continue;
    if (/dom0:\/# (\x1b\[6n)?$/.test(e.out)) return;
    const dead = alive();
    if (dead) throw new Error(`Domain-0's prompt: ${dead}; last output:\n${e.out.slice(-1500)}`);
    if (performance.now() - t0 > LIMIT_MS) throw new Error(`Domain-0's prompt: not within ${LIMIT_MS / 1000} s; last output:\n${e.out.slice(-1500)}`);
    e.type("\n");
  }
}

// Differences that are xents' written choices, each with the reason, and
// how the real Xen's value reads once that choice is taken into account.
const XL_INFO_CHOICES: Record<string, { why: string; adjust: (real: string) => string }> = {
  virt_caps: {
    why: "xents emulates no PMU, so it offers guests no vPMU (XEN_SYSCTL_PHYSCAP_vpmu), which the real Xen does on QEMU's cortex-a57; and its machine has an SMMU sharing each domain's stage-2, so it offers passthrough (hvm_directio, iommu_hap_pt_share), which the real Xen cannot on QEMU's virt machine without one",
    adjust: (real) => real.split(/\s+/).filter((w) => w !== "vpmu")
      .flatMap((w) => (w === "hvm" && !real.includes("hvm_directio") ? ["hvm", "hvm_directio"] : w === "hap" && !real.includes("iommu_hap_pt_share") ? ["hap", "iommu_hap_pt_share"] : [w])).join(" "),
  },
};

// `xl info` typed at Domain-0's shell, parsed into its fields.
async function xlInfo(e: Expect, alive: () => string | null): Promise<Map<string, string>> {
  await atPrompt(e, alive);
  const mark = e.out.length;
  e.type("echo XLI-B; xl info; echo XLI-E\n");
  // (Xen's serial line ends lines with \r\r\n)
  await until(e, (o) => /\nXLI-E\r*\n/.test(o.slice(mark)), "xl info", performance.now(), alive);
  const text = /\nXLI-B\r*\n([\s\S]*?)\nXLI-E/.exec(e.out.slice(mark))?.[1] ?? "";
  const m = new Map<string, string>();
  for (const line of text.replace(/\r/g, "").split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

const DOM0_READY = /xents-dom0: Xen daemons up[\s\S]*dom0:\/# /;
const DOMU_READY = "xents: busybox shell";
const CREATE = "xl create -c /etc/xen/domu.cfg\n";
const LIMIT_MS = 900_000;

// A console driven as a person would: wait for text, then type.
class Expect {
  out = "";
  constructor(private readonly send: (s: string) => void) {}
  feed(text: string): void {
    this.out += text;
    if (process.env.XENTS_BENCH_TRACE) process.stderr.write(text); // the consoles as they go, for a run that stalls
    if (text.includes("\x1b[6n")) this.send("\x1b[1;1R"); // busybox ash asks where the cursor is
  }
  type(s: string): void { this.send(s); }
}

async function until(e: Expect, test: (out: string) => boolean, what: string, t0: number, alive: () => string | null): Promise<number> {
  for (;;) {
    if (test(e.out)) return (performance.now() - t0) / 1000;
    const dead = alive();
    if (dead) throw new Error(`${what}: ${dead}; last output:\n${e.out.slice(-1500)}`);
    if (performance.now() - t0 > LIMIT_MS) throw new Error(`${what}: not within ${LIMIT_MS / 1000} s; last output:\n${e.out.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function benchBootDom0(factory: HostFactory): Promise<Dom0BootBenchResult> {
  const img = fetchDom0Images();
  const ramMiB = 1024;
  const cfg = linuxDom0Config({}, ramMiB);

  // xents: the machine in this process, its serial line driven here
  let stop = false;
  const t0 = performance.now();
  const h = factory.bootLinux({ ramMiB, deterministic: false, dom0: cfg });
  const serial = new SerialConsole(() => h.inputReady());
  const x = new Expect((s) => serial.input(new Uint8Array(Buffer.from(s))));
  h.serial((b) => x.feed(Buffer.from(b).toString("latin1")), (max) => serial.take(max));
  const running = h.run(() => stop || h.halted());
  const gone = (): string | null => (h.halted() ? "the machine halted" : null);
  let dom0_s: number, domu_s: number;
  let ours = new Map<string, string>(), theirs = new Map<string, string>();
  try {
    dom0_s = await until(x, (o) => DOM0_READY.test(o), "xents: Domain-0's shell", t0, gone);
    ours = await xlInfo(x, gone);
    await atPrompt(x, gone);
    const c0 = performance.now(), mark = x.out.length;
    x.type(CREATE);
    domu_s = await until(x, (o) => o.indexOf(DOMU_READY, mark) >= 0, "xents: the domU's shell", c0, gone);
  } finally {
    stop = true;
    await running;
  }

  // the real Xen under QEMU, the same Domain-0 and domU
  const xen = join(debianPackage("xen-hypervisor-4.17-arm64"), "boot", "xen-4.17-arm64");
  const q = spawn("qemu-system-aarch64", [
    "-M", "virt,virtualization=on,gic-version=3", "-cpu", "cortex-a57", "-smp", "1", "-m", String(ramMiB), "-nographic",
    "-kernel", xen, "-append", `console=dtuart dom0_mem=${cfg.memMiB}M,max:${cfg.memMiB}M dom0_max_vcpus=${cfg.vcpus}`,
    "-device", `guest-loader,addr=0x49000000,kernel=${img.kernel},bootargs=${cfg.cmdline}`,
    "-device", `guest-loader,addr=0x50000000,initrd=${img.initrd}`,
  ], { stdio: ["pipe", "pipe", "pipe"] });
  let exited: string | null = null;
  q.on("exit", (code, sig) => { exited = `qemu-system-aarch64 exited (${code ?? sig})`; });
  q.on("error", (e) => { exited = `qemu-system-aarch64: ${e.message}`; });
  const r = new Expect(childInput(q));
  q.stdout.on("data", (d: Buffer) => r.feed(d.toString("latin1")));
  q.stderr.on("data", (d: Buffer) => r.feed(d.toString("latin1")));
  let real_xen_dom0_s: number, real_xen_domu_s: number;
  try {
    const q0 = performance.now();
    real_xen_dom0_s = await until(r, (o) => DOM0_READY.test(o), "real Xen: Domain-0's shell", q0, () => exited);
    theirs = await xlInfo(r, () => exited);
    await atPrompt(r, () => exited);
    const c0 = performance.now(), mark = r.out.length;
    r.type(CREATE);
    real_xen_domu_s = await until(r, (o) => o.indexOf(DOMU_READY, mark) >= 0, "real Xen: the domU's shell", c0, () => exited);
  } finally {
    q.kill("SIGKILL");
  }
  const r3 = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    benchmark: "boot", dom0: "linux", kernel: img.kernel, dom0_initrd: img.initrd, dom0_mem_mib: cfg.memMiB,
    dom0_s: r3(dom0_s), domu_s: r3(domu_s), real_xen_dom0_s: r3(real_xen_dom0_s), real_xen_domu_s: r3(real_xen_domu_s),
    ratio: r3((dom0_s + domu_s) / (real_xen_dom0_s + real_xen_domu_s)),
    dom0_ratio: r3(dom0_s / real_xen_dom0_s), domu_ratio: r3(domu_s / real_xen_domu_s),
    xl_info_missing: [...theirs.keys()].filter((k) => !ours.has(k)),
    xl_info_extra: [...ours.keys()].filter((k) => !theirs.has(k)),
    xl_info_differ: Object.fromEntries([...theirs]
      .filter(([k, v]) => ours.has(k) && ours.get(k) !== (XL_INFO_CHOICES[k]?.adjust(v) ?? v) && !XL_INFO_HOST_SPECIFIC.has(k))
      .map(([k, v]) => [k, [ours.get(k)!, v]])),
    xl_info_choices: Object.fromEntries([...theirs].filter(([k, v]) => XL_INFO_CHOICES[k] && ours.get(k) !== v).map(([k, v]) => [k, { xents: ours.get(k) ?? "", xen: v, why: XL_INFO_CHOICES[k].why }])),
  };
}
