// xenstored: the wire protocol, permissions, watches, transactions and
// quotas as Xen documents them, against an in-process client; then Debian's
// own xenstore-utils against the unix socket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Xenstored, Connection, QUOTA } from "../../src/tools/xenstore/xenstored.js";
import { XenstoreSocketServer } from "../../src/tools/xenstore/socket_server.js";
import { XS } from "../../src/xen/public/io/xs_wire.js";

interface Msg { type: number; reqId: number; txId: number; payload: string; }

function client(xs: Xenstored, domid: number, privileged = false) {
  const got: Msg[] = [];
  let closed = "";
  const conn: Connection = xs.connect(domid, privileged, !privileged, {
    send(m) {
      const dv = new DataView(m.buffer, m.byteOffset);
      got.push({ type: dv.getUint32(0, true), reqId: dv.getUint32(4, true), txId: dv.getUint32(8, true), payload: Buffer.from(m.subarray(16)).toString("latin1") });
    },
    close(r) { closed = r; },
  }, `d${domid}`);
  let req = 1;
  const send = (type: number, payload: string, txId = 0): Msg[] => {
    const p = Buffer.from(payload, "latin1");
    const h = Buffer.alloc(16);
    h.writeUInt32LE(type, 0); h.writeUInt32LE(req++, 4); h.writeUInt32LE(txId, 8); h.writeUInt32LE(p.length, 12);
    const before = got.length;
    xs.input(conn, new Uint8Array(Buffer.concat([h, p])));
    return got.slice(before);
  };
  const call = (type: number, payload: string, txId = 0): string => {
    const r = send(type, payload, txId);
    const reply = r.find((m) => m.type !== XS.WATCH_EVENT)!;
    return reply.type === XS.ERROR ? `ERR:${reply.payload.replace(/\0$/, "")}` : reply.payload;
  };
  return { conn, got, send, call, closed: () => closed };
}

test("xenstored: read, write, mkdir, directory, rm and relative paths", () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const dom0 = client(xs, 0, true);
  assert.equal(dom0.call(XS.WRITE, "/local/domain/5/name\0guest"), "OK\0");
  assert.equal(dom0.call(XS.SET_PERMS, "/local/domain/5\0n5\0"), "OK\0");
  const g = client(xs, 5);
  assert.equal(g.call(XS.READ, "name\0"), "guest");
  assert.equal(g.call(XS.WRITE, "device/vbd/51712/state\x001"), "OK\0");
  assert.equal(dom0.call(XS.READ, "/local/domain/5/device/vbd/51712/state\0"), "1");
  assert.equal(g.call(XS.DIRECTORY, "device/vbd\0"), "51712\0");
  assert.equal(g.call(XS.READ, "nothing\0"), "ERR:ENOENT");
  assert.equal(g.call(XS.MKDIR, "a/b/c\0"), "OK\0");
  assert.equal(g.call(XS.RM, "a\0"), "OK\0");
  assert.equal(g.call(XS.READ, "a/b\0"), "ERR:ENOENT");
  assert.equal(g.call(XS.RM, "x/y\0"), "ERR:ENOENT"); // parent missing
  assert.equal(g.call(XS.GET_DOMAIN_PATH, "7\0"), "/local/domain/7\0");
  assert.equal(g.call(XS.READ, "bad//path\0"), "ERR:EINVAL");
  // socket clients may not use relative paths
  assert.equal(dom0.call(XS.READ, "name\0"), "ERR:EINVAL");
});

test("xenstored: permissions — owner, default access, per-domain entries, inheritance", () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const dom0 = client(xs, 0, true);
  dom0.call(XS.WRITE, "/shared\0x");
  assert.equal(dom0.call(XS.SET_PERMS, "/shared\0n0\0r3\0b4\0"), "OK\0");
  const d3 = client(xs, 3), d4 = client(xs, 4), d5 = client(xs, 5);
  assert.equal(d3.call(XS.READ, "/shared\0"), "x");
  assert.equal(d3.call(XS.WRITE, "/shared\0y"), "ERR:EACCES");
  assert.equal(d4.call(XS.WRITE, "/shared\0z"), "OK\0");
  assert.equal(d5.call(XS.READ, "/shared\0"), "ERR:EACCES");
  // a node created by domain 4 inherits the parent's permissions with 4 as owner
  assert.equal(d4.call(XS.WRITE, "/shared/child\0c"), "OK\0");
  assert.equal(dom0.call(XS.GET_PERMS, "/shared/child\0"), "n4\0r3\0b4\0");
  // an unprivileged domain cannot give its node away
  assert.equal(d4.call(XS.SET_PERMS, "/shared/child\0n3\0"), "ERR:EPERM");
  assert.equal(d3.call(XS.SET_PERMS, "/shared\0b3\0"), "ERR:EACCES");
  assert.equal(dom0.call(XS.SET_PERMS, "/shared\0q9\0"), "ERR:EINVAL");
});

