// The host daemon of a host whose Domain-0 is Linux: it boots the machine
// with the hypervisor's Domain-0 builder and serves the machine's serial
// line (dom0's hvc0) as `xents console 0`, the machine's status, the
// hypervisor's console ring (`xents dmesg`) and `host stop`. Domains are
// made, listed by name and driven by Debian's xl inside Domain-0, as on a
// real Xen host; the CLI's other commands say so.

import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { hostname } from "node:os";
import type { HostFactory, BootedLinuxHost } from "../cmd_demo.js";
import type { LinuxDom0Config, MachineDisk } from "../linux_dom0_options.js";
import type { HostPaths } from "../home.js";
import { SerialConsole } from "../serial_console.js";
import { ControlServer, Handlers, RequestError, attachConsole, logConsoleTo } from "./control_server.js";
import type { CommandName } from "./commands.js";
import { CONSOLE_LOG_MAX_BYTES } from "./host_daemon.js";
import { XEN_VERSION_MAJOR, XEN_VERSION_MINOR, XEN_EXTRAVERSION } from "../../xen/public/xen.js";

export interface LinuxDaemonOptions { ramMiB: number; deterministic?: boolean; noJit?: boolean; dom0: LinuxDom0Config; assignable?: MachineDisk[]; assignableNics?: string[]; }

// What the TypeScript Domain-0's toolstack answers and a Linux Domain-0's xl does instead.
const XL_COMMANDS = [
  "create", "destroy", "shutdown", "pause", "unpause", "vcpu-list", "vcpu-set", "vcpu-pin", "mem-set", "mem-max", "rename",
  "domid", "domname", "sched-credit2", "block-attach", "block-detach", "block-list", "network-attach", "network-detach",
  "network-list", "tap-attach", "tap-detach", "bridge-list", "migrate", "migrate-status", "save", "restore", "lsevtchn", "uptime",
] as const satisfies readonly CommandName[];

export class LinuxHostDaemon {
  private readonly control: ControlServer;
  private machine!: BootedLinuxHost;
  readonly serial: SerialConsole;
  private stopping = false;
  private readonly startedAt = Date.now();

  constructor(readonly paths: HostPaths, private readonly factory: HostFactory, private readonly opts: LinuxDaemonOptions) {
    this.control = new ControlServer(paths, (l) => this.log(l));
    this.control.handlers = this.makeHandlers();
    this.serial = new SerialConsole(() => this.machine?.inputReady());
  }
  get stats(): { bugs: number } { return this.control.stats; }

  log(line: string): void {
    try { appendFileSync(this.paths.daemonLog, `${new Date().toISOString()} ${line}\n`); } catch { /* the log is best effort */ }
  }

  async start(): Promise<void> {
    ControlServer.claimHome(this.paths);
    logConsoleTo(this.serial, join(this.paths.logs, "console-Domain-0.log"), CONSOLE_LOG_MAX_BYTES);
    this.machine = this.factory.bootLinux({ ramMiB: this.opts.ramMiB, deterministic: this.opts.deterministic ?? false, dom0: this.opts.dom0, noJit: this.opts.noJit, assignable: this.opts.assignable, assignableNics: this.opts.assignableNics });
    this.machine.serial((b) => this.serial.emit(b), (max) => this.serial.take(max));
    if (this.opts.dom0.tap) await this.machine.attachTap(this.opts.dom0.tap);
    await this.machine.cableAssignableNics();
    await this.control.listen();
    this.log(`host started: ${this.opts.ramMiB} MiB, Domain-0 Linux with ${this.opts.dom0.memMiB} MiB and ${this.opts.dom0.vcpus} vCPU(s), control ${this.paths.control}`);
  }

  // Runs until `host stop` or until Domain-0 powers the machine off.
  async serve(): Promise<void> {
    await this.machine.run(() => this.stopping);
    this.log(this.machine.halted() ? "Domain-0 powered the machine off" : "host stopped");
    this.serial.end();
    await this.control.close();
  }

  private makeHandlers(): Handlers {
    const refuse = (cmd: string) => (): never => { throw new RequestError(`${cmd}: Domain-0 on this host is Linux and runs the toolstack: use xl in it (xents console 0)`); };
    // built from the list, so the keys are exactly its commands
    const xl = Object.fromEntries(XL_COMMANDS.map((cmd) => [cmd, refuse(cmd)])) as unknown as Pick<Handlers, (typeof XL_COMMANDS)[number]>;
    return {
      ...xl,
      status: () => {
        const m = this.machine.memory();
        return {
          pid: process.pid, home: this.paths.home, control_socket: this.paths.control, dom0: "linux",
          uptime_s: Math.round((Date.now() - this.startedAt) / 1000), domains: this.machine.domains().length,
          total_memory_mib: m.totalMiB, free_memory_mib: m.freeMiB, nr_cpus: m.nrCpus, machine_restarts: this.machine.restarts(),
          hypervisor: this.machine.health(), daemon_bugs: this.stats.bugs, devices: this.machine.devices(),
        };
      },
      list: () => this.machine.domains().map((d) => ({
        name: d.id === 0 ? "Domain-0" : `(domain ${d.id})`, id: d.id, mem: Math.floor(d.pages / 256), vcpus: d.onlineVcpus,
        state: d.state, time: Math.round(d.cpuTimeNs / 1e8) / 10,
      })),
      info: () => {
        const m = this.machine.memory();
        return {
          host: hostname(), release: process.version, machine: "aarch64 (emulated)", nr_cpus: m.nrCpus,
          total_memory: m.totalMiB, free_memory: m.freeMiB, xen_major: XEN_VERSION_MAJOR, xen_minor: XEN_VERSION_MINOR,
          xen_extra: XEN_EXTRAVERSION, xen_version: `${XEN_VERSION_MAJOR}.${XEN_VERSION_MINOR}${XEN_EXTRAVERSION}`,
          xen_caps: "xen-3.0-aarch64 xen-3.0-armv7l", xen_scheduler: "credit2", dom0: "linux",
        };
      },
      dmesg: (a) => this.machine.dmesg(a.clear === true),
      "device-list": () => this.machine.devices(),
      console: (a, sock) => {
        const d = a.domain;
        if (d !== 0 && d !== "0" && d !== "Domain-0") throw new RequestError(`Domain-0 on this host is Linux and keeps the other domains' consoles: use \`xl console ${String(d)}\` in it (xents console 0)`);
        if (!sock) throw new RequestError("console is a control-socket command");
        attachConsole(this.serial, sock);
        return null;
      },
      ...Object.fromEntries((["remus", "remus-status", "remus-stop", "remus-switch", "remus-takeover"] as const).map((cmd) => [cmd, (): never => {
        throw new RequestError(`${cmd}: Remus replication is the TypeScript Domain-0's (xl remus is x86-only upstream): start the host without --dom0 linux`);
      }])) as unknown as Pick<Handlers, "remus" | "remus-status" | "remus-stop" | "remus-switch" | "remus-takeover">,
      stop: () => { this.stopping = true; return null; },
    };
  }
}
