// PSCI 1.1 and SMCCC 1.1 over HVC #0 (and trapped SMC): what Xen's vpsci.c
// and vsmc.c answer a guest.

import type { Domain } from "./domain.js";
import type { Vcpu } from "./vcpu.js";
import { SR } from "../cpu/cpu.js";
import { PSR_GUEST64_INIT, SCTLR_GUEST_INIT } from "./public/arch_arm.js";
import { SHUTDOWN } from "./public/xen.js";

export const PSCI = {
  VERSION: 0x84000000, CPU_SUSPEND_32: 0x84000001, CPU_SUSPEND_64: 0xC4000001, CPU_OFF: 0x84000002,
  CPU_ON_32: 0x84000003, CPU_ON_64: 0xC4000003, AFFINITY_INFO_32: 0x84000004, AFFINITY_INFO_64: 0xC4000004,
  MIGRATE_INFO_TYPE: 0x84000006, SYSTEM_OFF: 0x84000008, SYSTEM_RESET: 0x84000009, FEATURES: 0x8400000A,
} as const;
export const SMCCC = { VERSION: 0x80000000, ARCH_FEATURES: 0x80000001, HYP_CALL_UID: 0x8600FF01 } as const;
const PSCI_SUCCESS = 0n, NOT_SUPPORTED = -1n, INVALID_PARAMS = -2n, ALREADY_ON = -4n, INVALID_ADDRESS = -9n;

// Xen's SMCCC hypervisor UID a71812dc-c698-4369-9acf-79d18ddee667, four bytes per register, low byte first
const XEN_UID = [0xdc1218a7n, 0x694398c6n, 0xd179cf9an, 0x67e6de8dn];

export interface PsciHost {
  shutdown(d: Domain, reason: number): void;
  wake(d: Domain, v: Vcpu): void;
  block(v: Vcpu): void;
}

const SUPPORTED = new Set<number>([
  PSCI.VERSION, PSCI.CPU_SUSPEND_32, PSCI.CPU_SUSPEND_64, PSCI.CPU_OFF, PSCI.CPU_ON_32, PSCI.CPU_ON_64,
  PSCI.AFFINITY_INFO_32, PSCI.AFFINITY_INFO_64, PSCI.MIGRATE_INFO_TYPE, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET,
  PSCI.FEATURES, SMCCC.VERSION,
]);

// Handles the SMCCC call in x0..x3 of `v`; writes the results to x0..x3.
export function smccc(host: PsciHost, d: Domain, v: Vcpu): void {
  const st = v.state;
  const fid = Number(st.x(0) & 0xFFFFFFFFn);
  const is32 = ((fid >>> 30) & 1) === 0;
  const arg = (i: number): bigint => is32 ? st.x(i) & 0xFFFFFFFFn : st.x(i);
  let r: bigint;
  switch (fid) {
    case PSCI.VERSION: r = 0x10001n; break;
    case SMCCC.VERSION: r = 0x10001n; break;
    case PSCI.CPU_ON_32: case PSCI.CPU_ON_64: r = cpuOn(host, d, arg(1), arg(2), arg(3)); break;
    case PSCI.CPU_OFF:
      v.online = false;
      host.block(v);
      r = PSCI_SUCCESS;
      break;
    case PSCI.CPU_SUSPEND_32: case PSCI.CPU_SUSPEND_64:
      host.block(v); // a standby state: wake on the next interrupt
      r = PSCI_SUCCESS;
      break;
    case PSCI.AFFINITY_INFO_32: case PSCI.AFFINITY_INFO_64: {
      const level = arg(2);
      if (level !== 0n) { r = INVALID_PARAMS; break; }
      const t = findByAffinity(d, arg(1));
      r = t ? (t.online ? 0n : 1n) : INVALID_PARAMS;
      break;
    }
    case PSCI.MIGRATE_INFO_TYPE: r = 2n; break; // no trusted OS to migrate
    case PSCI.SYSTEM_OFF: host.shutdown(d, SHUTDOWN.poweroff); r = PSCI_SUCCESS; break;
    case PSCI.SYSTEM_RESET: host.shutdown(d, SHUTDOWN.reboot); r = PSCI_SUCCESS; break;
    case PSCI.FEATURES: r = SUPPORTED.has(Number(st.x(1) & 0xFFFFFFFFn)) ? 0n : NOT_SUPPORTED; break;
    case SMCCC.ARCH_FEATURES: r = NOT_SUPPORTED; break;
    case SMCCC.HYP_CALL_UID:
      for (let i = 0; i < 4; i++) st.setX(i, XEN_UID[i]);
      return;
    default: r = NOT_SUPPORTED;
  }
  st.setX(0, BigInt.asUintN(64, r));
}

function findByAffinity(d: Domain, mpidr: bigint): Vcpu | undefined {
  const aff = Number(mpidr & 0xFFFFn);
  if ((mpidr & ~0xFFFFn & 0xFF00FFFFFFn) !== 0n) return undefined;
  return d.vcpus.find((v) => v.affinity() === aff);
}

function cpuOn(host: PsciHost, d: Domain, target: bigint, entry: bigint, context: bigint): bigint {
  const t = findByAffinity(d, target);
  if (!t) return INVALID_PARAMS;
  if (t.online) return ALREADY_ON;
  if (entry & 3n) return INVALID_ADDRESS;
  const st = t.state;
  for (let i = 0; i < 31; i++) st.setX(i, 0n);
  st.setX(0, context);
  st.pc = entry;
  st.pstate = PSR_GUEST64_INIT;
  st.setSys(SR.SCTLR, SCTLR_GUEST_INIT);
  st.setSys(SR.SP_EL1, 0n);
  st.setSys(SR.SP_EL0, 0n);
  st.setSys(SR.CPACR, 0n);
  t.online = true;
  t.block = "none";
  host.wake(d, t);
  return PSCI_SUCCESS;
}
