// An ext4 file system of its own on a loop device (needs root), for tests
// whose disk images must meet a real file system's limits and failures:
// power loss (a copy of the device's backing file), a full disk, a file
// system shut down under a running backend. Returns why not, as text, when
// this machine cannot.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, closeSync, openSync, ftruncateSync } from "node:fs";
import { join } from "node:path";

export interface LoopFs { mnt: string; backing: string; dev: string; done(): void }

export function loopFs(dir: string, mib: number): LoopFs | string {
  if (process.getuid?.() !== 0) return "needs root for a loop device";
  const backing = join(dir, "hostdisk.img"), mnt = join(dir, "mnt");
  const fd = openSync(backing, "w");
  ftruncateSync(fd, mib << 20);
  closeSync(fd);
  execFileSync("mkfs.ext4", ["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", backing]);
  const lo = spawnSync("losetup", ["-f", "--show", backing], { encoding: "utf8" });
  if (lo.status !== 0) return `no loop device: ${lo.stderr.trim()}`;
  const dev = lo.stdout.trim();
  mkdirSync(mnt);
  const m = spawnSync("mount", ["-t", "ext4", dev, mnt], { encoding: "utf8" });
  if (m.status !== 0) { spawnSync("losetup", ["-d", dev]); return `cannot mount a loop device: ${m.stderr.trim()}`; }
  return { mnt, backing, dev, done: () => { spawnSync("umount", ["-l", mnt]); spawnSync("losetup", ["-d", dev]); } };
}
