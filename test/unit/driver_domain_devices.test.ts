// The toolstack's side of driver domains (xl.cfg's backend=): a device whose
// backend is another domU gets its backend directory under that domain,
// with Xen's permissions (owned by the driver domain, readable by the
// guest), the hotplug script its xl devd runs, and a record under /libxl
// that only Domain-0 can write; the toolstack finds, lists and removes the
// device through that record, never through what the guest or the driver
// domain wrote. A backend that is not running is refused before anything
// is built; such a guest cannot be saved. A driver domain that dies and is
// created again serves its guests again, under its old id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { parseDiskSpec, DiskSpecError } from "../../src/tools/disk_spec.js";
import { parseVifSpec, VifSpecError } from "../../src/tools/vif_spec.js";
import type { Node } from "../../src/tools/xenstore/store.js";
import { parseXlCfg, domainSpec, CfgError } from "../../src/tools/xl_cfg.js";
import { virtioPassthroughTree } from "../../src/tools/passthrough_tree.js";
import { readmeBlock } from "../helpers/readme_blocks.js";
import { execFileSync } from "node:child_process";
import { XS, XSD_SOCKMSG_SIZE, XENSTORE_RING_SIZE } from "../../src/xen/public/io/xs_wire.js";
import { SHUTDOWN, RUNSTATE } from "../../src/xen/public/xen.js";
import { EVTCHNSTAT } from "../../src/xen/public/event_channel.js";
import { PlayedXenstoreRing } from "../../src/host/fuzz/played_xenstore.js";

test("disk and vif specs: backend= names a driver domain; Domain-0 by name or id is the default", () => {
  assert.equal(parseDiskSpec("backend=storage, vdev=xvda, target=/dev/vda").backend, "storage");
  assert.equal(parseDiskSpec("backend=3, vdev=xvda, target=/dev/vda").backend, "3");
  for (const b of ["0", "Domain-0"]) assert.equal(parseDiskSpec(`backend=${b}, vdev=xvda, target=/x.img`).backend, undefined);
  assert.throws(() => parseDiskSpec("backend=a/b, vdev=xvda, target=/dev/vda"), (e: Error) => e instanceof DiskSpecError && /not a domain name or id/.test(e.message));
  assert.throws(() => parseDiskSpec("backend=storage, format=qcow2, vdev=xvda, target=/dev/vda"), /raw devices only, not qcow2/);
  assert.throws(() => parseDiskSpec("script=block, vdev=xvda, target=/dev/vda"), /driver domain runs its own block script/);
  assert.equal(parseVifSpec("backend=net, bridge=br0").backend, "net");
  assert.equal(parseVifSpec("backend=Domain-0").backend, undefined);
  assert.throws(() => parseVifSpec("backend= "), (e: Error) => e instanceof VifSpecError);
  const cfg = (text: string) => domainSpec(parseXlCfg(`name = "s"\n${text}\n`));
  assert.equal(cfg("driver_domain = 1").spec.driverDomain, true);
  assert.equal(cfg("driver_domain = 0").spec.driverDomain, false);
  assert.equal(cfg("").spec.driverDomain, undefined);
  assert.throws(() => cfg("driver_domain = 2"), (e: Error) => e instanceof CfgError && /'driver_domain' must be between 0 and 1/.test(e.message));
});

