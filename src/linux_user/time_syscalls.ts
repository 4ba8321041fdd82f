// Clocks and sleeping: clock_gettime, clock_getres, gettimeofday, times,
// nanosleep and clock_nanosleep. Sleeping processes wait in the scheduler,
// which idles the host only when nothing else can run.

import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { EFAULT, EINVAL, EINTR } from "./errno.js";
import { DONE, SyscallTable, SyscallResult, Out, int, readStruct, readTimespec, timespec } from "./syscall_abi.js";
import { NR } from "./syscall_numbers.js";

const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
  CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7,
  CLOCK_TAI = 11;
const TIMER_ABSTIME = 1;

function clockNs(k: UserKernel, p: Process, clk: number): bigint | null {
  switch (clk) {
    case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: case CLOCK_TAI: return k.now();
    case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME: return k.monotonic();
    // CPU time: the retired instructions at a nominal 1 GHz
    case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID: return p.cpu.instret - p.startInstret;
    default: return null;
  }
}

// Sleep until `deadlineNs` on `clk`; x0 is 0 unless a handler interrupts
// (then -EINTR and, for relative sleeps, the time left in `rem`).
function sleep(k: UserKernel, p: Process, clk: number, deadlineNs: bigint, rem: bigint): SyscallResult {
  const left = (): bigint => deadlineNs - (clockNs(k, p, clk) ?? 0n);
  if (left() <= 0n) return 0;
  const deadline = performance.now() + Number(left()) / 1e6;
  p.cpu.setX(0, 0n);
  p.wait = {
    ready: () => performance.now() >= deadline,
    retry: false, interruptible: true, deadline,
    onInterrupt: () => {
      p.cpu.setX(0, BigInt(-EINTR));
      if (rem !== 0n) p.as.write(rem, timespec(left() > 0n ? left() : 0n));
    },
  };
  return DONE;
}

const ITIMER_REAL = 0;

function timeval(ms: number): [bigint, bigint] {
  const us = BigInt(Math.max(0, Math.round(ms * 1000)));
  return [us / 1000000n, us % 1000000n];
}
function itimerval(p: Process): Uint8Array {
  const t = p.realTimer;
  const [is, ius] = timeval(t ? t.interval : 0);
  const [vs, vus] = timeval(t ? t.at - performance.now() : 0);
  return new Out(32).u64(0, is).u64(8, ius).u64(16, vs).u64(24, vus).bytes;
}

export const timeSyscalls: SyscallTable = {
  // getitimer(which, value): only the real-time timer (SIGALRM)
  [NR.getitimer]: (_k, p, a) => {
    if (int(a[0]) !== ITIMER_REAL) return -EINVAL;
    return p.as.write(a[1], itimerval(p)) ? 0 : -EFAULT;
  },
  // setitimer(which, new, old)
  [NR.setitimer]: (_k, p, a) => {
    if (int(a[0]) !== ITIMER_REAL) return -EINVAL;
    const dv = readStruct(p, a[1], 32);
    if (!dv) return -EFAULT;
    if (a[2] !== 0n && !p.as.write(a[2], itimerval(p))) return -EFAULT;
    const ms = (o: number): number => Number(dv.getBigInt64(o, true)) * 1000 + Number(dv.getBigInt64(o + 8, true)) / 1000;
    const value = ms(16), interval = ms(0);
    p.realTimer = value > 0 ? { at: performance.now() + value, interval } : null;
    return 0;
  },
  // clock_gettime(clk, ts)
  [NR.clock_gettime]: (k, p, a) => {
    const ns = clockNs(k, p, int(a[0]));
    if (ns === null) return -EINVAL;
    return p.as.write(a[1], timespec(ns)) ? 0 : -EFAULT;
  },
  // clock_getres(clk, res)
  [NR.clock_getres]: (k, p, a) => {
    if (clockNs(k, p, int(a[0])) === null) return -EINVAL;
    return a[1] === 0n || p.as.write(a[1], timespec(1n)) ? 0 : -EFAULT;
  },
  // gettimeofday(tv, tz)
  [NR.gettimeofday]: (k, p, a) => {
    const ns = k.now();
    if (a[0] !== 0n && !p.as.write(a[0], new Out(16).u64(0, ns / 1000000000n).u64(8, (ns % 1000000000n) / 1000n).bytes)) return -EFAULT;
    if (a[1] !== 0n && !p.as.write(a[1], new Uint8Array(8))) return -EFAULT;
    return 0;
  },
  // times(buf): CPU times in clock ticks (100 Hz) and the ticks since start
  [NR.times]: (k, p, a) => {
    const ticks = (p.cpu.instret - p.startInstret) / 10000000n;
    if (a[0] !== 0n && !p.as.write(a[0], new Out(32).u64(0, ticks).bytes)) return -EFAULT;
    return BigInt(Math.floor((performance.now() - k.startTime) / 10)) + 100000n;
  },
  // nanosleep(req, rem)
  [NR.nanosleep]: (k, p, a) => {
    const req = readTimespec(p, a[0]);
    if (req === null) return -EFAULT;
    if (req < 0n) return -EINVAL;
    return sleep(k, p, CLOCK_MONOTONIC, k.monotonic() + req, a[1]);
  },
  // clock_nanosleep(clk, flags, req, rem)
  [NR.clock_nanosleep]: (k, p, a) => {
    const clk = int(a[0]);
    const now = clockNs(k, p, clk);
    if (now === null) return -EINVAL;
    const req = readTimespec(p, a[2]);
    if (req === null) return -EFAULT;
    const abs = (int(a[1]) & TIMER_ABSTIME) !== 0;
    return sleep(k, p, clk, abs ? req : now + req, abs ? 0n : a[3]);
  },
};
