// hvm_op(cmd, arg): the parameters the toolstack sets and a guest reads
// (xen/arch/arm/hvm.c).

import type { Handler } from "./context.js";
import { targetDomain, neg } from "./context.js";
import { XEN_E, HVMOP, HVM_PARAM, HVM_NR_PARAMS, xen_hvm_param } from "../public/xen.js";

const GUEST_READABLE = new Set<number>([HVM_PARAM.CALLBACK_IRQ, HVM_PARAM.STORE_PFN, HVM_PARAM.STORE_EVTCHN, HVM_PARAM.CONSOLE_PFN, HVM_PARAM.CONSOLE_EVTCHN]);

export const hvmOp: Handler = (c, a) => {
  const cmd = Number(a[0]), arg = a[1];
  if (cmd === HVMOP.guest_request_vm_event) return arg === 0n ? 0n : neg(XEN_E.EINVAL);
  if (cmd !== HVMOP.set_param && cmd !== HVMOP.get_param) return neg(XEN_E.ENOSYS);
  const p = c.g.readStruct(arg, xen_hvm_param);
  if (!p) return neg(XEN_E.EFAULT);
  const t = targetDomain(c, p.num("domid"));
  if ("err" in t) return neg(t.err);
  const index = p.num("index");
  if (index >= HVM_NR_PARAMS) return neg(XEN_E.EINVAL);
  if (cmd === HVMOP.set_param) {
    if (!c.d.privileged || t === c.d) return neg(XEN_E.EPERM);
    t.hvmParams[index] = p.get("value");
    return 0n;
  }
  if (!c.d.privileged) {
    if (index === HVM_PARAM.MONITOR_RING_PFN) return neg(XEN_E.EPERM);
    if (!GUEST_READABLE.has(index)) return neg(XEN_E.EINVAL);
  }
  p.set("value", t.hvmParams[index]);
  return c.g.writeStruct(arg, p) ? 0n : neg(XEN_E.EFAULT);
};
