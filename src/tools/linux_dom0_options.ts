// The options that describe a Linux Domain-0 (`host start --dom0 linux`,
// `demo --dom0 linux`) and the configuration they give the hypervisor's
// Domain-0 builder.

import { readFileSync } from "node:fs";
import type { ArgSpec } from "./args.js";
import { UsageError } from "./args.js";
import { fetchDom0Images } from "./dom0_image.js";

export interface LinuxDom0Config {
  kernel: Uint8Array; // arm64 Image
  initrd?: Uint8Array;
  cmdline: string;
  memMiB: number; // dom0_mem
  vcpus: number; // dom0_max_vcpus
}

export const DOM0_OPTIONS: ArgSpec = {
  dom0: "string", "dom0-mem": "int", "dom0-vcpus": "int", "dom0-kernel": "string", "dom0-ramdisk": "string", "dom0-cmdline": "string",
};

// 'xents' (the TypeScript Domain-0, the default) or 'linux'; the dom0-*
// options only with the latter.
export function dom0Kind(a: Record<string, unknown>): "xents" | "linux" {
  const kind = (a.dom0 as string | undefined) ?? "xents";
  if (kind !== "xents" && kind !== "linux") throw new UsageError(`--dom0 ${kind}: a host's Domain-0 is 'xents' (the TypeScript tools, the default) or 'linux'`);
  if (kind === "xents") for (const o of ["dom0-mem", "dom0-vcpus", "dom0-kernel", "dom0-ramdisk", "dom0-cmdline"]) if (a[o] !== undefined) throw new UsageError(`--${o} is for --dom0 linux`);
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
  return { kernel: read(kernelPath, "kernel"), initrd: read(ramdiskPath, "ramdisk"), cmdline: (a["dom0-cmdline"] as string | undefined) ?? "console=hvc0", memMiB, vcpus };
}
