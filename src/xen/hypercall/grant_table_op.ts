// grant_table_op(cmd, uop, count): v1 tables; each element carries its own status.

import type { Handler } from "./context.js";
import { targetDomain, neg } from "./context.js";
import { XEN_E } from "../public/xen.js";
import {
  GNTTABOP, GNTST, gnttab_query_size, gnttab_set_version, gnttab_get_version, gnttab_setup_table,
  gnttab_map_grant_ref, gnttab_unmap_grant_ref, gnttab_copy,
} from "../public/grant_table.js";
import { grantCopy } from "../grant_table.js";
import { GUEST_GNTTAB_BASE } from "../public/arch_arm.js";

const MAX_BATCH = 512;

export const grantTableOp: Handler = (c, a) => {
  const cmd = Number(a[0]), uop = a[1], count = Number(a[2] & 0xFFFFFFFFn);
  if (count > MAX_BATCH) return neg(XEN_E.EINVAL);
  const lookup = (id: number) => c.hv.domains.get(id);
  switch (cmd) {
    case GNTTABOP.query_size: {
      if (count !== 1) return neg(XEN_E.EINVAL);
      const q = c.g.readStruct(uop, gnttab_query_size);
      if (!q) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, q.num("dom"));
      if ("err" in t) { q.set("status", GNTST.bad_domain); }
      else q.set("nr_frames", t.gnttab.nrFrames()).set("max_nr_frames", t.gnttab.maxFrames).set("status", GNTST.okay);
      return c.g.writeStruct(uop, q) ? 0n : neg(XEN_E.EFAULT);
    }
    case GNTTABOP.set_version: {
      if (count !== 1) return neg(XEN_E.EINVAL);
      const s = c.g.readStruct(uop, gnttab_set_version);
      if (!s) return neg(XEN_E.EFAULT);
      const want = s.num("version");
      s.set("version", 1);
      if (!c.g.writeStruct(uop, s)) return neg(XEN_E.EFAULT);
      if (want === 1) return 0n;
      return want === 2 ? neg(XEN_E.EOPNOTSUPP) : neg(XEN_E.EINVAL); // v2 is not offered on Arm
    }
    case GNTTABOP.get_version: {
      if (count !== 1) return neg(XEN_E.EINVAL);
      const s = c.g.readStruct(uop, gnttab_get_version);
      if (!s) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, s.num("dom"));
      if ("err" in t) return neg(t.err);
      s.set("version", 1);
      return c.g.writeStruct(uop, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case GNTTABOP.setup_table: {
      if (count !== 1) return neg(XEN_E.EINVAL);
      const s = c.g.readStruct(uop, gnttab_setup_table);
      if (!s) return neg(XEN_E.EFAULT);
      const t = targetDomain(c, s.num("dom"));
      const n = s.num("nr_frames");
      if ("err" in t) s.set("status", GNTST.bad_domain);
      else if (!t.gnttab.ensureFrames(n)) s.set("status", GNTST.general_error);
      else {
        // auto-translated: the frames' guest-physical numbers in the grant window
        for (let i = 0; i < n; i++) {
          if (!c.g.putU64(s.get("frame_list") + BigInt(i * 8), (GUEST_GNTTAB_BASE >> 12n) + BigInt(i))) return neg(XEN_E.EFAULT);
        }
        s.set("status", GNTST.okay);
      }
      return c.g.writeStruct(uop, s) ? 0n : neg(XEN_E.EFAULT);
    }
    case GNTTABOP.map_grant_ref: {
      for (let i = 0; i < count; i++) {
        const va = uop + BigInt(i * gnttab_map_grant_ref.size);
        const m = c.g.readStruct(va, gnttab_map_grant_ref);
        if (!m) return neg(XEN_E.EFAULT);
        const granter = c.hv.domains.get(m.num("dom"));
        const r = c.d.gnttab.map(c.d, granter, m.num("ref"), m.num("flags"), m.get("host_addr"));
        // on success the frame's machine address, as Xen gives it (Linux keeps it in its p2m, arch/arm/xen/p2m.c)
        m.set("status", r.status).set("handle", r.handle);
        if (r.frame >= 0) m.set("dev_bus_addr", c.hv.frames.paOf(r.frame));
        if (!c.g.writeStruct(va, m)) return neg(XEN_E.EFAULT);
      }
      return 0n;
    }
    case GNTTABOP.unmap_grant_ref: {
      for (let i = 0; i < count; i++) {
        const va = uop + BigInt(i * gnttab_unmap_grant_ref.size);
        const u = c.g.readStruct(va, gnttab_unmap_grant_ref);
        if (!u) return neg(XEN_E.EFAULT);
        u.set("status", c.d.gnttab.unmap(c.d, u.get("host_addr"), u.num("handle")));
        if (!c.g.writeStruct(va, u)) return neg(XEN_E.EFAULT);
      }
      return 0n;
    }
    case GNTTABOP.copy: {
      for (let i = 0; i < count; i++) {
        const va = uop + BigInt(i * gnttab_copy.size);
        const o = c.g.readStruct(va, gnttab_copy);
        if (!o) return neg(XEN_E.EFAULT);
        const self = (dom: number) => (dom === 0x7FF0 ? c.d.id : dom);
        const st = grantCopy(c.hv.frames, c.d, lookup, {
          srcU: o.get("src_u"), srcDom: self(o.num("src_domid")), srcOff: o.num("src_offset"),
          dstU: o.get("dst_u"), dstDom: self(o.num("dst_domid")), dstOff: o.num("dst_offset"),
          len: o.num("len"), flags: o.num("flags"),
        });
        o.set("status", st);
        if (!c.g.writeStruct(va, o)) return neg(XEN_E.EFAULT);
      }
      return 0n;
    }
    default: return neg(XEN_E.ENOSYS);
  }
};