test("toolstack: a driver domain's backends, their permissions, the /libxl record, listing, removal and destruction", async () => {
  const host = new Host({ ramBytes: 128 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd));
  const perms = (p: string): string[] => ((ts.xenstored.store.get(p) as Node | undefined)?.perms ?? []).map((x) => `${x.access}${x.domid}`);
  const drv = ts.create({ name: "storage", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true, driverDomain: true });
  // driver_domain = 1: libxl's own directories in the domain's tree, its to write (xl devd keeps state there)
  for (const d of ["libxl", "device-model"]) assert.deepEqual(perms(`/local/domain/${drv.domid}/${d}`), [`n${drv.domid}`]);
  const before = ts.dom0.xc.listDomains().length;
  assert.throws(() => ts.create({ name: "u", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true,
    disks: [parseDiskSpec("backend=nosuch, vdev=xvda, target=/dev/vda")] }), /backend domain 'nosuch' is not running/);
  assert.equal(ts.dom0.xc.listDomains().length, before, "nothing was built for the refused guest");

  const g = ts.create({ name: "u", memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true,
    disks: [parseDiskSpec("backend=storage, vdev=xvda, target=/dev/vda")], vifs: [parseVifSpec(`backend=${drv.domid}, mac=00:16:3e:00:00:01, bridge=xenbr0`)] });
  const be = `/local/domain/${drv.domid}/backend/vbd/${g.domid}/51712`, fe = `/local/domain/${g.domid}/device/vbd/51712`;
  assert.equal(ts.xsRead(`${be}/params`), "/dev/vda");
  assert.equal(ts.xsRead(`${be}/script`), "/etc/xen/scripts/block");
  assert.equal(ts.xsRead(`${be}/frontend-id`), String(g.domid));
  assert.deepEqual(perms(be), [`n${drv.domid}`, `r${g.domid}`], "the driver domain owns its backend, the guest reads it");
  assert.deepEqual(perms(fe), [`n${g.domid}`, `r${drv.domid}`], "the guest owns its frontend, the driver domain reads it");
  assert.equal(ts.xsRead(`${fe}/backend-id`), String(drv.domid));
  assert.equal(ts.xsRead(`${fe}/backend`), be);
  assert.deepEqual(perms(`/libxl/${g.domid}/device/vbd/51712/backend`), ["n0"], "the record is Domain-0's alone");
  assert.equal(ts.xsRead(`/local/domain/${drv.domid}/backend/vif/${g.domid}/0/script`), "/etc/xen/scripts/vif-bridge");
  // the vif's mtu is the backend's to write (vif-bridge does) and the guest's to read, as libxl's ro_front
  assert.equal(ts.xsRead(`/local/domain/${g.domid}/device/vif/0/mtu`), "1500");
  assert.deepEqual(perms(`/local/domain/${g.domid}/device/vif/0/mtu`), [`n${drv.domid}`, `r${g.domid}`]);
  assert.equal(ts.xsRead(`/local/domain/0/backend/vbd/${g.domid}`), null, "nothing in Domain-0's own backends");
  assert.deepEqual(ts.disks(g.domid).map((d) => [d.vdev, d.backendId, d.backend]), [["xvda", drv.domid, be]]);
  assert.deepEqual(ts.vifs(g.domid).map((v) => [v.handle, v.backendId]), [[0, drv.domid]]);
  assert.deepEqual([...ts.remoteBackends(g.domid)], [drv.domid]);
  assert.throws(() => ts.save(g.domid, { write() { /* not reached */ } } as never), /served by driver domain storage: it cannot be saved or migrated/);

  // a driver domain (or guest) that rewrites the links cannot aim the toolstack's removal elsewhere
  ts.xsWrite(`${be}/frontend`, "/local/domain/0/name");
  ts.xsWrite(`${fe}/backend`, "/local/domain/0/domid");
  await ts.removeDevice("vbd", g.domid, 51712, true, 100);
  assert.equal(ts.xsRead("/local/domain/0/name"), "Domain-0");
  assert.equal(ts.xsRead("/local/domain/0/domid"), "0");
  assert.equal(ts.xsRead(be), null);
  assert.equal(ts.xsRead(fe), null);
  assert.equal(ts.xsRead(`/libxl/${g.domid}/device/vbd/51712`), null);
  assert.deepEqual(ts.disks(g.domid), []);

  // hot-plugged to a driver domain, then the guest destroyed: its backends in the driver domain go too
  ts.addDisk(g.domid, parseDiskSpec("backend=storage, vdev=xvdb, target=/dev/vdb"));
  assert.deepEqual(ts.disks(g.domid).map((d) => d.vdev), ["xvdb"]);
  assert.throws(() => ts.addDisk(g.domid, parseDiskSpec("backend=storage, vdev=xvdb, target=/dev/vdc")), /already has disk xvdb/);
  ts.destroy(g.domid);
  for (const p of [`/local/domain/${drv.domid}/backend/vbd/${g.domid}`, `/local/domain/${drv.domid}/backend/vif/${g.domid}`, `/libxl/${g.domid}`]) {
    assert.equal(ts.xsRead(p), null, `${p} removed with the guest`);
  }
  ts.destroy(drv.domid);
});

