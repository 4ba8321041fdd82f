// The toolstack (libxl's role): creates guests from a configuration —
// builds the domain, writes its xenstore directory, introduces it to
// xenstored, attaches its console — and follows their life cycle: PV
// shutdown requests through control/shutdown, VIRQ_DOM_EXC for shutdowns and
// deaths, on_poweroff/on_reboot/on_crash actions, and destruction that
// leaves nothing behind.

import { randomUUID } from "node:crypto";
import type { Dom0 } from "./dom0.js";
import { buildDomain, BuiltDomain } from "./domain_builder.js";
import { GuestConsole } from "./console_backend.js";
import { Xenstored, Transport } from "./xenstore/xenstored.js";
import { DomainRing } from "./xenstore/domain_ring.js";
import { VIRQ } from "../xen/public/event_channel.js";
import { SHUTDOWN_NAMES, XEN_E } from "../xen/public/xen.js";
import { XenError } from "./xc/xc.js";
import { XS } from "../xen/public/io/xs_wire.js";
import { XenbusState } from "../xen/public/io/xenbus.js";
import type { DiskSpec } from "./disk_spec.js";
import { XsClient } from "./xenstore/local_client.js";
import { GrantDevice } from "./xc/gnttab.js";
import { BlkBack } from "./backends/blkback.js";
import { NetBack } from "./backends/netback.js";
import { Bridges } from "./net/bridge.js";
import type { VifSpec } from "./vif_spec.js";
import { VBD, VIF, type DeviceKind, type DeviceKindName } from "./device_kinds.js";
import { StreamWriter, StreamReader, StreamSink, StreamSource, REC, u64Record } from "./save_stream.js";
import { RestoreSession } from "./domain_restore.js";
import { writePreamble, writePages } from "./domain_save.js";
import { contextMemory } from "../xen/public/domain_context.js";
import type { Node } from "./xenstore/store.js";

export type { ExitAction, GuestConfig, Guest, DiskInfo, SavedXenstore } from "./guest.js";
import type { ExitAction, GuestConfig, Guest, DiskInfo, SavedXenstore } from "./guest.js";
import { passedThrough } from "./guest.js";

export interface ToolstackEvents {
  onGuestExit?(g: Guest, reason: string, action: ExitAction): void;
  onGuestCreated?(g: Guest): void;
}

const FORCE_GRACE_MS = 2_000; // how long a forced detach lets the guest close its end first
// How long a guest asked to suspend for a reconnect has (Linux gives up
// freezing its tasks after 20 s)
const SUSPEND_TIMEOUT_MS = 60_000;

// A device of a guest waiting for its driver domain to come back, from the toolstack's record.
interface Waiting { guest: number; kind: DeviceKindName; devid: number; be: string; backendDomid: number; nodes: [string, string][]; roNodes: [string, string][] }

function byGuest(ws: Waiting[]): Map<number, Waiting[]> {
  const m = new Map<number, Waiting[]>();
  for (const w of ws) m.set(w.guest, [...(m.get(w.guest) ?? []), w]);
  return m;
}

export class Toolstack {
  readonly xenstored: Xenstored;
  readonly guests = new Map<number, Guest>();
  private readonly rings = new Map<number, DomainRing>();
  // guests asked to suspend for a reconnect, told when they have
  private readonly suspendWaiters = new Map<number, (suspended: boolean) => void>();
  suspendTimeoutMs = SUSPEND_TIMEOUT_MS;
  events: ToolstackEvents = {};
  readonly gnt: GrantDevice;
  readonly blkback: BlkBack;
  readonly netback: NetBack;
  readonly bridges = new Bridges();

  constructor(readonly dom0: Dom0, readonly log: (line: string) => void = () => {}) {
    this.xenstored = new Xenstored({
      introduce: (domid, gfn, port, makeConn) => {
        const ring = new DomainRing(dom0.xc, dom0.evtchn, domid, gfn, port);
        const conn = makeConn(ring);
        ring.onInput = (d) => this.xenstored.input(conn, d);
        ring.onDead = (why) => log(`xenstored: d${domid} cut off: ${why}`);
        this.rings.set(domid, ring);
        ring.service();
      },
      release: (domid) => { this.rings.delete(domid); },
      log,
      domainExists: (domid) => dom0.xc.listDomains().some((i) => i.domid === domid),
    });
    dom0.evtchn.bindVirq(VIRQ.DOM_EXC, () => this.checkDomains());
    this.xsWrite("/local/domain/0/name", "Domain-0");
    this.xsWrite("/local/domain/0/domid", "0");
    this.xsWrite("/local/domain/0/backend/vbd", "");
    this.gnt = new GrantDevice(dom0.xc);
    this.blkback = new BlkBack({ xs: new XsClient(this.xenstored, "blkback"), xc: dom0.xc, evtchn: dom0.evtchn, gnt: this.gnt, log });
    this.blkback.start();
    this.xsWrite("/local/domain/0/backend/vif", "");
    this.netback = new NetBack({ xs: new XsClient(this.xenstored, "netback"), xc: dom0.xc, evtchn: dom0.evtchn, gnt: this.gnt, log }, this.bridges);
    this.netback.start();
  }

