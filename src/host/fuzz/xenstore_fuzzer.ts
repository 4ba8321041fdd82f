// `xents fuzz xenstore`: random and mutated xs_wire messages, written into a
// guest's xenstore ring as its kernel would (and, now and then, with the
// ring's indexes corrupted), and sent over xenstored's unix socket as a local
// tool would. Beside the attacker a victim keeps canary nodes that only it
// may read; after every batch they must be unchanged, and nothing the
// attacker is sent (replies, watch events) may carry a canary's value or a
// path under the victim's private directory. At the end the attacker is
// destroyed and xenstore's node and connection counts must be back.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, Socket } from "node:net";
import { Host } from "../host.js";
import { Dom0 } from "../../tools/dom0.js";
import { Toolstack, Guest } from "../../tools/toolstack.js";
import { XenstoreSocketServer } from "../../tools/xenstore/socket_server.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";
import { idleImage } from "./idle_image.js";
import { XS, XS_NAMES, XSD_SOCKMSG_SIZE } from "../../xen/public/io/xs_wire.js";
import { PlayedXenstoreRing, XsMessage } from "./played_xenstore.js";

export interface XenstoreFuzzOptions { iterations: number; seed: number }

// (audit_failures stays 0: xenstore has no memory audit)
export interface XenstoreFuzzReport extends FuzzFigures {
  target: "xenstore";
  messages: number; // over the ring and the socket
  socket_messages: number;
  replies: number;
  ring_cutoffs: number; // times xenstored cut the attacker's ring off (then it was made again)
}

const CANARY = "canary-7f3e91";
const BATCH = 32;

