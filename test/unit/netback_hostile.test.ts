// Hostile frontends against netback. The test plays the netfront of two
// paused domains on xenbr0: it grants their ring and buffer pages, posts RX
// buffers and queues TX packets by writing their memory, and signals their
// event channels. Bad grants, runt frames and slots that overrun their page
// get error responses, as do GSO packets with a bad type, a segment size
// of 0 or 1, or a payload that is not TCP of the kind they claim;
// a good frame from the bad guest still reaches the
// good one intact; a packet chained past the slot limit gets the bad
// frontend cut off, and the good one keeps sending.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startHost } from "../helpers/host.js";
import { GuestPages, RAM_GFN } from "../helpers/guest_pages.js";
import { guestImage } from "../helpers/guest_programs.js";
import { parseVifSpec } from "../../src/tools/vif_spec.js";
import type { Toolstack } from "../../src/tools/toolstack.js";
import type { Host } from "../../src/host/host.js";
import type { Domain } from "../../src/xen/domain.js";
import { NETTXF, NETIF_RSP, NETIF_TX_ENTRY, NETIF_RX_ENTRY, XEN_NETIF_EXTRA_TYPE, XEN_NETIF_GSO_TYPE } from "../../src/xen/public/io/netif.js";
import { RING_HDR, RING_ENTRIES_OFFSET, ringSize } from "../../src/xen/public/io/ring.js";
import { XenbusState } from "../../src/xen/public/io/xenbus.js";

const TX = ringSize(NETIF_TX_ENTRY), RX = ringSize(NETIF_RX_ENTRY);
const TX_GFN = RAM_GFN + 64, RX_GFN = RAM_GFN + 65, BUF_GFN = RAM_GFN + 66; // buffers: BUF_GFN + i, granted as ref 20 + i

class NetFront extends GuestPages {
  txProd = 0; rxProd = 0; txCons = 0; rxCons = 0;
  readonly port: number;
  constructor(h: Host, readonly ts: Toolstack, d: Domain) {
    super(h, d);
    this.grant(8, TX_GFN, false);
    this.grant(9, RX_GFN, false);
    for (let i = 0; i < 8; i++) this.grant(20 + i, BUF_GFN + i, false);
    this.port = ts.dom0.xc.evtchnAllocUnbound(d.id, 0);
    const fe = `/local/domain/${d.id}/device/vif/0`;
    for (const [k, v] of [["tx-ring-ref", "8"], ["rx-ring-ref", "9"], ["event-channel", String(this.port)], ["request-rx-copy", "1"], ["state", String(XenbusState.Connected)]]) ts.xsWrite(`${fe}/${k}`, v);
  }
  // Post RX buffer i (page BUF_GFN + i) with request id i.
  postRx(i: number): void {
    const r = this.mem(RX_GFN), o = RING_ENTRIES_OFFSET + (this.rxProd % RX) * NETIF_RX_ENTRY;
    r.setUint16(o, i, true); r.setUint32(o + 4, 20 + i, true);
    this.rxProd++;
    r.setUint32(RING_HDR.req_prod, this.rxProd, true);
  }
  tx(id: number, gref: number, offset: number, size: number, flags = 0): void {
    const r = this.mem(TX_GFN), o = RING_ENTRIES_OFFSET + (this.txProd % TX) * NETIF_TX_ENTRY;
    r.setUint32(o, gref, true); r.setUint16(o + 4, offset, true); r.setUint16(o + 6, flags, true); r.setUint16(o + 8, id, true); r.setUint16(o + 10, size, true);
    this.txProd++;
  }
  // An extra-info slot (after a slot flagged extra_info): GSO of `gsoType` with segment size `size`.
  gsoExtra(size: number, gsoType: number): void {
    const r = this.mem(TX_GFN), o = RING_ENTRIES_OFFSET + (this.txProd % TX) * NETIF_TX_ENTRY;
    for (let i = 0; i < NETIF_TX_ENTRY; i++) r.setUint8(o + i, 0);
    r.setUint8(o, XEN_NETIF_EXTRA_TYPE.GSO); r.setUint16(o + 2, size, true); r.setUint8(o + 4, gsoType);
    this.txProd++;
  }
  push(): void { this.mem(TX_GFN).setUint32(RING_HDR.req_prod, this.txProd, true); this.d.evtchn.send(this.port); }
  txResponses(): Map<number, number> {
    const r = this.mem(TX_GFN), out = new Map<number, number>();
    for (const prod = r.getUint32(RING_HDR.rsp_prod, true); this.txCons !== prod; this.txCons++) {
      const o = RING_ENTRIES_OFFSET + (this.txCons % TX) * NETIF_TX_ENTRY;
      out.set(r.getUint16(o, true), r.getInt16(o + 2, true));
    }
    return out;
  }
  rxResponses(): { id: number; status: number }[] {
    const r = this.mem(RX_GFN), out: { id: number; status: number }[] = [];
    for (const prod = r.getUint32(RING_HDR.rsp_prod, true); this.rxCons !== prod; this.rxCons++) {
      const o = RING_ENTRIES_OFFSET + (this.rxCons % RX) * NETIF_RX_ENTRY;
      out.push({ id: r.getUint16(o, true), status: r.getInt16(o + 6, true) });
    }
    return out;
  }
}

