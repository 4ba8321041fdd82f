// console_io(cmd, count, buffer): writes to the hypervisor's console (any
// domain, for earlycon=xenboot debugging); reads for the control domain.

import type { Handler } from "./dispatch.js";
import { CONSOLEIO_write, CONSOLEIO_read, XEN_E } from "../public/xen.js";

export const consoleIo: Handler = (c, a) => {
  const cmd = Number(a[0]), count = Number(a[1] & 0xFFFFFFFFn);
  if (cmd === CONSOLEIO_write) {
    if (count > 1 << 16) return BigInt(-XEN_E.EINVAL);
    const b = c.g.read(a[2], count);
    if (!b) return BigInt(-XEN_E.EFAULT);
    for (const byte of b) {
      if (byte === 10) {
        const line = Buffer.from(c.d.console.splice(0)).toString("utf8");
        c.hv.consoleLog.push(`(d${c.d.id}) ${line}`);
        c.hv.events.onConsoleWrite?.(c.d, line + "\n");
      } else if (byte !== 13) c.d.console.push(byte);
    }
    return 0n;
  }
  if (cmd === CONSOLEIO_read) return c.d.privileged ? 0n : BigInt(-XEN_E.EPERM);
  return BigInt(-XEN_E.EINVAL);
};