test("xenstored: watches fire at once, on changes below, in the registered path form, and on parent removal", () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const dom0 = client(xs, 0, true);
  dom0.call(XS.WRITE, "/local/domain/2/x\0");
  dom0.call(XS.SET_PERMS, "/local/domain/2\0n2\0");
  const g = client(xs, 2);
  const r = g.send(XS.WATCH, "device\0TOKEN1\0");
  assert.equal(r[0].payload, "OK\0");
  assert.deepEqual(r.slice(1).map((m) => [m.type, m.payload]), [[XS.WATCH_EVENT, "device\0TOKEN1\0"]]);
  const ev = dom0.send(XS.WRITE, "/local/domain/2/device/vif/0/state\x001");
  void ev;
  const events = g.got.filter((m) => m.type === XS.WATCH_EVENT).map((m) => m.payload);
  assert.ok(events.includes("device/vif/0/state\0TOKEN1\0"), events.join(","));
  g.got.length = 0;
  g.send(XS.WATCH, "device/vif/0/state\0T2\0");
  g.got.length = 0;
  dom0.call(XS.RM, "/local/domain/2/device\0");
  const after = g.got.filter((m) => m.type === XS.WATCH_EVENT).map((m) => m.payload);
  assert.ok(after.includes("device/vif/0/state\0T2\0"), `removal of a parent reports the watched path: ${after}`);
  assert.equal(g.call(XS.UNWATCH, "device\0TOKEN1\0"), "OK\0");
  assert.equal(g.call(XS.UNWATCH, "device\0TOKEN1\0"), "ERR:ENOENT");
  // special watches
  const w = client(xs, 0, true);
  w.send(XS.WATCH, "@releaseDomain\0R\0");
  w.got.length = 0;
  xs.domainGone(9, false);
  assert.deepEqual(w.got.map((m) => m.payload), ["@releaseDomain\0R\0"]);
});

test("xenstored: transactions see their own writes, commit atomically and conflict with EAGAIN", () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const a = client(xs, 0, true), b = client(xs, 0, true);
  a.call(XS.WRITE, "/t/v\x001");
  const tx = Number(a.call(XS.TRANSACTION_START, "\0").replace(/\0$/, ""));
  assert.ok(tx > 0);
  assert.equal(a.call(XS.WRITE, "/t/v\x002", tx), "OK\0");
  assert.equal(a.call(XS.READ, "/t/v\0", tx), "2");
  assert.equal(b.call(XS.READ, "/t/v\0"), "1"); // not visible before commit
  assert.equal(a.call(XS.TRANSACTION_END, "T\0", tx), "OK\0");
  assert.equal(b.call(XS.READ, "/t/v\0"), "2");
  // conflict: b changes what a's transaction read
  const tx2 = Number(a.call(XS.TRANSACTION_START, "\0").replace(/\0$/, ""));
  a.call(XS.READ, "/t/v\0", tx2);
  a.call(XS.WRITE, "/t/w\0x", tx2);
  b.call(XS.WRITE, "/t/v\x003");
  assert.equal(a.call(XS.TRANSACTION_END, "T\0", tx2), "ERR:EAGAIN");
  assert.equal(b.call(XS.READ, "/t/w\0"), "ERR:ENOENT");
  // an unrelated change does not conflict
  const tx3 = Number(a.call(XS.TRANSACTION_START, "\0").replace(/\0$/, ""));
  a.call(XS.WRITE, "/t/w\0y", tx3);
  b.call(XS.WRITE, "/other\0z");
  assert.equal(a.call(XS.TRANSACTION_END, "T\0", tx3), "OK\0");
  assert.equal(a.call(XS.READ, "/t/v\0", 12345), "ERR:ENOENT");
});

