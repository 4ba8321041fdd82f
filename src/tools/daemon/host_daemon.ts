// The host daemon: one process per xents host. It boots the hypervisor and
// the control domain, runs the toolstack, xenstored (ring and socket) and
// the console daemon, and answers the CLI on a unix control socket.

import { existsSync, readFileSync, writeFileSync, appendFileSync, accessSync, constants } from "node:fs";
import { parseDiskSpec, DiskSpec } from "../disk_spec.js";
import { parseVifSpec, VifSpec } from "../vif_spec.js";
import { fileSink, fileSource } from "../save_stream.js";
import { migrateOut, MigrationListener, MigrateProgress } from "../migration.js";
import { RemusPrimary, RemusError } from "../remus/primary.js";
import { RemusBackup } from "../remus/backup.js";
import { arbiterHosts } from "../remus/arbiter.js";
import { randomBytes } from "node:crypto";
import { join, isAbsolute } from "node:path";
import { hostname } from "node:os";
import type { HostFactory, HypervisorHealth, MachineDeviceInfo } from "../cmd_demo.js";
import type { MachineDisk } from "../linux_dom0_options.js";
import type { HostPaths } from "../home.js";
import { Toolstack, Guest } from "../toolstack.js";
import { ApiServer } from "../http/api_server.js";
import type { HttpListen } from "../http/http_listen.js";
import { httpToken } from "../http/http_token.js";
import { HostMetrics, type MetricsSnapshot } from "../http/metrics.js";
import { TapPort, TapError } from "../net/tap_port.js";
import { XenstoreSocketServer } from "../xenstore/socket_server.js";
import { ControlServer, Handlers, RequestError, attachConsole, logConsoleTo } from "./control_server.js";

export const CONSOLE_LOG_MAX_BYTES = 16 << 20; // per console log file, then it rotates to .1
import type { DomainSpec } from "../xl_cfg.js";
import { checkDomainSpec } from "../xl_cfg.js";
import type { Dom0 } from "../dom0.js";
import { XEN_VERSION_MAJOR, XEN_VERSION_MINOR, XEN_EXTRAVERSION } from "../../xen/public/xen.js";
import { replaySeed } from "../domain_builder.js";
import { BootFile } from "../boot_image.js";

// http: where the HTTP API listens (none if not given: the CLI gives its default)
export interface DaemonOptions { ramMiB: number; deterministic?: boolean; migratePort?: number; noJit?: boolean; assignable?: MachineDisk[]; assignableNics?: string[]; http?: HttpListen | null }

export { RequestError };

export class HostDaemon {
  private readonly control: ControlServer;
  private xsServer: XenstoreSocketServer | null = null;
  private migration: MigrationListener | null = null;
  migratePort: number | null = null;
  private progress: MigrateProgress | null = null;
  // Remus: domains this host protects, and copies it holds for others (the
  // ended ones stay listed, with why, until more than REMUS_KEPT have ended)
  private readonly remusPrimaries: RemusPrimary[] = [];
  private readonly remusBackups: RemusBackup[] = [];
  private stopping = false;
  private api: ApiServer | null = null;
  private readonly migrations = { out: 0, failed: 0 }; // this host's domains sent away
  private startedAt = Date.now();
  ts!: Toolstack;
  dom0!: Dom0;
  private run!: (done: () => boolean) => Promise<void>;
  private health!: () => HypervisorHealth;
  private devices!: () => MachineDeviceInfo[];
  private readonly taps = new Map<string, TapPort>();

  constructor(readonly paths: HostPaths, private readonly factory: HostFactory, private readonly opts: DaemonOptions) {
    this.control = new ControlServer(paths, (l) => this.log(l));
    this.control.handlers = this.makeHandlers();
  }
  get stats(): { bugs: number } { return this.control.stats; }

  log(line: string): void {
    const l = `${new Date().toISOString()} ${line}\n`;
    try { appendFileSync(this.paths.daemonLog, l); } catch { /* the log is best effort */ }
  }

