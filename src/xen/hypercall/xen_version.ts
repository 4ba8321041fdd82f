// xen_version(cmd, arg): the version, strings and the feature bits Xen 4.17
// reports on Arm.

import { type Handler, neg } from "./context.js";
import { XENVER, XENFEAT, XEN_E, XEN_VERSION_MAJOR, XEN_VERSION_MINOR, XEN_EXTRAVERSION, xen_feature_info } from "../public/xen.js";

const str = (s: string, size: number): Uint8Array => {
  const b = new Uint8Array(size);
  b.set(Buffer.from(s).subarray(0, size - 1));
  return b;
};

export const xenVersion: Handler = (c, a) => {
  const cmd = Number(a[0]), arg = a[1];
  const out = (b: Uint8Array): bigint => (c.g.write(arg, b) ? 0n : neg(XEN_E.EFAULT));
  switch (cmd) {
    case XENVER.version: return BigInt((XEN_VERSION_MAJOR << 16) | XEN_VERSION_MINOR);
    case XENVER.extraversion: return out(str(XEN_EXTRAVERSION, 16));
    case XENVER.compile_info: {
      const b = new Uint8Array(144);
      b.set(str("node " + process.version, 64), 0);
      b.set(str("xents", 16), 64);
      b.set(str("localdomain", 32), 80);
      b.set(str("2026-11-24", 32), 112);
      return out(b);
    }
    case XENVER.capabilities: return out(str("xen-3.0-aarch64 xen-3.0-armv7l ", 1024));
    case XENVER.changeset: return out(str("xents", 64));
    case XENVER.platform_parameters: return out(new Uint8Array(8)); // virt_start = 0
    case XENVER.get_features: {
      const f = c.g.readStruct(arg, xen_feature_info);
      if (!f) return neg(XEN_E.EFAULT);
      if (f.num("submap_idx") !== 0) return neg(XEN_E.EINVAL);
      let bits = (1 << XENFEAT.memory_op_vnode_supported) | (1 << XENFEAT.writable_page_tables) |
        (1 << XENFEAT.auto_translated_physmap) | (1 << XENFEAT.ARM_SMCCC_supported) | (1 << XENFEAT.not_direct_mapped);
      if (c.d.privileged) bits |= 1 << XENFEAT.dom0;
      f.set("submap", bits >>> 0);
      return c.g.writeStruct(arg, f) ? 0n : neg(XEN_E.EFAULT);
    }
    case XENVER.pagesize: return 4096n;
    case XENVER.guest_handle: return out(c.d.handle);
    case XENVER.commandline:
      if (!c.d.privileged) return neg(XEN_E.EPERM);
      return out(str(c.hv.commandline, 1024));
    case XENVER.build_id:
      return c.d.privileged ? neg(XEN_E.ENODATA) : neg(XEN_E.EPERM);
    default: return neg(XEN_E.ENOSYS);
  }
};
