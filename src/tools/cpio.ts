// cpio "newc" archives, the format of a Linux initramfs.

export interface CpioEntry {
  name: string; // path inside the archive, without a leading "/"
  mode: number; // full st_mode (type and permissions)
  data?: Uint8Array; // file contents, or the target of a symlink
  mtime?: number;
}

export const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

function hex8(n: number): string { return (n >>> 0).toString(16).padStart(8, "0"); }

export function cpioNewc(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array): void => { parts.push(b); size += b.length; };
  const pad4 = (): void => { const p = (4 - (size % 4)) % 4; if (p) push(new Uint8Array(p)); };
  let ino = 1;
  const one = (e: CpioEntry, dev = 0): void => {
    const data = e.data ?? new Uint8Array(0);
    const name = Buffer.from(e.name + "\0");
    const isDir = (e.mode & 0o170000) === S_IFDIR;
    const header = "070701" + hex8(ino++) + hex8(e.mode) + hex8(0) + hex8(0) + hex8(isDir ? 2 : 1) + hex8(e.mtime ?? 0) +
      hex8(data.length) + hex8(0) + hex8(0) + hex8(dev >> 8) + hex8(dev & 0xFF) + hex8(name.length) + hex8(0);
    push(new Uint8Array(Buffer.from(header, "ascii")));
    push(new Uint8Array(name));
    pad4();
    if (data.length) { push(data); pad4(); }
  };
  for (const e of entries) one(e);
  one({ name: "TRAILER!!!", mode: 0 });
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