  async start(): Promise<void> {
    ControlServer.claimHome(this.paths);
    const h = this.factory.boot({ ramMiB: this.opts.ramMiB, deterministic: this.opts.deterministic ?? false, noJit: this.opts.noJit, assignable: this.opts.assignable, assignableNics: this.opts.assignableNics });
    await h.cableAssignableNics();
    this.dom0 = h.dom0;
    this.run = h.run;
    this.health = h.health;
    this.devices = h.devices;
    this.ts = new Toolstack(h.dom0, (l) => this.log(l));
    h.setVuartSink((domid, b) => this.ts.guests.get(domid)?.console.emit(new Uint8Array([b])));
    this.ts.events.onGuestCreated = (g) => this.attachLog(g);
    this.xsServer = new XenstoreSocketServer(this.ts.xenstored, this.paths.xenstored);
    await this.xsServer.listen();
    if (this.opts.migratePort !== undefined) {
      this.migration = new MigrationListener(this.ts, migrationKey(this.paths.migrateKey, true));
      this.migration.remus = (sock, lines) => {
        const b = new RemusBackup(this.ts, join(this.paths.home, "remus"), sock, lines, `${hostname()}:${this.paths.home}`);
        b.onEnd = () => trimEnded(this.remusBackups, (x) => x.holding);
        b.peers = () => this.remusBackups;
        this.remusBackups.push(b);
        b.start();
      };
      this.migratePort = await this.migration.listen(this.opts.migratePort);
      this.log(`listening for migrations on port ${this.migratePort} (key ${this.paths.migrateKey})`);
    }
    await this.control.listen();
    if (this.opts.http) {
      this.api = new ApiServer(this.control.dispatcher, httpToken(this.paths.httpToken), (d) => { try { return this.guest(d).console; } catch { return null; } },
        new HostMetrics(() => this.metricsSnapshot()));
      const at = await this.api.listen(this.opts.http);
      this.log(`HTTP API on http://${at}${at.endsWith(`:${this.opts.http.port}`) ? "" : ` (port ${this.opts.http.port} is another's)`}, token in ${this.paths.httpToken}`);
    }
    this.log(`host started: ${this.opts.ramMiB} MiB, control ${this.paths.control}`);
  }

  // Runs until `host stop`.
  async serve(): Promise<void> {
    await this.run(() => this.stopping);
    await this.shutdownEverything();
  }

  private attachLog(g: Guest): void { logConsoleTo(g.console, join(this.paths.logs, `console-${g.name}.log`), CONSOLE_LOG_MAX_BYTES); }

  // A domain by id or name.
  guest(ref: unknown): Guest {
    if (typeof ref === "number" || (typeof ref === "string" && /^\d+$/.test(ref))) {
      const g = this.ts.guests.get(Number(ref));
      if (g) return g;
    } else if (typeof ref === "string") {
      for (const g of this.ts.guests.values()) if (g.name === ref) return g;
    }
    throw new RequestError(`no domain '${String(ref)}'`);
  }

  private createFromSpec(spec: DomainSpec, paused: boolean): Guest {
    if (!spec.kernel) throw new RequestError("the configuration has no kernel");
    let vifs: VifSpec[];
    try { vifs = spec.vifs.map((v) => parseVifSpec(v)); } catch (e) { throw new RequestError((e as Error).message); }
    const disks = spec.disks.map((d) => checkedDisk(d));
    const vdevs = new Set<number>();
    for (const d of disks) { if (vdevs.has(d.devid)) throw new RequestError(`two disks use ${d.vdev}`); vdevs.add(d.devid); }
    const read = (p: string, what: string): Uint8Array => {
      try { return new Uint8Array(readFileSync(p)); } catch (e) { throw new RequestError(`cannot read ${what} ${p}: ${(e as Error).message}`); }
    };
    // The kernel and ramdisk are read into the guest when it is built (boot_image.ts).
    const image = (p: string, what: string): BootFile => {
      try { return new BootFile(p); } catch (e) { throw new RequestError(`${what}: ${(e as Error).message}`); }
    };
    return this.ts.create({
      name: spec.name, memoryMiB: spec.memory, vcpus: spec.vcpus, kernel: image(spec.kernel, "kernel"),
      ramdisk: spec.ramdisk ? image(spec.ramdisk, "ramdisk") : undefined, cmdline: spec.cmdline, vuart: spec.vuart,
      onPoweroff: simpleAction(spec.onPoweroff), onReboot: simpleAction(spec.onReboot), onCrash: simpleAction(spec.onCrash),
      paused, disks, vifs, rngSeed: this.opts.deterministic ? replaySeed(spec.name) : undefined, driverDomain: spec.driverDomain === true,
      passthrough: spec.dtdev?.length || spec.iomem?.length || spec.irqs?.length || spec.deviceTree
        ? { dtdev: spec.dtdev ?? [], iomem: spec.iomem ?? [], irqs: spec.irqs ?? [], deviceTree: spec.deviceTree ? read(spec.deviceTree, "device_tree") : undefined }
        : undefined,
    });
  }

  private makeHandlers(): Handlers {
    return {
      status: () => ({
        pid: process.pid, home: this.paths.home, control_socket: this.paths.control, xenstored_socket: this.paths.xenstored,
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000), domains: this.ts.guests.size + 1,
        ...(({ totalPages, freePages, nrCpus }) => ({ total_memory_mib: Number(totalPages / 256n), free_memory_mib: Number(freePages / 256n), nr_cpus: nrCpus }))(this.dom0.xc.physinfo()),
        accounting: this.accounting(), hypervisor: this.health(), daemon_bugs: this.stats.bugs, migrate_port: this.migratePort, http: this.api?.address ?? null, devices: this.devices(),
        remus: this.remusStatus(),
      }),
      list: () => this.listDomains(),
      lsevtchn: (a) => this.dom0.xc.listEvtchn(a.domain === undefined || a.domain === 0 || a.domain === "0" || a.domain === "Domain-0" ? 0 : this.guest(a.domain).domid),
      create: (a) => {
        let spec: DomainSpec;
        try { spec = checkDomainSpec(a.spec); } catch (e) { throw new RequestError((e as Error).message); }
        const g = this.createFromSpec(spec, a.paused === true);
        return { domid: g.domid, name: g.name };
      },
      destroy: (a) => { const g = this.guest(a.domain); this.ts.destroy(g.domid); return null; },
      shutdown: async (a) => {
        const g = this.guest(a.domain);
        this.ts.requestShutdown(g.domid, a.reboot === true ? "reboot" : "poweroff");
        if (a.wait === true) await this.waitGone(g, Number(a.timeout ?? 60));
        return null;
      },
      pause: (a) => { this.dom0.xc.pause(this.guest(a.domain).domid); return null; },
      unpause: (a) => { this.dom0.xc.unpause(this.guest(a.domain).domid); return null; },
      console: (a, sock) => {
        if (!sock) throw new RequestError("console is a control-socket command (the HTTP API has its consoles over WebSocket)");
        attachConsole(this.guest(a.domain).console, sock);
        return null;
      },
      info: () => {
        const p = this.dom0.xc.physinfo();
        return {
          host: hostname(), release: process.version, machine: "aarch64 (emulated)", nr_cpus: p.nrCpus,
          total_memory: Number(p.totalPages / 256n), free_memory: Number(p.freePages / 256n),
          xen_major: XEN_VERSION_MAJOR, xen_minor: XEN_VERSION_MINOR, xen_extra: XEN_EXTRAVERSION,
          xen_version: `${XEN_VERSION_MAJOR}.${XEN_VERSION_MINOR}${XEN_EXTRAVERSION}`, xen_caps: "xen-3.0-aarch64 xen-3.0-armv7l",
          xen_scheduler: "credit2", xenstored_socket: this.paths.xenstored,
        };
      },
      dmesg: (a) => this.dom0.xc.readConsole(a.clear === true),
      uptime: () => this.listDomains().map((d) => ({ name: d.name, id: d.id, uptime_s: d.id === 0 ? Math.round((Date.now() - this.startedAt) / 1000) : Math.round((Date.now() - (this.ts.guests.get(d.id)?.startedAt ?? Date.now())) / 1000) })),
      "vcpu-list": (a) => this.vcpuList(a.domain),
      "vcpu-set": (a) => { this.ts.setVcpus(this.guest(a.domain).domid, a.count); return null; },
      "vcpu-pin": (a) => {
        const cpus = String(a.cpus);
        if (cpus !== "all" && cpus !== "0") throw new RequestError(`this host has one physical CPU (0): cannot pin to '${cpus}'`);
        this.guest(a.domain);
        return null;
      },
      "mem-set": (a) => { this.ts.setMemoryTarget(this.guest(a.domain).domid, a.mib); return null; },
      "mem-max": (a) => { this.ts.setMaxMemory(this.guest(a.domain).domid, a.mib); return null; },
      rename: (a) => { this.ts.rename(this.guest(a.domain).domid, a.name); return null; },
      domid: (a) => (a.name === "Domain-0" ? 0 : this.guest(String(a.name)).domid),
      domname: (a) => (Number(a.domid) === 0 ? "Domain-0" : this.guest(Number(a.domid)).name),
      "sched-credit2": (a) => {
        if (a.domain === undefined) return this.listDomains().map((d) => ({ name: d.name, id: d.id, ...this.dom0.xc.schedCredit2(d.id) }));
        const g = a.domain === "Domain-0" || String(a.domain) === "0" ? 0 : this.guest(a.domain).domid; // xl takes an id or a name
        if (a.weight !== undefined || a.cap !== undefined) {
          this.dom0.xc.schedCredit2(g, { weight: a.weight === undefined ? undefined : Number(a.weight), cap: a.cap === undefined ? undefined : Number(a.cap) });
        }
        return [{ id: g, name: g === 0 ? "Domain-0" : this.guest(g).name, ...this.dom0.xc.schedCredit2(g) }];
      },
      "block-attach": (a) => {
        const g = this.guest(a.domain);
        this.disksFixed(g);
        this.ts.addDisk(g.domid, checkedDisk(String(a.spec)));
        return null;
      },
      "block-detach": async (a) => {
        const g = this.guest(a.domain);
        const disk = this.ts.disks(g.domid).find((d) => d.vdev === String(a.device) || String(d.devid) === String(a.device));
        if (!disk) throw new RequestError(`${g.name} has no disk '${String(a.device)}'`);
        this.disksFixed(g);
        await this.ts.removeDevice("vbd", g.domid, disk.devid, a.force === true);
        return null;
      },
      "network-attach": (a) => {
        const g = this.guest(a.domain);
        let v: VifSpec;
        try { v = parseVifSpec(String(a.spec ?? "")); } catch (e) { throw new RequestError((e as Error).message); }
        const used = new Set(this.ts.vifs(g.domid).map((x) => x.handle));
        let handle = 0;
        while (used.has(handle)) handle++;
        this.ts.addVif(g.domid, handle, v);
        return { handle, mac: v.mac };
      },
      "network-detach": async (a) => {
        const g = this.guest(a.domain);
        const vif = this.ts.vifs(g.domid).find((x) => String(x.handle) === String(a.device) || x.mac === String(a.device).toLowerCase());
        if (!vif) throw new RequestError(`${g.name} has no network device '${String(a.device)}'`);
        await this.ts.removeDevice("vif", g.domid, vif.handle, a.force === true);
        return null;
      },
      "network-list": (a) => this.ts.vifs(this.guest(a.domain).domid),
      "tap-attach": async (a) => {
        const bridge = String(a.bridge ?? ""), ifname = String(a.ifname ?? "");
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(bridge)) throw new RequestError(`'${bridge}' is not a bridge name`);
        if (this.taps.has(ifname)) throw new RequestError(`${ifname} is already attached to ${this.taps.get(ifname)!.bridge.name}`);
        let port: TapPort;
        try { port = await TapPort.open(this.ts.bridges.get(bridge), ifname, (l) => this.log(l)); } catch (e) {
          if (e instanceof TapError) throw new RequestError(`cannot attach TAP device ${ifname}: ${e.message}`);
          throw e;
        }
        this.taps.set(port.ifname, port);
        this.log(`tap ${port.ifname} joined bridge ${bridge}`);
        return { bridge, ifname: port.ifname };
      },
      "tap-detach": (a) => {
        const port = this.taps.get(String(a.ifname));
        if (!port) throw new RequestError(`no TAP device '${String(a.ifname)}' is attached`);
        port.close();
        this.taps.delete(port.ifname);
        return null;
      },
      "device-list": () => this.devices(),
      "bridge-list": () => this.ts.bridges.list().map((b) => ({ name: b.name, ports: [...b.ports].map((p) => p.name), ...b.stats })),
      "block-list": (a) => this.ts.disks(this.guest(a.domain).domid),
      migrate: async (a) => {
        const keyFile = a.keyFile === undefined ? this.paths.migrateKey : absolutePath(a, "keyFile");
        const g = this.guest(a.domain);
        if (this.protector(g.domid)) throw new RequestError(`${g.name} is protected by Remus: remus-stop first (fail-back after a fail-over is a migration of the copy that runs)`);
        const key = migrationKey(keyFile, false);
        this.progress = null;
        try {
          const r = await migrateOut(this.ts, g.domid, String(a.host), Number(a.port), { live: a.live !== false, key, progress: (p) => { this.progress = p; } });
          this.migrations.out++;
          return r;
        } catch (e) {
          this.migrations.failed++;
          throw e;
        } finally { this.progress = null; }
      },
      "migrate-status": () => this.progress,
      remus: async (a) => {
        const g = this.guest(a.domain);
        if (this.protector(g.domid)) throw new RequestError(`${g.name} is already protected (remus-status; remus-stop ends it)`);
        if (a.arbiter !== undefined && a.unsafeFailover === true) throw new RequestError("--unsafe-failover is for protection without an arbiter: with one, fail-over is automatic and safe");
        if (a.arbiter !== undefined) { try { arbiterHosts(a.arbiter); } catch (e) { throw new RequestError((e as Error).message); } }
        const interval = a.intervalMs ?? REMUS_INTERVAL_MS, timeout = a.timeoutMs ?? REMUS_TIMEOUT_MS;
        if (timeout < 2 * interval) throw new RequestError(`--timeout (${timeout} ms) must be at least twice the interval (${interval} ms): a checkpoint is what tells the backup the primary lives`);
        const key = migrationKey(a.keyFile === undefined ? this.paths.migrateKey : absolutePath(a, "keyFile"), false);
        try {
          const p = await RemusPrimary.start(this.ts, g.domid, String(a.host), Number(a.port), {
            key, intervalMs: interval, timeoutMs: timeout,
            netBuffer: a.netBuffer !== false, disk: a.disk !== false, failover: a.unsafeFailover === true || a.arbiter !== undefined ? "auto" : "manual",
            arbiter: a.arbiter ?? null, who: `${hostname()}:${this.paths.home}`,
          });
          p.onEnd = () => trimEnded(this.remusPrimaries, (x) => x.active);
          for (const b of this.remusBackups) if (b.domid === g.domid && b.status().state === "running") b.releaseArbiter();
          this.remusPrimaries.push(p);
          return p.status();
        } catch (e) {
          throw e instanceof RemusError ? new RequestError(e.message) : e;
        }
      },
      "remus-status": () => this.remusStatus(),
      "remus-stop": async (a) => {
        const g = this.guest(a.domain);
        const p = this.protector(g.domid);
        if (!p) throw new RequestError(`${g.name} is not protected`);
        try { await p.stop(); } catch (e) { throw e instanceof RemusError ? new RequestError(e.message) : e; }
        return null;
      },
      "remus-switch": async (a) => {
        const g = this.guest(a.domain);
        const p = this.protector(g.domid);
        if (!p) throw new RequestError(`${g.name} is not protected`);
        try { const r = await p.switchOver(); return { domid: r.domid, backup: p.backup }; } catch (e) { throw e instanceof RemusError ? new RequestError(e.message) : e; }
      },
      "remus-takeover": async (a) => {
        const b = this.remusBackups.find((x) => x.name === String(a.domain) && x.status().state === "primary-lost")
          ?? this.remusBackups.find((x) => x.name === String(a.domain) && x.status().state === "protecting");
        if (!b) throw new RequestError(`this host holds no Remus copy of '${String(a.domain)}'`);
        try { const g = await b.requestTakeover(); return { domid: g.domid, name: g.name }; } catch (e) { throw new RequestError((e as Error).message); }
      },
      save: (a) => {
        const file = absolutePath(a, "file");
        const g = this.guest(a.domain);
        const sink = fileSink(file);
        try { return this.ts.save(g.domid, sink, a.keepRunning === true); } finally { sink.close(); }
      },
      restore: (a) => {
        let src: ReturnType<typeof fileSource>;
        const file = absolutePath(a, "file");
        try { src = fileSource(file); } catch (e) { throw new RequestError(`cannot read ${file}: ${(e as Error).message}`); }
        try { const g = this.ts.restore(src, a.paused === true); return { domid: g.domid, name: g.name }; } finally { src.close(); }
      },
      stop: () => { this.stopping = true; return null; },
    };
  }