test("toolstack: a driver domain that dies under its guests and is created again is built under its old id, with their backends written again", () => {
  const lines: string[] = [];
  const host = new Host({ ramBytes: 128 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd), (l) => lines.push(l));
  const perms = (p: string): string[] => ((ts.xenstored.store.get(p) as Node | undefined)?.perms ?? []).map((x) => `${x.access}${x.domid}`);
  const dom = (name: string, extra: object = {}) => ts.create({ name, memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true, ...extra });
  const drv = dom("storage", { driverDomain: true });
  const g = dom("u", { disks: [parseDiskSpec("backend=storage, vdev=xvda, target=/dev/vda")], vifs: [parseVifSpec("backend=storage, mac=00:16:3e:00:00:01, bridge=xenbr0")] });
  const other = dom("v", { disks: [parseDiskSpec("backend=storage, vdev=xvda, target=/dev/vdb")] });
  const be = `/local/domain/${drv.domid}/backend/vbd/${g.domid}/51712`, fe = `/local/domain/${g.domid}/device/vbd/51712`;
  const written = ts.xsDump([`/local/domain/${drv.domid}/backend`]);
  ts.xsWrite(`${fe}/state`, "4"); // the guest's frontend, connected
  ts.xsWrite(`${be}/state`, "4");

  ts.destroy(drv.domid);
  assert.equal(ts.xsRead(be), null, "its backends went with it");
  assert.equal(ts.xsRead(`${fe}/backend`), be, "the guest's frontend still names it");
  const mtu = `/local/domain/${g.domid}/device/vif/0/mtu`;
  assert.equal(ts.xsRead(mtu), null, "the frontend's node the driver domain owned went with it");
  // a malformed record (only Domain-0 could have written it) is skipped and said, not thrown
  ts.xsWrite(`/libxl/${other.domid}/device/vbd/51712/backend-nodes`, "{not a list", ["n0"]);
  const unrelated = dom("w");
  assert.notEqual(unrelated.domid, drv.domid, "nobody else is given the dead driver domain's id");

  const back = dom("storage", { driverDomain: true });
  assert.equal(back.domid, drv.domid, "built under the id the guests' grants and event channels name");
  assert.deepEqual(ts.xsDump([`/local/domain/${drv.domid}/backend`]).filter((n) => !n.path.includes(`/${other.domid}`)),
    written.filter((n) => !n.path.includes(`/${other.domid}`)), "the backends as first written: nodes, values (state Initialising) and permissions");
  assert.deepEqual(perms(be), [`n${drv.domid}`, `r${g.domid}`]);
  assert.equal(ts.xsRead(`${fe}/state`), "4", "the frontend is left as it is");
  // the new driver domain reads the guest's frontend (granted to it afresh: a
  // permission naming its dead predecessor counts for it no more, XSA-322)
  assert.equal(readAs(ts, drv.domid, `${fe}/state`), "4");
  assert.equal(readAs(ts, drv.domid, `/local/domain/${other.domid}/device/vbd/51712/state`), "ERR:EACCES", "not the frontend whose record was unusable");
  assert.equal(ts.xsRead(mtu), "1500", "vif-bridge in the new driver domain can write the mtu again");
  assert.deepEqual(perms(mtu), [`n${drv.domid}`, `r${g.domid}`]);
  assert.equal(ts.xsRead(`/local/domain/${drv.domid}/backend/vbd/${other.domid}`), null);
  assert.ok(lines.some((l) => l === `d${g.domid}: vbd 51712 is served again by storage (d${drv.domid})`), lines.join("\n"));
  assert.ok(lines.some((l) => l === `d${g.domid}: vif 0 is served again by storage (d${drv.domid})`));
  assert.ok(lines.some((l) => l === `d${other.domid}: vbd 51712: no usable record of its backend; it stays disconnected`));

  // a driver domain of another name, or one whose old id is taken, starts as any domain does
  ts.destroy(back.domid);
  const again = dom("storage2", { driverDomain: true });
  assert.notEqual(again.domid, drv.domid);
  for (const d of [again, unrelated, g, other]) ts.destroy(d.domid);
});

