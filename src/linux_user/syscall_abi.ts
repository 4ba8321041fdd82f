// The system call interface's shared vocabulary: handler and result types,
// argument decoding, and copying structures in and out of user memory.

import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";

// The process waits (p.wait is set) and the call runs again when it may go on.
export const BLOCK = Symbol("block");
// The handler has set the registers itself (execve, rt_sigreturn, exit).
export const DONE = Symbol("done");
export type SyscallResult = bigint | number | typeof BLOCK | typeof DONE;
export type SyscallHandler = (k: UserKernel, p: Process, a: bigint[]) => SyscallResult;
export type SyscallTable = Record<number, SyscallHandler>;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_SYMLINK_FOLLOW = 0x400, AT_EACCESS = 0x200,
  AT_EMPTY_PATH = 0x1000;

// An int argument (the low 32 bits, signed).
export const int = (v: bigint): number => Number(BigInt.asIntN(32, v));
// An unsigned int argument.
export const uint = (v: bigint): number => Number(BigInt.asUintN(32, v));
// A long argument, signed.
export const long = (v: bigint): bigint => BigInt.asIntN(64, v);

import { Out } from "./user_struct.js";
export { Out };

export function readStruct(p: Process, va: bigint, size: number): DataView | null {
  const b = p.as.read(va, size);
  return b ? new DataView(b.buffer) : null;
}

export function readU64(p: Process, va: bigint): bigint | null {
  return readStruct(p, va, 8)?.getBigUint64(0, true) ?? null;
}

export function readI32(p: Process, va: bigint): number | null {
  return readStruct(p, va, 4)?.getInt32(0, true) ?? null;
}

// An array of C strings (argv, envp); null on a bad pointer.
export function readStringArray(p: Process, va: bigint): string[] | null {
  const out: string[] = [];
  if (va === 0n) return out;
  for (let i = 0; i < 65536; i++) {
    const ptr = readU64(p, va + BigInt(i * 8));
    if (ptr === null) return null;
    if (ptr === 0n) return out;
    const s = p.as.readCString(ptr, 131072);
    if (s === null) return null;
    out.push(s);
  }
  return null;
}

export interface IoVec { base: bigint; len: number; }
export function readIovecs(p: Process, va: bigint, count: number): IoVec[] | null {
  if (count < 0 || count > 1024) return null;
  const dv = readStruct(p, va, count * 16);
  if (!dv) return null;
  const out: IoVec[] = [];
  for (let i = 0; i < count; i++) out.push({ base: dv.getBigUint64(i * 16, true), len: Number(dv.getBigUint64(i * 16 + 8, true)) });
  return out;
}

// struct timespec { tv_sec; tv_nsec } as nanoseconds.
export function readTimespec(p: Process, va: bigint): bigint | null {
  const dv = readStruct(p, va, 16);
  if (!dv) return null;
  return dv.getBigInt64(0, true) * 1000000000n + dv.getBigInt64(8, true);
}
export function timespec(ns: bigint): Uint8Array {
  return new Out(16).u64(0, ns / 1000000000n).u64(8, ns % 1000000000n).bytes;
}
