// Linux system calls for user-mode programs (AArch64 generic numbers, from
// include/uapi/asm-generic/unistd.h): the table assembled from the groups,
// and the dispatcher the trap handler calls on an SVC. Results are the raw
// kernel ABI: a value, or -errno; unknown calls return -ENOSYS.

import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { ENOMEM, ENOSYS, hostErrno, isHostError } from "./errno.js";
import { OutOfMemory } from "./address_space.js";
import { BLOCK, DONE, SyscallHandler, SyscallTable } from "./syscall_abi.js";
import { ioSyscalls } from "./io_syscalls.js";
import { fsSyscalls } from "./fs_syscalls.js";
import { memSyscalls } from "./mem_syscalls.js";
import { procSyscalls } from "./proc_syscalls.js";
import { signalSyscalls } from "./signal_syscalls.js";
import { timeSyscalls } from "./time_syscalls.js";
import { sysSyscalls } from "./sys_syscalls.js";

export const syscalls: SyscallTable = {
  ...ioSyscalls, ...fsSyscalls, ...memSyscalls, ...procSyscalls, ...signalSyscalls, ...timeSyscalls, ...sysSyscalls,
};

import { SYSCALL_NAMES } from "./syscall_numbers.js";

export const syscallName = (nr: number): string => SYSCALL_NAMES[nr] ?? `syscall_${nr}`;

// Run the system call the process's SVC asked for (its PC is past the SVC).
export function dispatch(k: UserKernel, p: Process): void {
  const c = p.cpu;
  const nr = Number(c.x(8));
  const args = [c.x(0), c.x(1), c.x(2), c.x(3), c.x(4), c.x(5)];
  const h = syscalls[nr] as SyscallHandler | undefined;
  let r: ReturnType<SyscallHandler>;
  if (!h) r = -ENOSYS;
  else {
    try {
      r = h(k, p, args);
    } catch (e) {
      // a host file system error nobody anticipated is still just an errno,
      // and running out of machine memory while touching user pages is ENOMEM
      if (e instanceof OutOfMemory) r = -ENOMEM;
      else if (isHostError(e)) r = -hostErrno(e);
      else throw e;
    }
  }
  const trace = k.opts.trace;
  if (trace === "all" || (trace === "unknown" && !h)) {
    const shown = r === BLOCK ? "(blocks)" : r === DONE ? "(done)" : String(r);
    const unknown = h ? "" : " [not implemented]";
    k.log(`[${p.pid}] ${syscallName(nr)}(${args.slice(0, 4).map((x) => "0x" + x.toString(16)).join(", ")}) = ${shown}${unknown}`);
  }
  if (r === BLOCK) c.pc -= 4n; // run the SVC again when the wait ends
  else if (r !== DONE && !p.exit) c.setX(0, BigInt(r));
}