test("toolstack: a guest whose vifs waited for a network driver domain is suspended and resumed, so that its frontends start over with fresh backends", async () => {
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const timersBefore = timers();
  const lines: string[] = [];
  const host = new Host({ ramBytes: 128 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd), (l) => lines.push(l));
  const xc = ts.dom0.xc;
  const dom = (name: string, extra: object = {}) => ts.create({ name, memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true, ...extra });
  const drv = dom("net", { driverDomain: true });
  // one vif from the driver domain, one from Domain-0's own netback
  const g = dom("u", { vifs: [parseVifSpec("backend=net, mac=00:16:3e:00:00:01, bridge=xenbr0"), parseVifSpec("mac=00:16:3e:00:00:02, bridge=xenbr1")] });
  const fe = (h: number) => `/local/domain/${g.domid}/device/vif/${h}`;
  const be0 = `/local/domain/${drv.domid}/backend/vif/${g.domid}/0`, be1 = `/local/domain/0/backend/vif/${g.domid}/1`;
  // connected frontends, with the nodes Linux's netfront writes
  const netfrontNodes = ["tx-ring-ref", "rx-ring-ref", "event-channel", "request-rx-copy", "feature-rx-notify", "feature-sg", "feature-gso-tcpv4",
    "feature-gso-tcpv6", "feature-ipv6-csum-offload", "feature-split-event-channels", "multi-queue-num-queues", "xdp-headroom", "feature-ctrl-ring", "ctrl-ring-ref", "event-channel-ctrl"];
  for (const h of [0, 1]) for (const k of [...netfrontNodes, "state"]) ts.xsWrite(`${fe(h)}/${k}`, k === "state" ? "4" : "1");
  const frontPort = xc.evtchnAllocUnbound(g.domid, drv.domid); // as netfront's, made for the driver domain
  ts.netback.scan(); // its watch fires on a later turn
  const dom0Vif = ts.netback.devices.get(`${g.domid}/1`);
  assert.ok(dom0Vif);
  const portsOf = () => xc.listEvtchn(g.domid).map((e) => [e.port, e.status]);
  // the guest's xenstore connection, with a watch on its device tree (as Linux's xenbus has)
  const events: string[] = [];
  let eventBytes = 0;
  const replies: [number, string][] = [];
  const ring = new PlayedXenstoreRing(host.hv, host.hv.domains.get(g.domid)!, g.built.storeGfn, g.built.storePort, (m) => {
    if (m.type !== XS.WATCH_EVENT) { replies.push([m.type, m.payload.toString("latin1")]); return; }
    events.push(m.payload.toString("latin1").split("\0")[0]);
    eventBytes += XSD_SOCKMSG_SIZE + m.payload.length;
  });
  assert.deepEqual(ring.request(XS.WATCH, "device\0dev\0").map((m) => m.type), [XS.WATCH, XS.WATCH_EVENT]);
  const before = portsOf();
  assert.ok(before.some(([p]) => p === frontPort));

  ts.destroy(drv.domid);
  const back = dom("net", { driverDomain: true });
  assert.equal(back.domid, drv.domid);
  assert.equal(ts.xsRead(`/local/domain/${g.domid}/control/shutdown`), "suspend", "the guest is asked to suspend");
  assert.equal(ts.xsRead(be0), null, "its vif is not served until it has");
  assert.ok(lines.includes(`d${g.domid}: suspending the guest, so that its frontends connect to net (d${drv.domid}) afresh`), lines.join("\n"));

  ring.poll();
  xc.unpause(g.domid);
  // the guest's Linux suspends: SCHEDOP_shutdown(SHUTDOWN_suspend); from
  // now on it reads nothing until it has resumed
  host.hv.shutdown(host.hv.domains.get(g.domid)!, SHUTDOWN.suspend);
  const seen = events.length, seenBytes = eventBytes;
  ts.checkDomains();
  await new Promise((r) => setImmediate(r));
  assert.equal(xc.domainInfo(g.domid).shutdown, false, "resumed");
  // runnable again (Xen's domain_resume), which wakes an idle host's run loop; offline, it would not
  assert.equal(host.hv.domains.get(g.domid)!.vcpus[0].runstate, RUNSTATE.runnable);
  assert.equal(g.state, "running");
  for (const h of [0, 1]) assert.equal(ts.xsRead(`${fe(h)}/state`), "1", `frontend ${h} starts over from Initialising`);
  assert.equal(ts.xsRead(`${be0}/frontend`), fe(0), "the driver domain's backend written anew");
  assert.equal(ts.xsRead(`${be0}/state`), "1", "for the new netback to take from the start (Initialising, as libxl writes it)");
  assert.equal(readAs(ts, drv.domid, `${fe(0)}/state`), "1", "which reads the frontend");
  assert.notEqual(ts.netback.devices.get(`${g.domid}/1`), dom0Vif, "Domain-0's backend started over");
  assert.equal(ts.xsRead(`${be1}/state`), "2", "and waits in InitWait");
  // every event channel reset; the xenstore and console ports again where the guest knows them, bound by Domain-0
  assert.deepEqual(portsOf(), [[g.built.storePort, EVTCHNSTAT.interdomain], [g.built.consolePort, EVTCHNSTAT.interdomain]]);
  assert.ok(lines.includes(`d${g.domid}: resumed; its frontends reconnect to net (d${drv.domid})`), lines.join("\n"));
  // Linux's xb_init_comms discards responses it finds unread: there are none,
  // and what its watch fired meanwhile (more than the 1 KiB ring holds)
  // arrives whole once it writes its first request (re-registering its watches)
  assert.equal(ring.header("rsp_prod"), ring.header("rsp_cons"), "the response ring is quiescent at the resume");
  ring.poll();
  assert.equal(events.length, seen, "nothing is written before the guest's first request");
  replies.length = 0;
  ring.request(XS.WATCH, "device\0dev\0");
  for (let i = 0; i < 8 && !replies.length; i++) { ring.kick(); ring.poll(); } // reading on, as the guest does, and telling xenstored
  assert.deepEqual(replies, [[XS.ERROR, "EEXIST\0"]], "the watch is still there");
  const fired = events.slice(seen);
  assert.ok(eventBytes - seenBytes > XENSTORE_RING_SIZE, `the watch fired ${fired.length} times (${eventBytes - seenBytes} bytes) during the reconnect`);
  for (const h of [0, 1]) assert.ok(fired.includes(`device/vif/${h}/state`), fired.join(" "));

  // a guest that does not suspend in time: its vifs are served at once, attached to the live rings
  ts.suspendTimeoutMs = 50;
  ts.destroy(drv.domid);
  dom("net", { driverDomain: true });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(ts.xsRead(`/local/domain/${g.domid}/control/shutdown`), "", "the request withdrawn");
  assert.equal(ts.xsRead(`${be0}/frontend`), fe(0));
  assert.ok(lines.includes(`d${g.domid}: the guest did not suspend within 0.05 s: its backends attach to its live rings instead`), lines.join("\n"));
  assert.equal(g.state, "running");

  // a driver domain that goes again while the guest suspends: the guest is
  // resumed all the same, its vifs left for the next comeback
  ts.suspendTimeoutMs = 60_000;
  ts.destroy(drv.domid);
  dom("net", { driverDomain: true });
  ts.destroy(drv.domid);
  host.hv.shutdown(host.hv.domains.get(g.domid)!, SHUTDOWN.suspend);
  ts.checkDomains();
  await new Promise((r) => setImmediate(r));
  assert.equal(xc.domainInfo(g.domid).shutdown, false, "resumed");
  assert.equal(ts.xsRead(`${fe(0)}/state`), "1");
  assert.equal(ts.xsRead(be0), null);
  assert.ok(lines.includes(`d${g.domid}: net (d${drv.domid}) went again before the guest's vifs were served`), lines.join("\n"));
  assert.ok(lines.includes(`d${g.domid}: resumed; its frontends reconnect`), lines.join("\n"));
  ts.destroy(g.domid);
  assert.equal(timers(), timersBefore, "no suspend wait's timer outlives its answer (the test's process lingered 60 s)");
});