  // A Remus copy held here is listed as Xen lists an incoming domain.
  private remusCopyName(domid: number): string | undefined {
    const b = this.remusBackups.find((x) => x.domid === domid && x.status().state !== "running");
    return b ? `${b.name}--incoming` : undefined;
  }
  // Remus replicates the disks a protection began with; a disk attached
  // later would be missing from the backup's copy (or, on one machine, be
  // opened by both copies), so the disks stay as they are until it ends.
  private disksFixed(g: Guest): void {
    const p = this.protector(g.domid);
    if (p?.status().disk) throw new RequestError(`${g.name} is protected by Remus with its disks replicated: its disks cannot change until remus-stop ends the protection`);
  }
  private protector(domid: number): RemusPrimary | undefined { return this.remusPrimaries.find((p) => p.active && p.g.domid === domid); }
  private remusStatus(): (ReturnType<RemusPrimary["status"]> | ReturnType<RemusBackup["status"]>)[] {
    return [...this.remusPrimaries.map((p) => p.status()), ...this.remusBackups.map((b) => b.status())];
  }

  // What the host holds on behalf of guests, counted from the hypervisor's
  // and the daemons' own books: after a guest is gone every figure must be
  // back where it was before it came.
  // What /metrics shows, from the same books as host status.
  private metricsSnapshot(): MetricsSnapshot {
    const xc = this.dom0.xc;
    const name = (domid: number): string => (domid === 0 ? "Domain-0" : this.ts.guests.get(domid)?.name ?? `d${domid}`);
    const info = xc.physinfo();
    const hv = this.health();
    return {
      domains: this.listDomains().map((d) => ({ name: d.name, id: d.id, cpuSeconds: d.time, memoryMiB: d.mem, vcpus: d.vcpus, eventChannels: xc.listEvtchn(d.id).length, grantMappings: this.ts.gnt.mappedOf(d.id) })),
      vbds: [...this.ts.blkback.devices.values()].map((b) => ({ domain: name(b.domid), id: b.domid, devid: b.devid, ...b.stats() })),
      vifs: [...this.ts.netback.devices.values()].map((v) => ({ domain: name(v.domid), id: v.domid, handle: v.handle, ...v.stats })),
      host: {
        freeFrames: Number(info.freePages), totalFrames: Number(info.totalPages), grantMappings: this.ts.gnt.mapped, foreignPages: Number(xc.window.inUse() / 4096n),
        migrationsOut: this.migrations.out, migrationsOutFailed: this.migrations.failed, migrationsIn: this.migration?.received ?? 0,
        daemonBugs: this.stats.bugs, hypervisorErrors: hv.internal_errors, iommuFaults: hv.iommu.faults,
      },
    };
  }

