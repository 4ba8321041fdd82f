// `xents demo`: boot a host with its control domain and one Debian Linux
// guest, and attach the guest's console to this terminal (or to the pipes
// stdin and stdout are). The process exits when the guest powers off.

import type { JitStats } from "../cpu/jit/jit.js";
import type { Command } from "./cli.js";
import { fetchImages } from "./images.js";
import { Toolstack } from "./toolstack.js";
import { Dom0 } from "./dom0.js";
import { parseArgs, ArgSpec, UsageError } from "./args.js";
import type { LinuxDom0Config, MachineDisk } from "./linux_dom0_options.js";
import { DOM0_OPTIONS, dom0Kind, linuxDom0Config } from "./linux_dom0_options.js";
import { SerialConsole } from "./serial_console.js";
import { replaySeed } from "./domain_builder.js";
import { BootFile } from "./boot_image.js";

export interface HostFactory {
  readonly maxRamMiB: number; // what one machine can have (the core's 4 GiB WebAssembly memory)
  // noJit: the interpreter alone (`--no-jit`), whatever XENTS_JIT says.
  // assignable: disks, assignableNics: host TAP devices, each cabled to a NIC no domain has.
  boot(opts: { ramMiB: number; deterministic: boolean; noJit?: boolean; assignable?: MachineDisk[]; assignableNics?: string[] }): BootedHost;
  // A host whose Domain-0 is a Linux kernel the hypervisor builds.
  bootLinux(opts: { ramMiB: number; deterministic: boolean; dom0: LinuxDom0Config; noJit?: boolean; assignable?: MachineDisk[]; assignableNics?: string[] }): BootedLinuxHost;
}


// A domain as the hypervisor sees it (a Linux Domain-0 keeps the names).
export interface MachineDomain { id: number; pages: number; onlineVcpus: number; state: string; cpuTimeNs: number; }

// What a host with a Linux Domain-0 offers the host process: its serial
// line (dom0's hvc0), the run loop, and the machine's own view of memory
// and domains; everything else is done by the toolstack inside dom0.
export interface BootedLinuxHost {
  run(done: () => boolean): Promise<void>;
  halted(): boolean; // Domain-0 powered the machine off
  restarts(): number; // Domain-0 rebooted (or crashed) and was built again
  serial(out: (bytes: Uint8Array) => void, pull: (max: number) => Uint8Array): void;
  inputReady(): void; // keys are queued: take what fits now
  domains(): MachineDomain[];
  memory(): { totalMiB: number; freeMiB: number; nrCpus: number };
  dmesg(clear: boolean): string;
  health(): HypervisorHealth;
  devices(): MachineDeviceInfo[];
  attachTap(ifname: string): Promise<void>; // cables the machine's NIC to a host TAP device
  cableAssignableNics(): Promise<void>; // joins each assignable NIC's wire to its host TAP device
}

// A device of the machine: where it is (its device-tree path, register page
// and SPI, as xl.cfg's dtdev, iomem and irqs name them), its owner and its counters.
export interface MachineDeviceInfo { name: string; kind: string; path: string; address: number; irq: number; owner: number | null; stats: Record<string, number>; }

export const MIN_HOST_MIB = 64; // Domain-0's 32 MiB and the hypervisor's own pages

// A host memory size as given on the command line, checked against the machine's limits.
export function checkHostMemory(factory: HostFactory, mib: number, option: string): number {
  if (mib < MIN_HOST_MIB || mib > factory.maxRamMiB) {
    throw new UsageError(`${option} ${mib}: a host has ${MIN_HOST_MIB} to ${factory.maxRamMiB} MiB of machine memory (the core's RAM lives in one 4 GiB WebAssembly memory)`);
  }
  return mib;
}

// What a booted host offers the tools: its control domain, the run loop, and
// taps that only the machine can provide (UART bytes, retired instructions,
// the hypervisor's own health counters).
export interface BootedHost {
  dom0: Dom0;
  run(done: () => boolean): Promise<void>;
  setVuartSink(f: (domid: number, b: number) => void): void;
  instructions(domid: number): number;
  health(): HypervisorHealth;
  profile(): CoreProfile;
  devices(): MachineDeviceInfo[];
  cableAssignableNics(): Promise<void>; // joins each assignable NIC's wire to its host TAP device
}

// Where a run's time went (for the benchmarks): the core's own counters
// summed over every vCPU, exits by kind, and time inside the core.
export interface CoreProfile { instructions: number; tlbMisses: number; tlbFlushes: number; tlbFullFlushes: number; exits: Record<string, number>; coreS: number; jit: JitStats }

// Bugs the hypervisor caught in itself (each is logged with BUG: in xl
// dmesg), when XENTS_AUDIT=1 the memory audits run and failed, and what a
// memory audit run now finds (an independent leak check: it walks every
// domain's stage-2 and the free list rather than trusting counters).
export interface HypervisorHealth {
  internal_errors: number; audits: number; audit_failures: number; audit_now: string[]; translation: boolean;
  // the machine's SMMU: DMA translations, hits in its translation cache, faults, event records it could not write, command errors
  iommu: { translations: number; iotlb_hits: number; faults: number; events_lost: number; command_errors: number };
}

const spec: ArgSpec = {
  kernel: "string", ramdisk: "string", cmdline: "string", memory: "int", vcpus: "int", vuart: "bool",
  deterministic: "bool", "host-memory": "int", "no-jit": "bool", ...DOM0_OPTIONS,
};
const DOMU_OPTIONS = ["kernel", "ramdisk", "cmdline", "memory", "vcpus", "vuart"];

