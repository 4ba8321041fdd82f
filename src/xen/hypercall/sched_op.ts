// sched_op(cmd, arg): yield, block, shutdown (with its reason), poll,
// remote_shutdown (privileged) and shutdown_code.

import { type Handler, neg } from "./context.js";
import { XEN_E, SCHEDOP, SHUTDOWN, sched_shutdown, sched_poll, sched_remote_shutdown, RUNSTATE } from "../public/xen.js";
import { Clock } from "../../hw/clock.js";

const MAX_POLL_PORTS = 128;

export const schedOp: Handler = (c, a) => {
  const cmd = Number(a[0]), arg = a[1];
  switch (cmd) {
    case SCHEDOP.yield: c.hv.requestYield(); return 0n;
    case SCHEDOP.block:
      c.v.block = "block";
      c.v.state.setX(0, 0n);
      if (!c.hv.tryWake(c.d, c.v)) { c.hv.setRunstate(c.v, RUNSTATE.blocked); c.hv.requestYield(); }
      return 0n;
    case SCHEDOP.shutdown: {
      const s = c.g.readStruct(arg, sched_shutdown);
      if (!s) return neg(XEN_E.EFAULT);
      const reason = s.num("reason");
      if (reason > SHUTDOWN.soft_reset) return neg(XEN_E.EINVAL);
      c.v.state.setX(0, 0n);
      c.hv.shutdown(c.d, reason);
      return 0n;
    }
    case SCHEDOP.shutdown_code: {
      const s = c.g.readStruct(arg, sched_shutdown);
      if (!s) return neg(XEN_E.EFAULT);
      c.d.shutdownCode = s.num("reason");
      return 0n;
    }
    case SCHEDOP.remote_shutdown: {
      if (!c.d.privileged) return neg(XEN_E.EPERM);
      const s = c.g.readStruct(arg, sched_remote_shutdown);
      if (!s) return neg(XEN_E.EFAULT);
      const t = c.hv.domains.get(s.num("domain_id"));
      if (!t) return neg(XEN_E.ESRCH);
      c.hv.shutdown(t, s.num("reason"));
      return 0n;
    }
    case SCHEDOP.poll: {
      const s = c.g.readStruct(arg, sched_poll);
      if (!s) return neg(XEN_E.EFAULT);
      const n = s.num("nr_ports");
      if (n > MAX_POLL_PORTS) return neg(XEN_E.EINVAL);
      const ports: number[] = [];
      for (let i = 0; i < n; i++) {
        const b = c.g.read(s.get("ports") + BigInt(i * 4), 4);
        if (!b) return neg(XEN_E.EFAULT);
        const p = new DataView(b.buffer).getUint32(0, true);
        if (!c.d.evtchn.valid(p)) return neg(XEN_E.EINVAL);
        ports.push(p);
      }
      if (ports.some((p) => c.d.evtchn.isPending(p))) return 0n;
      const timeout = s.get("timeout");
      c.v.state.setX(0, 0n);
      c.v.block = "poll";
      c.v.pollPorts = ports;
      c.v.pollDeadline = timeout === 0n ? 0n : Clock.fromNs(timeout);
      c.hv.setRunstate(c.v, RUNSTATE.blocked);
      c.hv.requestYield();
      return 0n;
    }
    default: return neg(XEN_E.ENOSYS);
  }
};
