// console_io(cmd, count, buffer): writes to the hypervisor's console (any
// domain, for earlycon=xenboot debugging: a written choice, Debian's release
// Xen refuses domUs; a Linux Domain-0's hvc0 writes here); reads, of what was typed on the host's console
// (serial_rx.ts), for the control domain alone. As Xen's
// guest_console_write, a domain's output is gathered in a small line buffer
// that is flushed at a newline or when full, so nothing a guest writes can
// grow without a bound; lines go to the bounded console ring.

import { type Handler, neg } from "./context.js";
import { CONSOLEIO_write, CONSOLEIO_read, XEN_E } from "../public/xen.js";

export const DOMAIN_PBUF_SIZE = 200; // xen/include/xen/sched.h
const MAX_WRITE = 1 << 16;

export const consoleIo: Handler = (c, a) => {
  const cmd = Number(a[0]), count = Number(a[1] & 0xFFFFFFFFn);
  if (cmd === CONSOLEIO_write) {
    if (count > MAX_WRITE) return neg(XEN_E.EINVAL);
    const b = c.g.read(a[2], count);
    if (!b) return neg(XEN_E.EFAULT);
    // The hardware domain's output goes to the serial line as it is, for
    // it may be interactive (a shell's prompt has no newline): Xen's
    // guest_console_write does the same, and keeps it out of the ring.
    if (c.d.id === 0) { c.hv.events.onSerialOutput?.(b); return 0n; }
    const buf = c.d.console;
    for (const byte of b) {
      if (byte !== 10 && byte !== 13) buf.push(byte);
      if (byte === 10 || buf.length >= DOMAIN_PBUF_SIZE - 1) {
        const line = Buffer.from(buf.splice(0)).toString("utf8");
        c.hv.conring.writeLine(`(d${c.d.id}) ${line}`);
        c.hv.events.onConsoleWrite?.(c.d, line + "\n");
      }
    }
    return 0n;
  }
  if (cmd === CONSOLEIO_read) {
    if (!c.d.privileged) return neg(XEN_E.EPERM);
    if (count > 0x7FFFFFFF) return neg(XEN_E.E2BIG); // the result is a count or an error, never both
    const b = c.hv.serialRx.peek(count);
    if (b.length && !c.g.write(a[2], b)) return neg(XEN_E.EFAULT);
    c.hv.serialRx.consume(b.length);
    return BigInt(b.length);
  }
  return neg(XEN_E.EINVAL);
};