// Keys typed on this terminal (or read from the pipe stdin is) go to
// `input`; Ctrl-] detaches, as xl console, unless `escapeKey` is false.
// Returns whether it was used and how to let go of the terminal.
function attachStdin(input: (d: Uint8Array) => void, escapeKey = true): { detached: () => boolean; release: () => void } {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  let detached = false;
  if (tty) stdin.setRawMode(true);
  stdin.on("data", (d: Buffer) => {
    if (escapeKey && ((tty && d.includes(0x1D)) || (d.length === 1 && d[0] === 0x1D))) { detached = true; return; } // Ctrl-], as xl console
    input(new Uint8Array(d));
  });
  stdin.resume();
  return { detached: () => detached, release: () => { if (tty) stdin.setRawMode(false); stdin.pause(); } };
}

// `demo --dom0 linux`: the machine with a Linux Domain-0 and its serial
// line on this terminal; it ends when Domain-0 powers the machine off.
// Every key goes to Domain-0, Ctrl-] included: `xl console` in it needs
// that one to come back from a domU.
async function demoLinuxDom0(host: HostFactory, a: Record<string, unknown>): Promise<number> {
  for (const o of DOMU_OPTIONS) if (a[o] !== undefined) throw new UsageError(`--${o} describes the demo's domU; with --dom0 linux, domUs are made by xl in Domain-0 (/etc/xen/domu.cfg)`);
  const ramMiB = checkHostMemory(host, (a["host-memory"] as number | undefined) ?? 1024, "--host-memory");
  const dom0 = linuxDom0Config(a, ramMiB);
  const h = host.bootLinux({ ramMiB, deterministic: a.deterministic === true, dom0, noJit: a["no-jit"] === true });
  if (a["no-jit"] === true) process.stderr.write("xents: translation to WebAssembly off: the interpreter alone\n");
  if (dom0.tap) await h.attachTap(dom0.tap);
  const serial = new SerialConsole(() => h.inputReady());
  h.serial((b) => serial.emit(b), (max) => serial.take(max));
  serial.listeners.add((d) => { process.stdout.write(d); });
  const io = attachStdin((d) => serial.input(d), false);
  await h.run(() => h.halted());
  io.release();
  process.stderr.write("\nxents: Domain-0 powered the machine off\n");
  return 0;
}

export function demoCommand(host: HostFactory): Command {
  return {
    summary: "boot a host with dom0 and a Debian Linux guest, console attached",
    usage: "xents demo [--kernel Image] [--ramdisk initrd] [--cmdline '...'] [--memory MiB] [--vcpus N] [--vuart] [--deterministic] [--no-jit] | demo --dom0 linux [--dom0-mem MiB] [--dom0-vcpus N] [--dom0-disk [raw:|qcow2:]PATH[,ro]]... [--dom0-tap NAME] [--host-memory MiB] [--no-jit]",
    async run(argv) {
      const a = parseArgs(argv, spec);
      if (dom0Kind(a) === "linux") return demoLinuxDom0(host, a);
      let kernelPath = a.kernel as string | undefined;
      let ramdiskPath = a.ramdisk as string | undefined;
      if (!kernelPath) {
        const g = fetchImages((s) => process.stderr.write(`xents: ${s}\n`));
        kernelPath = g.kernel;
        ramdiskPath ??= g.initrd;
      }
      const memory = (a.memory as number | undefined) ?? 256;
      const vcpus = (a.vcpus as number | undefined) ?? 1;
      const ramMiB = checkHostMemory(host, (a["host-memory"] as number | undefined) ?? Math.max(512, memory + 128), "--host-memory");
      const h = host.boot({ ramMiB, deterministic: a.deterministic === true, noJit: a["no-jit"] === true });
      if (a["no-jit"] === true) process.stderr.write("xents: translation to WebAssembly off: the interpreter alone\n");
      const ts = new Toolstack(h.dom0, (l) => process.stderr.write(`xents: ${l}\n`));
      const g = ts.create({
        name: "demo", memoryMiB: memory, vcpus, kernel: new BootFile(kernelPath),
        ramdisk: ramdiskPath ? new BootFile(ramdiskPath) : undefined,
        cmdline: (a.cmdline as string | undefined) ?? "console=hvc0", vuart: a.vuart === true,
        onReboot: "restart", rngSeed: a.deterministic === true ? replaySeed("demo") : undefined,
      });
      h.setVuartSink((domid, b) => { if (domid === g.domid) g.console.emit(new Uint8Array([b])); });
      let current = g;
      ts.events.onGuestCreated = (ng) => { current = ng; };
      const out = (d: Uint8Array): void => { process.stdout.write(d); };
      g.console.listeners.add(out);
      const io = attachStdin((d) => current.console.input(d));
      let exitReason = "";
      ts.events.onGuestExit = (eg, reason, action) => { if (action !== "restart") exitReason = reason; void eg; };
      await h.run(() => io.detached() || exitReason !== "" || current.state === "destroyed");
      io.release();
      if (io.detached()) { process.stderr.write("\nxents: detached; destroying the guest\n"); ts.destroy(current.domid); return 0; }
      process.stderr.write(`\nxents: guest ${exitReason || "stopped"}\n`);
      return exitReason === "poweroff" ? 0 : 1;
    },
  };
}