  // ---- xenstore access for the toolstack itself (as dom0, privileged)
  xsWrite(path: string, value: string, perms?: string[]): void {
    this.xenstored.writeLocal(path, new Uint8Array(Buffer.from(value)), perms?.map((p) => ({ access: p[0] as "n" | "r" | "w" | "b", domid: Number(p.slice(1)) })));
  }
  xsRead(path: string): string | null {
    const n = this.xenstored.store.get(path);
    return n ? Buffer.from(n.value).toString("utf8") : null;
  }
  xsRm(path: string): void { this.xenstored.removeLocal(path); }

  // `previous`: the incarnation this one restarts; whoever listened to its
  // console (terminals, the log) follows the new one.
  create(cfg: GuestConfig, previous?: Guest): Guest {
    if ([...this.guests.values()].some((g) => g.name === cfg.name && g.state !== "destroyed")) {
      throw new Error(`a domain named '${cfg.name}' already exists`);
    }
    // driver domains named as backends must be running before anything is built
    for (const d of [...(cfg.disks ?? []), ...(cfg.vifs ?? [])]) this.backendDomid(d.backend);
    const uuid = randomUUID();
    const handle = new Uint8Array(Buffer.from(uuid.replace(/-/g, ""), "hex"));
    const comeback = this.waitingFor(cfg.name);
    const built = buildDomain(this.dom0.xc, { ...cfg, handle, backendDomid: 0, domid: comeback[0]?.backendDomid });
    const domid = built.domid;
    try {
      this.writeDomainDir(domid, cfg, built, uuid);
      for (const [gid, ws] of byGuest(comeback)) {
        const g = this.guests.get(gid)!;
        if (this.resumable(g, ws)) void this.reconnectByResume(g, ws, domid, cfg.name);
        else for (const w of ws) this.serveAgain(w, domid, cfg.name);
      }
      for (const d of cfg.disks ?? []) this.addDisk(domid, d);
      (cfg.vifs ?? []).forEach((v, i) => this.addVif(domid, i, v));
      const console = new GuestConsole(domid, this.dom0.xc, this.dom0.evtchn);
      console.connect(built.consoleGfn, built.consolePort);
      const g: Guest = { domid, name: cfg.name, uuid, config: cfg, built, console, state: "running", shutdownReason: null, startedAt: Date.now() };
      this.guests.set(domid, g);
      // INTRODUCE, as xs_introduce_domain does
      const conn = this.xenstored.connect(0, true, false, nullTransport, "toolstack");
      this.xenstored.request(conn, XS.INTRODUCE, 0, 0, new Uint8Array(Buffer.from(`${domid}\0${built.storeGfn}\0${built.storePort}\0`)));
      this.xenstored.disconnect(conn);
      if (previous) {
        previous.console.successor = console;
        for (const l of previous.console.listeners) console.listeners.add(l);
        for (const l of previous.console.endListeners) console.endListeners.add(l);
      }
      if (!cfg.paused) this.dom0.xc.unpause(domid);
      if (!previous) this.events.onGuestCreated?.(g);
      return g;
    } catch (e) {
      this.hvDestroy(domid); // logged; the creation's own error is what the user sees
      this.removeBackends(domid);
      this.xsRm(`/local/domain/${domid}`);
      throw e;
    }
  }

  private writeDomainDir(domid: number, cfg: GuestConfig, b: BuiltDomain, uuid: string): void {
    const dp = `/local/domain/${domid}`;
    const ro = ["n0", `r${domid}`];
    const rw = [`n${domid}`];
    this.xsWrite(dp, "", ro);
    this.xsWrite(`/vm/${uuid}`, "", ro);
    this.xsWrite(`/vm/${uuid}/name`, cfg.name, ro);
    this.xsWrite(`/vm/${uuid}/uuid`, uuid, ro);
    this.xsWrite(`${dp}/vm`, `/vm/${uuid}`, ro);
    this.xsWrite(`${dp}/name`, cfg.name, ro);
    this.xsWrite(`${dp}/domid`, String(domid), ro);
    for (const d of ["device", "control", "data", "drivers", "feature", "attr", "error"]) this.xsWrite(`${dp}/${d}`, "", rw);
    // as libxl__domain_make for driver_domain: libxl (xl devd) and a device
    // model may run inside, and keep their state in the domain's own tree
    if (cfg.driverDomain) for (const d of ["libxl", "device-model"]) this.xsWrite(`${dp}/${d}`, "", rw);
    this.xsWrite(`${dp}/control/platform-feature-multiprocessor-suspend`, "1", ro);
    this.xsWrite(`${dp}/control/platform-feature-xs_reset_watches`, "1", ro);
    this.xsWrite(`${dp}/memory`, "", ro);
    this.xsWrite(`${dp}/memory/static-max`, String(b.memoryKiB), ro);
    this.xsWrite(`${dp}/memory/target`, String(b.memoryKiB), ro);
    this.xsWrite(`${dp}/cpu`, "", ro);
    for (let i = 0; i < cfg.vcpus; i++) this.xsWrite(`${dp}/cpu/${i}/availability`, "online", ro);
    this.xsWrite(`${dp}/store/port`, String(b.storePort), ro);
    this.xsWrite(`${dp}/store/ring-ref`, String(b.storeGfn), ro);
    this.xsWrite(`${dp}/console/port`, String(b.consolePort), ro);
    this.xsWrite(`${dp}/console/ring-ref`, String(b.consoleGfn), ro);
    this.xsWrite(`${dp}/console/type`, "xenconsoled", ro);
    this.xsWrite(`${dp}/console/output`, "pty", ro);
    this.xsWrite(`${dp}/image/os_type`, "linux", ro);
  }