export async function fuzzXenstore(o: XenstoreFuzzOptions): Promise<XenstoreFuzzReport> {
  const tally = new FuzzTally<XenstoreFuzzReport>("xenstore", o, { messages: 0, socket_messages: 0, replies: 0, ring_cutoffs: 0 });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  const exception = (where: string, e: unknown): void => tally.exception(where, e);
  const leak = (what: string): void => tally.leak(what);

  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const dom0 = new Dom0(host.privcmd);
  const ts = new Toolstack(dom0);
  const dir = mkdtempSync(join(tmpdir(), "xents-fuzz-xs-"));
  const server = new XenstoreSocketServer(ts.xenstored, join(dir, "socket"));
  await server.listen();
  const kernel = idleImage();
  const guest = (name: string): Guest => ts.create({ name, memoryMiB: 16, vcpus: 1, kernel, cmdline: "", paused: true });
  const baseline = { nodes: ts.xenstored.store.size(), connections: ts.xenstored.connections.size };
  const beforePaths = [...ts.xenstored.store.entries()].map(([p]) => p);
  const victim = guest("victim");
  const vHome = `/local/domain/${victim.domid}`;
  for (let i = 0; i < 4; i++) ts.xsWrite(`${vHome}/data/canary${i}`, `${CANARY}-${i}`, [`n${victim.domid}`]);
  ts.xsWrite(`${vHome}/data/shared`, "readable by all", [`n${victim.domid}`, "r0"]);

  // The attacker: a paused guest whose ring the fuzzer drives as its kernel would.
  let a = guest("attacker");
  const ringOf = (g: Guest): PlayedXenstoreRing =>
    new PlayedXenstoreRing(host.hv, host.hv.domains.get(g.domid)!, g.built.storeGfn, g.built.storePort, (m) => fromRing(m));
  // What the attacker is sent, frame by frame: no canary value in anything,
  // no private node's name in any reply (a watch event may name a path the
  // attacker itself watched; xenstored fires once at registration).
  let label = "";
  const seen = (how: string, type: number, payload: string, what = label): void => {
    r.replies++;
    if (payload.includes(CANARY)) leak(`a canary's value reached the attacker over the ${how}: ${what}`);
    if (type !== XS.WATCH_EVENT && /canary/.test(payload) && how === "ring") leak(`a private node's name reached the attacker: ${what}`);
    if (type !== XS.WATCH_EVENT) tally.result(`${how} ${what} -> ${type === XS.ERROR ? payload.replace(/\0.*/, "") : (XS_NAMES[type] ?? type)}`);
  };
  const fromRing = (m: XsMessage): void => seen("ring", m.type, m.payload.toString("latin1"));
  let ring = ringOf(a);
  // the socket's byte stream, split into messages; a reply is labelled by
  // the request it answers (its req_id), as it may come after later
  // messages were sent
  const socketLabels = new Map<number, string>();
  const socketParser = (): ((bytes: Uint8Array) => void) => {
    let buf = Buffer.alloc(0);
    return (bytes) => {
      buf = Buffer.concat([buf, bytes]);
      while (buf.length >= XSD_SOCKMSG_SIZE) {
        const len = buf.readUInt32LE(12);
        if (buf.length < XSD_SOCKMSG_SIZE + len) break;
        const req = buf.readUInt32LE(4);
        const what = socketLabels.get(req);
        socketLabels.delete(req);
        seen("socket", buf.readUInt32LE(0), buf.subarray(XSD_SOCKMSG_SIZE, XSD_SOCKMSG_SIZE + len).toString("latin1"), what ?? `${label} (unmatched)`);
        buf = buf.subarray(XSD_SOCKMSG_SIZE + len);
      }
    };
  };

  // ---- messages
  const txs: number[] = [];
  // The socket client is a local tool, as privileged as Domain-0: it may
  // change anything, so it works in a subtree of its own (and on nodes that
  // do not exist), and never names the victim.
  let bySocket = false;
  const socketPath = (): string => rng.chance(0.8) ? `/fuzz-socket/${rng.int(30)}` : rng.pick(["/fuzz-socket", "@introduceDomain", "a//b", "relative", "/" + "n".repeat(3100)]);
  const someDomid = (): number => bySocket ? rng.pick([a.domid, 7, -1, 70000]) : rng.pick([0, a.domid, victim.domid, 7, -1, 70000]);
  const path = (): string => {
    if (bySocket) return socketPath();
    switch (rng.int(12)) {
      case 0: return rng.pick(["data/x", "data", "device/vbd/51712/state", "control/shutdown", "memory/target", ""]);
      case 1: return `/local/domain/${a.domid}/data/${rng.int(20)}`;
      case 2: return `${vHome}/data/canary${rng.int(5)}`;
      case 3: return rng.pick([vHome, `${vHome}/data`, `${vHome}/data/shared`, `${vHome}/data/nothing/below`]);
      case 4: return rng.pick(["/", "/local", "/local/domain", "/local/domain/0", "/local/domain/0/backend", "/vm", "/tool"]);
      case 5: return rng.pick(["@introduceDomain", "@releaseDomain", "@other", "@"]);
      case 6: return rng.pick(["a//b", "/trailing/", "bad path", "/x\u00e9", "../up", "/" + "n".repeat(3100), "d".repeat(2100)]);
      case 7: return `data/t${rng.int(8)}/${rng.int(8)}`;
      default: return `data/${rng.int(40)}`;
    }
  };
  const perm = (): string => rng.chance(0.9) ? `${rng.pick(["n", "r", "w", "b"])}${rng.pick([a.domid, bySocket ? 0 : victim.domid, 0, 7, 65535])}` : rng.pick(["x1", "n", "r-1", "b99999999", ""]);
  const payloadFor = (type: number): string => {
    switch (type) {
      case XS.WRITE: return `${path()}\0${rng.chance(0.9) ? `v${rng.int(1000)}` : "z".repeat(rng.int(3000))}`;
      case XS.SET_PERMS: return [path(), ...Array.from({ length: rng.chance(0.9) ? 1 + rng.int(4) : rng.int(900) }, perm)].join("\0") + "\0";
      case XS.WATCH: case XS.UNWATCH: return `${path()}\0tok${rng.int(6)}\0`;
      case XS.TRANSACTION_START: return "\0";
      case XS.TRANSACTION_END: return rng.pick(["T\0", "F\0", "X\0", ""]);
      case XS.INTRODUCE: return `${someDomid()}\0${rng.chance(0.8) ? rng.int(100000) : "0x1f"}\0${rng.int(100)}\0`;
      case XS.RELEASE: case XS.RESUME: case XS.GET_DOMAIN_PATH: case XS.IS_DOMAIN_INTRODUCED: return `${someDomid()}\0`;
      case XS.SET_TARGET: return `${a.domid}\0${someDomid()}\0`;
      case XS.DIRECTORY_PART: return `${path()}\0${rng.pick([0, 1, 100, 100000, -5])}\0`;
      case XS.CONTROL: return rng.pick(["help\0", "print\0hello\nworld\0", "log\0on\0", "check\0", "quota\0", "nosuch\0"]);
      default: return `${path()}\0`;
    }
  };
  const message = (): { bytes: Uint8Array; label: string; req: number } => {
    const type = rng.chance(0.95) ? rng.pick(Object.values(XS).filter((t) => t < XS.TYPE_COUNT)) : rng.pick([XS.TYPE_COUNT, 25, 255, 0xFFFF, rng.u32()]);
    let payload = Buffer.from(payloadFor(type), "utf8");
    if (rng.chance(0.05)) payload = Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256)));
    const tx = txs.length && rng.chance(0.3) ? rng.pick(txs) : rng.chance(0.05) ? rng.u32() : 0;
    const h = Buffer.alloc(XSD_SOCKMSG_SIZE);
    const req = rng.u32();
    h.writeUInt32LE(type >>> 0, 0); h.writeUInt32LE(req, 4); h.writeUInt32LE(tx >>> 0, 8);
    let len = payload.length;
    const mutation = rng.int(100);
    if (mutation < 2) len = 4097 + rng.int(100000); // over the limit: the connection is cut
    else if (mutation < 4) payload = payload.subarray(0, Math.max(0, payload.length - 1 - rng.int(3))); // shorter than it says
    h.writeUInt32LE(len >>> 0, 12);
    return { bytes: new Uint8Array(Buffer.concat([h, payload])), req, label: `${Object.entries(XS).find(([, v]) => v === type)?.[0] ?? "type?"}${mutation < 4 ? "+framing" : ""}` };
  };

  // ---- the socket client (a local tool: privileged, so robustness only)
  let sock: Socket | null = null;
  const openSocket = async (): Promise<Socket> => new Promise((res, rej) => {
    const s = connect(join(dir, "socket"));
    s.once("connect", () => res(s));
    s.once("error", rej);
  });

  const checkVictim = (): void => {
    for (let i = 0; i < 4; i++) {
      const n = ts.xenstored.store.get(`${vHome}/data/canary${i}`);
      if (!n || Buffer.from(n.value).toString() !== `${CANARY}-${i}` || n.perms.length !== 1 || n.perms[0].domid !== victim.domid || n.perms[0].access !== "n") {
        leak(`the victim's canary${i} changed`);
      }
    }
  };

  for (let it = 0; it < o.iterations; it++) {
    bySocket = rng.chance(0.1);
    const m = message();
    label = m.label;
    try {
      if (!bySocket) {
        if (rng.chance(0.005)) { ring.setHeader("req_prod", rng.u32()); ring.kick(); tally.result("ring: corrupt index"); }
        else if (!ring.send(m.bytes)) tally.result(`ring ${m.label}: cut off`);
        r.messages++;
        const conn = ts.xenstored.domains.get(a.domid);
        if (ring.cutOff || !conn || conn.dead) {
          // xenstored gave up on this ring: the guest is done for; make another
          r.ring_cutoffs++;
          ts.destroy(a.domid);
          a = guest("attacker");
          ring = ringOf(a);
          txs.length = 0;
        }
      } else {
        if (!sock) {
          const s = await openSocket();
          const fromSocket = socketParser();
          s.on("data", (d: Buffer) => fromSocket(new Uint8Array(d)));
          s.on("error", () => { /* the server may cut us off */ });
          s.on("close", () => { if (sock === s) sock = null; });
          sock = s;
        }
        socketLabels.set(m.req, m.label);
        sock.write(m.bytes);
        r.messages++;
        r.socket_messages++;
        await new Promise((res) => setImmediate(res));
      }
    } catch (e) { exception(`iteration ${it} ${m.label}`, e); }
    // transaction ids the attacker got (TRANSACTION_START replies carry them)
    const conn = ts.xenstored.domains.get(a.domid);
    txs.splice(0, txs.length, ...(conn ? [...conn.txs.keys()] : []));
    if ((it + 1) % BATCH === 0) checkVictim();
  }
  checkVictim();
  sock?.destroy();
  await new Promise((res) => setTimeout(res, 20));
  try { ts.destroy(a.domid); ts.destroy(victim.domid); } catch (e) { exception("teardown", e); }
  ts.xsRm("/fuzz-socket");
  // both guests gone: every node and connection they brought went with them
  r.accounting_ok = ts.xenstored.store.size() === baseline.nodes && ts.xenstored.connections.size === baseline.connections;
  if (!r.accounting_ok) tally.note(`left: ${[...ts.xenstored.store.entries()].map(([p]) => p).filter((p) => !beforePaths.includes(p)).join(" ")}`);
  if (!r.accounting_ok) tally.note(`xenstore: ${ts.xenstored.store.size()} nodes (${baseline.nodes} before), ${ts.xenstored.connections.size} connections (${baseline.connections} before)`);
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  r.host_exceptions += host.hv.stats.internalErrors + ts.xenstored.stats.bugs;
  return tally.finish();
}
