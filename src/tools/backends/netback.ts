// netback: the network backend in the control domain, for Linux's
// xen-netfront. The xenbus handshake of io/netif.h (InitWait with the
// features, Connected once the frontend's TX and RX rings are mapped), one
// queue, one event channel. TX: each packet's slots are copied out of the
// ring before they are checked, its data copied out of the granted pages,
// a checksum the guest left blank is completed (a GSO packet, offered for
// TCP over IPv4 and IPv6, goes on whole with its segment size), and the
// frames go to the vif's bridge. RX: frames from the bridge wait (bounded)
// for the guest's buffers and are copied into them; a GSO packet whole,
// with its extra info, when the frontend takes GSO, else cut into
// segments. A frontend that breaks the protocol is disconnected; the
// bridge and its other ports carry on.

import { BackendDriver, BackendEnv } from "./backend_driver.js";
import { XenbusBackend } from "./xenbus_backend.js";
import type { GrantMapping } from "../xc/gnttab.js";
import { GrantStatusError } from "../xc/gnttab.js";
import type { Bridge, BridgePort, Bridges, Gso } from "../net/bridge.js";
import { XenbusState } from "../../xen/public/io/xenbus.js";
import {
  NETTXF, NETRXF, NETIF_RSP, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE, XEN_NETIF_GSO_TYPE, XEN_NETBK_LEGACY_SLOTS_MAX, NETIF_TX_ENTRY, NETIF_RX_ENTRY,
  netif_tx_request, netif_tx_response, netif_rx_request, netif_rx_response,
} from "../../xen/public/io/netif.js";
import { BackRing } from "./back_ring.js";
import { completeChecksum } from "../net/checksum.js";
import { segmentTcp, tcpSuperPacket } from "../net/tcp_segment.js";

const BACKEND_ROOT = "/local/domain/0/backend/vif";
const RX_QUEUE_MAX = 256; // frames waiting for guest buffers; more are dropped
const MIN_GSO_SIZE = 48;
const MAX_FRAME = 65536;

// Where a domain's outgoing frames wait instead of reaching the bridge
// (Remus holds a checkpoint's output until the backup has it). It sends them
// on later with the vif's transmit().
export interface OutputHold { hold(vif: Vif, frame: Uint8Array, gso?: Gso): void; }

export class Vif extends XenbusBackend implements BridgePort {
  readonly name: string;
  protected readonly label: string;
  private txMap: GrantMapping | null = null;
  private rxMap: GrantMapping | null = null;
  private tx: BackRing | null = null;
  private rx: BackRing | null = null;
  private port = -1;
  private resumed = false;
  private readonly rxQueue: Uint8Array[] = [];
  private readonly rxGsoQueue: (Gso | null)[] = [];
  private rxGsoV4 = false; private rxGsoV6 = false; // the frontend takes super-packets
  private bridge: Bridge | null = null;
  // per-slot scratch, reused (the hot path allocates nothing per slot)
  private readonly slot = new Uint8Array(NETIF_TX_ENTRY);
  private readonly slotView = new DataView(this.slot.buffer);
  private readonly txRsp = new Uint8Array(netif_tx_response.size);
  private readonly txRspView = new DataView(this.txRsp.buffer);
  private readonly rxReq = new Uint8Array(netif_rx_request.size);
  private readonly rxReqView = new DataView(this.rxReq.buffer);
  private readonly rxRsp = new Uint8Array(NETIF_RX_ENTRY);
  private readonly rxRspView = new DataView(this.rxRsp.buffer);
  private readonly pkt = new Uint8Array(MAX_FRAME);
  stats = { txPackets: 0, txBytes: 0, txGso: 0, rxPackets: 0, rxBytes: 0, txErrors: 0, rxDropped: 0 };
  holds: ReadonlyMap<number, OutputHold> = new Map(); // the driver's, by domain

  constructor(env: BackendEnv, private readonly bridges: Bridges, domid: number, readonly handle: number, be: string) {
    super(env, domid, handle, be);
    this.name = `vif${domid}.${handle}`;
    this.label = `netback ${this.name}`;
  }

  protected prepare(): void {
    const xs = this.env.xs;
    // A backend directory that already says Connected, before this device
    // existed, came with a domain that was running elsewhere (restored, or
    // migrated here); its kernel will not announce itself, so once
    // connected we tell the switches where its MAC lives now.
    this.resumed = xs.readInt(`${this.be}/state`) === XenbusState.Connected && xs.readInt(`${this.fe}/state`) === XenbusState.Connected;
    xs.write(`${this.be}/feature-sg`, "1");
    xs.write(`${this.be}/feature-rx-copy`, "1");
    xs.write(`${this.be}/feature-rx-flip`, "0");
    xs.write(`${this.be}/feature-gso-tcpv4`, "1");
    xs.write(`${this.be}/feature-gso-tcpv6`, "1");
    xs.write(`${this.be}/feature-ipv6-csum-offload`, "1");
  }