  // ---- what libxl does for xl vcpu-set, mem-set, mem-max and rename: the
  // guest is told through xenstore (its vCPU hotplug and balloon drivers
  // watch these nodes); the hypervisor's limit changes for mem-max.
  setVcpus(domid: number, n: number): void {
    const g = this.running(domid);
    if (!Number.isInteger(n) || n < 1 || n > g.config.vcpus) throw new Error(`vcpu count must be between 1 and ${g.config.vcpus}`);
    for (let i = 0; i < g.config.vcpus; i++) this.xsWrite(`/local/domain/${domid}/cpu/${i}/availability`, i < n ? "online" : "offline");
  }
  setMemoryTarget(domid: number, mib: number): void {
    this.running(domid);
    if (!Number.isFinite(mib) || mib < 16) throw new Error("memory target must be at least 16 MiB");
    const info = this.dom0.xc.domainInfo(domid);
    if (BigInt(Math.floor(mib)) * 256n > info.maxPages) throw new Error(`target ${mib} MiB exceeds the maximum (${Number(info.maxPages / 256n)} MiB): raise it with mem-max`);
    this.xsWrite(`/local/domain/${domid}/memory/target`, String(Math.floor(mib * 1024)));
  }
  setMaxMemory(domid: number, mib: number): void {
    this.running(domid);
    if (!Number.isFinite(mib) || mib < 16) throw new Error("maximum memory must be at least 16 MiB");
    this.dom0.xc.maxMem(domid, BigInt(Math.floor(mib)) * 1024n + 1024n);
    this.xsWrite(`/local/domain/${domid}/memory/static-max`, String(Math.floor(mib * 1024)));
  }
  rename(domid: number, name: string): void {
    const g = this.running(domid);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error("invalid name");
    if ([...this.guests.values()].some((x) => x.name === name && x !== g)) throw new Error(`a domain named '${name}' exists`);
    g.name = name;
    this.xsWrite(`/local/domain/${domid}/name`, name);
  }
  private running(domid: number): Guest {
    const g = this.guests.get(domid);
    if (!g || g.state === "destroyed") throw new Error(`no domain ${domid}`);
    return g;
  }

  // The domain serving a device: Domain-0, or a running driver domain named
  // (or numbered) by the spec's backend=.
  backendDomid(ref: string | undefined): number {
    if (ref === undefined) return 0;
    for (const g of this.guests.values()) if (g.state === "running" && (g.name === ref || String(g.domid) === ref)) return g.domid;
    throw new Error(`backend domain '${ref}' is not running`);
  }

  // Where each device of a kind of a domain has its backend: Domain-0's own
  // backend directory, and the toolstack's record (/libxl/<domid>/device, as
  // libxl keeps one, writable by Domain-0 alone) of those a driver domain
  // serves. Never what the guest or the driver domain wrote: either could
  // point the toolstack at another domain's nodes.
  private backendPaths(kind: DeviceKindName, domid: number): Map<number, string> {
    const out = new Map<number, string>();
    const local = `/local/domain/0/backend/${kind}/${domid}`;
    for (const c of this.xenstored.store.get(local)?.children ?? []) out.set(Number(c), `${local}/${c}`);
    const rec = `/libxl/${domid}/device/${kind}`;
    for (const c of this.xenstored.store.get(rec)?.children ?? []) {
      const be = this.xsRead(`${rec}/${c}/backend`);
      if (be) out.set(Number(c), be);
    }
    return out;
  }

  // The driver domains serving a domain's devices, by domid.
  remoteBackends(domid: number): Set<number> {
    const out = new Set<number>();
    for (const kind of ["vbd", "vif"] as const) {
      for (const be of this.backendPaths(kind, domid).values()) if (backendIdOf(be) !== 0) out.add(backendIdOf(be));
    }
    return out;
  }

  // A domain that cannot be saved or migrated, and why; null if it can.
  unmovable(g: Guest): string | null {
    const pt = passedThrough(g);
    if (pt) return pt;
    const remote = [...this.remoteBackends(g.domid)].map((d) => this.guests.get(d)?.name ?? `d${d}`);
    return remote.length ? `${g.name} has devices served by driver domain ${remote.join(", ")}: it cannot be saved or migrated (its backends must be Domain-0's)` : null;
  }

