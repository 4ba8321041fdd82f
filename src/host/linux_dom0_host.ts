// A xents host whose Domain-0 is a Linux kernel: the hypervisor builds it
// (dom0_build.ts) and it runs on the core like any guest; the toolstack
// (Debian's xl, xenstored, xenconsoled) lives inside it. The host process
// only gives it the machine's serial line: dom0's console_io output out,
// keys in through the hypervisor's receive ring (VIRQ_CONSOLE).
//
// When the hardware domain shuts down the machine follows, as Xen's
// hwdom_shutdown does: poweroff halts it; reboot, a crash or the watchdog
// restarts it (every domain is destroyed and Domain-0 built again).

import { Hypervisor, HypervisorOptions } from "../xen/hypervisor.js";
import type { Domain } from "../xen/domain.js";
import { constructDom0, Dom0Config } from "../xen/dom0_build.js";
import { SERIAL_RX_SIZE } from "../xen/serial_rx.js";
import { SHUTDOWN } from "../xen/public/xen.js";
import { RunLoop } from "./run_loop.js";

export interface LinuxHostOptions extends HypervisorOptions { dom0: Dom0Config; }

export class LinuxDom0Host {
  readonly hv: Hypervisor;
  dom0: Domain;
  halted = false;
  restarts = 0;
  private readonly loop: RunLoop;
  private reset: "halt" | "restart" | null = null;
  // the machine's serial line: what dom0 writes, and a source of typed keys
  serialOut: (bytes: Uint8Array) => void = () => {};
  serialIn: (max: number) => Uint8Array = () => new Uint8Array(0);

  constructor(private readonly opts: LinuxHostOptions) {
    const c = opts.dom0;
    this.hv = new Hypervisor({ ...opts, commandline: `console=dtuart dom0_mem=${c.memMiB}M,max:${c.memMiB}M dom0_max_vcpus=${c.vcpus}` });
    this.loop = new RunLoop(this.hv);
    this.hv.events.onSerialOutput = (b) => this.serialOut(b);
    this.hv.events.onShutdown = (d, reason) => {
      if (d.id !== 0) return;
      this.reset = reason === SHUTDOWN.poweroff ? "halt" : "restart";
      this.hv.log(reason === SHUTDOWN.poweroff ? "Hardware Dom0 halted: halting machine" : `Hardware Dom0 shutdown (reason ${reason}): rebooting machine`);
    };
    this.dom0 = constructDom0(this.hv, opts.dom0);
  }

  // Typed keys, as many as the receive ring has room for.
  pumpInput(): void {
    const room = SERIAL_RX_SIZE - this.hv.serialRx.pending;
    if (room <= 0) return;
    const b = this.serialIn(room);
    if (b.length) this.hv.consoleInput(b);
  }

  // Runs until `done()` or until the machine halts.
  run(done: () => boolean, burstMs = 20): Promise<void> {
    return this.loop.run(() => {
      if (this.reset) this.machineReset(); // between bursts: never inside dom0's own hypercall
      if (!this.halted) this.pumpInput();
      return this.halted || done();
    }, burstMs);
  }

  private machineReset(): void {
    const what = this.reset;
    this.reset = null;
    const all = [...this.hv.domains.values()].sort((a, b) => b.id - a.id); // domUs first, dom0 last
    for (const d of all) this.hv.destroy(d);
    if (what === "halt") { this.halted = true; return; }
    this.restarts++;
    this.dom0 = constructDom0(this.hv, this.opts.dom0);
  }
}