  protected holdsRings(): boolean { return this.port >= 0; }

  protected connectRings(): void {
    const xs = this.env.xs;
    if (xs.read(`${this.fe}/request-rx-copy`) !== "1") throw new Error("the frontend does not ask for receive copying (flipping is not offered)");
    const nq = xs.readInt(`${this.fe}/multi-queue-num-queues`) ?? 1;
    if (nq !== 1) throw new Error(`the frontend asks for ${nq} queues; one is offered`);
    const txRef = this.frontendInt("tx-ring-ref"), rxRef = this.frontendInt("rx-ring-ref");
    const evt = xs.readInt(`${this.fe}/event-channel`) ?? xs.readInt(`${this.fe}/event-channel-tx`);
    if (evt === null) throw new Error("no event channel");
    this.txMap = this.env.gnt.map(this.domid, txRef, false);
    this.rxMap = this.env.gnt.map(this.domid, rxRef, false);
    this.rxGsoV4 = xs.read(`${this.fe}/feature-gso-tcpv4`) === "1";
    this.rxGsoV6 = xs.read(`${this.fe}/feature-gso-tcpv6`) === "1";
    this.tx = new BackRing([this.txMap.page], NETIF_TX_ENTRY);
    this.rx = new BackRing([this.rxMap.page], NETIF_RX_ENTRY);
    this.port = this.env.evtchn.bindInterdomain(this.domid, evt, () => this.service());
    this.bridge = this.bridges.get(xs.read(`${this.be}/bridge`) ?? "xenbr0");
    this.bridge.join(this);
  }

  protected override afterConnect(): void {
    if (this.resumed) this.announce();
    this.service();
  }

  // RARP broadcasts from the guest's MAC, as QEMU's announce-self sends
  // after a migration: a few, spaced out, in case the first are lost.
  private announce(): void {
    const mac = (this.env.xs.read(`${this.be}/mac`) ?? "").split(":").map((x) => parseInt(x, 16));
    if (mac.length !== 6 || mac.some((b) => !(b >= 0 && b <= 255))) return;
    const f = new Uint8Array(60);
    f.fill(0xff, 0, 6);
    f.set(mac, 6);
    f.set([0x80, 0x35, 0, 1, 0x08, 0x00, 6, 4, 0, 3], 12); // RARP: Ethernet/IPv4, reverse request
    f.set(mac, 22);
    f.set(mac, 32);
    const bridge = this.bridge;
    for (const ms of [0, 50, 150, 400]) {
      setTimeout(() => { if (this.bridge === bridge && bridge) bridge.send(this, f.slice()); }, ms).unref();
    }
  }

  protected release(): void {
    this.bridge?.leave(this);
    this.bridge = null;
    if (this.port >= 0) this.env.evtchn.close(this.port);
    this.port = -1;
    for (const m of [this.txMap, this.rxMap]) if (m) { try { this.env.gnt.unmap(m); } catch { /* gone */ } }
    this.txMap = this.rxMap = null;
    this.tx = this.rx = null;
    this.rxQueue.length = 0;
    this.rxGsoQueue.length = 0;
  }

  // Event from the frontend: packets to send, or buffers to fill.
  private service(): void {
    if (this.port < 0) return;
    const notifyTx = this.doTx();
    if (this.port < 0) return;
    const notifyRx = this.doRx();
    if ((notifyTx || notifyRx) && this.port >= 0) this.env.evtchn.notify(this.port);
  }

  private doTx(): boolean {
    const tx = this.tx!;
    let notify = false;
    do {
      const prod = tx.requestProducer();
      if (tx.unconsumed(prod) > tx.size) { this.fatal(`the TX producer (${prod}) ran past the ring`); return false; }
      while (tx.reqCons !== prod) if (this.packet(tx, prod) < 0) return false;
      if (tx.pushResponses()) notify = true;
    } while (tx.finalCheckForRequests());
    return notify;
  }

  private txRespond(tx: BackRing, id: number, status: number): void {
    this.txRspView.setUint16(netif_tx_response.fields.id.offset, id, true);
    this.txRspView.setInt16(netif_tx_response.fields.status.offset, status, true);
    tx.writeResponse(this.txRsp);
  }