  // A domain's backend directories in driver domains, and the toolstack's
  // record of them, removed (Domain-0's own are removed by the callers).
  private removeBackends(domid: number): void {
    for (const d of this.remoteBackends(domid)) for (const kind of ["vbd", "vif"]) this.xsRm(`/local/domain/${d}/backend/${kind}/${domid}`);
    this.xsRm(`/libxl/${domid}`);
  }

  // A split device as libxl adds one: the frontend directory owned by the
  // guest and readable by the backend's domain, the backend's owned by that
  // domain and readable by the guest (device_kinds.ts has each kind's nodes).
  // A backend in a driver domain is also recorded under /libxl/<domid>.
  addDevice<S extends { backend?: string }>(kind: DeviceKind<S>, domid: number, devid: number, spec: S): void {
    const backendDomid = this.backendDomid(spec.backend);
    const fe = `/local/domain/${domid}/device/${kind.name}/${devid}`;
    const be = `/local/domain/${backendDomid}/backend/${kind.name}/${domid}/${devid}`;
    if (this.xsRead(`${fe}/backend`) !== null || this.backendPaths(kind.name, domid).has(devid)) {
      throw new Error(`d${domid} already has ${kind.noun} ${kind.describe(spec, devid)}`);
    }
    const nodes: [string, string][] = [["frontend", fe], ["frontend-id", String(domid)], ["online", "1"], ...kind.backendNodes(spec, devid)];
    if (backendDomid !== 0) {
      // what serving it again takes if the driver domain dies and comes back
      const rec = `/libxl/${domid}/device/${kind.name}/${devid}`;
      this.xsWrite(`${rec}/backend`, be, ["n0"]);
      this.xsWrite(`${rec}/backend-name`, this.guests.get(backendDomid)?.name ?? String(backendDomid), ["n0"]);
      this.xsWrite(`${rec}/backend-nodes`, JSON.stringify(nodes), ["n0"]);
      this.xsWrite(`${rec}/frontend-ro-nodes`, JSON.stringify(kind.readonlyFrontendNodes?.(spec, devid) ?? []), ["n0"]);
    }
    const feP = [`n${domid}`, `r${backendDomid}`], beP = [`n${backendDomid}`, `r${domid}`];
    this.writeBackendDir(kind.name, domid, backendDomid, be, nodes);
    this.xsWrite(fe, "", feP);
    for (const [k, v] of [["backend", be], ["backend-id", String(backendDomid)], ...kind.frontendNodes(spec, devid)]) this.xsWrite(`${fe}/${k}`, v, feP);
    for (const [k, v] of kind.readonlyFrontendNodes?.(spec, devid) ?? []) this.xsWrite(`${fe}/${k}`, v, beP);
  }
  private writeBackendDir(kind: DeviceKindName, domid: number, backendDomid: number, be: string, nodes: [string, string][]): void {
    const beP = [`n${backendDomid}`, `r${domid}`];
    this.xsWrite(`/local/domain/${backendDomid}/backend/${kind}/${domid}`, "", beP);
    this.xsWrite(be, "", beP);
    for (const [k, v] of nodes) this.xsWrite(`${be}/${k}`, v, beP);
  }

  // A device of a guest served again by the new incarnation of its driver
  // domain: the backend directory as it was, the frontend granted to the
  // new domain afresh (xenstored ignores the permissions a dead domain had
  // on nodes older than its successor, XSA-322), and the frontend nodes the
  // backend owned, which went with the dead domain (xenstored's release).
  private serveAgain(w: Waiting, domid: number, name: string): void {
    this.writeBackendDir(w.kind, w.guest, domid, w.be, w.nodes);
    const fe = `/local/domain/${w.guest}/device/${w.kind}/${w.devid}`;
    for (const { path } of this.xsDump([fe])) {
      this.xenstored.setPermsLocal(path, this.xenstored.store.get(path)!.perms.map((p) => ({ domid: p.domid, access: p.access })));
    }
    for (const [k, v] of w.roNodes) this.xsWrite(`${fe}/${k}`, v, [`n${domid}`, `r${w.guest}`]);
    this.log(`d${w.guest}: ${w.kind} ${w.devid} is served again by ${name} (d${domid})`);
  }

  // Whether a guest's frontends can start over through its own suspend and
  // resume: only its vifs waited for the driver domain (a guest with block
  // I/O stuck in a dead backend cannot freeze its tasks to suspend), and no
  // other driver domain serves it (its backends could not be started over
  // in step with the guest's resume).
  private resumable(g: Guest, ws: Waiting[]): boolean {
    return g.state === "running" && ws.every((w) => w.kind === "vif")
      && [...this.remoteBackends(g.domid)].every((d) => d === ws[0].backendDomid);
  }

