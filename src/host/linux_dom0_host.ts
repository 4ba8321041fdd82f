// A xents host whose Domain-0 is a Linux kernel: the hypervisor builds it
// (dom0_build.ts) and it runs on the core like any guest; the toolstack
// (Debian's xl, xenstored, xenconsoled) lives inside it. The host process
// only gives it the machine's serial line: dom0's console_io output out,
// keys in through the hypervisor's receive ring (VIRQ_CONSOLE).
//
// The machine has the devices Domain-0 drives with Linux's own drivers:
// virtio-mmio disks backed by host image files (vda, vdb, …) and a
// virtio-mmio NIC (eth0) cabled to the machine's wire, a bridge that a host
// TAP device can join. The hypervisor owns them and assigns them to
// Domain-0 at every build (device_assign.ts).
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
import { VirtioBlk } from "../hw/virtio_blk.js";
import { VirtioNet } from "../hw/virtio_net.js";
import { Bridge } from "../tools/net/bridge.js";
import { NicPort } from "./nic_port.js";
import { addAssignableNics, cableAssignableNics, type AssignableNic } from "./assignable_nics.js";
import { openDiskImage } from "../tools/backends/blkback.js";
import type { DiskImage } from "../tools/backends/raw_image.js";
import type { MachineDisk } from "../tools/linux_dom0_options.js";
import { addAssignableDisks } from "./assignable_disks.js";

export interface LinuxHostOptions extends HypervisorOptions {
  dom0: Dom0Config;
  disks?: MachineDisk[]; // Domain-0's vda, vdb, …
  assignable?: MachineDisk[]; // disks for other domains (assignable_disks.ts)
  assignableNics?: string[]; // NICs for other domains, by the host TAP each is cabled to (assignable_nics.ts)
}

// The NIC's MAC: locally administered, "xnts".
export const MACHINE_NIC_MAC = new Uint8Array([0x02, 0x78, 0x6e, 0x74, 0x73, 0x01]);

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
  // the machine's wire: the NIC's port, and whatever else is cabled to it (a TAP)
  readonly wire = new Bridge("wire0");
  readonly disks: VirtioBlk[] = [];
  readonly ptNics: AssignableNic[]; // their wires, for a peer in this process when no TAP is cabled
  readonly nic: VirtioNet;
  private readonly images: DiskImage[] = [];
  private readonly dom0Config: Dom0Config;

  constructor(opts: LinuxHostOptions) {
    const c = opts.dom0;
    this.hv = new Hypervisor({ ...opts, commandline: `console=dtuart dom0_mem=${c.memMiB}M,max:${c.memMiB}M dom0_max_vcpus=${c.vcpus}` });
    this.loop = new RunLoop(this.hv);
    // the machine's devices, all for Domain-0
    const names: string[] = [];
    try {
      (opts.disks ?? []).forEach((disk, i) => {
        const img = openDiskImage(disk.path, disk.format, disk.readonly);
        this.images.push(img);
        const name = `vd${String.fromCharCode(97 + i)}`;
        const dev = new VirtioBlk(name, img, `xents-${name}`);
        this.hv.devices.add(dev);
        this.disks.push(dev);
        names.push(name);
      });
    } catch (e) {
      this.close();
      throw e;
    }
    // and always a NIC, its cable unplugged unless something joins the wire
    this.nic = new VirtioNet("eth0", MACHINE_NIC_MAC);
    this.hv.devices.add(this.nic);
    new NicPort(this.nic, this.wire);
    names.push("eth0");
    try { this.images.push(...addAssignableDisks(this.hv, opts.assignable ?? [])); } catch (e) { this.close(); throw e; }
    this.ptNics = addAssignableNics(this.hv, opts.assignableNics ?? []);
    this.dom0Config = { ...c, devices: [...(c.devices ?? []), ...names] };
    this.hv.events.onSerialOutput = (b) => this.serialOut(b);
    this.hv.events.onShutdown = (d, reason) => {
      if (d.id !== 0) return;
      this.reset = reason === SHUTDOWN.poweroff ? "halt" : "restart";
      this.hv.log(reason === SHUTDOWN.poweroff ? "Hardware Dom0 halted: halting machine" : `Hardware Dom0 shutdown (reason ${reason}): rebooting machine`);
    };
    try {
      this.dom0 = constructDom0(this.hv, this.dom0Config);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  // The disks' image files closed (the machine is gone).
  close(): void { for (const img of this.images.splice(0)) img.close(); }

  // The assignable NICs' wires joined to their host TAP devices.
  async cableAssignableNics(log: (l: string) => void): Promise<void> { await cableAssignableNics(this.ptNics, log); }

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
    if (what === "halt") { this.halted = true; this.close(); return; }
    this.restarts++;
    this.dom0 = constructDom0(this.hv, this.dom0Config);
  }
}