  // One packet: its request slots (and any extra-info slots) from the consumer,
  // copied out first; then checked, gathered and sent. Returns the slots
  // consumed, or -1 when the frontend was cut off.
  // data slots are limited as Linux's netback limits them; extra-info slots
  // (one per type at most) come on top
  private static readonly SLOTS = XEN_NETBK_LEGACY_SLOTS_MAX + XEN_NETIF_EXTRA_TYPE.HASH;
  private readonly sGref = new Uint32Array(Vif.SLOTS);
  private readonly sOff = new Uint16Array(Vif.SLOTS);
  private readonly sSize = new Uint16Array(Vif.SLOTS);
  private readonly sId = new Int32Array(Vif.SLOTS); // -1: an extra-info slot
  private packet(tx: BackRing, prod: number): number {
    const F = netif_tx_request.fields, v = this.slotView;
    let n = 0, extras = 0, flags0 = 0, more = true, extra = false, gsoSize = 0, gsoType: number = XEN_NETIF_GSO_TYPE.NONE;
    while (more || extra) {
      if (tx.reqCons === prod) { this.fatal("a packet's slots run past the producer"); return -1; }
      if (extra ? extras >= XEN_NETIF_EXTRA_TYPE.HASH : n - extras >= XEN_NETBK_LEGACY_SLOTS_MAX) {
        this.fatal(extra ? "a packet has too many extra-info slots" : `a packet takes more than ${XEN_NETBK_LEGACY_SLOTS_MAX} slots`);
        return -1;
      }
      tx.copyRequest(this.slot);
      if (extra) { // extra info: GSO is used, the rest (multicast, hash) is not negotiated and is skipped
        this.sId[n++] = -1;
        extras++;
        if (this.slot[0] === XEN_NETIF_EXTRA_TYPE.GSO) { gsoSize = v.getUint16(2, true); gsoType = this.slot[4]; }
        extra = (this.slot[1] & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
        continue;
      }
      const flags = v.getUint16(F.flags.offset, true);
      if (n === 0) flags0 = flags;
      this.sGref[n] = v.getUint32(F.gref.offset, true);
      this.sOff[n] = v.getUint16(F.offset.offset, true);
      this.sSize[n] = v.getUint16(F.size.offset, true);
      this.sId[n++] = v.getUint16(F.id.offset, true);
      more = (flags & NETTXF.more_data) !== 0;
      extra = (flags & NETTXF.extra_info) !== 0;
    }
    // the first slot's size is the whole packet; its own share is what the others leave
    const total = this.sSize[0];
    let rest = 0;
    for (let i = 1; i < n; i++) if (this.sId[i] >= 0) rest += this.sSize[i];
    let status: number = NETIF_RSP.okay;
    if (total < 14 || rest > total) status = NETIF_RSP.error;
    // a GSO packet names a type we offered and a segment size no smaller
    // than Linux's least (tcp_min_snd_mss), which bounds how many frames
    // one packet can turn into
    if (gsoType !== XEN_NETIF_GSO_TYPE.NONE && (gsoSize < MIN_GSO_SIZE || (gsoType !== XEN_NETIF_GSO_TYPE.TCPV4 && gsoType !== XEN_NETIF_GSO_TYPE.TCPV6))) status = NETIF_RSP.error;
    let at = 0;
    for (let i = 0; i < n && status === NETIF_RSP.okay; i++) {
      if (this.sId[i] < 0) continue;
      const size = i === 0 ? total - rest : this.sSize[i];
      if (this.sOff[i] + size > 4096 || !this.copyIn(this.sGref[i], this.sOff[i], size, at)) status = NETIF_RSP.error;
      at += size;
    }
    // a super-packet must be TCP of the kind it claims, or it is refused before anyone sees it
    const v6 = gsoType === XEN_NETIF_GSO_TYPE.TCPV6;
    if (status === NETIF_RSP.okay && gsoType !== XEN_NETIF_GSO_TYPE.NONE && tcpSuperPacket(this.pkt.subarray(0, total)) !== (v6 ? "v6" : "v4")) status = NETIF_RSP.error;
    for (let i = 0; i < n; i++) this.txRespond(tx, this.sId[i] < 0 ? 0 : this.sId[i], this.sId[i] < 0 ? NETIF_RSP.null : status);
    if (status !== NETIF_RSP.okay) { this.stats.txErrors++; return n; }
    this.stats.txPackets++;
    this.stats.txBytes += total;
    if (gsoType !== XEN_NETIF_GSO_TYPE.NONE) {
      // whole to the bridge, whose ports take it or cut it up
      this.stats.txGso++;
      this.output(this.pkt.slice(0, total), { size: gsoSize, v6 });
      return n;
    }
    const frame = this.pkt.slice(0, total);
    if (flags0 & NETTXF.csum_blank) completeChecksum(frame);
    this.output(frame);
    return n;
  }
  private output(frame: Uint8Array, gso?: Gso): void {
    const h = this.holds.get(this.domid);
    if (h) h.hold(this, frame, gso); else this.bridge?.send(this, frame, gso);
  }
  // A frame the guest sent, out to the bridge now (nowhere once the vif has gone).
  transmit(frame: Uint8Array, gso?: Gso): void { this.bridge?.send(this, frame, gso); }

  private copyIn(gref: number, off: number, size: number, at: number): boolean {
    if (size === 0) return true;
    let m: GrantMapping;
    try { m = this.env.gnt.map(this.domid, gref, true); } catch (e) {
      if (e instanceof GrantStatusError) return false;
      throw e;
    }
    try { this.pkt.set(m.page.subarray(off, off + size), at); } finally { this.env.gnt.unmap(m); }
    return true;
  }

  // A frame from the bridge for this guest. A super-packet goes in whole
  // to a frontend that takes GSO of its kind, cut up for one that does not.
  deliver(frame: Uint8Array, gso?: Gso): void {
    if (this.port < 0) return;
    if (gso && !(gso.v6 ? this.rxGsoV6 : this.rxGsoV4)) segmentTcp(frame, gso.size, this.queueFrame);
    else this.queue(frame, gso);
    if (this.doRx() && this.port >= 0) this.env.evtchn.notify(this.port);
  }
  private queue(frame: Uint8Array, gso?: Gso): void {
    if (this.rxQueue.length >= RX_QUEUE_MAX) { this.stats.rxDropped++; return; }
    this.rxQueue.push(frame);
    this.rxGsoQueue.push(gso ?? null);
  }
  private readonly queueFrame = (frame: Uint8Array): void => this.queue(frame);

  private doRx(): boolean {
    const rx = this.rx;
    if (!rx || !this.rxQueue.length) return false;
    const prod = rx.requestProducer();
    if (rx.unconsumed(prod) > rx.size) { this.fatal(`the RX producer (${prod}) ran past the ring`); return false; }
    const q = this.rxReqView, r = this.rxRspView, RQ = netif_rx_request.fields, RS = netif_rx_response.fields;
    let sent = false;
    while (this.rxQueue.length) {
      const frame = this.rxQueue[0], gso = this.rxGsoQueue[0];
      const slots = Math.ceil(frame.length / 4096);
      const need = slots + (gso ? 1 : 0); // a super-packet's extra-info response takes a buffer's slot
      if (rx.unconsumed(prod) < need) {
        rx.awaitRequests(need); // wake us when there are buffers
        break;
      }
      this.rxQueue.shift();
      this.rxGsoQueue.shift();
      // a super-packet's TCP checksum is partial, as its sender left it: csum_blank
      const csum = gso ? NETRXF.csum_blank | NETRXF.data_validated : NETRXF.data_validated;
      for (let k = 0, done = 0; k < slots; k++) {
        rx.copyRequest(this.rxReq);
        const id = q.getUint16(RQ.id.offset, true), gref = q.getUint32(RQ.gref.offset, true);
        const n = Math.min(4096, frame.length - done);
        let status: number = n;
        try {
          const g = this.env.gnt.map(this.domid, gref, false);
          try { g.page.set(frame.subarray(done, done + n), 0); } finally { this.env.gnt.unmap(g); }
        } catch (e) {
          if (!(e instanceof GrantStatusError)) throw e;
          status = NETIF_RSP.error;
        }
        r.setUint16(RS.id.offset, id, true);
        r.setUint16(RS.offset.offset, 0, true);
        r.setUint16(RS.flags.offset, csum | (k + 1 < slots ? NETRXF.more_data : 0) | (k === 0 && gso ? NETRXF.extra_info : 0), true);
        r.setInt16(RS.status.offset, status, true);
        rx.writeResponse(this.rxRsp);
        done += n;
        if (k === 0 && gso) {
          // the GSO extra info, in the next response slot; its request's buffer goes back unused
          rx.skipRequest();
          r.setUint8(0, XEN_NETIF_EXTRA_TYPE.GSO);
          r.setUint8(1, 0);
          r.setUint16(2, gso.size, true);
          r.setUint8(4, gso.v6 ? XEN_NETIF_GSO_TYPE.TCPV6 : XEN_NETIF_GSO_TYPE.TCPV4);
          r.setUint8(5, 0);
          r.setUint16(6, 0, true);
          rx.writeResponse(this.rxRsp);
        }
      }
      this.stats.rxPackets++;
      this.stats.rxBytes += frame.length;
      sent = true;
    }
    return sent && rx.pushResponses();
  }
}

export class NetBack extends BackendDriver<Vif> {
  // a domain's output, held where its hold says (a vif made again keeps it)
  constructor(env: BackendEnv, readonly bridges: Bridges, readonly holds = new Map<number, OutputHold>()) {
    super(env, BACKEND_ROOT, (domid, handle, be) => {
      const v = new Vif(env, bridges, domid, handle, be);
      v.holds = holds;
      return v;
    });
  }
}
