// The options that describe a Linux Domain-0 (`host start --dom0 linux`,
// `demo --dom0 linux`) and the configuration they give the hypervisor's
// Domain-0 builder.

import { readFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import type { ArgSpec } from "./args.js";
import { UsageError } from "./args.js";
import { fetchDom0Images } from "./dom0_image.js";

// A disk of the machine (Domain-0's vda, vdb, …): a host image file.
export interface MachineDisk { path: string; format: "raw" | "qcow2"; readonly: boolean; }

export interface LinuxDom0Config {
  kernel: Uint8Array; // arm64 Image
  initrd?: Uint8Array;
  cmdline: string;
  memMiB: number; // dom0_mem
  vcpus: number; // dom0_max_vcpus
  disks: MachineDisk[];
  tap?: string; // host TAP device cabled to the machine's NIC
}

export const DOM0_OPTIONS: ArgSpec = {
  dom0: "string", "dom0-mem": "int", "dom0-vcpus": "int", "dom0-kernel": "string", "dom0-ramdisk": "string", "dom0-cmdline": "string",
  "dom0-disk": "list", "dom0-tap": "string",
};
const LINUX_ONLY = ["dom0-mem", "dom0-vcpus", "dom0-kernel", "dom0-ramdisk", "dom0-cmdline", "dom0-disk", "dom0-tap"];

// The machine's disks and NICs that no domain has at boot, for passthrough (either kind of Domain-0).
export const ASSIGNABLE_OPTIONS: ArgSpec = { "assignable-disk": "list", "assignable-nic": "list" };
// --assignable-nic IFNAME: a NIC cabled to the host TAP device IFNAME.
export function assignableNics(a: Record<string, unknown>): string[] {
  const names = (a["assignable-nic"] as string[] | undefined) ?? [];
  for (const n of names) if (!/^[A-Za-z0-9_.-]{1,15}$/.test(n)) throw new UsageError(`--assignable-nic ${n}: an interface name is 1-15 letters, digits, '_', '.', '-'`);
  if (new Set(names).size !== names.length) throw new UsageError("--assignable-nic: each NIC needs a TAP device of its own");
  if (names.length > 4) throw new UsageError("--assignable-nic: at most 4 NICs");
  return names;
}
export function assignableDisks(a: Record<string, unknown>): MachineDisk[] {
  const disks = ((a["assignable-disk"] as string[] | undefined) ?? []).map((s) => parseMachineDisk(s, "--assignable-disk"));
  if (disks.length > 16) throw new UsageError("--assignable-disk: at most 16 disks");
  return disks;
}

// --dom0-disk (or --assignable-disk) [qcow2:|raw:]PATH[,ro]
export function parseMachineDisk(spec: string, option = "--dom0-disk"): MachineDisk {
  const m = /^(?:(raw|qcow2):)?(.+?)(,ro)?$/.exec(spec);
  if (!m || !m[2]) throw new UsageError(`${option} ${spec}: a disk is [raw:|qcow2:]PATH[,ro]`);
  const path = resolve(m[2]);
  if (!existsSync(path)) throw new UsageError(`${option} ${spec}: ${path} does not exist`);
  return { path, format: (m[1] as "raw" | "qcow2" | undefined) ?? "raw", readonly: m[3] !== undefined };
}

// 'xents' (the TypeScript Domain-0, the default) or 'linux'; the dom0-*
// options only with the latter.
export function dom0Kind(a: Record<string, unknown>): "xents" | "linux" {
  const kind = (a.dom0 as string | undefined) ?? "xents";
  if (kind !== "xents" && kind !== "linux") throw new UsageError(`--dom0 ${kind}: a host's Domain-0 is 'xents' (the TypeScript tools, the default) or 'linux'`);
  if (kind === "xents") for (const o of LINUX_ONLY) if (a[o] !== undefined) throw new UsageError(`--${o} is for --dom0 linux`);
  return kind;
}

export const DEFAULT_DOM0_MIB = 512; // Xen's own default without dom0_mem=
const DOM0_HOST_RESERVE_MIB = 64; // the hypervisor's own pages: stage-2 tables, grant and event structures

// A Linux Domain-0 as the options describe it: Debian's kernel and the
// Domain-0 file system built from Debian's Xen packages (dom0_image.ts)
// unless others are named.
export function linuxDom0Config(a: Record<string, unknown>, ramMiB: number): LinuxDom0Config {
  const memMiB = (a["dom0-mem"] as number | undefined) ?? Math.min(DEFAULT_DOM0_MIB, ramMiB - DOM0_HOST_RESERVE_MIB);
  if (memMiB < 64 || memMiB > ramMiB - DOM0_HOST_RESERVE_MIB) throw new UsageError(`--dom0-mem ${memMiB}: Domain-0 needs 64 MiB at least, and at most the host's memory less ${DOM0_HOST_RESERVE_MIB} MiB (${ramMiB - DOM0_HOST_RESERVE_MIB})`);
  const vcpus = (a["dom0-vcpus"] as number | undefined) ?? 1;
  if (vcpus < 1 || vcpus > 8) throw new UsageError(`--dom0-vcpus ${vcpus}: 1 to 8`);
  let kernelPath = a["dom0-kernel"] as string | undefined, ramdiskPath = a["dom0-ramdisk"] as string | undefined;
  if (!kernelPath || !ramdiskPath) {
    const g = fetchDom0Images((s) => process.stderr.write(`xents: ${s}\n`));
    kernelPath ??= g.kernel;
    ramdiskPath ??= g.initrd;
  }
  const read = (p: string, what: string): Uint8Array => {
    try { return new Uint8Array(readFileSync(p)); } catch (e) { throw new UsageError(`cannot read the Domain-0 ${what} ${p}: ${(e as Error).message}`); }
  };
  const disks = ((a["dom0-disk"] as string[] | undefined) ?? []).map((s) => parseMachineDisk(s));
  if (disks.length > 10) throw new UsageError("--dom0-disk: at most 10 disks (the machine's NIC takes the eleventh virtio slot)");
  const tap = a["dom0-tap"] as string | undefined;
  if (tap !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(tap)) throw new UsageError(`--dom0-tap ${tap}: an interface name is 1-15 letters, digits, '_', '.', '-'`);
  return { kernel: read(kernelPath, "kernel"), initrd: read(ramdiskPath, "ramdisk"), cmdline: (a["dom0-cmdline"] as string | undefined) ?? "console=hvc0", memMiB, vcpus, disks, tap };
}
