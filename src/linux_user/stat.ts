// struct stat (asm-generic, as arm64 uses it) and struct statx, encoded from
// a StatInfo for newfstatat/fstat and statx.

import type { StatInfo } from "./open_file.js";
import { Out } from "./syscall_abi.js";

export const STAT_SIZE = 128;

const sec = (ns: bigint): bigint => (ns >= 0n ? ns / 1000000000n : -((-ns + 999999999n) / 1000000000n));
const nsec = (ns: bigint): bigint => ns - sec(ns) * 1000000000n;

export function encodeStat(s: StatInfo): Uint8Array {
  const o = new Out(STAT_SIZE);
  o.u64(0, s.dev).u64(8, s.ino).u32(16, s.mode).u32(20, s.nlink).u32(24, s.uid).u32(28, s.gid).u64(32, s.rdev);
  o.u64(48, s.size).i32(56, s.blksize).u64(64, s.blocks);
  o.u64(72, sec(s.atimeNs)).u64(80, nsec(s.atimeNs));
  o.u64(88, sec(s.mtimeNs)).u64(96, nsec(s.mtimeNs));
  o.u64(104, sec(s.ctimeNs)).u64(112, nsec(s.ctimeNs));
  return o.bytes;
}

export const STATX_SIZE = 256;
const STATX_BASIC_STATS = 0x7FF, STATX_BTIME = 0x800;

// Linux's dev_t encoding split into major and minor.
const major = (d: bigint): number => Number(((d >> 8n) & 0xFFFn) | ((d >> 32n) & ~0xFFFn));
const minor = (d: bigint): number => Number((d & 0xFFn) | ((d >> 12n) & ~0xFFn));

export function encodeStatx(s: StatInfo): Uint8Array {
  const o = new Out(STATX_SIZE);
  o.u32(0, STATX_BASIC_STATS | STATX_BTIME).u32(4, s.blksize).u32(16, s.nlink).u32(20, s.uid).u32(24, s.gid);
  o.u16(28, s.mode).u64(32, s.ino).u64(40, s.size).u64(48, s.blocks);
  const ts = (off: number, ns: bigint): void => { o.u64(off, sec(ns)).u32(off + 8, Number(nsec(ns))); };
  ts(64, s.atimeNs); ts(80, s.btimeNs); ts(96, s.ctimeNs); ts(112, s.mtimeNs);
  o.u32(128, major(s.rdev)).u32(132, minor(s.rdev)).u32(136, major(s.dev)).u32(140, minor(s.dev));
  return o.bytes;
}
