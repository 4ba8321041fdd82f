// One backend device's side of the xenbus handshake (io/xenbus.h), written
// once for every kind, as QEMU's hw/xen/xen-bus.c does for its backends: the
// state node, the frontend's state and the toolstack's `online` node
// watched, connect when the frontend is ready, disconnect when it closes or
// goes, Closing when the toolstack asks for the device back (hot-unplug)
// and Connected again if it changes its mind, and fatal() for a frontend
// that breaks the protocol. A kind (blkback, netback) supplies what its
// device does at each step: prepare (features, before InitWait),
// connect (map the rings, bind the event channel), after it is Connected,
// release (unmap and unbind), drain before the rings go.

import { XenbusState } from "../../xen/public/io/xenbus.js";
import type { BackendEnv, BackendDevice } from "./backend_driver.js";

export abstract class XenbusBackend implements BackendDevice {
  readonly fe: string;
  private state: number = XenbusState.Initialising;
  private unwatch: (() => void)[] = [];

  constructor(readonly env: BackendEnv, readonly domid: number, readonly devid: number, readonly be: string) {
    this.fe = env.xs.read(`${be}/frontend`) ?? "";
  }

  // How the log names this device ("blkback d3/51712").
  protected abstract readonly label: string;
  // Opens what the device serves and advertises its features. An Error
  // here is a hotplug failure: hotplug-status says "error" and the device
  // stays Closed.
  protected abstract prepare(): void;
  // Maps the frontend's rings and binds its event channel; throws if the
  // frontend's nodes are missing or wrong (the device is then fatal()).
  protected abstract connectRings(): void;
  // What runs once the state says Connected (serve what is already queued).
  protected afterConnect(): void { /* nothing by default */ }
  // Lets go of the rings and the event channel; safe to call when not connected.
  protected abstract release(): void;
  // Whether the rings are held (a detach called off goes back to Connected).
  protected abstract holdsRings(): boolean;
  // Whether a frontend that starts again (Initialising after Closed) can be
  // served again.
  protected canRestart(): boolean { return true; }
  // Before the rings are released (the frontend closed, or the device is
  // destroyed): serve what the frontend queued. Safe when not connected.
  protected drain(): void { /* nothing by default */ }
  // After destroy() released the rings: close what prepare() opened.
  protected closed(): void { /* nothing by default */ }

  start(): void {
    const xs = this.env.xs;
    try {
      if (!this.fe.startsWith(`/local/domain/${this.domid}/`)) throw new Error(`frontend path '${this.fe}' is not in d${this.domid}'s tree`);
      this.prepare();
    } catch (e) {
      const why = (e as Error).message;
      this.env.log(`${this.label}: ${why}`);
      try {
        xs.write(`${this.be}/hotplug-error`, why);
        xs.write(`${this.be}/hotplug-status`, "error");
      } catch { /* the directory is being removed */ }
      this.setState(XenbusState.Closed);
      return;
    }
    xs.write(`${this.be}/hotplug-status`, "connected");
    this.setState(XenbusState.InitWait);
    this.unwatch.push(xs.watch(`${this.fe}/state`, () => this.frontendChanged()));
    this.unwatch.push(xs.watch(`${this.be}/online`, () => this.onlineChanged()));
  }

  private setState(s: number): void {
    this.state = s;
    try { this.env.xs.write(`${this.be}/state`, String(s)); } catch { /* the directory is being removed */ }
  }

  private onlineChanged(): void {
    const online = this.env.xs.read(`${this.be}/online`);
    if (online === "0" && this.state !== XenbusState.Closed) this.setState(XenbusState.Closing);
    // a detach the guest did not answer was called off (the toolstack set
    // online back): the rings were never let go, so the device carries on
    else if (online === "1" && this.state === XenbusState.Closing && this.holdsRings()) this.setState(XenbusState.Connected);
  }

  private frontendChanged(): void {
    switch (this.env.xs.readInt(`${this.fe}/state`)) {
      case XenbusState.Initialising:
        if (this.state === XenbusState.Closed && this.canRestart()) this.setState(XenbusState.InitWait);
        break;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (this.state === XenbusState.InitWait) this.connect();
        break;
      // What the frontend put on the rings before it closed is served
      // first: Linux's blkfront closes with requests in flight whose event
      // may not have been delivered yet, and waits for them for ever.
      case XenbusState.Closing:
        this.drain();
        this.release();
        this.setState(XenbusState.Closing);
        break;
      case XenbusState.Closed:
      case null: // the frontend's directory is gone
        this.drain();
        this.release();
        if (this.state !== XenbusState.Closed) this.setState(XenbusState.Closed);
        break;
      default:
        break;
    }
  }

  private connect(): void {
    try {
      this.connectRings();
    } catch (e) {
      this.fatal(`connecting: ${(e as Error).message}`);
      return;
    }
    this.setState(XenbusState.Connected);
    this.afterConnect();
  }

  // The frontend broke the protocol: stop serving it and say why.
  fatal(why: string): void {
    this.env.log(`${this.label}: ${why}; disconnecting`);
    try { this.env.xs.write(`${this.be}/error`, why); } catch { /* gone */ }
    this.release();
    this.setState(XenbusState.Closing);
  }

  // Gone: the toolstack removed the device or the domain.
  destroy(): void {
    for (const u of this.unwatch) u();
    this.unwatch = [];
    this.drain();
    this.release();
    this.closed();
  }

  // An integer node of the frontend's, or an Error naming it.
  protected frontendInt(path: string): number {
    const v = this.env.xs.readInt(`${this.fe}/${path}`);
    if (v === null) throw new Error(`${this.fe}/${path} is missing or not a number`);
    return v;
  }

  get connected(): boolean { return this.state === XenbusState.Connected; }
  get xenbusState(): number { return this.state; }
}