test("xenstored: quotas and hostile input", () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const dom0 = client(xs, 0, true);
  dom0.call(XS.MKDIR, "/local/domain/6\0");
  dom0.call(XS.SET_PERMS, "/local/domain/6\0n6\0");
  const g = client(xs, 6);
  assert.equal(g.call(XS.WRITE, "big\0" + "x".repeat(QUOTA.maxEntrySize + 1)), "ERR:ENOSPC");
  for (let i = 0; i < QUOTA.watchesPerDomain; i++) g.send(XS.WATCH, `w${i}\0t\0`);
  assert.equal(g.call(XS.WATCH, "one-more\0t\0"), "ERR:E2BIG");
  for (let i = 0; i < QUOTA.transactionsPerDomain; i++) g.call(XS.TRANSACTION_START, "\0");
  assert.equal(g.call(XS.TRANSACTION_START, "\0"), "ERR:ENOSPC");
  let created = 0;
  for (let i = 0; i < QUOTA.nodesPerDomain + 5; i++) if (g.call(XS.WRITE, `n/${i}\0v`) === "OK\0") created++;
  assert.equal(created, QUOTA.nodesPerDomain - 2, "up to the quota exactly (it owns its home and n)");
  assert.equal(g.call(XS.WRITE, "n/extra\0v"), "ERR:ENOSPC");
  assert.equal(g.call(99, "\0"), "ERR:ENOSYS");
  assert.equal(g.call(XS.INTRODUCE, "7\x0012\x003\0"), "ERR:EACCES");
  // a payload over 4096 bytes cuts the connection off; others keep working
  const h = Buffer.alloc(16);
  h.writeUInt32LE(XS.READ, 0); h.writeUInt32LE(5000, 12);
  xs.input(g.conn, new Uint8Array(h));
  assert.match(g.closed(), /exceeds/);
  assert.equal(dom0.call(XS.READ, "/local/domain/6/n/1\0"), "v");
});

test("xenstored: only the owner changes permissions, and never the owner; at most 5 entries from a guest", () => {
  const logs: string[] = [];
  const xs = new Xenstored({ introduce() {}, release() {}, log: (l) => logs.push(l) });
  const dom0 = client(xs, 0, true);
  for (const d of [3, 4]) { dom0.call(XS.MKDIR, `/local/domain/${d}\0`); dom0.call(XS.SET_PERMS, `/local/domain/${d}\0n${d}\0`); }
  const victim = client(xs, 3), attacker = client(xs, 4);
  assert.equal(victim.call(XS.WRITE, "data\0secret"), "OK\0");
  assert.equal(victim.call(XS.SET_PERMS, "data\0n3\0b4\0"), "OK\0", "the owner shares its node");
  assert.equal(attacker.call(XS.WRITE, "/local/domain/3/data\0changed"), "OK\0", "which the other may write");
  assert.equal(attacker.call(XS.SET_PERMS, "/local/domain/3/data\0n4\0"), "ERR:EACCES", "but not take");
  assert.equal(attacker.call(XS.SET_PERMS, "/local/domain/3/data\0n3\0b4\0r5\0"), "ERR:EACCES", "nor change its permissions");
  assert.equal(victim.call(XS.GET_PERMS, "data\0"), "n3\0b4\0");
  xs.domainGone(4, true);
  assert.equal(victim.call(XS.READ, "data\0"), "changed", "the node stays when the other domain goes");
  assert.equal(victim.call(XS.SET_PERMS, "data\0n3\0r1\0r2\0r5\0r6\0r7\0"), "ERR:ENOSPC", "6 entries: over the quota");
  assert.equal(victim.call(XS.SET_PERMS, "data\0" + Array.from({ length: 800 }, (_, i) => `r${i + 10}\0`).join("")), "ERR:ENOSPC");
  assert.equal(dom0.call(XS.SET_PERMS, "/local/domain/3/data\0n3\0" + Array.from({ length: 20 }, (_, i) => `r${i + 10}\0`).join("")), "OK\0", "Domain-0 has no such quota");
  assert.equal(victim.call(XS.SET_PERMS, "data\0n3\0"), "OK\0");
  // control messages are Domain-0's; what it prints stays one line
  assert.equal(victim.call(XS.CONTROL, "print\0forged\n(XEN) line\0"), "ERR:EACCES");
  assert.equal(dom0.call(XS.CONTROL, "print\0two\nlines\0"), "OK\0");
  assert.deepEqual(logs.filter((l) => l.includes("two")), ["d0: two\\x0alines"]);
});

