// Exceptions a process takes to the (emulated) kernel: system calls, page
// faults the address space resolves (first touch, copy of a shared page),
// and faults that become signals (SIGSEGV, SIGBUS, SIGILL, SIGTRAP).

import type { Process } from "./process.js";
import type { UserKernel } from "./kernel.js";
import { PROT_READ, PROT_WRITE, PROT_EXEC } from "./address_space.js";
import { dispatch } from "./syscalls.js";
import { SIGKILL, SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SEGV_MAPERR, SEGV_ACCERR, BUS_ADRALN, ILL_ILLOPC, TRAP_BRKPT } from "./signals.js";

const EC_UNKNOWN = 0x00, EC_SVC64 = 0x15, EC_IABT_LOW = 0x20, EC_PC_ALIGN = 0x22, EC_DABT_LOW = 0x24,
  EC_SP_ALIGN = 0x26, EC_BRK64 = 0x3C;

const hex = (v: bigint): string => "0x" + v.toString(16);

export function handleException(k: UserKernel, p: Process): void {
  const c = p.cpu;
  const esr = c.exitEsr;
  const ec = Number(esr >> 26n) & 0x3F;
  if (ec === EC_SVC64) {
    p.lastFault.pc = -1n;
    dispatch(k, p);
    return;
  }
  const pc = c.pc;
  if (ec === EC_DABT_LOW || ec === EC_IABT_LOW) {
    const far = c.exitFar;
    const fsc = Number(esr & 0x3Fn);
    const translation = (fsc & 0x3C) === 0x04, permission = (fsc & 0x3C) === 0x0C;
    const write = ec === EC_DABT_LOW && (esr & (1n << 6n)) !== 0n;
    const need = ec === EC_IABT_LOW ? PROT_EXEC : write ? PROT_WRITE : PROT_READ;
    if (translation || permission) {
      // a fault that recurs at once after being resolved cannot be resolved
      const repeat = p.lastFault.pc === pc && p.lastFault.far === far;
      const resolved = !repeat && k.withMemory(() => p.as.fault(far, need), null);
      if (resolved === null) {
        k.log(`xents: pid ${p.pid} (${p.exe}) killed: out of machine memory at ${hex(far)}`);
        k.exitProcess(p, { signal: SIGKILL });
        return;
      }
      if (resolved) {
        p.lastFault.pc = pc;
        p.lastFault.far = far;
        return;
      }
      const kind = ec === EC_IABT_LOW ? "executing" : write ? "writing" : "reading";
      k.fault(p, { signo: SIGSEGV, code: translation ? SEGV_MAPERR : SEGV_ACCERR, addr: far }, esr,
        `${translation ? "unmapped" : "protected"} address ${hex(far)} ${kind} at pc ${hex(pc)}`);
      return;
    }
    if (fsc === 0x21) {
      k.fault(p, { signo: SIGBUS, code: BUS_ADRALN, addr: far }, esr, `unaligned access to ${hex(far)} at pc ${hex(pc)}`);
      return;
    }
    k.fault(p, { signo: SIGSEGV, code: SEGV_MAPERR, addr: far }, esr, `abort (FSC ${hex(BigInt(fsc))}) at ${hex(far)}, pc ${hex(pc)}`);
    return;
  }
  switch (ec) {
    case EC_PC_ALIGN:
      k.fault(p, { signo: SIGBUS, code: BUS_ADRALN, addr: c.exitFar }, esr, `misaligned pc ${hex(c.exitFar)}`);
      return;
    case EC_SP_ALIGN:
      k.fault(p, { signo: SIGBUS, code: BUS_ADRALN, addr: c.sp }, esr, `misaligned sp ${hex(c.sp)} at pc ${hex(pc)}`);
      return;
    case EC_BRK64:
      k.fault(p, { signo: SIGTRAP, code: TRAP_BRKPT, addr: pc }, esr, `brk #${hex(esr & 0xFFFFn)} at pc ${hex(pc)}`);
      return;
    case EC_UNKNOWN:
      k.fault(p, { signo: SIGILL, code: ILL_ILLOPC, addr: pc }, esr, `undefined instruction ${hex(BigInt(c.exitInsn))} at pc ${hex(pc)}`);
      return;
    default:
      k.fault(p, { signo: SIGILL, code: ILL_ILLOPC, addr: pc }, esr, `exception class ${hex(BigInt(ec))} (ESR ${hex(esr)}) at pc ${hex(pc)}`);
  }
}
