// Guest images: Debian's arm64 kernel (linux-image-arm64) and busybox-static,
// fetched with apt-get download into the cache, unpacked, and turned into a
// kernel Image and an initramfs: busybox, an /init that mounts /proc, /sys
// and /dev and starts a shell on hvc0, and the kernel modules later work
// needs (xen-blkfront, xen-netfront, ext4) with their dependencies, resolved
// from each module's own .modinfo.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, statSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { cpioNewc, CpioEntry, S_IFDIR, S_IFREG } from "./cpio.js";

export function cacheDir(): string {
  const d = process.env.XENTS_CACHE ?? join(homedir(), ".cache", "xents");
  mkdirSync(d, { recursive: true });
  return d;
}

export class ImageError extends Error {}

// Test processes build the same images at once on a machine with an empty
// cache (CI): a file is written under a name of this process's own and
// renamed into place, so a reader sees the old file or the whole new one,
// never a half-written or truncated one.
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function sh(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw new ImageError(`${what}: ${cmd} is not available (${r.error.message})`);
  if (r.status !== 0) throw new ImageError(`${what}: ${cmd} ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ")}`);
  return r.stdout;
}

function ensureArm64Arch(): void {
  const archs = sh("dpkg", ["--print-foreign-architectures"], "checking dpkg architectures");
  if (archs.split("\n").includes("arm64")) return;
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const run = (args: string[]): string => (sudo.length ? sh("sudo", args, "adding the arm64 architecture") : sh(args[0], args.slice(1), "adding the arm64 architecture"));
  run(["dpkg", "--add-architecture", "arm64"]);
  run(["apt-get", "update", "-qq"]);
}

// What apt's answer about a package depends on: its package lists, the
// architectures dpkg knows, and the pinning preferences.
export const APT_STATE_PATHS = ["/var/lib/apt/lists", "/var/lib/dpkg/arch", "/etc/apt/preferences", "/etc/apt/preferences.d"];

// A fingerprint of those paths: name, size and modification time of each
// (of each file in a directory). apt-get update replaces the lists' files,
// so their times change whenever the answer may.
export function aptStateKey(paths: string[] = APT_STATE_PATHS): string {
  const h = createHash("sha256");
  const note = (p: string): void => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) { h.update(`${p} -\n`); return; }
    h.update(`${p} ${st.size} ${st.mtimeMs}\n`);
    // (apt's lock file is touched by every apt command, and says nothing of the answer)
    if (st.isDirectory()) for (const f of readdirSync(p).sort()) if (f !== "lock" && !statSync(join(p, f)).isDirectory()) note(join(p, f));
  };
  for (const p of paths) note(p);
  return h.digest("hex");
}

// A concrete kernel package's name (linux-image-6.1.0-40-arm64).
const KERNEL_PACKAGE = /linux-image-\d[^\s:/]*/;

// The concrete package a metapackage like linux-image-arm64 depends on.
// apt-cache reads every package list to answer (~1 s where apt keeps no
// binary cache, as in Debian's container images), so the answer is kept in
// the cache beside the apt state it was given for, and asked again only
// when that state changes. (`state` and `ask`: for tests.)
export function resolveKernelPackage(state: string[] = APT_STATE_PATHS, ask: () => string = () => sh("apt-cache", ["depends", "linux-image-arm64:arm64"], "resolving linux-image-arm64")): string {
  const key = aptStateKey(state);
  const file = join(cacheDir(), "kernel-package.json");
  try {
    const c = JSON.parse(readFileSync(file, "utf8")) as { key?: unknown; pkg?: unknown };
    if (c.key === key && typeof c.pkg === "string" && new RegExp(`^${KERNEL_PACKAGE.source}$`).test(c.pkg)) return c.pkg;
  } catch { /* none yet, or unreadable: ask apt */ }
  const m = new RegExp(`Depends:\\s+(${KERNEL_PACKAGE.source})`).exec(ask());
  if (!m) throw new ImageError("could not find the kernel package linux-image-arm64 depends on (is the arm64 architecture enabled and apt-get update done?)");
  writeFileAtomic(file, new Uint8Array(Buffer.from(JSON.stringify({ key, pkg: m[1] }) + "\n")));
  return m[1];
}

