// Domain-0's file system for a host with a Linux Domain-0 (`host start
// --dom0 linux`): an initramfs built from Debian's own arm64 packages, as
// a Debian Xen host has them: xen-utils-4.17 (xl, libxl's helpers, the C
// xenstored, xenconsoled, xen-init-dom0), xen-utils-common (the hotplug
// scripts, xl.conf, the version wrappers), xenstore-utils, the libxen*
// libraries and what they link against, bash and flock for the hotplug
// scripts, busybox for everything else, and the kernel's Xen backend modules. Its
// /init starts the Xen daemons as Debian's /etc/init.d/xen does, makes
// xenbr0, and leaves a root shell on hvc0. Debian's guest kernel, the guest
// initramfs and an example domU configuration (/etc/xen/domu.cfg, with a
// disk and a vif) are in it, so `xl create -c /etc/xen/domu.cfg` works
// from the first boot.

import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, lstatSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { cpioNewc, CpioEntry, S_IFDIR, S_IFREG, S_IFLNK } from "./cpio.js";
import { cacheDir, writeFileAtomic, debianPackage, debianKernel, resolveKernelPackage, resolveModules, fetchImages, mib, INITTAB } from "./images.js";

export const DOM0_PACKAGES = [
  "xen-utils-4.17", "xen-utils-common", "xenstore-utils", "libxenmisc4.17", "libxenstore4", "libxencall1", "libxenevtchn1",
  "libxenforeignmemory1", "libxengnttab1", "libxentoollog1", "libxentoolcore1", "libxendevicemodel1", "libxenhypfs1",
  "libyajl2", "libfdt1", "libuuid1", "zlib1g", "libc6", "libgcc-s1", "bash", "libtinfo6",
];

// Single files from packages Domain-0 needs only a little of: flock, which
// the hotplug scripts' locking.sh calls and busybox lacks.
export const DOM0_PICKS: Record<string, string[]> = { "util-linux": ["usr/bin/flock"] };

// xenfs and the device drivers libxenctrl and friends open, the backends,
// and what the block and vif-bridge hotplug scripts use (loop, bridge);
// ext4 to look inside a domU's disk image.
export const DOM0_MODULES = [
  "xenfs", "xen-evtchn", "xen-gntdev", "xen-gntalloc", "xen-privcmd", "xen-blkback", "xen-netback", "loop", "bridge",
  "ext4", "crc32c_generic", "virtio_mmio", "virtio_blk", "virtio_net",
];

// What a dom0 in RAM does without: documentation, locales, python (pygrub
// and the migration-stream tools), the OCaml xenstored (the C one runs),
// init scripts for an init this file system does not have.
const SKIP = [
  /^usr\/share\/(doc|man|info|locale|lintian|bug|bash-completion|python3|menu)(\/|$)/,
  /^usr\/lib\/aarch64-linux-gnu\/gconv(\/|$)/,
  /^usr\/lib\/xen-4\.17\/lib\/python(\/|$)/,
  /^usr\/lib\/xen-4\.17\/bin\/(oxenstored|pygrub|xenpvnetboot)$/,
  /^etc\/init\.d(\/|$)/,
  /^\.complete$/,
];

// Where the domU's files live in Domain-0.
const GUEST_DIR = "var/lib/xents";

// What both file systems' /init do first: the mounts udev and Debian's
// early boot would make, the modules, xenfs.
const PRELUDE = `/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run /mnt /root /var/log/xen /var/lib/xen /var/lock /var/tmp
/bin/busybox --install -s
mount -t proc proc /proc
# the console shows kernel errors and worse, as Debian sets it (procps' /etc/sysctl.d/10-console-messages.conf)
echo "4 4 1 7" > /proc/sys/kernel/printk
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
# what udev would add: locking.sh stats /dev/stdin
ln -sfn /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=755 tmpfs /run && ln -sfn /run /var/run
while read -r m; do [ -n "$m" ] && insmod "/lib/modules/$m.ko" 2>/dev/null; done < /etc/modules.load
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
say() { echo "$WHO: $*"; }
mount -t xenfs xenfs /proc/xen || say "xenfs did not mount"
`;

