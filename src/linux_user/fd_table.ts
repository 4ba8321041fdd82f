// A process's file descriptor table: small integers naming shared open file
// descriptions, each with its own close-on-exec flag.

import { EBADF, EMFILE } from "./errno.js";
import type { OpenFile } from "./open_file.js";

export const FD_LIMIT = 1024; // RLIMIT_NOFILE

interface Slot { file: OpenFile; cloexec: boolean; }

export class FdTable {
  private slots: (Slot | undefined)[] = [];

  get(fd: number): OpenFile | undefined {
    return fd >= 0 ? this.slots[fd]?.file : undefined;
  }
  cloexec(fd: number): boolean { return this.slots[fd]?.cloexec ?? false; }
  setCloexec(fd: number, on: boolean): void {
    const s = this.slots[fd];
    if (s) s.cloexec = on;
  }

  // Install at the lowest free number >= min; takes over the caller's reference.
  install(file: OpenFile, cloexec: boolean, min = 0): number {
    for (let fd = min; fd < FD_LIMIT; fd++) {
      if (!this.slots[fd]) {
        this.slots[fd] = { file, cloexec };
        return fd;
      }
    }
    file.unref();
    return -EMFILE;
  }

  // dup2 semantics: replace whatever `fd` named.
  installAt(fd: number, file: OpenFile, cloexec: boolean): number {
    if (fd < 0 || fd >= FD_LIMIT) { file.unref(); return -EBADF; }
    const old = this.slots[fd];
    this.slots[fd] = { file, cloexec };
    old?.file.unref();
    return fd;
  }

  close(fd: number): number {
    const s = fd >= 0 ? this.slots[fd] : undefined;
    if (!s) return -EBADF;
    this.slots[fd] = undefined;
    s.file.unref();
    return 0;
  }

  // The table a forked child starts with: the same descriptions.
  fork(): FdTable {
    const t = new FdTable();
    t.slots = this.slots.map((s) => (s ? { file: s.file.ref(), cloexec: s.cloexec } : undefined));
    return t;
  }

  closeOnExec(): void {
    this.slots.forEach((s, fd) => { if (s?.cloexec) this.close(fd); });
  }

  closeAll(): void {
    this.slots.forEach((s, fd) => { if (s) this.close(fd); });
  }

  *open(): IterableIterator<[number, OpenFile]> {
    for (let fd = 0; fd < this.slots.length; fd++) {
      const s = this.slots[fd];
      if (s) yield [fd, s.file];
    }
  }
}