test("xenstored: watches fire only for nodes the watcher may read (or whose parent it may), @introduce/@releaseDomain only for Domain-0 unless it allows", () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const dom0 = client(xs, 0, true);
  for (const d of [3, 5]) { dom0.call(XS.MKDIR, `/local/domain/${d}\0`); dom0.call(XS.SET_PERMS, `/local/domain/${d}\0n${d}\0`); }
  const victim = client(xs, 3), spy = client(xs, 5);
  victim.call(XS.WRITE, "private/a\0x");
  victim.call(XS.WRITE, "private/b/c\0y");
  for (const w of ["/\0all\0", "/local/domain/3\0v\0", "/local/domain/3/private/b/c\0c\0", "@releaseDomain\0r\0", "@introduceDomain\0i\0"]) spy.send(XS.WATCH, w);
  const events = (): string[] => spy.got.filter((m) => m.type === XS.WATCH_EVENT).map((m) => m.payload.split("\0")[0]);
  spy.got.length = 0;
  victim.call(XS.WRITE, "private/a\0z");
  victim.call(XS.RM, "private\0");
  xs.domainGone(9, false);
  assert.deepEqual(events(), [], "nothing of domain 3's nodes, nor of other domains' lives, reaches domain 5");
  // a node domain 5 may read, removed: it hears of it
  victim.call(XS.WRITE, "shared\0s");
  victim.call(XS.SET_PERMS, "shared\0n3\0r5\0");
  spy.got.length = 0;
  victim.call(XS.RM, "shared\0");
  assert.ok(events().includes("/local/domain/3/shared"), events().join(","));
  // Domain-0 lets domain 5 see @releaseDomain
  assert.equal(spy.call(XS.SET_PERMS, "@releaseDomain\0n5\0"), "ERR:EACCES");
  assert.equal(dom0.call(XS.SET_PERMS, "@releaseDomain\0n0\0r5\0"), "OK\0");
  assert.equal(dom0.call(XS.GET_PERMS, "@releaseDomain\0"), "n0\0r5\0");
  spy.got.length = 0;
  xs.domainGone(10, false);
  assert.deepEqual(events(), ["@releaseDomain"]);
});

test("xenstored: errors say no more than the caller may know; replies stay within 4096 bytes; transactions keep the node quota", () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const dom0 = client(xs, 0, true);
  for (const d of [3, 5]) { dom0.call(XS.MKDIR, `/local/domain/${d}\0`); dom0.call(XS.SET_PERMS, `/local/domain/${d}\0n${d}\0`); }
  const g = client(xs, 5);
  assert.equal(g.call(XS.READ, "/local/domain/3/nothing\0"), "ERR:EACCES", "under another domain: EACCES, as Xen");
  assert.equal(g.call(XS.READ, "/local/domain/3/a/b\0"), "ERR:EACCES");
  assert.equal(g.call(XS.RM, "/local/domain/3/nothing\0"), "ERR:EACCES");
  assert.equal(g.call(XS.READ, "nothing\0"), "ERR:ENOENT", "in its own tree: ENOENT");
  // a directory listing over 4096 bytes: E2BIG, as Xen's send_reply
  for (let i = 0; i < 120; i++) dom0.call(XS.WRITE, `/big/${"n".repeat(40)}${i}\0`);
  assert.equal(dom0.call(XS.DIRECTORY, "/big\0"), "ERR:E2BIG");
  assert.ok(dom0.call(XS.DIRECTORY_PART, "/big\0" + "0\0").length <= 4096);
  // eight transactions, each under the quota alone, cannot add up beyond it
  for (let k = 0; k < 8; k++) g.call(XS.MKDIR, `t${k}\0`); // separate parents: the transactions do not conflict
  const txs = Array.from({ length: 8 }, () => Number(g.call(XS.TRANSACTION_START, "\0").replace(/\0$/, "")));
  txs.forEach((tx, k) => {
    for (let i = 0; i < QUOTA.nodesPerDomain / 2; i++) assert.equal(g.call(XS.WRITE, `t${k}/${i}\0v`, tx), "OK\0");
  });
  for (const t of g.conn.txs.values()) assert.ok(t.store.changedNodes() <= QUOTA.nodesPerDomain / 2 + 1, "a transaction holds what it changed, not a copy of the store");
  const results = txs.map((tx) => g.call(XS.TRANSACTION_END, "T\0", tx));
  assert.equal(results.filter((r) => r === "OK\0").length, 1, results.join(","));
  assert.ok(results.slice(1).every((r) => r === "ERR:ENOSPC"), results.join(","));
  assert.ok(xs.store.countOwned(5) <= QUOTA.nodesPerDomain, `${xs.store.countOwned(5)} nodes`);
});