// As Debian's /etc/init.d/xen start: modules, xenfs, the capability check,
// /run/xen, the C xenstored (XENSTORED_ROOTDIR, waiting for it to answer),
// xen-init-dom0, xenconsoled; then xenbr0 for the vifs (vif-bridge only
// joins an existing bridge) with an address for Domain-0 on it, and the
// domU's disk image. busybox init then keeps a root shell on hvc0.
export const DOM0_INIT = `#!/bin/busybox sh
WHO=xents-dom0
${PRELUDE}grep -q control_d /proc/xen/capabilities || say "not the control domain: /proc/xen/capabilities has no control_d"
mkdir -m 700 -p /run/xen /run/xenstored
export XENSTORED_ROOTDIR=/run/xenstored
/usr/lib/xen-4.17/bin/xenstored --pid-file /run/xenstore.pid
t=0; while [ $t -lt 30 ] && ! xenstore-read -s / >/dev/null 2>&1; do t=$((t+1)); sleep 1; done
[ $t -lt 30 ] || say "xenstored does not answer"
/usr/lib/xen-4.17/bin/xen-init-dom0 >/dev/null || say "xen-init-dom0 failed"
/usr/lib/xen-4.17/bin/xenconsoled --pid-file /run/xenconsoled.pid || say "xenconsoled failed"
brctl addbr xenbr0 && ip link set xenbr0 up && ip addr add 192.168.100.1/24 dev xenbr0
# the machine's NIC (virtio-net, when the host has one) joins xenbr0, as a Xen host's eth0 does: domUs reach the wire
[ -e /sys/class/net/eth0 ] && ip link set eth0 up && brctl addif xenbr0 eth0
ip link set lo up
[ -e /${GUEST_DIR}/domu.img ] || dd if=/dev/zero of=/${GUEST_DIR}/domu.img bs=1M seek=64 count=0 2>/dev/null
echo "hvc0::respawn:-/bin/sh" > /etc/inittab.tty
cat /etc/inittab.tty /etc/inittab.rest > /etc/inittab
say "Xen daemons up: xenstored, xenconsoled; xenbr0 192.168.100.1/24; try xl create -c /etc/xen/domu.cfg"
exec /sbin/init
`;

export const DOM0_PROFILE = `export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin PS1='dom0:\\w# '
`;

// A driver domain (a domU that serves other domUs' disks and networks with
// Linux's xen-blkback and xen-netback) does what Xen's xendriverdomain
// init script does: xenfs, then \`xl devd\`, which watches the backends the
// toolstack writes under this domain and runs their hotplug scripts (block
// writes physical-device for blkback; vif-bridge puts a vif on its bridge).
// A network driver domain's NIC, passed through to it, joins xenbr0.
export const DRIVER_DOMAIN_INIT = `#!/bin/busybox sh
WHO=xents-driver
${PRELUDE}grep -q control_d /proc/xen/capabilities && say "this is the control domain; a driver domain is a domU"
mkdir -m 700 -p /run/xen
xl devd --pidfile=/run/xldevd.pid || say "xl devd failed"
brctl addbr xenbr0 && ip link set xenbr0 up
[ -e /sys/class/net/eth0 ] && ip link set eth0 up && brctl addif xenbr0 eth0
ip link set lo up
echo "hvc0::respawn:-/bin/sh" > /etc/inittab.tty
cat /etc/inittab.tty /etc/inittab.rest > /etc/inittab
say "driver domain up: xl devd serves /local/domain/$(xenstore-read domid)/backend"
exec /sbin/init
`;

export const DRIVER_DOMAIN_PROFILE = `export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin PS1='driver:\\w# '
`;

export const DOMU_CFG = `# A Debian domU on this host: its kernel and initramfs are in Domain-0,
# its disk is a file served by Linux's xen-blkback (the block script puts
# it on a loop device), its network a vif on xenbr0 (xen-netback, the
# vif-bridge script). Domain-0 is 192.168.100.1 on xenbr0.
name = "domu"
memory = 128
vcpus = 1
kernel = "/${GUEST_DIR}/vmlinuz"
ramdisk = "/${GUEST_DIR}/domu-initrd.gz"
extra = "console=hvc0"
disk = [ 'format=raw, vdev=xvda, access=rw, target=/${GUEST_DIR}/domu.img' ]
vif = [ 'bridge=xenbr0' ]
# Said outright: libxl 4.17 on Arm saves the configuration as written and
# its xl mem-set reads acpi from it (libxl__arch_extra_memory), aborting on
# an unset one.
acpi = 0
`;

export interface Dom0Images {
  kernel: string; // Debian's arm64 Image (Domain-0's and the domU's)
  initrd: string; // Domain-0's initramfs
  kernelVersion: string;
  packages: string[];
  modules: string[];
}

// Every file, directory and symlink of an unpacked package, but SKIP's.
function packageEntries(root: string, into: Map<string, CpioEntry>): void {
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (SKIP.some((re) => re.test(r))) continue;
      const p = join(root, r);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) into.set(r, { name: r, mode: S_IFLNK | 0o777, data: new Uint8Array(Buffer.from(readlinkSync(p))) });
      else if (st.isDirectory()) { if (!into.has(r)) into.set(r, { name: r, mode: S_IFDIR | 0o755 }); walk(r); } else into.set(r, { name: r, mode: S_IFREG | (st.mode & 0o777), data: new Uint8Array(readFileSync(p)) });
    }
  };
  walk("");
}