  accounting(): Record<string, number> {
    const xc = this.dom0.xc;
    return {
      free_pages: Number(xc.physinfo().freePages),
      dom0_event_channels: xc.listEvtchn(0).length,
      dom0_foreign_pages: Number(xc.window.inUse() / 4096n),
      dom0_grant_mappings: this.ts.gnt.mapped,
      block_devices: this.ts.blkback.devices.size,
      network_devices: this.ts.netback.devices.size,
      xenstore_nodes: this.ts.xenstored.store.size(),
      xenstore_connections: this.ts.xenstored.connections.size,
      console_daemons: this.ts.guests.size,
    };
  }

  listDomains(): { name: string; id: number; mem: number; vcpus: number; state: string; time: number }[] {
    const infos = this.dom0.xc.listDomains();
    return infos.map((i) => {
      const g = this.ts.guests.get(i.domid);
      const state = [i.running ? "r" : "-", i.blocked ? "b" : "-", i.paused ? "p" : "-", i.shutdown ? "s" : "-",
        i.shutdown && i.shutdownReason === 3 ? "c" : "-", i.dying ? "d" : "-"].join("");
      return {
        name: i.domid === 0 ? "Domain-0" : g?.name ?? this.remusCopyName(i.domid) ?? `(domain ${i.domid})`, id: i.domid,
        mem: Number(i.totPages / 256n), vcpus: i.onlineVcpus || (i.domid === 0 ? 1 : 0), state,
        time: Math.round(Number(i.cpuTimeNs) / 1e8) / 10,
      };
    });
  }

