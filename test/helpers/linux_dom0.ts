// A machine whose Domain-0 is Debian's kernel with the Domain-0 file system
// (dom0_image.ts), running in this process: its serial line as a console
// session, the run loop started, and a stop that ends both.

import { readFileSync } from "node:fs";
import { LinuxDom0Host } from "../../src/host/linux_dom0_host.js";
import { fetchDom0Images } from "../../src/tools/dom0_image.js";
import { SerialConsole } from "../../src/tools/serial_console.js";
import type { MachineDisk } from "../../src/tools/linux_dom0_options.js";
import { ConsoleSession } from "./linux_guest.js";

export interface LinuxDom0Machine { host: LinuxDom0Host; s: ConsoleSession; stop(): Promise<void> }

// `nics`: assignable NICs, left uncabled (a test puts its own peer on their wires).
export function startLinuxDom0(o: { ramMiB: number; dom0MiB: number; disks: MachineDisk[]; assignable: MachineDisk[]; nics?: string[] }): LinuxDom0Machine {
  const g = fetchDom0Images();
  const host = new LinuxDom0Host({
    ramBytes: o.ramMiB << 20, log: (l) => { if (/DMA fault|needs a reset|BUG|crash/.test(l)) process.stderr.write(`(XEN) ${l}\n`); },
    dom0: { kernel: new Uint8Array(readFileSync(g.kernel)), initrd: new Uint8Array(readFileSync(g.initrd)), cmdline: "console=hvc0", memMiB: o.dom0MiB, vcpus: 1 },
    disks: o.disks, assignable: o.assignable, assignableNics: o.nics,
  });
  const serial = new SerialConsole(() => host.pumpInput());
  host.serialOut = (b) => serial.emit(b);
  host.serialIn = (max) => serial.take(max);
  let stopping = false;
  const loop = host.run(() => stopping);
  const s = new ConsoleSession({ name: "Domain-0", send: (d) => serial.input(d), listen: (l) => serial.listeners.add(l) });
  s.shellReady = /xents-dom0: Xen daemons up[\s\S]*dom0:\/# /;
  return { host, s, stop: async () => { stopping = true; await loop; host.close(); } };
}