// Debian's arm64 kernel package unpacked: its Image (Debian's arm64
// vmlinuz is the uncompressed Image), version and module tree.
export function debianKernel(kpkg: string, log?: (s: string) => void): { image: string; version: string; modDir: string } {
  const kroot = debianPackage(kpkg, "arm64", log);
  const bootDir = join(kroot, "boot");
  const vmlinuz = readdirSync(bootDir).find((f) => f.startsWith("vmlinuz-"));
  if (!vmlinuz) throw new ImageError(`${kpkg} has no /boot/vmlinuz-*`);
  const version = vmlinuz.slice("vmlinuz-".length);
  return { image: join(bootDir, vmlinuz), version, modDir: join(kroot, "lib", "modules", version) };
}

// Download (once) and unpack a Debian package; returns its unpacked root.
// With `log`, the download speaks on stderr as it goes (apt's own lines:
// the package and its size, then the bytes fetched, the time and the rate;
// its progress bar when stderr is a terminal), and the steps are logged.
export function debianPackage(pkg: string, arch = "arm64", log?: (s: string) => void): string {
  const base = join(cacheDir(), "debs");
  mkdirSync(base, { recursive: true });
  const root = join(base, `${pkg}_${arch}`);
  if (existsSync(join(root, ".complete"))) return root;
  ensureArm64Arch();
  const tmp = join(base, `.dl-${pkg}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log?.(`fetching the Debian package ${pkg}:${arch}`);
  // apt's progress goes to our stderr (stdout stays clean for pipes); its errors are kept for the message
  const download = (): ReturnType<typeof spawnSync> => log
    ? spawnSync("apt-get", ["download", ...(process.stderr.isTTY ? [] : ["-q"]), `${pkg}:${arch}`], { cwd: tmp, encoding: "utf8", stdio: ["ignore", 2, "pipe"] })
    : spawnSync("apt-get", ["download", "-qq", `${pkg}:${arch}`], { cwd: tmp, encoding: "utf8" });
  const r = download();
  if (r.error || r.status !== 0) {
    let detail = (String(r.stderr ?? "") || r.error?.message || "").trim();
    if (/Unable to locate package/.test(detail)) {
      log?.("apt-get update (the package lists do not know it)");
      const upd = spawnSync("apt-get", ["update", "-qq"], { encoding: "utf8" });
      const again = upd.status === 0 ? download() : upd;
      if (again.status === 0) detail = "";
      else detail = String(again.stderr ?? "").trim() || detail;
    }
    if (detail) throw new ImageError(`could not fetch the Debian package ${pkg}:${arch}: ${detail.split("\n").slice(-2).join(" / ")}`);
  }
  const deb = readdirSync(tmp).find((f) => f.endsWith(".deb"));
  if (!deb) throw new ImageError(`apt-get download of ${pkg}:${arch} produced no .deb`);
  log?.(`unpacking ${deb} (${mib(statSync(join(tmp, deb)).size)})`);
  // unpacked beside, then renamed into place whole: another process may be
  // reading the tree another one finished (the rename fails on a full
  // directory, and that one is as good as ours)
  const unpacked = join(tmp, "root");
  sh("dpkg-deb", ["-x", join(tmp, deb), unpacked], `unpacking ${deb}`);
  writeFileSync(join(unpacked, ".complete"), deb + "\n");
  if (existsSync(root) && !existsSync(join(root, ".complete"))) rmSync(root, { recursive: true, force: true }); // an unpack cut short before
  try { renameSync(unpacked, root); } catch (e) {
    if (!existsSync(join(root, ".complete"))) throw e;
  }
  rmSync(tmp, { recursive: true, force: true });
  return root;
}

// Debian's static busybox for arm64 (downloaded once into the cache).
export function busyboxBinary(): string {
  return join(debianPackage("busybox-static"), "bin", "busybox");
}

export function mib(bytes: number): string { return `${(bytes / 1048576).toFixed(1)} MiB`; }

// ---- kernel modules: .modinfo "depends=" from the ELF section
function modinfo(ko: Uint8Array): Map<string, string[]> {
  const dv = new DataView(ko.buffer, ko.byteOffset, ko.byteLength);
  if (dv.getUint32(0, false) !== 0x7F454C46) throw new ImageError("module is not an ELF object");
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3A, true), shnum = dv.getUint16(0x3C, true), shstrndx = dv.getUint16(0x3E, true);
  const sec = (i: number): { name: number; off: number; size: number } => {
    const o = shoff + i * shentsize;
    return { name: dv.getUint32(o, true), off: Number(dv.getBigUint64(o + 0x18, true)), size: Number(dv.getBigUint64(o + 0x20, true)) };
  };
  const strtab = sec(shstrndx);
  const nameOf = (n: number): string => {
    let e = strtab.off + n;
    while (ko[e] !== 0) e++;
    return Buffer.from(ko.subarray(strtab.off + n, e)).toString();
  };
  const info = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    if (nameOf(s.name) !== ".modinfo") continue;
    for (const kv of Buffer.from(ko.subarray(s.off, s.off + s.size)).toString().split("\0")) {
      const eq = kv.indexOf("=");
      if (eq < 0) continue;
      const k = kv.slice(0, eq);
      info.set(k, [...(info.get(k) ?? []), kv.slice(eq + 1)]);
    }
  }
  return info;
}

const norm = (n: string): string => n.replace(/-/g, "_");

function indexModules(dir: string): Map<string, string> {
  const idx = new Map<string, string>();
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".ko")) idx.set(norm(f.slice(0, -3)), p);
    }
  };
  walk(dir);
  return idx;
}

// Modules in load order (dependencies first).
export function resolveModules(modDir: string, wanted: string[]): { name: string; path: string }[] {
  const idx = indexModules(join(modDir, "kernel"));
  const builtin = new Set(existsSync(join(modDir, "modules.builtin"))
    ? readFileSync(join(modDir, "modules.builtin"), "utf8").split("\n").map((l) => norm(l.replace(/^.*\//, "").replace(/\.ko$/, ""))) : []);
  const order: { name: string; path: string }[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    const n = norm(name);
    if (seen.has(n) || builtin.has(n)) return;
    const path = idx.get(n);
    if (!path) throw new ImageError(`kernel module ${name} not found (needed by ${chain.join(" <- ") || "the image"})`);
    seen.add(n);
    const deps = (modinfo(new Uint8Array(readFileSync(path))).get("depends") ?? []).join(",").split(",").filter(Boolean);
    for (const d of deps) visit(d, [name, ...chain]);
    order.push({ name: n, path });
  };
  for (const w of wanted) visit(w, []);
  return order;
}

// ext4 needs a crc32c (a softdep, not in depends=); virtio_mmio and
// virtio_blk drive a machine disk passed through to the guest
export const INITRAMFS_MODULES = ["xen-blkfront", "xen-netfront", "ext4", "crc32c_generic", "virtio_mmio", "virtio_blk"];

// /init prepares the system and hands over to busybox init, which keeps a
// shell on the console and performs poweroff/reboot (and reaps orphans) as
// PID 1. The console is hvc0 as a Xen guest; the same initramfs under QEMU's
// -M virt (the benchmarks' reference) has ttyAMA0 instead, so the shell's
// line of the inittab is written for whichever exists.
export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /mnt /root
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do [ -n "$m" ] && insmod "/lib/modules/$m.ko" 2>/dev/null; done < /etc/modules.load
tty=hvc0; [ -e /dev/hvc0 ] || tty=ttyAMA0
echo "$tty::respawn:-/bin/sh" > /etc/inittab.tty
cat /etc/inittab.tty /etc/inittab.rest > /etc/inittab
echo "xents: busybox shell on $tty (poweroff to stop)"
exec /sbin/init
`;

export const INITTAB = `::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
`;

export const PROFILE = `export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin PS1='\\w # '
`;

export interface GuestImages {
  kernel: string; // path of the arm64 Image
  initrd: string; // path of the gzip initramfs
  kernelVersion: string;
  modules: string[];
}

export function fetchImages(log: (s: string) => void = () => {}): GuestImages {
  const dir = join(cacheDir(), "images");
  mkdirSync(dir, { recursive: true });
  const kpkg = resolveKernelPackage();
  const recipe = createHash("sha256").update(INIT_SCRIPT).update(INITTAB).update(PROFILE).update(INITRAMFS_MODULES.join(",")).digest("hex").slice(0, 12);
  const stamp = join(dir, `${kpkg}-${recipe}.json`);
  if (existsSync(stamp)) {
    const g = JSON.parse(readFileSync(stamp, "utf8")) as GuestImages;
    if (existsSync(g.kernel) && existsSync(g.initrd)) return g;
  }
  log(`building the guest images from ${kpkg} and busybox-static (arm64) into ${dir}`);
  const { image, version, modDir } = debianKernel(kpkg, log);
  const bbroot = debianPackage("busybox-static", "arm64", log);
  const mods = resolveModules(modDir, INITRAMFS_MODULES);
  const entries: CpioEntry[] = [];
  for (const d of ["bin", "dev", "etc", "lib", "lib/modules", "proc", "sys", "tmp", "root", "mnt"]) entries.push({ name: d, mode: S_IFDIR | 0o755 });
  entries.push({ name: "bin/busybox", mode: S_IFREG | 0o755, data: new Uint8Array(readFileSync(join(bbroot, "bin", "busybox"))) });
  entries.push({ name: "init", mode: S_IFREG | 0o755, data: new Uint8Array(Buffer.from(INIT_SCRIPT)) });
  entries.push({ name: "etc/inittab.rest", mode: S_IFREG | 0o644, data: new Uint8Array(Buffer.from(INITTAB)) });
  entries.push({ name: "etc/profile", mode: S_IFREG | 0o644, data: new Uint8Array(Buffer.from(PROFILE)) });
  entries.push({ name: "etc/modules.load", mode: S_IFREG | 0o644, data: new Uint8Array(Buffer.from(mods.map((m) => m.name).join("\n") + "\n")) });
  for (const m of mods) entries.push({ name: `lib/modules/${m.name}.ko`, mode: S_IFREG | 0o644, data: new Uint8Array(readFileSync(m.path)) });
  log(`building the initramfs: busybox, /init, ${mods.length} modules (${mods.map((m) => m.name).join(" ")})`);
  const initrd = join(dir, `initrd-${version}-${recipe}.cpio.gz`);
  writeFileAtomic(initrd, gzipSync(cpioNewc(entries), { level: 6 }));
  const kernel = join(dir, `vmlinuz-${version}`);
  writeFileAtomic(kernel, readFileSync(image));
  log(`wrote ${kernel} (${mib(statSync(kernel).size)}) and ${initrd} (${mib(statSync(initrd).size)})`);
  const g: GuestImages = { kernel, initrd, kernelVersion: version, modules: mods.map((m) => m.name) };
  writeFileAtomic(stamp, new Uint8Array(Buffer.from(JSON.stringify(g, null, 1))));
  return g;
}

export function describeImages(g: GuestImages): string {
  return `kernel ${g.kernel}\ninitrd ${g.initrd}\nmodules ${g.modules.join(" ")}\n`;
}

