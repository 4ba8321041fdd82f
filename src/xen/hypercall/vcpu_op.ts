// vcpu_op(cmd, vcpuid, arg): on Arm, Xen offers register_vcpu_info and
// register_runstate_memory_area; every other sub-op is -EINVAL
// (do_arm_vcpu_op). vCPUs are powered on and off with PSCI instead.

import { type Handler, neg } from "./context.js";
import { XEN_E, VCPUOP, vcpu_register_vcpu_info, vcpu_register_runstate_memory_area, vcpu_info } from "../public/xen.js";

const SEL = vcpu_info.fields.evtchn_pending_sel.offset;

export const vcpuOp: Handler = (c, a) => {
  const cmd = Number(a[0]), id = Number(a[1] & 0xFFFFFFFFn), arg = a[2];
  const t = c.d.vcpus[id];
  if (!t) return neg(XEN_E.ENOENT);
  switch (cmd) {
    case VCPUOP.register_vcpu_info: {
      const r = c.g.readStruct(arg, vcpu_register_vcpu_info);
      if (!r) return neg(XEN_E.EFAULT);
      const offset = r.num("offset");
      if (offset > 4096 - vcpu_info.size || (offset & 7)) return neg(XEN_E.ENXIO);
      if (t.vcpuInfo) return neg(XEN_E.EINVAL);
      if (t !== c.v && t.online) return neg(XEN_E.EINVAL);
      const gfn = r.get("mfn");
      const frame = c.d.pinPage(gfn); // held until the domain dies, as Xen's map_vcpu_info
      if (frame < 0) return neg(XEN_E.EINVAL);
      const dst = c.d.frameHost(frame) + offset;
      const old = c.d.vcpuInfoHost(id);
      if (old >= 0) c.d.bytes.copyWithin(dst, old, old + vcpu_info.size);
      else c.d.bytes.fill(0, dst, dst + vcpu_info.size);
      c.d.noteWrite(dst, vcpu_info.size);
      t.vcpuInfo = { gfn, offset, frame };
      // as Xen: every selector bit set and one (possibly spurious) upcall
      c.d.view.setBigUint64(dst + SEL, 0xFFFFFFFFFFFFFFFFn, true);
      c.d.bytes[dst] = 0;
      c.d.markEventsPending(id);
      return 0n;
    }
    case VCPUOP.register_runstate_memory_area: {
      const r = c.g.readStruct(arg, vcpu_register_runstate_memory_area);
      if (!r) return neg(XEN_E.EFAULT);
      t.runstateVa = r.get("addr");
      c.hv.setRunstate(t, t.runstate);
      return 0n;
    }
    default: return neg(XEN_E.EINVAL);
  }
};