test("netback answers hostile netfronts with errors, cuts off a runaway packet, and the other guest is unharmed", async () => {
  const th = startHost(256);
  const { host, ts } = th;
  const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20)); };
  try {
    const free0 = host.hv.frames.freeCount;
    const make = (name: string, mac: string): NetFront => {
      const g = ts.create({ name, memoryMiB: 16, vcpus: 1, kernel: guestImage("steady", { ROUNDS: 1 }), cmdline: "", paused: true, vifs: [parseVifSpec(`mac=${mac}, bridge=xenbr0`)] });
      return new NetFront(host, ts, host.hv.domains.get(g.domid)!);
    };
    const good = make("good", "00:16:3e:00:00:01"), bad = make("bad", "00:16:3e:00:00:02");
    await settle();
    for (const f of [good, bad]) assert.equal(ts.xsRead(`/local/domain/0/backend/vif/${f.d.id}/0/state`), String(XenbusState.Connected));
    good.postRx(0); good.postRx(1);
    good.d.evtchn.send(good.port);

    // a frame: broadcast from bad's MAC, then a recognisable payload
    const frame = new Uint8Array(100);
    frame.fill(0xFF, 0, 6); frame.set([0, 0x16, 0x3e, 0, 0, 2], 6); frame[12] = 0x88; frame[13] = 0xB5;
    for (let i = 14; i < frame.length; i++) frame[i] = i;
    bad.bytes(BUF_GFN).set(frame, 200);
    bad.tx(1, 4000, 0, 100);            // no such grant
    bad.tx(2, 20, 0, 10);               // a runt: shorter than an Ethernet header
    bad.tx(3, 20, 4090, 100);           // runs off the end of its page
    bad.tx(4, 20, 200, 100);            // fine
    bad.push();
    await settle();
    const r = bad.txResponses();
    assert.equal(r.get(1), NETIF_RSP.error);
    assert.equal(r.get(2), NETIF_RSP.error);
    assert.equal(r.get(3), NETIF_RSP.error);
    assert.equal(r.get(4), NETIF_RSP.okay);
    // GSO packets that lie: an unknown type, a zero segment size, a payload that is not TCP
    const tcp = new Uint8Array(14 + 20 + 20 + 200); // broadcast, IPv4, TCP, 200 bytes of data
    tcp.set(frame.subarray(0, 12), 0);
    tcp.set([0x08, 0x00, 0x45, 0, 0, 240, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1], 12);
    tcp.set([0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x10, 0], 34);
    bad.bytes(BUF_GFN).set(tcp, 1024);
    for (const [id, size, type, payload] of [
      [5, 1448, 9, tcp], [6, 0, XEN_NETIF_GSO_TYPE.TCPV4, tcp], [8, 1, XEN_NETIF_GSO_TYPE.TCPV4, tcp], // a TCP packet, but a bad type or size
      [7, 1448, XEN_NETIF_GSO_TYPE.TCPV4, frame], [9, 1448, XEN_NETIF_GSO_TYPE.TCPV6, tcp], // good GSO fields, but not TCP of that kind
    ] as const) {
      bad.tx(id, 20, payload === tcp ? 1024 : 200, payload.length, NETTXF.extra_info | NETTXF.csum_blank);
      bad.gsoExtra(size, type);
    }
    bad.push();
    await settle();
    const g = bad.txResponses();
    for (const id of [5, 6, 7, 8, 9]) assert.equal(g.get(id), NETIF_RSP.error, `GSO packet ${id} is refused`);
    assert.equal(g.get(0), NETIF_RSP.null, "its extra-info slots are answered as such");
    const got = good.rxResponses();
    assert.equal(got.length, 1, "only the good frame was forwarded");
    assert.equal(got[0].status, 100);
    assert.deepEqual(Buffer.from(good.bytes(BUF_GFN + got[0].id).subarray(0, 100)), Buffer.from(frame), "it arrived intact");

    // a packet chained past the slot limit: the backend stops serving that frontend
    for (let i = 0; i < 30; i++) bad.tx(100 + i, 20, 0, i === 0 ? 3000 : 100, NETTXF.more_data);
    bad.push();
    await settle();
    const beBad = `/local/domain/0/backend/vif/${bad.d.id}/0`;
    assert.equal(ts.xsRead(`${beBad}/state`), String(XenbusState.Closing));
    assert.match(ts.xsRead(`${beBad}/error`) ?? "", /more than 18 slots/);

    // the good guest still sends
    good.bytes(BUF_GFN + 5).set(frame.map((b, i) => (i >= 6 && i < 12 ? [0, 0x16, 0x3e, 0, 0, 1][i - 6] : b)), 0);
    good.grant(25, BUF_GFN + 5, true);
    good.tx(7, 25, 0, 100);
    good.push();
    await settle();
    assert.equal(good.txResponses().get(7), NETIF_RSP.okay);

    for (const f of [good, bad]) ts.destroy(f.d.id);
    assert.equal(ts.gnt.mapped, 0, "no grant stays mapped");
    assert.equal(ts.netback.devices.size, 0);
    assert.equal(host.hv.frames.freeCount, free0, "every frame is back");
  } finally {
    await th.done();
  }
});