test("xenstored: a restored domain gets its watches back (its kernel does not register them again), bad ones refused", () => {
  let transport: ((t: import("../../src/tools/xenstore/xenstored.js").Transport) => Connection) | null = null;
  const xs = new Xenstored({ introduce(_d, _g, _p, conn) { transport = conn; }, release() {}, log() {} });
  const dom0 = client(xs, 0, true);
  const got: string[] = [];
  assert.equal(dom0.call(XS.INTRODUCE, "7\x00123\x001\0"), "OK\0");
  transport!({ send(m) { got.push(Buffer.from(m.subarray(16)).toString("latin1")); }, close() {} });
  dom0.call(XS.MKDIR, "/local/domain/7/control\0");
  dom0.call(XS.SET_PERMS, "/local/domain/7\0n7\0");
  const refused = xs.restoreWatches(7, [{ path: "control/shutdown", token: "T" }, { path: "bad//path", token: "x" }, { path: "control/shutdown", token: "T" }]);
  assert.equal(refused, 2);
  assert.deepEqual(xs.watchesOf(7), [{ path: "control/shutdown", token: "T" }]);
  assert.deepEqual(got, [], "no initial event");
  dom0.call(XS.WRITE, "/local/domain/7/control/shutdown\0poweroff");
  assert.deepEqual(got, ["control/shutdown\0T\0"]);
});

test("xenstored: what the xenstore fuzzer found: an INTRODUCE of nothing, and a node named like a special path, from Domain-0", () => {
  const logs: string[] = [];
  const xs = new Xenstored({ introduce() { throw new Error("foreign map of d7 failed: EINVAL"); }, release() {}, log: (l) => logs.push(l) });
  const dom0 = client(xs, 0, true);
  assert.equal(dom0.call(XS.INTRODUCE, "7\x00123\x001\0"), "ERR:EINVAL", "the ring cannot be mapped: EINVAL, not an exception through the socket");
  assert.equal(dom0.call(XS.INTRODUCE, "7\x000x1f\x001\0"), "ERR:EINVAL", "a gfn that is no number");
  assert.ok(logs.some((l) => l.includes("INTRODUCE of d7 refused")));
  assert.equal(dom0.call(XS.WRITE, "@introduceDomain\0x"), "ERR:EINVAL");
  assert.equal(dom0.call(XS.MKDIR, "@releaseDomain\0"), "ERR:EINVAL");
  assert.equal(dom0.call(XS.DIRECTORY, "/\0"), "local\0vm\0tool\0", "no node named @...");
  assert.equal(xs.stats.bugs, 0);
});

