// System information: uname, sysinfo, getrandom, getcpu.

import { hostname } from "node:os";
import { EFAULT, EINVAL } from "./errno.js";
import { SyscallTable, Out, int, uint } from "./syscall_abi.js";
import { NR } from "./syscall_numbers.js";

const UTS_FIELD = 65;

export const sysSyscalls: SyscallTable = {
  // uname(buf): the host's node name, an arm64 machine
  [NR.uname]: (_k, p, a) => {
    const buf = new Uint8Array(UTS_FIELD * 6);
    const host = hostname().slice(0, 64);
    ["Linux", host, "6.1.0-xents", "#1 SMP PREEMPT_DYNAMIC", "aarch64", "(none)"]
      .forEach((s, i) => buf.set(Buffer.from(s), i * UTS_FIELD));
    return p.as.write(a[0], buf) ? 0 : -EFAULT;
  },
  // sysinfo(info)
  [NR.sysinfo]: (k, p, a) => {
    const total = BigInt(k.core.ramSize), free = total - BigInt(k.frames.used) * 4096n;
    const uptime = BigInt(Math.floor(performance.now() / 1000));
    const o = new Out(112).u64(0, uptime).u64(32, total).u64(40, free).u16(80, k.procs.size).u32(104, 1);
    return p.as.write(a[0], o.bytes) ? 0 : -EFAULT;
  },
  // getrandom(buf, len, flags): a seeded stream, so that runs are reproducible
  [NR.getrandom]: (k, p, a) => {
    if ((int(a[2]) & ~7) !== 0) return -EINVAL;
    const n = Math.min(uint(a[1]), 1 << 20);
    return p.as.write(a[0], k.randomBytes(n)) ? n : -EFAULT;
  },
  // getcpu(cpu, node, cache)
  [NR.getcpu]: (_k, p, a) => {
    const zero = new Uint8Array(4);
    if (a[0] !== 0n && !p.as.write(a[0], zero)) return -EFAULT;
    if (a[1] !== 0n && !p.as.write(a[1], zero)) return -EFAULT;
    return 0;
  },
};