  // The network driver domain came back to a guest whose vifs waited for
  // it. Attached to the live rings, a netback cannot know which requests the
  // dead one had taken and not answered (netif answers out of order), and
  // netfront disables a device on a response it does not expect. Linux's
  // own way to start its frontends over is the resume after a suspend: the
  // guest is asked to suspend (control/shutdown), and while it is, every
  // frontend's state is set back to Initialising, Domain-0's backends of the
  // guest start over, the driver domain's are written anew, and its event
  // channels are reset, the xenstore and console ports made again at the
  // numbers the guest knows. Resumed with its suspend call answered 0, the
  // guest reads that as a resume in a new domain (xenbus_dev_resume): each
  // frontend frees its rings and grants, requeues what was in flight, and
  // connects to the fresh backend; TCP retransmits what the dead driver
  // domain dropped. A guest that does not suspend in time (Linux gives up
  // when its tasks do not freeze in 20 s) is attached to instead.
  private async reconnectByResume(g: Guest, ws: Waiting[], domid: number, name: string): Promise<void> {
    const gid = g.domid;
    this.log(`d${gid}: suspending the guest, so that its frontends connect to ${name} (d${domid}) afresh`);
    let timer: NodeJS.Timeout | undefined;
    const suspended = new Promise<boolean>((resolve) => {
      this.suspendWaiters.set(gid, resolve);
      timer = setTimeout(() => { if (this.suspendWaiters.get(gid) === resolve) { this.suspendWaiters.delete(gid); resolve(false); } }, this.suspendTimeoutMs);
    });
    this.xsWrite(`/local/domain/${gid}/control/shutdown`, "suspend");
    const ok = await suspended;
    clearTimeout(timer); // answered (or the domain went) before it: nothing to keep for the rest of the wait
    if (this.guests.get(gid) !== g || g.state === "destroyed") return;
    // the driver domain may have gone again meanwhile: its next comeback serves the devices
    const back = this.dom0.xc.listDomains().some((i) => i.domid === domid) && this.guests.get(domid)?.name === name;
    if (!ok) {
      this.xsWrite(`/local/domain/${gid}/control/shutdown`, "");
      if (!back) return;
      this.log(`d${gid}: the guest did not suspend within ${this.suspendTimeoutMs / 1000} s: its backends attach to its live rings instead`);
      for (const w of ws) this.serveAgain(w, domid, name);
      return;
    }
    try {
      for (const kind of ["vbd", "vif"] as const) {
        for (const devid of this.backendPaths(kind, gid).keys()) this.xsWrite(`/local/domain/${gid}/device/${kind}/${devid}/state`, String(XenbusState.Initialising));
      }
      this.blkback.restartDomain(gid);
      this.netback.restartDomain(gid);
      if (back) for (const w of ws) this.serveAgain(w, domid, name);
      else this.log(`d${gid}: ${name} (d${domid}) went again before the guest's vifs were served`);
      const xc = this.dom0.xc;
      xc.evtchnReset(gid);
      const store = xc.evtchnAllocUnbound(gid, 0), cons = xc.evtchnAllocUnbound(gid, 0);
      if (store !== g.built.storePort || cons !== g.built.consolePort) {
        throw new Error(`its xenstore and console ports came back as ${store} and ${cons}, not ${g.built.storePort} and ${g.built.consolePort}`);
      }
      this.rings.get(gid)?.resumed(store);
      g.console.rebind(cons);
      this.resumeAfterReconnect(g);
      this.log(`d${gid}: resumed; its frontends reconnect${back ? ` to ${name} (d${domid})` : ""}`);
    } catch (e) {
      // left suspended, for the user to look at and destroy
      this.log(`d${gid}: resuming for the reconnect failed: ${(e as Error).message}; the domain stays suspended`);
    }
  }

  // xs_resume_domain, then the domain runs on.
  private resumeAfterReconnect(g: Guest): void {
    const conn = this.xenstored.connect(0, true, false, nullTransport, "toolstack");
    this.xenstored.request(conn, XS.RESUME, 0, 0, new Uint8Array(Buffer.from(`${g.domid}\0`)));
    this.xenstored.disconnect(conn);
    g.state = "running";
    g.shutdownReason = null;
    this.dom0.xc.resumeDomain(g.domid);
  }

