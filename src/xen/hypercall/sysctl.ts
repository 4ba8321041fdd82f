// sysctl(arg): host-wide queries for the control domain.

import { type Handler, neg } from "./context.js";
import { StructBuf } from "../public/layout.js";
import { XEN_E } from "../public/xen.js";
import {
  SYSCTL, SYSCTL_U, XEN_SYSCTL_INTERFACE_VERSION, xen_sysctl, xen_sysctl_physinfo, xen_sysctl_getdomaininfolist,
  xen_domctl_getdomaininfo, XEN_SYSCTL_PHYSCAP_hvm, XEN_SYSCTL_PHYSCAP_hap, XEN_SYSCTL_PHYSCAP_gnttab_v1, XEN_SYSCTL_PHYSCAP_directio, XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share, xen_sysctl_readconsole,
  xen_sysctl_sched_id, xen_sysctl_numainfo, xen_sysctl_meminfo, xen_sysctl_cpupool_op, xenctl_bitmap, XEN_SYSCTL_CPUPOOL_OP,
  XEN_SCHEDULER_CREDIT2, xen_sysctl_cputopoinfo, xen_sysctl_cputopo,
} from "../public/domctl.js";
import type { HypercallContext } from "./context.js";
import { domainInfo } from "./domctl.js";
import { writeBitmap } from "./xenctl_bitmap.js";


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
        .set("cpu_khz", 100_000).set("capabilities", XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_hap | XEN_SYSCTL_PHYSCAP_gnttab_v1
          // the machine's SMMU shares each domain's stage-2: devices can be passed through
          | XEN_SYSCTL_PHYSCAP_directio | XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share)
        .set("total_pages", c.hv.frames.nframes).set("free_pages", c.hv.frames.freeCount);
      return c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT);
    }
    // One CPU: core 0 of socket 0 on node 0. Without a buffer, how many CPUs there are.
    case SYSCTL.cputopoinfo: {
      const s = new StructBuf(xen_sysctl_cputopoinfo, u);
      const buf = s.get("cputopo");
      let n = 1;
      if (buf !== 0n) {
        n = Math.min(1, s.num("num_cpus"));
        for (let i = 0; i < n; i++) if (!c.g.write(buf + BigInt(i * xen_sysctl_cputopo.size), new StructBuf(xen_sysctl_cputopo).bytes)) return neg(XEN_E.EFAULT);
      }
      if (s.num("num_cpus") === n) return 0n;
      s.set("num_cpus", n);
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
    case SYSCTL.sched_id: {
      const s = new StructBuf(xen_sysctl_sched_id).set("sched_id", XEN_SCHEDULER_CREDIT2);
      return c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT);
    }
    case SYSCTL.numainfo: return numainfo(c, new StructBuf(xen_sysctl_numainfo, u), uva);
    case SYSCTL.cpupool_op: return cpupoolOp(c, new StructBuf(xen_sysctl_cpupool_op, u), uva);
    default: return neg(XEN_E.ENOSYS);
  }
};

// One NUMA node holding all machine memory, at Arm's fixed distance (20),
// as Xen 4.17 on Arm reports it. With neither array given it only says how
// many nodes there are; otherwise it fills at most as many as the caller
// has room for and says how many it filled.
const NODE_DISTANCE = 20;
function numainfo(c: HypercallContext, s: StructBuf<keyof typeof xen_sysctl_numainfo.fields>, uva: bigint): bigint {
  const meminfo = s.get("meminfo"), distance = s.get("distance");
  let nodes = 1;
  if (meminfo !== 0n || distance !== 0n) {
    nodes = Math.min(nodes, s.num("num_nodes"));
    for (let i = 0; i < nodes; i++) {
      if (meminfo !== 0n) {
        const m = new StructBuf(xen_sysctl_meminfo).set("memsize", BigInt(c.hv.frames.nframes) << 12n).set("memfree", BigInt(c.hv.frames.freeCount) << 12n);
        if (!c.g.write(meminfo + BigInt(i * xen_sysctl_meminfo.size), m.bytes)) return neg(XEN_E.EFAULT);
      }
      if (distance !== 0n) {
        const row = new DataView(new ArrayBuffer(4 * nodes));
        for (let j = 0; j < nodes; j++) row.setUint32(4 * j, NODE_DISTANCE, true);
        if (!c.g.write(distance + BigInt(4 * i * nodes), new Uint8Array(row.buffer))) return neg(XEN_E.EFAULT);
      }
    }
  }
  if (s.num("num_nodes") !== nodes) { s.set("num_nodes", nodes); if (!c.g.write(uva, s.bytes)) return neg(XEN_E.EFAULT); }
  return 0n;
}

// One cpupool (id 0, credit2) with the host's one physical CPU and every
// domain in it; no free CPUs. Pools cannot be made, destroyed or changed:
// there is nothing to divide.
function cpupoolOp(c: HypercallContext, s: StructBuf<keyof typeof xen_sysctl_cpupool_op.fields>, uva: bigint): bigint {
  const map = new StructBuf(xenctl_bitmap, s.sub("cpumap"));
  const putMap = (cpus: number): boolean => writeBitmap(c, map, cpus);
  switch (s.num("op")) {
    case XEN_SYSCTL_CPUPOOL_OP.INFO:
      if (s.num("cpupool_id") > 0) return neg(XEN_E.ENOENT); // the next pool at or after the id: only 0 exists
      s.set("cpupool_id", 0).set("sched_id", XEN_SCHEDULER_CREDIT2).set("n_dom", c.hv.domains.size);
      if (!putMap(1)) return neg(XEN_E.EFAULT);
      break;
    case XEN_SYSCTL_CPUPOOL_OP.FREEINFO:
      if (!putMap(0)) return neg(XEN_E.EFAULT);
      break;
    case XEN_SYSCTL_CPUPOOL_OP.CREATE: case XEN_SYSCTL_CPUPOOL_OP.DESTROY: case XEN_SYSCTL_CPUPOOL_OP.ADDCPU:
    case XEN_SYSCTL_CPUPOOL_OP.RMCPU: case XEN_SYSCTL_CPUPOOL_OP.MOVEDOMAIN:
      return neg(XEN_E.EOPNOTSUPP);
    default: return neg(XEN_E.ENOSYS);
  }
  return c.g.write(uva, s.bytes) ? 0n : neg(XEN_E.EFAULT);
}
