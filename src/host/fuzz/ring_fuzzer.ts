// `xents fuzz rings`: an attacker guest whose blkfront and netfront the
// fuzzer plays, against Domain-0's blkback and netback. It sends random and
// mutated blkif requests (every operation, segment counts and sector ranges
// of every size, indirect descriptors, grant references of every kind) on
// three disks (raw read-write, raw read-only, qcow2), netif TX packets (slot
// chains, flags, extra-info and GSO slots, sizes and offsets past the page)
// and RX buffers; it runs the rings' indexes past their ends, rewrites and
// revokes its grants, gives back pages the backends have mapped, tampers
// with the xenbus handshake, and reconnects or dies mid-I/O.
//
// Where the attacker's request is fully known, the answer is checked
// against what a correct backend must say (each request answered once,
// okay or error as blkif.h and netif.h make it, data that reached or came
// from the disk file), and well-formed frames it sends must reach the other
// guest intact. Beside it a victim guest does checked I/O on its own disk
// and network every batch; its canary pages, its xenstore nodes and its
// disk must be untouched, and no byte of its disk may appear in the
// attacker's memory. At the end both guests are destroyed and Domain-0's
// books (frames, grant mappings, ports, devices, xenstore) must be back.

import { mkdtempSync, rmSync, writeFileSync, openSync, readSync, closeSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host.js";
import { Dom0 } from "../../tools/dom0.js";
import { Toolstack, Guest } from "../../tools/toolstack.js";
import { parseDiskSpec } from "../../tools/disk_spec.js";
import { parseVifSpec } from "../../tools/vif_spec.js";
import { auditMemory } from "../../xen/audit.js";
import { PlayedGuest, RAM0_GFN } from "./played_guest.js";
import { GrantEntries, PlayedBlkFront, PlayedNetFront, PlayedRing } from "./played_frontends.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";
import { idleImage } from "./idle_image.js";
import { BLKIF_OP, BLKIF_RSP, BLKIF_SECTOR, BLKIF_MAX_SEGMENTS_PER_REQUEST } from "../../xen/public/io/blkif.js";
import { NETTXF, NETRXF, NETIF_RSP, XEN_NETIF_EXTRA_TYPE, XEN_NETIF_GSO_TYPE, XEN_NETIF_EXTRA_FLAG_MORE } from "../../xen/public/io/netif.js";
import { XenbusState } from "../../xen/public/io/xenbus.js";
import { GTF_permit_access, GTF_readonly } from "../../xen/public/grant_table.js";
import { MAGIC_CONSOLE_PFN, MAGIC_XENSTORE_PFN } from "../../xen/public/arch_arm.js";

export interface RingFuzzOptions { iterations: number; seed: number }

export interface RingFuzzReport extends FuzzFigures {
  target: "rings";
  blk_requests: number;
  net_tx_slots: number;
  net_rx_buffers: number;
  checked_answers: number; // answers (and data) checked against what a correct backend must do
  wrong_answers: number;
  frames_delivered: number; // well-formed attacker frames that reached the victim intact
  cutoffs: number; // times a backend cut the attacker off for breaking a protocol
  reconnects: number;
  rebirths: number; // times the attacker was destroyed mid-I/O and made again
  victim_ios: number; // the victim's checked disk and network round trips
}

// Page offsets from the start of RAM; a page's grant reference is its offset.
const BLK_RING = (v: number): number => 64 + v * 64; // 64 pages per disk: 4 queues of 16
const NET_TX = 256, NET_RX = 257;
const DATA = 272, NDATA = 32; // granted read-write
const RO_REF = 304, NRO = 8; // read-only grants of DATA..DATA+7
const INDIRECT = 320, NINDIRECT = 8; // indirect descriptor pages, granted read-only as Linux does
const VICTIM_RX = 336, NVICTIM_RX = 64;
const CANARY = 400, NCANARY = 16;
const NEVER_GRANTED = 440; // refs from here to 511 are never written: always unmappable
const DISK_BYTES = 2 << 20;
const SECTORS = DISK_BYTES / BLKIF_SECTOR;
const MARK = Buffer.from("victim-disk-canary");
const VICTIM_MAC = [0, 0x16, 0x3e, 0x5f, 0, 1], ATTACKER_MAC = [0, 0x16, 0x3e, 0x5f, 0, 2];
const BATCH = 16;
const DISKS = [
  { devid: 51712, vdev: "xvda", format: "raw", readonly: false },
  { devid: 51728, vdev: "xvdb", format: "raw", readonly: true },
  { devid: 51744, vdev: "xvdc", format: "qcow2", readonly: false },
] as const;

type Kind = { k: "rw" | "ro"; gfn: number } | { k: "none" } | { k: "raw" };
type RefClass = "good" | "ro" | "bad" | "unknown";
interface Seg { gref: number; first: number; last: number }

export async function fuzzRings(o: RingFuzzOptions): Promise<RingFuzzReport> {
  const tally = new FuzzTally<RingFuzzReport>("rings", o, {
    blk_requests: 0, net_tx_slots: 0, net_rx_buffers: 0, checked_answers: 0, wrong_answers: 0, frames_delivered: 0,
    cutoffs: 0, reconnects: 0, rebirths: 0, victim_ios: 0,
  });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  let iteration = 0; // named in findings, so that a run can be cut short just after one to study it
  const wrong = (what: string): void => { r.wrong_answers++; tally.note(`wrong answer at iteration ${iteration}: ${what}`); };
  // a backend's exception that escaped into a watch callback would take a real host down
  const uncaught = (e: unknown): void => tally.exception("uncaught", e);
  process.on("uncaughtException", uncaught);

  const host = new Host({ ramBytes: 128 << 20, deterministic: true, log: () => {} });
  const hv = host.hv;
  const dom0 = new Dom0(host.privcmd);
  const ts = new Toolstack(dom0, process.env.XENTS_FUZZ_LOG ? (l) => process.stderr.write(l + "\n") : undefined);
  const dir = mkdtempSync(join(tmpdir(), "xents-fuzz-rings-"));
  const settle = async (): Promise<void> => { for (let i = 0; i < 8; i++) await new Promise((res) => setImmediate(res)); };
  const books = (): string => JSON.stringify({
    free: hv.frames.freeCount, domains: hv.domains.size, nodes: ts.xenstored.store.size(), conns: ts.xenstored.connections.size,
    ports: hv.domains.get(0)!.evtchn.inUse(), window: String(dom0.xc.window.inUse()), grants: ts.gnt.mapped,
    blk: ts.blkback.devices.size, net: ts.netback.devices.size,
  });
  const baseline = books();

  // ---- disks
  const img = (name: string): string => join(dir, name);
  const victimDisk = new Uint8Array(DISK_BYTES);
  for (let s = 0; s < SECTORS; s++) {
    victimDisk.set(MARK, s * BLKIF_SECTOR);
    for (let i = MARK.length; i < BLKIF_SECTOR; i++) victimDisk[s * BLKIF_SECTOR + i] = (s * 31 + i) & 0xFF;
  }
  writeFileSync(img("victim.img"), victimDisk);
  const roBytes = new Uint8Array(DISK_BYTES).map((_, i) => (i * 13 + (i >> 9)) & 0xFF);
  writeFileSync(img("attacker-ro.img"), roBytes);
  writeFileSync(img("attacker-rw.img"), new Uint8Array(DISK_BYTES));
  try { execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", img("attacker.qcow2"), String(DISK_BYTES)]); } catch (e) {
    throw new Error(`the ring fuzzer needs qemu-img (Debian package qemu-utils): ${(e as Error).message}`);
  }
  const roHash = createHash("sha256").update(roBytes).digest("hex");
  const rawFds = [openSync(img("attacker-rw.img"), "r"), openSync(img("attacker-ro.img"), "r")];
  const fileBytes = (v: number, pos: number, len: number): Uint8Array => {
    const b = new Uint8Array(len);
    readSync(rawFds[v], b, 0, len, pos);
    return b;
  };

  const kernel = idleImage();
  const page = (g: PlayedGuest, off: number): Uint8Array | null => g.page(RAM0_GFN + off);

  // ---- the victim: well behaved, checked every batch
  const victim = ts.create({ name: "victim", memoryMiB: 16, vcpus: 1, kernel, cmdline: "", paused: true,
    disks: [parseDiskSpec(`${img("victim.img")},raw,xvda,rw`)], vifs: [parseVifSpec(`mac=${mac(VICTIM_MAC)}, bridge=xenbr0`)] });
  const vg = new PlayedGuest(hv, hv.domains.get(victim.domid)!);
  const vgr = new GrantEntries(vg);
  for (let i = 0; i < NDATA; i++) vgr.grant(DATA + i, RAM0_GFN + DATA + i, false);
  for (let i = 0; i < NVICTIM_RX; i++) vgr.grant(VICTIM_RX + i, RAM0_GFN + VICTIM_RX + i, false);
  const vblk = new PlayedBlkFront(vg, ts, vgr, 51712, RAM0_GFN + BLK_RING(0), BLK_RING(0));
  const vnet = new PlayedNetFront(vg, ts, vgr, 0, RAM0_GFN + NET_TX, NET_TX, RAM0_GFN + NET_RX, NET_RX);
  await settle();
  vblk.connect({ queues: 1, order: 0, persistent: true, fresh: true });
  vnet.connect({ gso: true, fresh: true });
  await settle();
  if (vblk.backendState() !== XenbusState.Connected || vnet.backendState() !== XenbusState.Connected) throw new Error("the victim's devices did not connect");
  const canary = (i: number): Uint8Array => new Uint8Array(4096).map((_, j) => (j * 7 + i * 101 + 0x5A) & 0xFF);
  for (let i = 0; i < NCANARY; i++) vg.write((BigInt(RAM0_GFN + CANARY + i)) << 12n, canary(i));
  const vHome = `/local/domain/${victim.domid}`;
  ts.xsWrite(`${vHome}/data/canary`, "victim-xenstore-canary", [`n${victim.domid}`]);
  const victimNodes = (): string => [...ts.xenstored.store.entries()]
    .filter(([p]) => p.startsWith(`${vHome}/`) || p.startsWith(`/local/domain/0/backend/vbd/${victim.domid}/`) || p.startsWith(`/local/domain/0/backend/vif/${victim.domid}/`))
    .map(([p, n]) => `${p}=${Buffer.from(n.value).toString("latin1")}:${n.perms.map((x) => x.access + x.domid).join(",")}`).sort().join("\n");
  const victimBefore = victimNodes();

  // the victim's RX: every buffer posted, reposted as it comes back; frames reassembled
  const vRxPosted: number[] = []; // buffer id by ring index
  const postVictimRx = (): void => {
    const ring = vnet.rx;
    while (((ring.reqProd - ring.rspCons) >>> 0) < NVICTIM_RX) {
      const idx = ring.reqProd;
      const id = idx % NVICTIM_RX;
      const b = new Uint8Array(8), dv = new DataView(b.buffer);
      dv.setUint16(0, id, true); dv.setUint32(4, VICTIM_RX + id, true);
      vRxPosted[idx % ring.size] = id;
      ring.put(b);
    }
    ring.publish();
  };
  const sentGood = new Map<string, number>(); // well-formed attacker frames on their way: hash -> count
  const hashOf = (b: Uint8Array): string => createHash("sha1").update(b).digest("hex");
  let partial: Uint8Array[] = [];
  let extraNext = false;
  const collectVictimRx = (): void => {
    const ring = vnet.rx;
    const first = ring.rspCons;
    const rsps = ring.take(8);
    rsps.forEach((v, k) => {
      const idx = (first + k) >>> 0;
      const buf = vRxPosted[idx % ring.size];
      if (extraNext) { extraNext = (v.getUint8(1) & XEN_NETIF_EXTRA_FLAG_MORE) !== 0; return; }
      const id = v.getUint16(0, true), offset = v.getUint16(2, true), flags = v.getUint16(4, true), status = v.getInt16(6, true);
      if (id !== buf) wrong(`the victim's RX response ${idx} names buffer ${id}, not ${buf}`);
      if (status < 0 || offset + status > 4096) { wrong(`the victim's RX buffer ${buf} came back with status ${status} at offset ${offset}`); return; }
      partial.push(page(vg, VICTIM_RX + buf)!.slice(offset, offset + status));
      if (flags & NETRXF.extra_info) extraNext = true;
      if (flags & NETRXF.more_data) return;
      const frame = new Uint8Array(Buffer.concat(partial));
      partial = [];
      const h = hashOf(frame);
      const n = sentGood.get(h);
      if (n !== undefined) { r.frames_delivered++; if (n > 1) sentGood.set(h, n - 1); else sentGood.delete(h); }
      if (frame.length < 14) wrong(`the victim got a ${frame.length}-byte frame`);
    });
    postVictimRx();
    vnet.kick();
    hv.runFor(1);
  };
  postVictimRx();

  // the victim's checked round trips: a write, read back, and a read of elsewhere
  let vId = 1n;
  const victimBlk = (op: number, sector: number, off: number): number => {
    const ring = vblk.rings[0];
    const b = new Uint8Array(112), dv = new DataView(b.buffer);
    const id = vId++;
    b[0] = op; b[1] = 1; dv.setBigUint64(8, id, true); dv.setBigUint64(16, BigInt(sector), true);
    dv.setUint32(24, DATA + off, true); b[28] = 0; b[29] = 7;
    ring.put(b); ring.publish(); vblk.kick(); hv.runFor(1);
    const rsp = ring.take(16);
    if (rsp.length !== 1 || rsp[0].getBigUint64(0, true) !== id) { wrong(`the victim's request ${id} got ${rsp.length} answers`); return -99; }
    return rsp[0].getInt16(10, true);
  };
  const victimRound = (): void => {
    const s = rng.int(SECTORS - 8);
    const data = new Uint8Array(4096);
    for (let k = 0; k < 8; k++) { data.set(MARK, k * 512); for (let i = MARK.length; i < 512; i++) data[k * 512 + i] = rng.int(256); }
    vg.write(BigInt(RAM0_GFN + DATA) << 12n, data);
    if (victimBlk(BLKIF_OP.write, s, 0) !== BLKIF_RSP.okay) wrong("the victim's write failed");
    else victimDisk.set(data, s * BLKIF_SECTOR);
    const t = rng.int(SECTORS - 8);
    for (const [sector, off] of [[s, 1], [t, 2]]) {
      if (victimBlk(BLKIF_OP.read, sector, off) !== BLKIF_RSP.okay) { wrong("the victim's read failed"); continue; }
      if (!Buffer.from(page(vg, DATA + off)!).equals(victimDisk.subarray(sector * 512, sector * 512 + 4096))) wrong(`the victim read sector ${sector} wrong`);
    }
    // a frame to the attacker, for its RX ring
    const f = new Uint8Array(60 + rng.int(1400));
    f.set(rng.chance(0.5) ? [255, 255, 255, 255, 255, 255] : ATTACKER_MAC, 0); f.set(VICTIM_MAC, 6); f[12] = 0x88; f[13] = 0xB5;
    for (let i = 14; i < f.length; i++) f[i] = rng.int(256);
    vg.write(BigInt(RAM0_GFN + DATA + 3) << 12n, f);
    const tx = vnet.tx;
    const b = new Uint8Array(12), dv = new DataView(b.buffer);
    dv.setUint32(0, DATA + 3, true); dv.setUint16(8, 7, true); dv.setUint16(10, f.length, true);
    tx.put(b); tx.publish(); vnet.kick(); hv.runFor(1);
    const tr = tx.take(4);
    if (tr.length !== 1 || tr[0].getInt16(2, true) !== NETIF_RSP.okay) wrong("the victim's frame was not sent");
    collectVictimRx();
    r.victim_ios++;
  };
  const checkVictim = (): void => {
    for (let i = 0; i < NCANARY; i++) if (!Buffer.from(page(vg, CANARY + i)!).equals(canary(i))) tally.leak(`the victim's canary page ${i} changed`);
    if (victimNodes() !== victimBefore) tally.leak("the victim's xenstore nodes changed");
    // nothing of the victim's disk in the attacker's memory
    for (let p = 64; p < NEVER_GRANTED; p++) {
      const pg = page(a.g, p);
      if (pg && Buffer.from(pg.buffer, pg.byteOffset, 4096).includes(MARK)) { tally.leak(`the victim's disk bytes in the attacker's page ${p}`); break; }
    }
    if (sentGood.size) { wrong(`${sentGood.size} well-formed frames from the attacker never reached the victim`); sentGood.clear(); }
  };

  // ---- the attacker
  interface Attacker {
    guest: Guest; g: PlayedGuest; grants: GrantEntries;
    kinds: Kind[]; // per grant ref, what the fuzzer wrote there
    wild: Set<number>; // refs that were ever entries of any content
    // per disk: whether it negotiated persistent grants, and the refs it
    // may still hold mapped (persistent)
    // layout: the queues and pages per queue of the rings it last connected with
    blk: { f: PlayedBlkFront; persistent: boolean; held: Set<number>; trusted: boolean; layout: string }[];
    net: { f: PlayedNetFront; trusted: boolean; rxOutstanding: number };
  }
  let a: Attacker;
  const makeAttacker = async (): Promise<Attacker> => {
    stalePins.clear(); // a new guest: its predecessor's mappings went with it
    const guest = ts.create({ name: "attacker", memoryMiB: 16, vcpus: 1, kernel, cmdline: "", paused: true,
      disks: DISKS.map((d) => parseDiskSpec(`${img(d.format === "qcow2" ? "attacker.qcow2" : d.readonly ? "attacker-ro.img" : "attacker-rw.img")},${d.format},${d.vdev},${d.readonly ? "r" : "rw"}`)),
      vifs: [parseVifSpec(`mac=${mac(ATTACKER_MAC)}, bridge=xenbr0`)] });
    const g = new PlayedGuest(hv, hv.domains.get(guest.domid)!);
    const grants = new GrantEntries(g);
    const kinds: Kind[] = Array.from({ length: 512 }, () => ({ k: "none" }));
    const at: Attacker = {
      guest, g, grants, kinds, wild: new Set<number>(),
      blk: DISKS.map((d, v) => ({ f: new PlayedBlkFront(g, ts, grants, d.devid, RAM0_GFN + BLK_RING(v), BLK_RING(v)), persistent: false, held: new Set<number>(), trusted: false, layout: "" })),
      net: { f: new PlayedNetFront(g, ts, grants, 0, RAM0_GFN + NET_TX, NET_TX, RAM0_GFN + NET_RX, NET_RX), trusted: false, rxOutstanding: 0 },
    };
    a = at;
    for (let i = 0; i < NDATA; i++) setGrant(DATA + i, "rw", DATA + i);
    for (let i = 0; i < NRO; i++) setGrant(RO_REF + i, "ro", DATA + i);
    for (let i = 0; i < NINDIRECT; i++) setGrant(INDIRECT + i, "ro", INDIRECT + i);
    await settle();
    for (let v = 0; v < DISKS.length; v++) await connectBlk(v, false);
    await connectNet(false);
    return at;
  };
  const setGrant = (ref: number, k: "rw" | "ro", off: number): void => {
    a.grants.grant(ref, RAM0_GFN + off, k === "ro");
    a.kinds[ref] = { k, gfn: off };
  };
  // A ref whose grant entry or page changed while some disk held it mapped
  // persistently: the entry stays pinned to the frame it had, and every
  // mapping made while any disk still holds it gets that frame too (Xen maps
  // a pinned entry again without reading it). It stays unknown until no
  // disk holds it any more, whichever disk reconnected in between.
  const stalePins = new Set<number>();
  const heldAnywhere = (ref: number): boolean => a.blk.some((b) => b.persistent && b.held.has(ref));
  const touched = (ref: number): void => { if (heldAnywhere(ref)) stalePins.add(ref); };
  // What mapping ref would give Domain-0 now. A ref changed while a disk
  // with persistent grants may hold it mapped is unknown: the grant stays
  // pinned as it was, and Xen maps a pinned entry again without reading it.
  const ringPage = (gfn: number): boolean => gfn < DATA || gfn >= VICTIM_RX; // rings and the victim's pages, not data
  const refClass = (ref: number): RefClass => {
    if (ref >= NEVER_GRANTED) return "bad";
    if (stalePins.has(ref)) return "unknown";
    const kd = a.kinds[ref];
    if (kd.k === "raw") return "unknown";
    if (kd.k === "none") return "bad";
    if (ringPage(kd.gfn)) return "unknown"; // a ring page: using it corrupts the ring
    if (!a.g.page(RAM0_GFN + kd.gfn)) return "bad"; // given back
    return kd.k === "rw" ? "good" : "ro";
  };

  const tamperOne = (fe: string, keys: string[]): string => {
    const k = rng.pick(keys);
    const v = rng.pick(["", "x", "-1", "0", "4000", "4294967296", "99", "5", "2", "x86_32-abi", "1e3", "511"]);
    ts.xsWrite(`${fe}/${k}`, v);
    return `${k}=${v}`;
  };
  const connectBlk = async (v: number, fuzzed: boolean): Promise<void> => {
    const b = a.blk[v];
    b.f.close();
    await settle();
    b.f.reopen();
    await settle();
    const queues = fuzzed && rng.chance(0.5) ? 1 + rng.int(4) : 1;
    const order = fuzzed && rng.chance(0.5) ? rng.int(5) : 0;
    const fresh = !fuzzed || rng.chance(0.8);
    let tampered = "";
    b.f.connect({ queues, order, persistent: rng.chance(0.6), fresh }, (fe) => {
      if (fuzzed && rng.chance(0.3)) tampered = tamperOne(fe, ["ring-ref", "ring-ref0", "event-channel", "protocol", "multi-queue-num-queues", "ring-page-order", "feature-persistent", "queue-0/ring-ref", "queue-1/event-channel"]);
    });
    await settle();
    r.reconnects++;
    b.persistent = ts.xsRead(`${b.f.fe}/feature-persistent`) === "1";
    b.held.clear();
    for (const ref of stalePins) if (!heldAnywhere(ref)) stalePins.delete(ref);
    for (let i = 0; i < 64; i++) if (i < queues << order) a.kinds[BLK_RING(v) + i] = { k: "rw", gfn: BLK_RING(v) + i };
    const st = b.f.backendState();
    // A kept ring carries whatever indexes it was left with: the backend may
    // rightly refuse it. Kept with another layout, a queue's ring is pages
    // that were some other ring's entries, or no ring's: nothing is known of it.
    const layout = `${queues}/${order}`;
    b.trusted = !tampered && (fresh || (b.trusted && layout === b.layout)) && st === XenbusState.Connected;
    b.layout = layout;
    if (!tampered && fresh && st !== XenbusState.Connected) wrong(`disk ${v} did not connect (${queues} queues, order ${order}): state ${st}, ${ts.xsRead(`${b.f.be}/error`)}`);
    tally.result(`blk connect${tampered ? ` ${tampered.replace(/=.*/, "=?")}` : ""} -> ${st === XenbusState.Connected ? "connected" : `state ${st}`}`);
  };
  const connectNet = async (fuzzed: boolean): Promise<void> => {
    const n = a.net;
    n.f.close();
    await settle();
    n.f.reopen();
    await settle();
    const fresh = !fuzzed || rng.chance(0.8);
    let tampered = "";
    n.f.connect({ gso: rng.chance(0.5), fresh }, (fe) => {
      if (fuzzed && rng.chance(0.3)) tampered = tamperOne(fe, ["tx-ring-ref", "rx-ring-ref", "event-channel", "request-rx-copy", "multi-queue-num-queues", "feature-gso-tcpv4"]);
      if (fuzzed && rng.chance(0.05)) { ts.xsWrite(`${fe}/rx-ring-ref`, String(NET_TX)); tampered = "rx-ring-ref=tx"; }
    });
    await settle();
    r.reconnects++;
    const st = n.f.backendState();
    n.trusted = !tampered && (fresh || n.trusted) && st === XenbusState.Connected;
    n.rxOutstanding = 0;
    a.kinds[NET_TX] = { k: "rw", gfn: NET_TX };
    a.kinds[NET_RX] = { k: "rw", gfn: NET_RX };
    if (!tampered && fresh && st !== XenbusState.Connected) wrong(`the vif did not connect: state ${st}, ${ts.xsRead(`${n.f.be}/error`)}`);
    tally.result(`net connect${tampered ? ` ${tampered.replace(/=.*/, "=?")}` : ""} -> ${st === XenbusState.Connected ? "connected" : `state ${st}`}`);
  };
  const cutOff = (be: string): boolean => {
    const st = ts.xsRead(`${be}/state`);
    return st !== String(XenbusState.Connected);
  };

  // ---- blkif requests
  const pickRef = (): number => {
    const k = rng.int(100);
    if (k < 75) return DATA + rng.int(NDATA);
    if (k < 82) return RO_REF + rng.int(NRO);
    if (k < 88) return NEVER_GRANTED + rng.int(512 - NEVER_GRANTED);
    if (k < 92) return INDIRECT + rng.int(NINDIRECT);
    if (k < 99) return rng.pick([0, 512, 4000, 0xFFFFFFFF, rng.u32()]);
    return BLK_RING(rng.int(3)) + rng.int(4); // a ring page: reads into it corrupt that ring
  };
  const pickSeg = (): Seg => {
    const gref = pickRef();
    if (rng.chance(0.9)) { const first = rng.int(8); return { gref, first, last: first + rng.int(8 - first) }; }
    return { gref, first: rng.int(256), last: rng.int(256) };
  };
  const pickSector = (total: number): bigint => {
    const k = rng.int(100);
    if (k < 88) return BigInt(rng.int(Math.max(1, SECTORS - total)));
    if (k < 94) return BigInt(SECTORS - rng.int(8));
    return rng.pick([1n << 63n, (1n << 64n) - 1n, BigInt(rng.u32()) << 32n, BigInt(SECTORS)]);
  };
  // What a correct backend answers a read or write with these segments:
  // null when it depends on something the fuzzer does not know.
  const expectRw = (v: number, op: number, segs: Seg[], sector: bigint, maxSegs: number): number | null => {
    const b = a.blk[v];
    if (segs.length === 0 || segs.length > maxSegs) return BLKIF_RSP.error;
    if (op === BLKIF_OP.write && DISKS[v].readonly) return BLKIF_RSP.error;
    let total = 0;
    for (const s of segs) { if (s.first > s.last || s.last >= 8) return BLKIF_RSP.error; total += s.last - s.first + 1; }
    if (sector + BigInt(total) > BigInt(SECTORS)) return BLKIF_RSP.error;
    let unknown = false;
    for (const s of segs) {
      const c = refClass(s.gref);
      if (c === "bad") return BLKIF_RSP.error;
      if (c === "ro" && (op === BLKIF_OP.read || b.persistent)) return BLKIF_RSP.error;
      if (c === "unknown") unknown = true;
    }
    return unknown ? null : BLKIF_RSP.okay;
  };
  // Until a ring is made afresh its answers cannot be checked once anything
  // may have landed in it; the attacker's own rings all count as one here.
  const untrustAll = (): void => {
    for (const b of a.blk) b.trusted = false;
    a.net.trusted = false;
  };
  // The attacker writing a page of its own that is a ring (an indirect
  // descriptor page or a TCP packet put where a ring ref points) scribbles on
  // that ring itself, requests not yet read included.
  const scribbled = (gfn: number): void => { if (ringPage(gfn)) untrustAll(); };
  // Data written through a ref that is, or may still be held as, a ring
  // page or an entry of any content may land in any ring.
  const untrustIfUnknown = (grefs: number[]): void => {
    const ringish = (g: number): boolean => { const kd = a.kinds[g]; return kd.k === "raw" || ((kd.k === "rw" || kd.k === "ro") && ringPage(kd.gfn)); };
    if (grefs.some((g) => g < 512 && refClass(g) === "unknown" && (ringish(g) || a.wild.has(g)))) untrustAll();
  };
  let nextId = 1n;
  const blkRequests = (v: number): void => {
    const b = a.blk[v];
    if (!b.f.rings.length) return;
    const q = rng.int(b.f.rings.length);
    const ring: PlayedRing = b.f.rings[q];
    const count = 1 + rng.int(4);
    interface Pending { id: bigint; op: number; expect: number | null; check?: () => void; what?: string }
    const pending: Pending[] = [];
    const descFor = new Map<number, Pending>(); // indirect pages written in this batch, and the request that reads them
    for (let n = 0; n < count; n++) {
      const req = new Uint8Array(112), dv = new DataView(req.buffer);
      const id = rng.chance(0.97) ? nextId++ : BigInt(rng.u32());
      dv.setBigUint64(8, id, true);
      const k = rng.int(100);
      let p: Pending;
      if (k < 68) {
        const op = k < 38 ? BLKIF_OP.read : BLKIF_OP.write;
        const nseg = rng.chance(0.93) ? 1 + rng.int(BLKIF_MAX_SEGMENTS_PER_REQUEST) : rng.pick([0, 12, 255]);
        const segs = Array.from({ length: nseg }, pickSeg);
        const sector = pickSector(segs.reduce((t, s) => t + Math.max(0, s.last - s.first + 1), 0));
        req[0] = op; req[1] = nseg; dv.setBigUint64(16, sector, true);
        segs.slice(0, 11).forEach((s, i) => { dv.setUint32(24 + i * 8, s.gref, true); req[28 + i * 8] = s.first; req[29 + i * 8] = s.last; });
        if (op === BLKIF_OP.write) for (const s of segs.slice(0, 3)) fillPage(s.gref);
        if (op === BLKIF_OP.read) untrustIfUnknown(segs.slice(0, 11).map((s) => s.gref));
        if (b.persistent) for (const s of segs.slice(0, 11)) b.held.add(s.gref);
        p = { id, op, expect: expectRw(v, op, segs, sector, BLKIF_MAX_SEGMENTS_PER_REQUEST), what: describe(segs, sector) };
        if (p.expect === BLKIF_RSP.okay && DISKS[v].format === "raw") p.check = dataCheck(v, op, segs, Number(sector));
      } else if (k < 78) {
        // indirect: descriptors in an indirect page
        const iop = rng.chance(0.9) ? rng.pick([BLKIF_OP.read, BLKIF_OP.write]) : rng.pick([BLKIF_OP.flush_diskcache, BLKIF_OP.indirect, 77]);
        const nseg = rng.chance(0.9) ? 1 + rng.int(rng.chance(0.5) ? 16 : 256) : rng.pick([0, 257, 512, 4097, 65535]);
        const segs = Array.from({ length: Math.min(nseg, 300) }, pickSeg);
        const sector = pickSector(segs.reduce((t, s) => t + Math.max(0, s.last - s.first + 1), 0));
        const ind = rng.chance(0.9) ? INDIRECT + rng.int(NINDIRECT) : pickRef();
        req[0] = BLKIF_OP.indirect; req[1] = iop; dv.setUint16(2, nseg, true); dv.setBigUint64(16, sector, true); dv.setUint32(28, ind, true);
        for (let i = 1; i < 8; i++) dv.setUint32(28 + i * 4, rng.chance(0.5) ? INDIRECT + rng.int(NINDIRECT) : rng.u32(), true);
        const kd = ind < 512 ? a.kinds[ind] : { k: "none" as const };
        let descKnown = false;
        if (kd.k === "rw" || kd.k === "ro") {
          const desc = new Uint8Array(4096), ddv = new DataView(desc.buffer);
          segs.slice(0, 512).forEach((s, i) => { ddv.setUint32(i * 8, s.gref, true); desc[i * 8 + 4] = s.first; desc[i * 8 + 5] = s.last; });
          descKnown = a.g.tryWrite(BigInt(RAM0_GFN + kd.gfn) << 12n, desc) && kd.gfn >= INDIRECT && kd.gfn < INDIRECT + NINDIRECT;
          scribbled(kd.gfn);
          // an earlier request of this batch whose descriptors were there now reads these
          const earlier = descFor.get(kd.gfn);
          if (earlier) { earlier.expect = null; earlier.check = undefined; }
        }
        if (iop === BLKIF_OP.write) for (const s of segs.slice(0, 3)) fillPage(s.gref);
        if (iop === BLKIF_OP.read) untrustIfUnknown(segs.slice(0, 256).map((s) => s.gref));
        // descriptors the fuzzer did not write (a data page, a stale one) name any refs, rings' included
        if (iop === BLKIF_OP.read && !descKnown && refClass(ind) !== "bad") untrustAll();
        if (b.persistent) for (const s of segs.slice(0, 256)) b.held.add(s.gref);
        const respOp = iop === BLKIF_OP.read || iop === BLKIF_OP.write ? iop : BLKIF_OP.indirect;
        let expect: number | null;
        if (respOp === BLKIF_OP.indirect || nseg === 0 || nseg > 256) expect = BLKIF_RSP.error;
        else {
          const ic = refClass(ind);
          if (ic === "bad") expect = BLKIF_RSP.error;
          else if (ic === "unknown" || !descKnown) expect = null;
          else expect = expectRw(v, iop, segs.slice(0, nseg), sector, 256);
        }
        p = { id, op: respOp, expect, what: `indirect ${ind} ${describe(segs.slice(0, nseg), sector)}` };
        if (kd.k === "rw" || kd.k === "ro") descFor.set(kd.gfn, p);
        if (expect === BLKIF_RSP.okay && DISKS[v].format === "raw") p.check = dataCheck(v, iop, segs.slice(0, nseg), Number(sector));
      } else if (k < 84) {
        req[0] = BLKIF_OP.flush_diskcache;
        p = { id, op: BLKIF_OP.flush_diskcache, expect: BLKIF_RSP.okay };
      } else if (k < 92) {
        const sector = pickSector(0);
        const count = rng.chance(0.9) ? BigInt(rng.int(64)) : rng.pick([BigInt(SECTORS), (1n << 64n) - 1n, 1n << 40n]);
        req[0] = BLKIF_OP.discard; req[1] = rng.int(2); dv.setBigUint64(16, sector, true); dv.setBigUint64(24, count, true);
        const expect = DISKS[v].readonly ? BLKIF_RSP.eopnotsupp : sector + count > BigInt(SECTORS) ? BLKIF_RSP.error : BLKIF_RSP.okay;
        p = { id, op: BLKIF_OP.discard, expect };
        if (expect === BLKIF_RSP.okay && DISKS[v].format === "raw") {
          const at = Number(sector) * 512, len = Number(count) * 512;
          p.check = () => { if (fileBytes(0, at, len).some((x) => x !== 0)) wrong(`a discard of ${len} bytes at ${at} did not read back as zeros`); };
        }
      } else if (k < 95) {
        req[0] = BLKIF_OP.write_barrier; req[1] = 1;
        p = { id, op: BLKIF_OP.write_barrier, expect: BLKIF_RSP.eopnotsupp };
      } else {
        const op = rng.pick([4, 7, 8, 99, 255]);
        req[0] = op;
        for (let i = 1; i < 112; i++) if (i < 8 || i >= 16) req[i] = rng.int(256);
        p = { id, op, expect: BLKIF_RSP.error };
      }
      ring.put(req);
      pending.push(p);
      r.blk_requests++;
    }
    // the producer: as it should be, or past the ring
    const runaway = rng.chance(0.02);
    ring.publish(runaway ? ring.reqProd + ring.size + 1 + rng.int(5000) : ring.reqProd);
    b.f.kick(q);
    hv.runFor(1);
    const rsps = ring.take(16);
    for (const x of rsps) tally.result(`blk ${DISKS[v].vdev} op ${x.getUint8(8)} -> ${x.getInt16(10, true)}`);
    if (runaway) {
      if (!cutOff(b.f.be)) { if (b.trusted) wrong(`disk ${v}: a producer run past the ring was not cut off`); } else r.cutoffs++;
      b.trusted = false;
      tally.result(`blk ${DISKS[v].vdev} runaway producer -> ${cutOff(b.f.be) ? "cut off" : "served"}`);
      return;
    }
    if (!b.trusted) return;
    if (rsps.length !== pending.length) { wrong(`disk ${v} (queue ${q} of ${b.f.rings.length}, ${b.f.rings[q].pages} pages, state ${b.f.backendState()}): ${pending.length} requests, ${rsps.length} answers`); b.trusted = false; return; }
    const byId = new Map<bigint, DataView>();
    for (const x of rsps) byId.set(x.getBigUint64(0, true), x);
    for (const p of pending) {
      const x = byId.get(p.id);
      if (!x) { if (pending.filter((q2) => q2.id === p.id).length === 1) wrong(`disk ${v}: request ${p.id} was not answered (answers: ${rsps.map((y) => `${y.getBigUint64(0, true)}:${y.getUint8(8)}:${y.getInt16(10, true)}`).join(" ")}; asked: ${pending.map((q2) => `${q2.id}:${q2.op}`).join(" ")})`); continue; }
      if (p.expect === null) continue;
      r.checked_answers++;
      const op = x.getUint8(8), st = x.getInt16(10, true);
      if (op !== p.op || st !== p.expect) wrong(`disk ${v}: op ${p.op} answered op ${op} status ${st}, expected ${p.expect} (${p.what ?? ""})`);
      // data only for a request alone on the ring (others may touch the same pages and sectors)
      else if (pending.length === 1) p.check?.();
    }
  };
  const describe = (segs: Seg[], sector: bigint): string => `sector ${sector}, persistent ${a.blk.map((b) => b.persistent ? 1 : 0).join("")}: ` +
    segs.slice(0, 4).map((s) => `${s.gref}[${s.first}-${s.last}] ${s.gref < 512 ? JSON.stringify(a.kinds[s.gref]) : ""} ${refClass(s.gref)}`).join(", ");
  // fill a granted page with fresh bytes (a write's data)
  const fillPage = (gref: number): void => {
    const kd = gref < 512 ? a.kinds[gref] : undefined;
    if (!kd || (kd.k !== "rw" && kd.k !== "ro") || kd.gfn < DATA || kd.gfn >= DATA + NDATA) return;
    const b = new Uint8Array(4096);
    for (let i = 0; i < 4096; i += 4) new DataView(b.buffer).setUint32(i, rng.u32(), true);
    a.g.tryWrite(BigInt(RAM0_GFN + kd.gfn) << 12n, b);
  };
  // After an answered okay: the data went where it should (raw disks; the
  // pages as the segments name them, later segments over earlier ones).
  const dataCheck = (v: number, op: number, segs: Seg[], sector: number): (() => void) => {
    const fd = DISKS[v].readonly ? 1 : 0;
    const before = op === BLKIF_OP.write ? segs.map((s) => { const kd = a.kinds[s.gref] as { gfn: number }; return page(a.g, kd.gfn)!.slice(s.first * 512, (s.last + 1) * 512); }) : [];
    return () => {
      r.checked_answers++;
      let pos = sector * 512;
      if (op === BLKIF_OP.write) {
        // the file holds the segments' bytes in order (a later segment's sectors after an earlier one's)
        segs.forEach((s, i) => {
          const got = fileBytes(fd, pos, before[i].length);
          if (!Buffer.from(got).equals(before[i])) wrong(`disk ${v}: a write at sector ${pos / 512} did not reach the file`);
          pos += before[i].length;
        });
        return;
      }
      const expect = new Map<number, Uint8Array>();
      for (const s of segs) {
        const gfn = (a.kinds[s.gref] as { gfn: number }).gfn;
        const pg = expect.get(gfn) ?? page(a.g, gfn)!.slice();
        const len = (s.last - s.first + 1) * 512;
        pg.set(fileBytes(fd, pos, len), s.first * 512);
        expect.set(gfn, pg);
        pos += len;
      }
      for (const [gfn, pg] of expect) {
        const got = page(a.g, gfn)!;
        // only the segments' sectors are compared (the rest was never touched)
        for (const s of segs) {
          if ((a.kinds[s.gref] as { gfn: number }).gfn !== gfn) continue;
          const lo = s.first * 512, hi = (s.last + 1) * 512;
          if (!Buffer.from(got.subarray(lo, hi)).equals(pg.subarray(lo, hi))) { wrong(`disk ${v}: a read at sector ${sector} brought the wrong bytes`); return; }
        }
      }
    };
  };

  // ---- netif TX and RX
  let frameSeq = 0;
  const netTx = (): void => {
    const n = a.net, ring = n.f.tx;
    const good = rng.chance(0.3);
    const slots: { gref: number; off: number; flags: number; id: number; size: number; extra?: Uint8Array }[] = [];
    let frame: Uint8Array | null = null;
    if (good) {
      const total = 60 + rng.int(rng.chance(0.8) ? 1455 : 8000);
      frame = new Uint8Array(total);
      frame.set(rng.chance(0.5) ? [255, 255, 255, 255, 255, 255] : VICTIM_MAC, 0); frame.set(ATTACKER_MAC, 6); frame[12] = 0x88; frame[13] = 0xB6;
      new DataView(frame.buffer).setUint32(14, frameSeq++, true);
      for (let i = 18; i < total; i++) frame[i] = rng.int(256);
      // cut into slots on distinct good pages
      const refs = [...Array(NDATA).keys()].map((i) => DATA + i).filter((ref) => refClass(ref) === "good");
      let done = 0;
      while (done < total && refs.length) {
        const ref = refs.splice(rng.int(refs.length), 1)[0];
        const off = rng.int(rng.chance(0.5) ? 64 : 2048);
        const len = Math.min(total - done, 4096 - off);
        a.g.write((BigInt(RAM0_GFN + (a.kinds[ref] as { gfn: number }).gfn) << 12n) + BigInt(off), frame.subarray(done, done + len));
        slots.push({ gref: ref, off, flags: NETTXF.more_data, id: (frameSeq * 32 + slots.length) & 0xFFFF, size: len });
        done += len;
      }
      if (done < total || !slots.length) return;
      slots[slots.length - 1].flags = 0;
      slots[0].size = total;
    } else {
      const ns = rng.chance(0.9) ? 1 + rng.int(4) : 1 + rng.int(24);
      for (let i = 0; i < ns; i++) {
        let flags = rng.chance(0.9) ? (i + 1 < ns ? NETTXF.more_data : 0) | (rng.chance(0.3) ? NETTXF.csum_blank : 0) : rng.int(16);
        const s = { gref: pickRef(), off: rng.chance(0.85) ? rng.int(2048) : rng.pick([4095, 4096, 65535, rng.int(65536)]), flags, id: rng.int(65536),
          size: rng.chance(0.85) ? rng.int(2000) : rng.pick([0, 13, 14, 4096, 65535, rng.int(65536)]) } as (typeof slots)[number];
        if (rng.chance(0.1)) {
          // extra info: GSO (sometimes well formed), or something else
          flags |= NETTXF.extra_info; s.flags = flags;
          const x = new Uint8Array(12), xv = new DataView(x.buffer);
          x[0] = rng.chance(0.7) ? XEN_NETIF_EXTRA_TYPE.GSO : rng.int(8); x[1] = rng.chance(0.9) ? 0 : XEN_NETIF_EXTRA_FLAG_MORE;
          xv.setUint16(2, rng.chance(0.8) ? 48 + rng.int(1400) : rng.int(65536), true);
          x[4] = rng.chance(0.8) ? rng.pick([XEN_NETIF_GSO_TYPE.TCPV4, XEN_NETIF_GSO_TYPE.TCPV6]) : rng.int(256);
          s.extra = x;
          if (i === 0 && rng.chance(0.5)) writeTcp(s.gref, s.off, x[4] === XEN_NETIF_GSO_TYPE.TCPV6, s);
        } else if (i === 0 && rng.chance(0.2)) writeTcp(s.gref, s.off, rng.chance(0.5), s);
        slots.push(s);
      }
    }
    // a one-slot packet without extras: its answer is known (netif.h: at
    // least an Ethernet header, within its page, through a grant Domain-0 can read)
    let expectOne: number | null = null;
    const s0 = slots[0];
    if (!good && slots.length === 1 && !s0.extra && (s0.flags & ~(NETTXF.csum_blank | NETTXF.data_validated)) === 0) {
      const c = s0.gref < 512 ? refClass(s0.gref) : "bad";
      expectOne = s0.size < 14 || s0.off + s0.size > 4096 || c === "bad" ? NETIF_RSP.error : c === "unknown" ? null : NETIF_RSP.okay;
    }
    for (const s of slots) {
      const b = new Uint8Array(12), dv = new DataView(b.buffer);
      dv.setUint32(0, s.gref, true); dv.setUint16(4, s.off, true); dv.setUint16(6, s.flags, true); dv.setUint16(8, s.id, true); dv.setUint16(10, s.size, true);
      ring.put(b);
      if (s.extra) ring.put(s.extra);
      r.net_tx_slots++;
    }
    // the frame is on its way before the kick: the victim may get it at once
    const h = frame ? hashOf(frame) : "";
    if (frame) sentGood.set(h, (sentGood.get(h) ?? 0) + 1);
    const unsend = (): void => { const c = sentGood.get(h) ?? 0; if (c > 1) sentGood.set(h, c - 1); else sentGood.delete(h); };
    const runaway = rng.chance(0.01);
    ring.publish(runaway ? ring.reqProd + 300 + rng.int(5000) : ring.reqProd);
    const slotCount = (ring.reqProd - ring.rspCons) >>> 0;
    n.f.kick();
    hv.runFor(1);
    const rsps = ring.take(4);
    for (const x of rsps) tally.result(`net tx -> ${x.getInt16(2, true)}`);
    if (runaway) {
      if (cutOff(n.f.be)) r.cutoffs++; else if (n.trusted) wrong("a TX producer run past the ring was not cut off");
      if (frame) unsend();
      collectVictimRx();
      return;
    }
    if (cutOff(n.f.be)) { r.cutoffs++; tally.result("net tx -> cut off"); if (frame) unsend(); collectVictimRx(); return; }
    if (n.trusted && rsps.length !== slotCount) { wrong(`TX: ${slotCount} slots, ${rsps.length} answers`); n.trusted = false; }
    if (expectOne !== null && n.trusted) {
      r.checked_answers++;
      if (rsps.length !== 1 || rsps[0].getInt16(2, true) !== expectOne || rsps[0].getUint16(0, true) !== s0.id) {
        wrong(`a one-slot packet (ref ${s0.gref}, offset ${s0.off}, size ${s0.size}) answered ${rsps[0]?.getInt16(2, true)}, expected ${expectOne}`);
      }
    }
    if (frame) {
      const ok = rsps.length === slots.length && rsps.every((x, i) => x.getUint16(0, true) === slots[i].id && x.getInt16(2, true) === NETIF_RSP.okay);
      if (n.trusted) { r.checked_answers++; if (!ok) wrong(`a well-formed ${frame.length}-byte frame in ${slots.length} slots was refused`); }
      if (!ok || !n.trusted) unsend();
    }
    collectVictimRx();
  };
  // a TCP super-packet at (gref, off), if that page is the attacker's to write
  const writeTcp = (gref: number, off: number, v6: boolean, s: { size: number }): void => {
    const kd = gref < 512 ? a.kinds[gref] : undefined;
    if (!kd || (kd.k !== "rw" && kd.k !== "ro")) return;
    const payload = 100 + rng.int(3000);
    const ipLen = v6 ? 40 : 20;
    const p = new Uint8Array(14 + ipLen + 20 + payload);
    p.set(rng.chance(0.5) ? VICTIM_MAC : [255, 255, 255, 255, 255, 255], 0); p.set(ATTACKER_MAC, 6);
    const dv = new DataView(p.buffer);
    if (v6) {
      dv.setUint16(12, 0x86DD); p[14] = 0x60; dv.setUint16(18, 20 + payload); p[20] = 6; p[21] = 64;
    } else {
      dv.setUint16(12, 0x0800); p[14] = 0x45; dv.setUint16(16, 20 + 20 + payload); p[22] = 64; p[23] = 6;
    }
    const t = 14 + ipLen;
    dv.setUint16(t, 1234); dv.setUint16(t + 2, 80); p[t + 12] = 0x50; p[t + 13] = 0x18;
    const off2 = Math.min(off, 4096 - Math.min(p.length, 4096));
    a.g.tryWrite((BigInt(RAM0_GFN + kd.gfn) << 12n) + BigInt(off2), p.subarray(0, 4096 - off2));
    scribbled(kd.gfn);
    s.size = Math.min(p.length, 65535);
  };
  const netRx = (): void => {
    const n = a.net, ring = n.f.rx;
    const count = 1 + rng.int(8);
    for (let i = 0; i < count && ((ring.reqProd - ring.rspCons) >>> 0) < 200; i++) {
      const b = new Uint8Array(8), dv = new DataView(b.buffer);
      const ref = pickRef();
      dv.setUint16(0, rng.int(65536), true); dv.setUint16(2, rng.int(65536), true); dv.setUint32(4, ref, true);
      untrustIfUnknown([ref]);
      ring.put(b);
      r.net_rx_buffers++;
    }
    ring.publish(rng.chance(0.01) ? ring.reqProd + 300 + rng.int(5000) : ring.reqProd);
    n.f.kick();
    hv.runFor(1);
    for (const x of ring.take(8)) tally.result(`net rx -> ${Math.sign(x.getInt16(6, true))}`);
    if (cutOff(n.f.be)) { r.cutoffs++; tally.result("net rx -> cut off"); }
  };

  // ---- memory the attacker changes under the backends
  const grantMutation = (): void => {
    const ref = rng.chance(0.8) ? DATA + rng.int(NDATA + NRO + NINDIRECT + 8) : 64 + rng.int(NEVER_GRANTED - 64);
    touched(ref);
    const k = rng.int(100);
    if (k < 30) { a.grants.revoke(ref); a.kinds[ref] = { k: "none" }; }
    else if (k < 70 && ref >= DATA && ref < DATA + NDATA) setGrant(ref, "rw", ref);
    else if (k < 80) setGrant(ref, "ro", DATA + rng.int(NDATA));
    else {
      a.grants.raw(ref, rng.chance(0.5) ? GTF_permit_access | (rng.chance(0.5) ? GTF_readonly : 0) | (rng.int(8) << 3) : rng.int(65536),
        rng.pick([0, 0, a.guest.domid, victim.domid, 7, 0x7FF0, 0xFFFF]),
        // a data page, a ring, the console and xenstore pages, nothing
        rng.pick([RAM0_GFN + DATA + rng.int(NDATA), RAM0_GFN + BLK_RING(0), Number(MAGIC_CONSOLE_PFN), Number(MAGIC_XENSTORE_PFN), 0, 0xFFFFFFFF, RAM0_GFN + 5000]));
      a.kinds[ref] = { k: "raw" };
      a.wild.add(ref);
    }
    tally.result(`grant ${k < 30 ? "revoked" : k < 80 ? "regranted" : "raw"}`);
  };
  const pageMutation = (): void => {
    const gfn = RAM0_GFN + DATA + rng.int(NDATA);
    const have = a.g.page(gfn) !== null;
    for (let ref = 0; ref < 512; ref++) { const kd = a.kinds[ref]; if ((kd.k === "rw" || kd.k === "ro") && RAM0_GFN + kd.gfn === gfn) touched(ref); }
    const rc = have ? a.g.reservation("decrease", [gfn]) : a.g.reservation("populate", [gfn]);
    tally.result(`page ${have ? "given back" : "taken"} -> ${rc}`);
  };

  a = await makeAttacker();
  const actions: [number, () => Promise<void> | void][] = [
    [34, () => blkRequests(rng.int(DISKS.length))],
    [28, netTx],
    [10, netRx],
    [8, grantMutation],
    [4, pageMutation],
    [2, async () => { await connectBlk(rng.int(DISKS.length), true); }],
    [2, async () => { await connectNet(true); }],
  ];
  const weight = actions.reduce((t, [w]) => t + w, 0);
  for (let it = 0; it < o.iterations; it++) {
    iteration = it;
    try {
      // a cut-off device is reconnected (a frontend would, after its guest's next boot)
      // (and one whose answers can no longer be checked is made afresh now and then)
      for (let v = 0; v < DISKS.length; v++) {
        if (cutOff(a.blk[v].f.be) && rng.chance(0.5)) await connectBlk(v, rng.chance(0.3));
        else if (!a.blk[v].trusted && rng.chance(0.05)) await connectBlk(v, false);
      }
      if (cutOff(a.net.f.be) && rng.chance(0.5)) await connectNet(rng.chance(0.3));
      else if (!a.net.trusted && rng.chance(0.05)) await connectNet(false);
      if (rng.chance(0.002)) {
        // the attacker dies with its devices busy, and is made again
        ts.destroy(a.guest.domid);
        await settle();
        r.rebirths++;
        a = await makeAttacker();
      } else {
        let pick = rng.int(weight);
        for (const [w, f] of actions) { if (pick < w) { await f(); break; } pick -= w; }
      }
    } catch (e) { tally.exception(`iteration ${it}`, e); }
    if ((it + 1) % BATCH === 0) {
      try { victimRound(); } catch (e) { tally.exception(`victim round after ${it}`, e); }
      checkVictim();
      if ((it + 1) % (BATCH * 16) === 0 && auditMemory(hv).length) r.audit_failures++;
    }
  }
  try { victimRound(); } catch (e) { tally.exception("last victim round", e); }
  checkVictim();

  // ---- the end: both gone, the books back, the disks as they should be
  try { ts.destroy(a.guest.domid); ts.destroy(victim.domid); } catch (e) { tally.exception("teardown", e); }
  await settle();
  const found = auditMemory(hv);
  if (found.length) { r.audit_failures++; tally.note(`audit: ${found.slice(0, 3).join("; ")}`); }
  r.accounting_ok = books() === baseline;
  if (!r.accounting_ok) tally.note(`books ${books()}, before ${baseline}`);
  if (!Buffer.from(readFileSync(img("victim.img"))).equals(victimDisk)) tally.leak("the victim's disk is not what it wrote");
  if (createHash("sha256").update(readFileSync(img("attacker-ro.img"))).digest("hex") !== roHash) tally.leak("the read-only disk changed");
  for (const fd of rawFds) closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
  process.off("uncaughtException", uncaught);
  r.host_exceptions += hv.stats.internalErrors + ts.xenstored.stats.bugs;
  return tally.finish();
}

function mac(b: number[]): string { return b.map((x) => x.toString(16).padStart(2, "0")).join(":"); }