test("the partial device tree for a passed-through virtio device is the README's pt.dts, as dtc compiles it", () => {
  const dts = readmeBlock("Passing a device through", "dts");
  const fromDtc = execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb", "-"], { input: dts });
  // the structure and strings blocks (dtc leaves the strings block unpadded at the end; the total size differs by that alone)
  const blocks = (b: Uint8Array): string[] => {
    const v = Buffer.from(b);
    const at = (o: number): number => v.readUInt32BE(o);
    return [v.subarray(at(8), at(8) + at(36)).toString("hex"), v.subarray(at(12), at(12) + at(32)).toString("hex")];
  };
  assert.deepEqual(blocks(virtioPassthroughTree({ address: 0x0a000000, irq: 48 })), blocks(fromDtc));
});

// A READ as an unprivileged domain's own xenstore connection would make it.
function readAs(ts: Toolstack, domid: number, path: string): string {
  let reply = "";
  const c = ts.xenstored.connect(domid, false, true, {
    send(m) { const type = new DataView(m.buffer, m.byteOffset).getUint32(0, true); reply = (type === XS.ERROR ? "ERR:" : "") + Buffer.from(m.subarray(16)).toString().replace(/\0$/, ""); },
    close() { /* nothing */ },
  }, `probe d${domid}`);
  ts.xenstored.request(c, XS.READ, 1, 0, new Uint8Array(Buffer.from(`${path}\0`)));
  ts.xenstored.disconnect(c);
  return reply;
}