// The two file systems built from the same packages and modules: Domain-0's
// (the Xen daemons, with a domU's kernel, initramfs and configuration in it)
// and a driver domain's (xl devd and the backends, nothing of a domU).
interface Recipe { kind: "dom0" | "driver"; what: string; init: string; profile: string; guestFiles: boolean }
const DOM0: Recipe = { kind: "dom0", what: "Domain-0's", init: DOM0_INIT, profile: DOM0_PROFILE, guestFiles: true };
const DRIVER: Recipe = { kind: "driver", what: "a driver domain's", init: DRIVER_DOMAIN_INIT, profile: DRIVER_DOMAIN_PROFILE, guestFiles: false };

export function fetchDom0Images(log: (s: string) => void = () => {}): Dom0Images { return fetchXenUtilsImages(DOM0, log); }
export function fetchDriverDomainImages(log: (s: string) => void = () => {}): Dom0Images { return fetchXenUtilsImages(DRIVER, log); }

function fetchXenUtilsImages(r: Recipe, log: (s: string) => void): Dom0Images {
  const guest = fetchImages(log);
  const dir = join(cacheDir(), "images");
  const kpkg = resolveKernelPackage();
  const h = createHash("sha256").update(r.init).update(r.profile).update(INITTAB)
    .update(DOM0_PACKAGES.join(",")).update(JSON.stringify(DOM0_PICKS)).update(DOM0_MODULES.join(",")).update(SKIP.map(String).join(","));
  if (r.guestFiles) h.update(DOMU_CFG).update(readFileSync(guest.initrd));
  const recipe = h.digest("hex").slice(0, 12);
  const stamp = join(dir, `${r.kind}-${kpkg}-${recipe}.json`);
  if (existsSync(stamp)) {
    const g = JSON.parse(readFileSync(stamp, "utf8")) as Dom0Images;
    if (existsSync(g.kernel) && existsSync(g.initrd)) return g;
  }
  log(`building ${r.what} file system from ${DOM0_PACKAGES.length} Debian packages (arm64), busybox-static and ${kpkg}'s modules`);
  const { version, modDir } = debianKernel(kpkg, log);
  const mods = resolveModules(modDir, DOM0_MODULES);
  const files = new Map<string, CpioEntry>();
  for (const pkg of DOM0_PACKAGES) packageEntries(debianPackage(pkg, "arm64", log), files);
  for (const [pkg, picks] of Object.entries(DOM0_PICKS)) {
    const root = debianPackage(pkg, "arm64", log);
    for (const f of picks) files.set(f, { name: f, mode: S_IFREG | (statSync(join(root, f)).mode & 0o777), data: new Uint8Array(readFileSync(join(root, f))) });
  }
  const add = (name: string, data: Uint8Array | string, mode = 0o644): void => {
    files.set(name, { name, mode: S_IFREG | mode, data: typeof data === "string" ? new Uint8Array(Buffer.from(data)) : data });
  };
  const dirs = ["bin", "sbin", "dev", "etc", "etc/xen", "lib", "lib/modules", "proc", "sys", "tmp", "root", "mnt", "run", "var", "var/lib", ...(r.guestFiles ? [GUEST_DIR] : [])];
  for (const d of dirs) if (!files.has(d)) files.set(d, { name: d, mode: S_IFDIR | 0o755 });
  add("bin/busybox", new Uint8Array(readFileSync(join(debianPackage("busybox-static", "arm64", log), "bin", "busybox"))), 0o755);
  add("init", r.init, 0o755);
  add("etc/inittab.rest", INITTAB);
  add("etc/profile", r.profile);
  add("etc/modules.load", mods.map((m) => m.name).join("\n") + "\n");
  for (const m of mods) add(`lib/modules/${m.name}.ko`, new Uint8Array(readFileSync(m.path)));
  if (r.guestFiles) {
    add("etc/xen/domu.cfg", DOMU_CFG);
    add(`${GUEST_DIR}/vmlinuz`, new Uint8Array(readFileSync(guest.kernel)));
    add(`${GUEST_DIR}/domu-initrd.gz`, new Uint8Array(readFileSync(guest.initrd)));
  }
  // parents before children: a path sorts after its directory
  const entries = [...files.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  log(`building ${r.what} initramfs: ${entries.length} entries, ${mods.length} modules (${mods.map((m) => m.name).join(" ")})`);
  const initrd = join(dir, `${r.kind}-initrd-${version}-${recipe}.cpio.gz`);
  writeFileAtomic(initrd, gzipSync(cpioNewc(entries), { level: 6 }));
  log(`wrote ${initrd} (${mib(statSync(initrd).size)})`);
  const g: Dom0Images = { kernel: guest.kernel, initrd, kernelVersion: version, packages: DOM0_PACKAGES, modules: mods.map((m) => m.name) };
  writeFileAtomic(stamp, new Uint8Array(Buffer.from(JSON.stringify(g, null, 1))));
  return g;
}