  // The devices of running guests whose driver domain, called `name`, is
  // gone. Linux 6.1's blkfront and netfront do not reconnect by themselves
  // (a backend that vanishes reads as Unknown and a new one's InitWait is
  // ignored once connected), but they keep their rings, grants and event
  // channels, granted to the dead domain's id and left unbound towards it.
  // The driver domain is built again under that id; the hypervisor's domid
  // rover keeps the id from being given to anyone else meanwhile. Vifs are
  // then reconnected through the guest's resume (reconnectByResume); vbds
  // are served again at once, and the new blkback attaches to the live ring
  // (BACK_RING_ATTACH from rsp_prod). That is exact when the dead backend
  // had answered all it took; with requests in flight (answered out of
  // order) blkfront finds a duplicate and disables the device.
  private waitingFor(name: string): Waiting[] {
    const live = new Set(this.dom0.xc.listDomains().map((i) => i.domid));
    const out: Waiting[] = [];
    for (const g of this.guests.values()) {
      if (g.state === "destroyed") continue;
      for (const kind of ["vbd", "vif"] as const) {
        const rec = `/libxl/${g.domid}/device/${kind}`;
        for (const c of this.xenstored.store.get(rec)?.children ?? []) {
          const be = this.xsRead(`${rec}/${c}/backend`);
          if (!be || this.xsRead(`${rec}/${c}/backend-name`) !== name || live.has(backendIdOf(be))) continue;
          const nodes = parseNodes(this.xsRead(`${rec}/${c}/backend-nodes`)), roNodes = parseNodes(this.xsRead(`${rec}/${c}/frontend-ro-nodes`));
          if (!nodes || !roNodes) { this.log(`d${g.domid}: ${kind} ${c}: no usable record of its backend; it stays disconnected`); continue; }
          out.push({ guest: g.domid, kind, devid: Number(c), be, backendDomid: backendIdOf(be), nodes, roNodes });
        }
      }
    }
    // one incarnation's devices (two of the same name could only follow a failed comeback)
    return out.filter((w) => w.backendDomid === out[0].backendDomid);
  }

  addDisk(domid: number, d: DiskSpec): void { this.addDevice(VBD, domid, d.devid, d); }
  addVif(domid: number, handle: number, v: VifSpec): void { this.addDevice(VIF, domid, handle, v); }

  vifs(domid: number): { handle: number; mac: string; bridge: string; backendId: number; beState: number; feState: number }[] {
    return [...this.backendPaths("vif", domid)].map(([handle, be]) => {
      const fe = `/local/domain/${domid}/device/vif/${handle}`;
      return {
        handle, mac: this.xsRead(`${be}/mac`) ?? "?", bridge: this.xsRead(`${be}/bridge`) ?? "?", backendId: backendIdOf(be),
        beState: Number(this.xsRead(`${be}/state`) ?? 0), feState: Number(this.xsRead(`${fe}/state`) ?? 0),
      };
    });
  }

  disks(domid: number): DiskInfo[] {
    return [...this.backendPaths("vbd", domid)].map(([devid, be]) => {
      const fe = `/local/domain/${domid}/device/vbd/${devid}`;
      return {
        vdev: this.xsRead(`${be}/dev`) ?? "?", devid, target: this.xsRead(`${be}/params`) ?? "", mode: this.xsRead(`${be}/mode`) ?? "?", backendId: backendIdOf(be),
        beState: Number(this.xsRead(`${be}/state`) ?? 0), feState: Number(this.xsRead(`${fe}/state`) ?? 0),
        evtch: Number(this.xsRead(`${fe}/event-channel`) ?? this.xsRead(`${fe}/queue-0/event-channel`) ?? -1),
        ringRef: Number(this.xsRead(`${fe}/ring-ref`) ?? this.xsRead(`${fe}/ring-ref0`) ?? this.xsRead(`${fe}/queue-0/ring-ref`) ?? this.xsRead(`${fe}/queue-0/ring-ref0`) ?? -1),
        backend: be,
      };
    });
  }

