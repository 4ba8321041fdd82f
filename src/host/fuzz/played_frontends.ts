// Split-driver frontends played from TypeScript: the grant table, shared
// rings, event channels and xenbus keys of a paused guest, written into its
// memory and its xenstore directory as its kernel's blkfront and netfront
// would write them. The ring fuzzer plays a well-behaved guest with them,
// and a hostile one by writing past them.

import type { Toolstack } from "../../tools/toolstack.js";
import type { PlayedGuest } from "./played_guest.js";
import { HYPERVISOR, XENMAPSPACE, DOMID_SELF } from "../../xen/public/xen.js";
import { GUEST_GNTTAB_BASE } from "../../xen/public/arch_arm.js";
import { EVTCHNOP, evtchn_alloc_unbound, evtchn_send, evtchn_close } from "../../xen/public/event_channel.js";
import { RING_HDR, RING_ENTRIES_OFFSET, ringSize } from "../../xen/public/io/ring.js";
import { BLKIF_RING_ENTRY } from "../../xen/public/io/blkif.js";
import { NETIF_TX_ENTRY, NETIF_RX_ENTRY } from "../../xen/public/io/netif.js";
import { XenbusState } from "../../xen/public/io/xenbus.js";

export const GNTTAB_GFN = Number(GUEST_GNTTAB_BASE >> 12n);
const PAGE = 4096;
// where in the scratch page the event-channel calls put their arguments
// (PlayedGuest's own helpers use 0 and 2048 on)
const EVTCHN_ARG = 3584;

// The guest's grant table, frame 0 mapped at GNTTAB_GFN as Linux maps it:
// 512 v1 entries.
export class GrantEntries {
  constructor(readonly g: PlayedGuest) {
    const rc = g.addToPhysmap(XENMAPSPACE.grant_table, 0n, GNTTAB_GFN);
    if (rc !== 0n) throw new Error(`d${g.d.id}: mapping its grant table failed (${rc})`);
  }
  // Domain-0 may map gfn through ref (read-only if asked).
  grant(ref: number, gfn: number, readonly: boolean): void { this.g.setGrant(GNTTAB_GFN, ref, 0, gfn, readonly); }
  revoke(ref: number): void { this.g.clearGrant(GNTTAB_GFN, ref); }
  // An entry of any content (flags, domid, frame), as a careless or hostile kernel writes it.
  raw(ref: number, flags: number, domid: number, gfn: number): void {
    const b = new Uint8Array(8), dv = new DataView(b.buffer);
    dv.setUint16(0, flags, true); dv.setUint16(2, domid, true); dv.setUint32(4, gfn, true);
    this.g.write((BigInt(GNTTAB_GFN) << 12n) + BigInt((ref % 512) * 8), b);
  }
}

// The guest's end of an event channel to Domain-0.
export function allocPort(g: PlayedGuest): number {
  const r = g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.alloc_unbound), evtchn_alloc_unbound,
    (s) => s.set("dom", DOMID_SELF).set("remote_dom", 0), 1n, EVTCHN_ARG);
  if (r.rc !== 0n) throw new Error(`d${g.d.id}: alloc_unbound failed (${r.rc})`);
  return r.out.num("port");
}
export function sendPort(g: PlayedGuest, port: number): bigint {
  return g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.send), evtchn_send, (s) => s.set("port", port), 1n, EVTCHN_ARG).rc;
}
export function closePort(g: PlayedGuest, port: number): bigint {
  return g.callStruct(HYPERVISOR.event_channel_op, BigInt(EVTCHNOP.close), evtchn_close, (s) => s.set("port", port), 1n, EVTCHN_ARG).rc;
}

