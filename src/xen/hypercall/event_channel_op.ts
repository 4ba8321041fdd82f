// event_channel_op(cmd, arg)

import type { Handler } from "./context.js";
import { targetDomain, neg } from "./context.js";
import { XEN_E } from "../public/xen.js";
import {
  EVTCHNOP, evtchn_alloc_unbound, evtchn_bind_interdomain, evtchn_bind_virq, evtchn_bind_ipi, evtchn_close, evtchn_send,
  evtchn_status, evtchn_bind_vcpu, evtchn_unmask, evtchn_reset, evtchn_init_control, evtchn_expand_array,
  evtchn_set_priority, EVTCHN_FIFO_LINK_BITS,
} from "../public/event_channel.js";

const rc = (v: number): bigint => BigInt(v < 0 ? v : 0);

export const eventChannelOp: Handler = (c, a) => {
  const cmd = Number(a[0]), arg = a[1];
  const ev = c.d.evtchn;
  switch (cmd) {
    case EVTCHNOP.alloc_unbound: {
      const s = c.g.readStruct(arg, evtchn_alloc_unbound);
      if (!s) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, s.num("dom"));
      if ("err" in t) return neg(t.err);
      let remote = s.num("remote_dom");
      if (remote === 0x7FF0) remote = c.d.id;
      const p = t.evtchn.allocUnbound(remote);
      if (p < 0) return BigInt(p);
      s.set("port", p);
      return c.g.writeStruct(arg, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.bind_interdomain: {
      const s = c.g.readStruct(arg, evtchn_bind_interdomain);
      if (!s) return neg(XEN_E.EFAULT);
      let rd = s.num("remote_dom");
      if (rd === 0x7FF0) rd = c.d.id;
      const remote = c.hv.domains.get(rd);
      if (!remote) return neg(XEN_E.ESRCH);
      const p = ev.bindInterdomain(remote.evtchn, s.num("remote_port"));
      if (p < 0) return BigInt(p);
      s.set("local_port", p);
      return c.g.writeStruct(arg, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.bind_virq: {
      const s = c.g.readStruct(arg, evtchn_bind_virq);
      if (!s) return neg(XEN_E.EFAULT);
      const p = ev.bindVirq(s.num("virq"), s.num("vcpu"));
      if (p < 0) return BigInt(p);
      s.set("port", p);
      return c.g.writeStruct(arg, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.bind_ipi: {
      const s = c.g.readStruct(arg, evtchn_bind_ipi);
      if (!s) return neg(XEN_E.EFAULT);
      const p = ev.bindIpi(s.num("vcpu"));
      if (p < 0) return BigInt(p);
      s.set("port", p);
      return c.g.writeStruct(arg, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.bind_pirq: return neg(XEN_E.ENOSYS);
    case EVTCHNOP.close: {
      const s = c.g.readStruct(arg, evtchn_close);
      return s ? rc(ev.close(s.num("port"))) : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.send: {
      const s = c.g.readStruct(arg, evtchn_send);
      return s ? rc(ev.send(s.num("port"))) : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.status: {
      const s = c.g.readStruct(arg, evtchn_status);
      if (!s) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, s.num("dom"));
      if ("err" in t) return neg(t.err);
      const port = s.num("port");
      if (port >= t.evtchn.ports.length) return neg(XEN_E.EINVAL);
      const st = t.evtchn.status(port);
      s.set("status", st.status).set("vcpu", st.vcpu).set("u0", st.u0).set("u1", st.u1);
      return c.g.writeStruct(arg, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.bind_vcpu: {
      const s = c.g.readStruct(arg, evtchn_bind_vcpu);
      return s ? rc(ev.bindVcpu(s.num("port"), s.num("vcpu"))) : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.unmask: {
      const s = c.g.readStruct(arg, evtchn_unmask);
      return s ? rc(ev.unmask(s.num("port"))) : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.reset: {
      const s = c.g.readStruct(arg, evtchn_reset);
      if (!s) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, s.num("dom"));
      if ("err" in t) return neg(t.err);
      t.evtchn.reset();
      return 0n;
    }
    case EVTCHNOP.init_control: {
      const s = c.g.readStruct(arg, evtchn_init_control);
      if (!s) return neg(XEN_E.EFAULT);
      const r = ev.initControl(s.num("vcpu"), s.get("control_gfn"), s.num("offset"));
      if (r < 0) return BigInt(r);
      s.set("link_bits", EVTCHN_FIFO_LINK_BITS);
      return c.g.writeStruct(arg, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.expand_array: {
      const s = c.g.readStruct(arg, evtchn_expand_array);
      return s ? rc(ev.expandArray(s.get("array_gfn"))) : neg(XEN_E.EFAULT);
    }
    case EVTCHNOP.set_priority: {
      const s = c.g.readStruct(arg, evtchn_set_priority);
      return s ? rc(ev.setPriority(s.num("port"), s.num("priority"))) : neg(XEN_E.EFAULT);
    }
    default: return neg(XEN_E.ENOSYS);
  }
};