test("xenstored: Debian's xenstore-utils work against the socket", async () => {
  const xs = new Xenstored({ introduce() {}, release() {}, log() {} });
  const dir = mkdtempSync(join(tmpdir(), "xents-xs-"));
  const path = join(dir, "socket");
  const srv = new XenstoreSocketServer(xs, path);
  await srv.listen();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const run = (cmd: string, ...args: string[]): Promise<{ code: number; out: string }> => new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, XENSTORED_PATH: path }, timeout: 10000 }, (e, so) => res({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, out: so }));
  });
  try {
    assert.equal((await run("xenstore-write", "/vm/test/name", "hello", "/vm/test/mem", "256")).code, 0);
    assert.equal((await run("xenstore-read", "/vm/test/name")).out, "hello\n");
    assert.equal((await run("xenstore-exists", "/vm/test/mem")).code, 0);
    assert.equal((await run("xenstore-exists", "/vm/nope")).code, 1);
    assert.equal((await run("xenstore-list", "/vm/test")).out.split("\n").filter(Boolean).sort().join(","), "mem,name");
    assert.equal((await run("xenstore-chmod", "/vm/test/name", "n0", "r7")).code, 0);
    assert.match((await run("xenstore-ls", "-p", "/vm/test")).out, /name = "hello".*\(n0,r7\)/);
    const watch = run("xenstore-watch", "-n", "2", "/vm/test");
    await new Promise((r) => setTimeout(r, 300));
    await run("xenstore-write", "/vm/test/mem", "512");
    const w = await watch;
    assert.deepEqual(w.out.split("\n").filter(Boolean), ["/vm/test", "/vm/test/mem"]);
    assert.equal((await run("xenstore-rm", "/vm/test")).code, 0);
    assert.equal((await run("xenstore-read", "/vm/test/name")).code, 1);
  } finally {
    await srv.close();
  }
});

test("xenstored: a new domain given a dead one's id inherits none of its permissions, nor one set before it existed (Xen's XSA-322)", () => {
  const alive = new Set([5, 6]);
  const xs = new Xenstored({ introduce() {}, release() {}, log() {}, domainExists: (d) => alive.has(d) });
  const dom0 = client(xs, 0, true);
  assert.equal(dom0.call(XS.MKDIR, "/local/domain/6\0"), "OK\0");
  assert.equal(dom0.call(XS.SET_PERMS, "/local/domain/6\0n6\0"), "OK\0");
  assert.equal(dom0.call(XS.MKDIR, "/local/domain/7\0"), "OK\0");
  assert.equal(dom0.call(XS.SET_PERMS, "/local/domain/7\0n7\0"), "OK\0", "an owner named before the domain exists");
  assert.equal(dom0.call(XS.WRITE, "/local/domain/6/secret\0s"), "OK\0");
  assert.equal(dom0.call(XS.SET_PERMS, "/local/domain/6/secret\0n6\0r5\0"), "OK\0");
  assert.equal(dom0.call(XS.WRITE, "/local/domain/6/other\0o"), "OK\0");
  assert.equal(dom0.call(XS.SET_PERMS, "/local/domain/6/other\0n6\0r7\0"), "OK\0", "domain 7 does not exist yet");
  const old5 = client(xs, 5);
  assert.equal(old5.call(XS.READ, "/local/domain/6/secret\0"), "s");
  xs.disconnect(old5.conn);
  alive.delete(5);
  xs.domainGone(5, true);

  alive.add(5);
  alive.add(7);
  const new5 = client(xs, 5), d7 = client(xs, 7);
  assert.equal(new5.call(XS.READ, "/local/domain/6/secret\0"), "ERR:EACCES", "the dead domain's read permission is not the new one's");
  assert.equal(d7.call(XS.READ, "/local/domain/6/other\0"), "ERR:EACCES", "a permission naming no domain counts for none created later");
  assert.equal(new5.call(XS.WATCH, "/local/domain/6/secret\0t\0"), "OK\0");
  new5.got.length = 0;
  assert.equal(dom0.call(XS.WRITE, "/local/domain/6/secret\0s2"), "OK\0");
  assert.equal(new5.got.filter((m) => m.type === XS.WATCH_EVENT).length, 0, "nor does it see the node's changes");
  // granted afresh by Domain-0, the same entries count
  assert.equal(dom0.call(XS.SET_PERMS, "/local/domain/6/secret\0n6\0r5\0"), "OK\0");
  assert.equal(new5.call(XS.READ, "/local/domain/6/secret\0"), "s2");
  assert.equal(new5.got.filter((m) => m.type === XS.WATCH_EVENT).length, 1, "the re-grant itself is an event it may see");
  assert.equal(d7.call(XS.WRITE, "/local/domain/7/x\0y"), "ERR:EACCES", "owns nothing");
  assert.equal(dom0.call(XS.GET_PERMS, "/local/domain/6/other\0"), "n6\0", "an ignored entry is not shown");
});

