// Files the guest tests give a host: ext4 disk images (sparse, made by the
// host's mkfs.ext4, optionally converted to qcow2 by qemu-img) and xl.cfg
// files, written once here instead of in every test.

import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from "node:fs";
import { fetchImages } from "../../src/tools/images.js";

// A sparse file of `mib` MiB; with `ext4` an empty ext4 file system (4 KiB
// blocks) on it; `head`: bytes written at its start (a raw disk's first sectors).
export function diskImage(path: string, mib: number, opts: { ext4?: boolean; head?: Uint8Array } = {}): string {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, mib << 20);
    if (opts.head) writeSync(fd, opts.head, 0, opts.head.length, 0);
  } finally { closeSync(fd); }
  if (opts.ext4 ?? true) execFileSync("mkfs.ext4", ["-q", "-F", "-b", "4096", path]);
  return path;
}

// `raw` converted to qcow2 at `path` (64 KiB clusters, as QEMU's default).
export function qcow2Of(raw: string, path: string): string {
  execFileSync("qemu-img", ["convert", "-q", "-O", "qcow2", "-o", "cluster_size=65536", raw, path]);
  return path;
}

export type CfgValue = string | number | (string | number)[];

// xl.cfg text: strings quoted, numbers bare, lists as ['a', 'b'], in the order given.
export function xlCfgText(fields: Record<string, CfgValue>): string {
  const q = (s: string): string => `"${s}"`;
  const lines = Object.entries(fields).map(([k, v]) =>
    `${k} = ${typeof v === "number" ? String(v) : Array.isArray(v) ? `[${v.map((x) => (typeof x === "number" ? String(x) : `'${x}'`)).join(", ")}]` : q(v)}`);
  return `${lines.join("\n")}\n`;
}

export function writeXlCfg(path: string, fields: Record<string, CfgValue>): string {
  writeFileSync(path, xlCfgText(fields));
  return path;
}

// The fields of a Debian guest: the cached kernel and busybox initramfs on hvc0.
export function linuxGuestFields(name: string, memory: number, vcpus = 1, extra: Record<string, CfgValue> = {}): Record<string, CfgValue> {
  const images = fetchImages();
  return { name, memory, vcpus, kernel: images.kernel, ramdisk: images.initrd, extra: "console=hvc0", ...extra };
}
