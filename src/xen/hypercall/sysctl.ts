// sysctl(arg): host-wide queries for the control domain.

import type { Handler } from "./dispatch.js";
import { StructBuf } from "../public/layout.js";
import { XEN_E } from "../public/xen.js";
import {
  SYSCTL, SYSCTL_U, XEN_SYSCTL_INTERFACE_VERSION, xen_sysctl, xen_sysctl_physinfo, xen_sysctl_getdomaininfolist,
  xen_domctl_getdomaininfo, XEN_SYSCTL_PHYSCAP_hvm, XEN_SYSCTL_PHYSCAP_hap, xen_sysctl_readconsole,
} from "../public/domctl.js";
import { domainInfo } from "./domctl.js";

const neg = (e: number): bigint => BigInt(-e);

export const sysctl: Handler = (c, a) => {
  if (!c.d.privileged) return neg(XEN_E.EPERM);
  const va = a[0];
  const op = c.g.readStruct(va, xen_sysctl);
  if (!op) return neg(XEN_E.EFAULT);
  if (op.num("interface_version") !== XEN_SYSCTL_INTERFACE_VERSION) return neg(XEN_E.EACCES);
  const uva = va + BigInt(SYSCTL_U);
  const u = op.bytes.subarray(SYSCTL_U);
  switch (op.num("cmd")) {
    case SYSCTL.physinfo: {
      const s = new StructBuf(xen_sysctl_physinfo);
      s.set("threads_per_core", 1).set("cores_per_socket", 1).set("nr_cpus", 1).set("max_cpu_id", 0).set("nr_nodes", 1)
        .set("cpu_khz", 100_000).set("capabilities", XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_hap)
        .set("total_pages", c.hv.frames.nframes).set("free_pages", c.hv.frames.freeCount);
      return c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT);
    }
    case SYSCTL.getdomaininfolist: {
      const s = new StructBuf(xen_sysctl_getdomaininfolist, u);
      const first = s.num("first_domain"), max = s.num("max_domains");
      const ids = [...c.hv.domains.keys()].filter((id) => id >= first).sort((x, y) => x - y).slice(0, max);
      ids.forEach((id, i) => {
        const info = domainInfo(c, c.hv.domains.get(id)!);
        c.g.write(s.get("buffer") + BigInt(i * xen_domctl_getdomaininfo.size), info.bytes);
      });
      s.set("num_domains", ids.length);
      return c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT);
    }
    case SYSCTL.readconsole: {
      const s = new StructBuf(xen_sysctl_readconsole, u);
      const r = c.hv.conring.read(s.num("count"), s.num("index"), s.num("incremental") !== 0, s.num("clear") !== 0);
      if (r.bytes.length && !c.g.write(s.get("buffer"), r.bytes)) return neg(XEN_E.EFAULT);
      s.set("count", r.bytes.length).set("index", r.index);
      return c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT);
    }
    default: return neg(XEN_E.ENOSYS);
  }
};