  private vcpuList(ref: unknown): { name: string; id: number; vcpu: number; cpu: number; state: string; time: number; affinity: string }[] {
    const doms = ref === undefined ? this.listDomains() : [this.listDomains().find((d) => d.id === this.guest(ref).domid)!];
    const out: { name: string; id: number; vcpu: number; cpu: number; state: string; time: number; affinity: string }[] = [];
    for (const d of doms) {
      if (d.id === 0) { out.push({ name: d.name, id: 0, vcpu: 0, cpu: 0, state: "r-", time: 0, affinity: "all / all" }); continue; }
      const g = this.ts.guests.get(d.id)!;
      for (let v = 0; v < g.config.vcpus; v++) {
        const vi = this.dom0.xc.vcpuInfo(d.id, v);
        out.push({ name: d.name, id: d.id, vcpu: v, cpu: 0, state: vi.online ? (vi.blocked ? "-b" : "r-") : "--p", time: Math.round(Number(vi.cpuTimeNs) / 1e8) / 10, affinity: "all / all" });
      }
    }
    return out;
  }

  private waitGone(g: Guest, timeoutS: number): Promise<void> {
    return new Promise((res, rej) => {
      const t0 = Date.now();
      const tick = (): void => {
        if (g.state !== "running") { res(); return; }
        if (Date.now() - t0 > timeoutS * 1000) { rej(new RequestError(`domain ${g.name} did not shut down within ${timeoutS} s`)); return; }
        setTimeout(tick, 50);
      };
      tick();
    });
  }

