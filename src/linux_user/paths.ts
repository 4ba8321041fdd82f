// Guest path names to host path names: relative names are taken against the
// process's working directory or a directory descriptor (the host process's
// own cwd is never used), and a few /proc/self entries describe the
// emulated process rather than the emulator.

import { EBADF, ENOENT, ENOTDIR } from "./errno.js";
import type { Process } from "./process.js";
import { AT_FDCWD } from "./syscall_abi.js";

function join(base: string, rel: string): string {
  return base.endsWith("/") ? base + rel : `${base}/${rel}`;
}

// The emulated meaning of /proc/self/... names, or undefined.
function procSelf(p: Process, path: string): string | undefined {
  const m = /^\/proc\/(?:self|thread-self|(\d+))\/(.*)$/.exec(path);
  if (!m || (m[1] !== undefined && Number(m[1]) !== p.pid)) return undefined;
  if (m[2] === "exe") return p.exe;
  if (m[2] === "cwd") return p.cwd;
  const fd = /^fd\/(\d+)$/.exec(m[2]);
  if (fd) return p.fds.get(Number(fd[1]))?.path;
  return undefined;
}

// Where `path` (relative to `dirfd`) lies on the host; -errno if it cannot.
export function hostPath(p: Process, dirfd: number, path: string): string | number {
  if (path === "") return -ENOENT;
  let abs: string;
  if (path.startsWith("/")) abs = path;
  else if (dirfd === AT_FDCWD) abs = join(p.cwd, path);
  else {
    const f = p.fds.get(dirfd);
    if (!f) return -EBADF;
    const base = f.path;
    if (base === undefined) return -ENOTDIR; // a pipe or stream, not a directory
    abs = join(base, path);
  }
  return procSelf(p, abs) ?? abs;
}

// readlink's answer for the emulated /proc/self links, or undefined.
export function procSelfLink(p: Process, abs: string): string | undefined {
  return procSelf(p, abs);
}