// One shared ring (io/ring.h) on `pages` consecutive gfns: the frontend's
// private indexes and its view of the shared ones.
export class PlayedRing {
  readonly size: number;
  reqProd = 0;
  rspCons = 0;
  constructor(readonly g: PlayedGuest, readonly gfn: number, readonly pages: number, readonly entry: number) {
    this.size = ringSize(entry, PAGE * pages);
  }
  private ipa(off: number): bigint { return (BigInt(this.gfn) << 12n) + BigInt(off); }
  // A new ring, as SHARED_RING_INIT and FRONT_RING_INIT leave it.
  reset(): void {
    this.g.write(this.ipa(0), new Uint8Array(PAGE * this.pages));
    this.g.write(this.ipa(RING_HDR.req_event), u32(1));
    this.g.write(this.ipa(RING_HDR.rsp_event), u32(1));
    this.reqProd = this.rspCons = 0;
  }
  // Carry on from what the shared page says (a ring kept across a reconnect).
  resume(): void { this.reqProd = this.rspCons = this.header("rsp_prod"); }
  header(field: keyof typeof RING_HDR): number { return new DataView(this.g.read(this.ipa(RING_HDR[field]), 4).buffer).getUint32(0, true); }
  setHeader(field: keyof typeof RING_HDR, v: number): void { this.g.write(this.ipa(RING_HDR[field]), u32(v)); }
  slotIpa(idx: number): bigint { return this.ipa(RING_ENTRIES_OFFSET + ((idx >>> 0) % this.size) * this.entry); }
  // The next request slot, filled with `bytes` (the rest of the slot zeroed).
  put(bytes: Uint8Array): void {
    const slot = new Uint8Array(this.entry);
    slot.set(bytes.subarray(0, this.entry));
    this.g.write(this.slotIpa(this.reqProd), slot);
    this.reqProd = (this.reqProd + 1) >>> 0;
  }
  publish(prod = this.reqProd): void { this.setHeader("req_prod", prod >>> 0); }
  // Responses the backend has published since the last call (at most a
  // ring's worth, whatever the producer says), each `len` bytes.
  take(len: number): DataView[] {
    const prod = this.header("rsp_prod");
    const n = Math.min((prod - this.rspCons) >>> 0, this.size);
    const out: DataView[] = [];
    for (let i = 0; i < n; i++) out.push(new DataView(this.g.read(this.slotIpa(this.rspCons + i), len).buffer));
    this.rspCons = prod;
    this.setHeader("rsp_event", (prod + 1) >>> 0);
    return out;
  }
}

function u32(v: number): Uint8Array { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); return b; }

export interface BlkConnect {
  queues: number;
  order: number; // ring pages per queue: 1 << order
  persistent: boolean;
  fresh: boolean; // new rings (else the shared pages are kept and carried on)
}

// blkfront for one vbd: its rings on gfns ringGfn.., granted as ringRef..
export class PlayedBlkFront {
  rings: PlayedRing[] = [];
  ports: number[] = [];
  constructor(readonly g: PlayedGuest, readonly ts: Toolstack, readonly grants: GrantEntries, readonly devid: number,
    readonly ringGfn: number, readonly ringRef: number) {}
  get fe(): string { return `/local/domain/${this.g.d.id}/device/vbd/${this.devid}`; }
  get be(): string { return `/local/domain/0/backend/vbd/${this.g.d.id}/${this.devid}`; }
  backendState(): number | null { const v = this.ts.xsRead(`${this.be}/state`); return v === null ? null : Number(v); }

