// Hypercall dispatch by number (x16), with Xen's argument registers x0-x4.
// A handler returns the value for x0 (negative: -errno), or null when it
// already arranged the vCPU's state (e.g. a shutdown that never returns).

import type { Domain } from "../domain.js";
import type { Vcpu } from "../vcpu.js";
import { HYPERVISOR, XEN_E, multicall_entry, VMASST_CMD_enable, VMASST_CMD_disable, VMASST_TYPE_runstate_update_flag } from "../public/xen.js";
import { GuestAccess } from "../guest_access.js";
import { StructBuf } from "../public/layout.js";
import { HypercallContext, HypercallServices, Handler, canContinue, continuation, neg } from "./context.js";
export type { HypercallContext, Handler } from "./context.js";
import { xenVersion } from "./xen_version.js";
import { memoryOp } from "./memory_op.js";
import { eventChannelOp } from "./event_channel_op.js";
import { grantTableOp } from "./grant_table_op.js";
import { schedOp } from "./sched_op.js";
import { vcpuOp } from "./vcpu_op.js";
import { hvmOp } from "./hvm_op.js";
import { consoleIo } from "./console_io.js";
import { domctl } from "./domctl.js";
import { sysctl } from "./sysctl.js";

const MULTICALL_BATCH = 64; // entries per piece


const handlers: Record<number, Handler> = {
  [HYPERVISOR.xen_version]: xenVersion,
  [HYPERVISOR.memory_op]: memoryOp,
  [HYPERVISOR.event_channel_op]: eventChannelOp,
  [HYPERVISOR.grant_table_op]: grantTableOp,
  [HYPERVISOR.sched_op]: schedOp,
  [HYPERVISOR.vcpu_op]: vcpuOp,
  [HYPERVISOR.hvm_op]: hvmOp,
  [HYPERVISOR.console_io]: consoleIo,
  [HYPERVISOR.domctl]: domctl,
  [HYPERVISOR.sysctl]: sysctl,
  [HYPERVISOR.vm_assist]: (c, a) => {
    if (a[1] !== BigInt(VMASST_TYPE_runstate_update_flag)) return neg(XEN_E.EINVAL);
    if (a[0] === BigInt(VMASST_CMD_enable)) c.d.vmAssist |= 1n << a[1];
    else if (a[0] === BigInt(VMASST_CMD_disable)) c.d.vmAssist &= ~(1n << a[1]);
    else return neg(XEN_E.EINVAL);
    return 0n;
  },
  // Xen on Arm offers physdev_op only for PCI device add/remove by the hardware domain.
  [HYPERVISOR.physdev_op]: () => neg(XEN_E.ENOSYS),
  [HYPERVISOR.platform_op]: (c) => c.d.privileged ? neg(XEN_E.ENOSYS) : neg(XEN_E.EPERM),
  [HYPERVISOR.multicall]: multicall,
};

// Whether a hypercall number reaches a handler at all (others are -ENOSYS
// and change nothing).
export function hasHypercallHandler(nr: number): boolean { return handlers[nr] !== undefined; }

export function dispatchHypercall(hv: HypercallServices, d: Domain, v: Vcpu, nr: number, args: bigint[]): bigint | null {
  const h = handlers[nr];
  if (!h) return neg(XEN_E.ENOSYS);
  return h({ hv, d, v, g: new GuestAccess(d, v) }, args);
}

// multicall(entries, nr): each entry { op, result, args[6] }; nested multicalls are refused.
function multicall(c: HypercallContext, a: bigint[]): bigint | null {
  const base = a[0], n = Number(a[1] & 0xFFFFFFFFn);
  const inner: HypercallContext = { ...c, nested: true };
  for (let i = 0; i < n; i++) {
    if (i === MULTICALL_BATCH && canContinue(c)) return continuation(c, [base + BigInt(i * multicall_entry.size), BigInt(n - i)]);
    const va = base + BigInt(i * multicall_entry.size);
    const e = c.g.readStruct(va, multicall_entry);
    if (!e) return neg(XEN_E.EFAULT);
    const op = e.num("op");
    const argBytes = e.sub("args");
    const dv = new DataView(argBytes.buffer, argBytes.byteOffset, 48);
    const args = [0, 1, 2, 3, 4].map((k) => dv.getBigUint64(k * 8, true));
    let r: bigint;
    if (op === HYPERVISOR.multicall) r = neg(XEN_E.EINVAL);
    else r = (handlers[op] ? handlers[op](inner, args) : neg(XEN_E.ENOSYS)) ?? 0n;
    const out = new StructBuf(multicall_entry, e.bytes).set("result", r);
    if (!c.g.writeStruct(va, out)) return neg(XEN_E.EFAULT);
    if (c.d.shutdown) return null;
  }
  return 0n;
}