  private async shutdownEverything(): Promise<void> {
    const guests = [...this.ts.guests.values()].filter((g) => g.state === "running");
    for (const g of guests) { try { this.ts.requestShutdown(g.domid, "poweroff"); } catch { /* already going */ } }
    const deadline = Date.now() + 30_000;
    await this.run(() => guests.every((g) => g.state !== "running") || Date.now() > deadline);
    for (const g of [...this.ts.guests.values()]) this.ts.destroy(g.domid);
    for (const t of this.taps.values()) t.close();
    await this.xsServer?.close();
    await this.migration?.close();
    await this.api?.close();
    // the last word, then the socket: once it is gone nothing more is written
    this.log("host stopped");
    await this.control.close();
  }
}

// A disk spec, parsed, whose image exists with the access it asks for:
// checked before anything is built, so that a typo leaves nothing behind.
// A driver domain's target is a path in that domain, for it to check.
function checkedDisk(text: string): DiskSpec {
  let d: DiskSpec;
  try { d = parseDiskSpec(text); } catch (e) { throw new RequestError((e as Error).message); }
  if (d.backend !== undefined) return d;
  try { accessSync(d.target, d.readonly ? constants.R_OK : constants.R_OK | constants.W_OK); } catch (e) {
    throw new RequestError(`disk ${d.vdev}: cannot use ${d.target}: ${(e as Error).message}`);
  }
  return d;
}