  // Rings, grants, ports and keys, then Initialised; `tamper` may rewrite
  // any key before the state says so.
  connect(o: BlkConnect, tamper?: (fe: string) => void): void {
    this.dropPorts();
    const per = 1 << o.order;
    this.rings = [];
    const xs = (k: string, v: string): void => this.ts.xsWrite(`${this.fe}/${k}`, v);
    for (let q = 0; q < o.queues; q++) {
      const ring = new PlayedRing(this.g, this.ringGfn + q * per, per, BLKIF_RING_ENTRY);
      for (let p = 0; p < per; p++) this.grants.grant(this.ringRef + q * per + p, this.ringGfn + q * per + p, false);
      if (o.fresh) ring.reset(); else ring.resume();
      this.rings.push(ring);
      const port = allocPort(this.g);
      this.ports.push(port);
      const dir = o.queues === 1 ? "" : `queue-${q}/`;
      if (o.order === 0) xs(`${dir}ring-ref`, String(this.ringRef + q * per));
      else for (let p = 0; p < per; p++) xs(`${dir}ring-ref${p}`, String(this.ringRef + q * per + p));
      xs(`${dir}event-channel`, String(port));
    }
    if (o.queues > 1) xs("multi-queue-num-queues", String(o.queues));
    if (o.order > 0) xs("ring-page-order", String(o.order));
    xs("protocol", "arm-abi");
    xs("feature-persistent", o.persistent ? "1" : "0");
    tamper?.(this.fe);
    xs("state", String(XenbusState.Initialised));
  }
  // The frontend goes away (Closed) and comes back (Initialising), as on a
  // reconnect; what it had written before is cleared.
  close(): void {
    this.ts.xsWrite(`${this.fe}/state`, String(XenbusState.Closed));
    this.dropPorts();
  }
  reopen(): void {
    for (const k of ["ring-ref", "ring-page-order", "multi-queue-num-queues", "event-channel", ...[0, 1, 2, 3].map((q) => `queue-${q}`), ...Array.from({ length: 16 }, (_, p) => `ring-ref${p}`)]) {
      this.ts.xsRm(`${this.fe}/${k}`);
    }
    this.ts.xsWrite(`${this.fe}/state`, String(XenbusState.Initialising));
  }
  kick(q = 0): void { if (this.ports[q] !== undefined) sendPort(this.g, this.ports[q]); }
  private dropPorts(): void {
    for (const p of this.ports) closePort(this.g, p);
    this.ports = [];
  }
}

export interface NetConnect { gso: boolean; fresh: boolean }

// netfront for vif 0: TX and RX rings on txGfn/rxGfn, granted as txRef/rxRef.
export class PlayedNetFront {
  readonly tx: PlayedRing;
  readonly rx: PlayedRing;
  port = -1;
  constructor(readonly g: PlayedGuest, readonly ts: Toolstack, readonly grants: GrantEntries, readonly handle: number,
    readonly txGfn: number, readonly txRef: number, readonly rxGfn: number, readonly rxRef: number) {
    this.tx = new PlayedRing(g, txGfn, 1, NETIF_TX_ENTRY);
    this.rx = new PlayedRing(g, rxGfn, 1, NETIF_RX_ENTRY);
  }
  get fe(): string { return `/local/domain/${this.g.d.id}/device/vif/${this.handle}`; }
  get be(): string { return `/local/domain/0/backend/vif/${this.g.d.id}/${this.handle}`; }
  backendState(): number | null { const v = this.ts.xsRead(`${this.be}/state`); return v === null ? null : Number(v); }

  connect(o: NetConnect, tamper?: (fe: string) => void): void {
    if (this.port >= 0) closePort(this.g, this.port);
    this.grants.grant(this.txRef, this.txGfn, false);
    this.grants.grant(this.rxRef, this.rxGfn, false);
    for (const r of [this.tx, this.rx]) { if (o.fresh) r.reset(); else r.resume(); }
    this.port = allocPort(this.g);
    const xs = (k: string, v: string): void => this.ts.xsWrite(`${this.fe}/${k}`, v);
    xs("tx-ring-ref", String(this.txRef));
    xs("rx-ring-ref", String(this.rxRef));
    xs("event-channel", String(this.port));
    xs("request-rx-copy", "1");
    xs("feature-sg", "1");
    xs("feature-rx-notify", "1");
    xs("feature-gso-tcpv4", o.gso ? "1" : "0");
    xs("feature-gso-tcpv6", o.gso ? "1" : "0");
    tamper?.(this.fe);
    xs("state", String(XenbusState.Connected));
  }
  close(): void {
    this.ts.xsWrite(`${this.fe}/state`, String(XenbusState.Closed));
    if (this.port >= 0) closePort(this.g, this.port);
    this.port = -1;
  }
  reopen(): void {
    for (const k of ["tx-ring-ref", "rx-ring-ref", "event-channel", "request-rx-copy", "multi-queue-num-queues", "feature-gso-tcpv4", "feature-gso-tcpv6"]) this.ts.xsRm(`${this.fe}/${k}`);
    this.ts.xsWrite(`${this.fe}/state`, String(XenbusState.Initialising));
  }
  kick(): void { if (this.port >= 0) sendPort(this.g, this.port); }
}
