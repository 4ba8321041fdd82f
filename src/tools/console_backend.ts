// The console daemon (xenconsoled's job): for each guest it maps the PV
// console ring page, binds the console event channel, drains the guest's
// output into a bounded history and to whoever listens (terminal, log file),
// and feeds keyboard input into the ring. The emulated UART's bytes arrive
// here too, so a domain has one console either way.

import type { Xc, ForeignMapping } from "./xc/xc.js";
import type { EventChannels } from "./xc/evtchn.js";
import { XENCONS } from "../xen/public/io/console.js";
import { ConsoleHistory } from "./console_history.js";

export class GuestConsole extends ConsoleHistory {
  private ring: ForeignMapping | null = null;
  private port = -1;
  // The console of the incarnation that replaced this domain on a restart:
  // keyboard input typed at an old handle goes there.
  successor: GuestConsole | null = null;

  constructor(readonly domid: number, private readonly xc: Xc, private readonly evtchn: EventChannels) { super(); }

  connect(gfn: bigint, remotePort: number): void {
    this.ring = this.xc.mapForeign(this.domid, [gfn]);
    try {
      this.port = this.evtchn.bindInterdomain(this.domid, remotePort, () => this.service());
    } catch (e) {
      this.close(); // no one else knows of this console yet: the mapping would outlive it
      throw e;
    }
    this.service();
  }

  // The guest's end is a new port (its event channels were reset for a resume).
  rebind(remotePort: number): void {
    if (!this.ring) return;
    if (this.port >= 0) this.evtchn.close(this.port);
    this.port = this.evtchn.bindInterdomain(this.domid, remotePort, () => this.service());
    this.service();
  }

  // Keyboard input for the guest (an emulated UART, when there is one,
  // takes what it can first)
  override input(data: Uint8Array, uart?: (d: Uint8Array) => number): void {
    if (this.successor) { this.successor.input(data, uart); return; }
    if (uart) { const n = uart(data); data = data.subarray(n); }
    super.input(data);
  }

  service(): void {
    const r = this.ring;
    if (!r) return;
    const p = r.page(0);
    const dv = new DataView(p.buffer, p.byteOffset, 4096);
    // guest output
    let cons = dv.getUint32(XENCONS.out_cons, true);
    const prod = dv.getUint32(XENCONS.out_prod, true);
    let avail = (prod - cons) >>> 0;
    let notify = false;
    if (avail > XENCONS.outSize) { avail = 0; cons = prod; } // a corrupt index: resynchronise rather than read garbage
    if (avail > 0) {
      const out = new Uint8Array(avail);
      for (let i = 0; i < avail; i++) out[i] = p[XENCONS.out + ((cons + i) & (XENCONS.outSize - 1))];
      dv.setUint32(XENCONS.out_cons, (cons + avail) >>> 0, true);
      this.emit(out);
      notify = true;
    }
    // keyboard input
    if (this.pendingInput.length) {
      const icons = dv.getUint32(XENCONS.in_cons, true);
      let iprod = dv.getUint32(XENCONS.in_prod, true);
      const space = XENCONS.inSize - ((iprod - icons) >>> 0);
      const n = Math.max(0, Math.min(space, this.pendingInput.length));
      for (let i = 0; i < n; i++) p[XENCONS.in + ((iprod + i) & (XENCONS.inSize - 1))] = this.pendingInput[i];
      this.pendingInput.splice(0, n);
      iprod = (iprod + n) >>> 0;
      dv.setUint32(XENCONS.in_prod, iprod, true);
      if (n) notify = true;
    }
    if (notify && this.port >= 0) this.evtchn.notify(this.port);
  }

  // The domain is gone: detach everyone.
  override end(): void {
    this.close();
    super.end();
  }

  close(): void {
    if (this.port >= 0) this.evtchn.close(this.port);
    this.port = -1;
    this.ring?.unmap();
    this.ring = null;
  }
}
