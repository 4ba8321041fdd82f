// xenstored through a guest's own ring: the requests a guest kernel writes
// into its xenstore page, the replies and watch events it reads back. The
// quotas, permissions, watches and transactions of test/unit/xenstored.test.ts,
// here over the shared page and event channel a real guest uses, every
// reply asserted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Host } from "../../src/host/host.js";
import { Dom0 } from "../../src/tools/dom0.js";
import { Toolstack } from "../../src/tools/toolstack.js";
import { QUOTA } from "../../src/tools/xenstore/xenstored.js";
import { PlayedXenstoreRing, XsMessage } from "../../src/host/fuzz/played_xenstore.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { XS, XSD_SOCKMSG_SIZE, XENSTORE_ERROR } from "../../src/xen/public/io/xs_wire.js";

function setup() {
  const host = new Host({ ramBytes: 96 << 20, deterministic: true, log: () => {} });
  const ts = new Toolstack(new Dom0(host.privcmd));
  const guest = (name: string) => {
    const g = ts.create({ name, memoryMiB: 16, vcpus: 1, kernel: idleImage(), cmdline: "", paused: true });
    const events: XsMessage[] = [];
    const ring = new PlayedXenstoreRing(host.hv, host.hv.domains.get(g.domid)!, g.built.storeGfn, g.built.storePort, (m) => { if (m.type === XS.WATCH_EVENT) events.push(m); });
    // one request, its one reply: "ERR:<errno>" or the payload
    const call = (type: number, payload: string, tx = 0): string => {
      const replies = ring.request(type, payload, tx).filter((m) => m.type !== XS.WATCH_EVENT);
      assert.equal(replies.length, 1, `one reply to ${type} ${payload.slice(0, 40)}`);
      const r = replies[0];
      return r.type === XS.ERROR ? `ERR:${r.payload.toString("latin1").replace(/\0$/, "")}` : r.payload.toString("latin1");
    };
    return { g, ring, call, events };
  };
  return { host, ts, guest };
}

test("xenstore over a guest's ring: its own nodes, others' refused, the node quota exactly, watches and transactions", () => {
  const { ts, guest } = setup();
  const a = guest("alpha"), b = guest("beta");
  assert.equal(a.call(XS.READ, "name\0"), "alpha", "a relative path is under its home");
  assert.equal(a.call(XS.GET_DOMAIN_PATH, `${a.g.domid}\0`), `/local/domain/${a.g.domid}\0`);
  assert.equal(b.call(XS.WRITE, "data/secret\0beta's"), "OK\0");
  assert.equal(a.call(XS.READ, `/local/domain/${b.g.domid}/data/secret\0`), "ERR:EACCES", "another guest's node");
  assert.equal(a.call(XS.WRITE, `/local/domain/${b.g.domid}/data/secret\0mine`), "ERR:EACCES");
  assert.equal(a.call(XS.READ, "/local/domain/0/name\0"), "ERR:EACCES", "Domain-0's");
  assert.equal(ts.xsRead(`/local/domain/${b.g.domid}/data/secret`), "beta's");

  // the node quota, to the node: what it already owns counts
  const owned = ts.xenstored.store.countOwned(a.g.domid);
  let created = 0;
  for (let i = 0; i < QUOTA.nodesPerDomain; i++) {
    const r = a.call(XS.WRITE, `data/q/${i}\0v${i}`);
    if (r !== "OK\0") { assert.equal(r, "ERR:ENOSPC"); break; }
    created++;
  }
  assert.equal(created, QUOTA.nodesPerDomain - owned - 1, "up to the quota exactly (q itself is one of them)");
  assert.equal(a.call(XS.WRITE, "data/q/one-more\0v"), "ERR:ENOSPC");
  assert.equal(a.call(XS.READ, `data/q/${created - 1}\0`), `v${created - 1}`);
  assert.equal(a.call(XS.RM, "data/q\0"), "OK\0");
  assert.equal(a.call(XS.WRITE, "data/q2\0fits again"), "OK\0", "removing frees the quota");
  assert.equal(b.call(XS.WRITE, "data/other\0fine"), "OK\0", "the other guest was never short");

  // a watch fires once on registration and then on each change, over the ring
  assert.equal(a.call(XS.WATCH, "data/w\0tok\0"), "OK\0");
  a.ring.poll();
  assert.deepEqual(a.events.map((m) => m.payload.toString("latin1")), [`data/w\0tok\0`]);
  ts.xsWrite(`/local/domain/${a.g.domid}/data/w`, "changed");
  a.ring.poll();
  assert.deepEqual(a.events.map((m) => m.payload.toString("latin1")).slice(1), [`data/w\0tok\0`], "Domain-0's write reached the guest's ring");
  // and the watch quota answers E2BIG
  let watches = 1;
  for (; watches < QUOTA.watchesPerDomain; watches++) assert.equal(a.call(XS.WATCH, `data/x${watches}\0t\0`), "OK\0");
  assert.equal(a.call(XS.WATCH, "data/too-many\0t\0"), "ERR:E2BIG");

  // a transaction that conflicts with a write outside it ends with EAGAIN
  const tx = Number(a.call(XS.TRANSACTION_START, "\0").replace(/\0$/, ""));
  assert.ok(tx > 0);
  assert.equal(a.call(XS.READ, "data/w\0", tx), "changed");
  assert.equal(a.call(XS.WRITE, "data/t\0inside", tx), "OK\0");
  ts.xsWrite(`/local/domain/${a.g.domid}/data/w`, "changed again");
  assert.equal(a.call(XS.TRANSACTION_END, "T\0", tx), "ERR:EAGAIN");
  assert.equal(a.call(XS.READ, "data/t\0"), "ERR:ENOENT", "nothing of it was kept");
  const tx2 = Number(a.call(XS.TRANSACTION_START, "\0").replace(/\0$/, ""));
  assert.equal(a.call(XS.WRITE, "data/t\0inside", tx2), "OK\0");
  assert.equal(a.call(XS.TRANSACTION_END, "T\0", tx2), "OK\0");
  assert.equal(a.call(XS.READ, "data/t\0"), "inside");
});

test("a guest that breaks the ring protocol is cut off; the others carry on", () => {
  const { ts, guest } = setup();
  const a = guest("alpha"), b = guest("beta");
  // a header that claims a payload over 4096 bytes
  const h = Buffer.alloc(XSD_SOCKMSG_SIZE);
  h.writeUInt32LE(XS.WRITE, 0); h.writeUInt32LE(1, 4); h.writeUInt32LE(5000, 12);
  a.ring.send(new Uint8Array(h));
  assert.equal(a.ring.header("error"), XENSTORE_ERROR.PROTO, "xenstored says why in the ring's error field, as Xen's does");
  assert.ok(ts.xenstored.domains.get(a.g.domid)?.dead ?? true, "and dropped the connection");
  assert.equal(b.call(XS.WRITE, "data/x\0still served"), "OK\0");
  assert.equal(ts.xsRead(`/local/domain/${b.g.domid}/data/x`), "still served");
  // a producer index run past the ring
  b.ring.setHeader("req_prod", b.ring.header("req_cons") + 5000);
  b.ring.kick();
  assert.equal(b.ring.header("error"), XENSTORE_ERROR.RINGIDX, "a producer past the ring is cut off too");
});
