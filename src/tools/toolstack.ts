// The toolstack (libxl's role): creates guests from a configuration —
// builds the domain, writes its xenstore directory, introduces it to
// xenstored, attaches its console — and follows their life cycle: PV
// shutdown requests through control/shutdown, VIRQ_DOM_EXC for shutdowns and
// deaths, on_poweroff/on_reboot/on_crash actions, and destruction that
// leaves nothing behind.

import { randomUUID } from "node:crypto";
import type { Dom0 } from "./dom0.js";
import { buildDomain, BuildConfig, BuiltDomain } from "./domain_builder.js";
import { GuestConsole } from "./console_backend.js";
import { Xenstored, Transport } from "./xenstore/xenstored.js";
import { DomainRing } from "./xenstore/domain_ring.js";
import { Caller } from "./xenstore/store.js";
import { VIRQ } from "../xen/public/event_channel.js";
import { SHUTDOWN_NAMES } from "../xen/public/xen.js";
import { XS } from "../xen/public/io/xs_wire.js";

export type ExitAction = "destroy" | "restart" | "preserve";

export interface GuestConfig extends BuildConfig {
  onPoweroff?: ExitAction;
  onReboot?: ExitAction;
  onCrash?: ExitAction;
  paused?: boolean;
}

export interface Guest {
  domid: number;
  name: string;
  uuid: string;
  config: GuestConfig;
  built: BuiltDomain;
  console: GuestConsole;
  state: "running" | "shutdown" | "destroyed";
  shutdownReason: string | null;
  startedAt: number;
}

export interface ToolstackEvents {
  onGuestExit?(g: Guest, reason: string, action: ExitAction): void;
  onGuestCreated?(g: Guest): void;
}

const DOM0: Caller = { domid: 0, privileged: true };

export class Toolstack {
  readonly xenstored: Xenstored;
  readonly guests = new Map<number, Guest>();
  private readonly rings = new Map<number, DomainRing>();
  events: ToolstackEvents = {};

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
    });
    dom0.evtchn.bindVirq(VIRQ.DOM_EXC, () => this.checkDomains());
    this.xsWrite("/local/domain/0/name", "Domain-0");
    this.xsWrite("/local/domain/0/domid", "0");
  }

  // ---- xenstore access for the toolstack itself (as dom0, privileged)
  xsWrite(path: string, value: string, perms?: string[]): void {
    const s = this.xenstored.store;
    if (s.get(path)) s.setValue(path, new Uint8Array(Buffer.from(value)));
    else s.create(path, DOM0, new Uint8Array(Buffer.from(value)));
    if (perms) s.setPerms(path, perms.map((p) => ({ access: p[0] as "n" | "r" | "w" | "b", domid: Number(p.slice(1)) })));
    this.xenstored.fire([{ path, removed: false }]);
  }
  xsRead(path: string): string | null {
    const n = this.xenstored.store.get(path);
    return n ? Buffer.from(n.value).toString("utf8") : null;
  }
  xsRm(path: string): void {
    if (!this.xenstored.store.get(path)) return;
    this.xenstored.store.remove(path);
    this.xenstored.fire([{ path, removed: true }]);
  }

  // `previous`: the incarnation this one restarts; whoever listened to its
  // console (terminals, the log) follows the new one.
  create(cfg: GuestConfig, previous?: Guest): Guest {
    if ([...this.guests.values()].some((g) => g.name === cfg.name && g.state !== "destroyed")) {
      throw new Error(`a domain named '${cfg.name}' already exists`);
    }
    const uuid = randomUUID();
    const handle = new Uint8Array(Buffer.from(uuid.replace(/-/g, ""), "hex"));
    const built = buildDomain(this.dom0.xc, { ...cfg, handle, backendDomid: 0 });
    const domid = built.domid;
    try {
      this.writeDomainDir(domid, cfg, built, uuid);
      const console = new GuestConsole(domid, this.dom0.xc, this.dom0.evtchn);
      console.connect(built.consoleGfn, built.consolePort);
      const g: Guest = { domid, name: cfg.name, uuid, config: cfg, built, console, state: "running", shutdownReason: null, startedAt: Date.now() };
      this.guests.set(domid, g);
      // INTRODUCE, as xs_introduce_domain does
      const conn = this.xenstored.connect(0, true, false, nullTransport, "toolstack");
      this.xenstored.request(conn, XS.INTRODUCE, 0, 0, new Uint8Array(Buffer.from(`${domid}\0${built.storeGfn}\0${built.storePort}\0`)));
      this.xenstored.disconnect(conn);
      if (previous) {
        for (const l of previous.console.listeners) console.listeners.add(l);
        for (const l of previous.console.endListeners) console.endListeners.add(l);
      }
      if (!cfg.paused) this.dom0.xc.unpause(domid);
      if (!previous) this.events.onGuestCreated?.(g);
      return g;
    } catch (e) {
      try { this.dom0.xc.destroyDomain(domid); } catch { /* gone */ }
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
    try { this.dom0.xc.destroyDomain(domid); } catch { /* already gone */ }
    this.xsRm(`/local/domain/${domid}`);
    if (g) this.xsRm(`/vm/${g.uuid}`);
    this.xenstored.domainGone(domid, true);
    this.guests.delete(domid);
  }

  // VIRQ_DOM_EXC: some domain shut down or died.
  checkDomains(): void {
    const infos = new Map(this.dom0.xc.listDomains().map((i) => [i.domid, i]));
    for (const g of [...this.guests.values()]) {
      const info = infos.get(g.domid);
      if (!info) { if (g.state !== "destroyed") this.destroy(g.domid); continue; }
      if (info.shutdown && g.state === "running") {
        g.state = "shutdown";
        g.console.service(); // the last words of the guest
        const reason = SHUTDOWN_NAMES[info.shutdownReason] ?? String(info.shutdownReason);
        g.shutdownReason = reason;
        this.xenstored.domainGone(g.domid, false);
        const action = (reason === "poweroff" ? g.config.onPoweroff : reason === "reboot" ? g.config.onReboot : reason === "crash" ? g.config.onCrash : undefined)
          ?? (reason === "reboot" ? "restart" : "destroy");
        this.log(`d${g.domid} (${g.name}): shutdown (${reason}): ${action}`);
        this.events.onGuestExit?.(g, reason, action);
        if (action === "destroy") this.destroy(g.domid);
        else if (action === "restart") {
          const cfg = g.config;
          this.destroy(g.domid, true);
          this.create(cfg, g);
        }
      }
    }
  }
}

const nullTransport: Transport = { send() { /* the toolstack reads nothing back */ }, close() { /* nothing to close */ } };