  // Hot-unplug: ask both ends to close, then remove the device. With
  // `force`, the device goes even if the guest has not let go of it, but a
  // guest that is alive still gets a moment to close first: a frontend
  // whose backend vanishes under queued I/O waits for it for ever (Linux's
  // del_gendisk waits for every request in flight), while one that closes
  // itself fails that I/O at once.
  async removeDevice(kind: DeviceKindName, domid: number, devid: number, force: boolean, timeoutMs = 10_000): Promise<void> {
    const be = this.backendPaths(kind, domid).get(devid);
    if (be === undefined) throw new Error(`d${domid} has no ${kind} ${devid}`);
    const fe = `/local/domain/${domid}/device/${kind}/${devid}`;
    this.xsWrite(`${be}/online`, "0");
    const t0 = Date.now();
    const wait = force ? Math.min(timeoutMs, FORCE_GRACE_MS) : timeoutMs;
    while (Date.now() - t0 < wait) {
      const fs = Number(this.xsRead(`${fe}/state`) ?? XenbusState.Closed);
      if (fs === XenbusState.Closed || fs === XenbusState.Unknown || fs === XenbusState.Initialising) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const fs = Number(this.xsRead(`${fe}/state`) ?? XenbusState.Closed);
    if (!force && fs !== XenbusState.Closed && fs !== XenbusState.Unknown && fs !== XenbusState.Initialising) {
      this.xsWrite(`${be}/online`, "1");
      throw new Error(`the guest did not release the device (frontend state ${fs}); it may be in use (detach with -f to force)`);
    }
    this.xsRm(be);
    this.xsRm(fe);
    this.xsRm(`/libxl/${domid}/device/${kind}/${devid}`);
    // The backend's watch fires on a later turn; a detach that has returned
    // must have its grants unmapped and its ports closed already (a driver
    // domain's backend lets go when its own watch fires).
    (kind === "vbd" ? this.blkback : this.netback).scan();
  }

  // ---- save and restore (save_stream.ts has the format)
  // The domain is paused while it is written; afterwards it is destroyed,
  // or carries on with `keepRunning` (xl save -c).
  save(domid: number, sink: StreamSink, keepRunning = false): { pages: number } {
    const g = this.guests.get(domid);
    if (!g || g.state !== "running") throw new Error(`domain ${domid} is not running`);
    const why = this.unmovable(g);
    if (why) throw new Error(why);
    const xc = this.dom0.xc;
    xc.pause(domid);
    let pages = 0;
    const BATCH = 256;
    const win = xc.foreignWindow(BATCH);
    try {
      const ctxBytes = xc.getHvmContext(domid);
      const ctx = contextMemory(ctxBytes);
      const w = new StreamWriter(sink);
      writePreamble(w, g, ctx.maxPages);
      w.record(REC.CONTEXT, ctxBytes);
      for (const [first, count] of ctx.ram) {
        for (let i = 0; i < count; i += BATCH) {
          const n = Math.min(BATCH, count - i);
          writePages(win, w, domid, Array.from({ length: n }, (_, k) => BigInt(first + i + k)));
          pages += n;
        }
      }
      w.json(REC.XENSTORE, this.xenstoreState(g));
      w.record(REC.END, u64Record(pages));
    } catch (e) {
      xc.unpause(domid);
      throw e;
    } finally {
      win.close();
    }
    if (keepRunning) xc.unpause(domid);
    else this.destroy(domid);
    this.log(`d${domid} (${g.name}): saved, ${pages} pages${keepRunning ? ", still running" : ""}`);
    return { pages };
  }

  // Rebuilds a saved domain under its old id and lets it carry on. Nothing
  // of it is left behind if the stream turns out bad half way.
  restore(src: StreamSource, paused = false): Guest {
    const r = new StreamReader(src);
    const session = new RestoreSession(this);
    try {
      for (;;) {
        const rec = r.next(session.expects());
        if (session.record(rec.type, rec.payload)) return session.finish(paused);
      }
    } catch (e) {
      session.abort();
      throw e;
    }
  }

  // A restored domain joins the toolstack: its console and xenstore
  // connection come back (the guest's ports wait, unbound, for Domain-0).
  adopt(domid: number, name: string, uuid: string, config: GuestConfig, built: BuiltDomain, paused: boolean): Guest {
    const console = new GuestConsole(domid, this.dom0.xc, this.dom0.evtchn);
    console.connect(built.consoleGfn, built.consolePort);
    const g: Guest = { domid, name, uuid, config, built, console, state: "running", shutdownReason: null, startedAt: Date.now() };
    this.guests.set(domid, g);
    const conn = this.xenstored.connect(0, true, false, nullTransport, "toolstack");
    this.xenstored.request(conn, XS.INTRODUCE, 0, 0, new Uint8Array(Buffer.from(`${domid}\0${built.storeGfn}\0${built.storePort}\0`)));
    this.xenstored.disconnect(conn);
    if (!paused) this.dom0.xc.unpause(domid);
    this.events.onGuestCreated?.(g);
    return g;
  }

  // Undo a restore that failed half way.
  discardPartial(domid: number, uuid: string): void {
    this.blkback.domainGone(domid);
    this.netback.domainGone(domid);
    this.guests.get(domid)?.console.end();
    this.guests.delete(domid);
    this.hvDestroy(domid); // logged; the restore's own error is what the user sees
    this.removeBackends(domid);
    this.xsRm(`/local/domain/0/backend/vbd/${domid}`);
    this.xsRm(`/local/domain/0/backend/vif/${domid}`);
    this.xsRm(`/local/domain/${domid}`);
    this.xsRm(`/vm/${uuid}`);
    this.xenstored.domainGone(domid, true);
  }

  // Where a domain's state lives in xenstore (its tree, its /vm entry, its backends).
  xenstoreRoots(g: Guest): string[] { return this.xenstoreRootsOf(g.domid, g.uuid); }
  xenstoreRootsOf(domid: number, uuid: string): string[] {
    return [`/local/domain/${domid}`, `/vm/${uuid}`, `/local/domain/0/backend/vbd/${domid}`, `/local/domain/0/backend/vif/${domid}`];
  }

  // What a saved domain's xenstore is: its nodes with their permissions, and
  // the watches its connection holds.
  xenstoreState(g: Guest): SavedXenstore {
    return { nodes: this.xsDump(this.xenstoreRoots(g)), watches: this.xenstored.watchesOf(g.domid) };
  }

  xsDump(roots: string[]): { path: string; value: string; perms: string[] }[] {
    const out: { path: string; value: string; perms: string[] }[] = [];
    const walk = (path: string): void => {
      const n: Node | undefined = this.xenstored.store.get(path);
      if (!n) return;
      out.push({ path, value: Buffer.from(n.value).toString("base64"), perms: this.xenstored.store.livePerms(n).map((p) => `${p.access}${p.domid}`) });
      for (const c of [...n.children].sort()) walk(`${path}/${c}`);
    };
    for (const r of roots) walk(r);
    return out;
  }

  // PV shutdown request (xl shutdown / reboot): the guest's manage.c acts on it.
  requestShutdown(domid: number, what: "poweroff" | "reboot"): void {
    const g = this.guests.get(domid);
    if (!g || g.state !== "running") throw new Error(`domain ${domid} is not running`);
    this.xsWrite(`/local/domain/${domid}/control/shutdown`, what);
  }

  // `restarting`: the console's listeners are about to move to the new
  // incarnation, so they are not told the domain ended.
  destroy(domid: number, restarting = false): void {
    const g = this.guests.get(domid);
    if (g && g.state !== "destroyed") {
      if (restarting) g.console.close();
      else g.console.end();
      g.state = "destroyed";
    }
    this.blkback.domainGone(domid); // backends let go of its grants and ports first
    this.netback.domainGone(domid);
    const waiter = this.suspendWaiters.get(domid);
    this.suspendWaiters.delete(domid);
    waiter?.(false);
    const failure = this.hvDestroy(domid);
    this.removeBackends(domid);
    this.xsRm(`/local/domain/0/backend/vbd/${domid}`);
    this.xsRm(`/local/domain/0/backend/vif/${domid}`);
    this.xsRm(`/local/domain/${domid}`);
    if (g) this.xsRm(`/vm/${g.uuid}`);
    this.xenstored.domainGone(domid, true);
    this.guests.delete(domid);
    if (failure) throw failure;
  }

  // The hypervisor's destroydomain: a domain already gone is fine; any other
  // failure is returned (after the rest of the cleanup, the caller reports it).
  private hvDestroy(domid: number): Error | null {
    try { this.dom0.xc.destroyDomain(domid); } catch (e) {
      if (e instanceof XenError && e.errno === XEN_E.ESRCH) return null;
      this.log(`d${domid}: destroy: ${(e as Error).message}`);
      return e as Error;
    }
    return null;
  }

  // For destroys nobody asked for (on_poweroff and friends): a failure is
  // logged, never thrown into the event loop.
  private destroyLogged(domid: number, restarting = false): boolean {
    try { this.destroy(domid, restarting); return true; } catch { return false; }
  }

  // VIRQ_DOM_EXC: some domain shut down or died.
  checkDomains(): void {
    const infos = new Map(this.dom0.xc.listDomains().map((i) => [i.domid, i]));
    for (const g of [...this.guests.values()]) {
      const info = infos.get(g.domid);
      if (!info) { if (g.state !== "destroyed") this.destroyLogged(g.domid); continue; }
      if (info.shutdown && g.state === "running") {
        g.state = "shutdown";
        g.console.service(); // the last words of the guest
        const reason = SHUTDOWN_NAMES[info.shutdownReason] ?? String(info.shutdownReason);
        g.shutdownReason = reason;
        this.xenstored.domainGone(g.domid, false);
        const waiter = reason === "suspend" ? this.suspendWaiters.get(g.domid) : undefined;
        if (waiter) {
          this.suspendWaiters.delete(g.domid);
          this.log(`d${g.domid} (${g.name}): suspended for its devices' reconnect`);
          waiter(true);
          continue;
        }
        // a guest that suspended itself is left as it is, as xl does ("Domain has suspended")
        const action = (reason === "poweroff" ? g.config.onPoweroff : reason === "reboot" ? g.config.onReboot : reason === "crash" ? g.config.onCrash : undefined)
          ?? (reason === "reboot" ? "restart" : reason === "suspend" ? "preserve" : "destroy");
        this.log(`d${g.domid} (${g.name}): shutdown (${reason}): ${action}`);
        this.events.onGuestExit?.(g, reason, action);
        if (action === "destroy") this.destroyLogged(g.domid);
        else if (action === "restart") {
          const cfg = g.config;
          // A build that fails (its kernel file gone, no memory left) leaves
          // the domain destroyed, as xl's failed reboot does.
          if (this.destroyLogged(g.domid, true)) {
            try { this.create(cfg, g); } catch (e) { this.log(`d${g.domid} (${g.name}): restart failed: ${(e as Error).message}`); }
          }
        }
      }
    }
  }
}

const nullTransport: Transport = { send() { /* the toolstack reads nothing back */ }, close() { /* nothing to close */ } };

// A device record's backend nodes (written by the toolstack alone, n0), or
// null if they are not a list of name/value pairs.
function parseNodes(text: string | null): [string, string][] | null {
  try {
    const v: unknown = JSON.parse(text ?? "");
    return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === "string")) ? (v as [string, string][]) : null;
  } catch { return null; }
}

// The domain a backend path belongs to (/local/domain/<id>/backend/...).
function backendIdOf(be: string): number { return Number(/^\/local\/domain\/(\d+)\//.exec(be)?.[1] ?? 0); }