const REMUS_INTERVAL_MS = 200; // as xl remus's default
const REMUS_TIMEOUT_MS = 1_000;
const REMUS_KEPT = 16;
// Ended entries beyond the last REMUS_KEPT go; live ones always stay.
function trimEnded<T>(list: T[], live: (x: T) => boolean): void {
  let ended = list.filter((x) => !live(x)).length;
  for (let i = 0; i < list.length && ended > REMUS_KEPT; i++) if (!live(list[i])) { list.splice(i--, 1); ended--; }
}

// The migration key: at least 16 bytes; a listening host makes one (mode
// 0600) if it has none, and the other host must be given a copy.
function migrationKey(path: string, create: boolean): Uint8Array {
  if (!existsSync(path)) {
    if (!create) throw new RequestError(`no migration key at ${path}: copy the destination host's migrate.key there (or pass --key-file)`);
    writeFileSync(path, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  }
  const k = readFileSync(path);
  if (k.length < 16) throw new RequestError(`the migration key in ${path} is too short (16 bytes at least)`);
  return new Uint8Array(k);
}

// A request argument that must be text (a path, a host name).
function text(a: Record<string, unknown>, k: string): string {
  const v = a[k];
  if (typeof v !== "string" || v === "") throw new RequestError(`'${k}' must be given as text`);
  return v;
}

// The daemon's working directory is nobody's business: a client names files
// absolutely (the CLI resolves them against its own directory), so a save
// cannot land beside the daemon or climb out of it with "../".
function absolutePath(a: Record<string, unknown>, k: string): string {
  const v = text(a, k);
  if (!isAbsolute(v)) throw new RequestError(`'${k}' must be an absolute path, not '${v.slice(0, 200)}'`);
  return v;
}

function simpleAction(a: string): "destroy" | "restart" | "preserve" {
  if (a === "preserve") return "preserve";
  if (a.endsWith("restart")) return "restart";
  return "destroy";
}


