// The host's HTTP API (issue 18) on a daemon in this process: the token
// is required (header or login cookie), a cookie's state-changing request
// must come from the page's origin and carry JSON, domains are created from
// xl.cfg text and driven through the same commands as the CLI, malformed
// input of every kind gets a 4xx with a message, the OpenAPI document lists
// every route, consoles stream over WebSocket to several viewers, and the
// address follows --http (the next free port when the
// default one is taken; beyond localhost only when asked).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostDaemon } from "../../src/tools/daemon/host_daemon.js";
import { HostClient } from "../../src/tools/daemon/client.js";
import { hostPaths } from "../../src/tools/home.js";
import { makeHostFactory } from "../../src/host/host_factory.js";
import { idleImage } from "../../src/host/fuzz/idle_image.js";
import { API_ROUTES } from "../../src/tools/http/api_routes.js";
import { COMMAND_NAMES } from "../../src/tools/daemon/commands.js";
import { ApiServer } from "../../src/tools/http/api_server.js";
import { parseHttpListen, DEFAULT_HTTP_PORT } from "../../src/tools/http/http_listen.js";
import type { Toolstack } from "../../src/tools/toolstack.js";
import { WebSocket } from "ws";

const home = mkdtempSync(join(tmpdir(), "xents-http-"));
const paths = hostPaths(home);
let daemon: HostDaemon;
let serving: Promise<void>;
let base = "";
let token = "";
const kernel = join(home, "idle.bin");

before(async () => {
  writeFileSync(kernel, idleImage());
  writeFileSync(paths.migrateKey, `${"ab".repeat(32)}\n`, { mode: 0o600 });
  daemon = new HostDaemon(paths, makeHostFactory(() => {}), { ramMiB: 128, deterministic: false, http: { host: "127.0.0.1", port: 0, explicit: true } });
  await daemon.start();
  serving = daemon.serve();
  const c = await HostClient.connect(paths);
  const st = await c.call("status");
  c.close();
  assert.match(String(st.http), /^127\.0\.0\.1:\d+$/, "host status names the API's address");
  base = `http://${String(st.http)}`;
  token = readFileSync(paths.httpToken, "utf8").trim();
});
after(async () => {
  const c = await HostClient.connect(paths);
  await c.call("stop");
  c.close();
  await serving;
  rmSync(home, { recursive: true, force: true });
});

const auth = (): Record<string, string> => ({ authorization: `Bearer ${token}` });
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth()): Promise<{ status: number; body: unknown }> {
  const r = await fetch(base + path, {
    method, headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body), redirect: "manual",
  });
  const text = await r.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* html */ }
  return { status: r.status, body: parsed };
}
const errorOf = (r: { body: unknown }): string => String((r.body as { error?: unknown }).error);

test("the token: made 0600 at the first start; every request needs it; a wrong one is refused", async () => {
  assert.equal(statSync(paths.httpToken).mode & 0o777, 0o600);
  assert.ok(token.length >= 64);
  const none = await call("GET", "/api/v1/domains", undefined, {});
  assert.equal(none.status, 401);
  assert.match(errorOf(none), /a token is needed/);
  const wrong = await call("GET", "/api/v1/domains", undefined, { authorization: `Bearer ${"0".repeat(64)}` });
  assert.equal(wrong.status, 401);
  assert.match(errorOf(wrong), /the token is wrong/);
  assert.equal((await call("GET", "/api/openapi.json", undefined, {})).status, 401, "the document too");
  const page = await fetch(`${base}/`, { redirect: "manual" });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/login", "a page without the cookie sends the browser to log in");
  const ok = await call("GET", "/api/v1/domains");
  assert.equal(ok.status, 200);
  assert.deepEqual((ok.body as { name: string }[]).map((d) => d.name), ["Domain-0"]);
});

test("a domain's life through the API: created from xl.cfg text, listed, detailed, paused, its memory set, destroyed; the same commands as the CLI", async () => {
  const created = await call("POST", "/api/v1/domains", { config: `name = "web"\nmemory = 16\nvcpus = 1\nkernel = "${kernel}"\n` });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { domid, name } = created.body as { domid: number; name: string };
  assert.equal(name, "web");
  const details = await call("GET", "/api/v1/domains/web");
  assert.equal(details.status, 200);
  const d = details.body as { id: number; mem: number; disks: unknown[]; vifs: unknown[]; event_channels: unknown[] };
  assert.equal(d.id, domid);
  assert.deepEqual([d.disks, d.vifs], [[], []]);
  assert.ok(Array.isArray(d.event_channels) && d.event_channels.length > 0, "its console and xenstore channels");
  assert.equal((await call("GET", `/api/v1/domains/${domid}`)).status, 200, "by id too");
  assert.equal((await call("POST", "/api/v1/domains/web/pause", {})).status, 200);
  const row = async (): Promise<{ state: string; mem: number }> => ((await call("GET", "/api/v1/domains")).body as { name: string; state: string; mem: number }[]).find((x) => x.name === "web")!;
  assert.match((await row()).state, /p/);
  assert.equal((await call("POST", "/api/v1/domains/web/unpause", {})).status, 200);
  assert.doesNotMatch((await row()).state, /p/);
  assert.equal((await call("GET", "/api/v1/domains/web/vcpus")).status, 200);
  const dup = await call("POST", "/api/v1/domains", { config: `name = "web"\nmemory = 16\nkernel = "${kernel}"\n` });
  assert.equal(dup.status, 400);
  assert.match(errorOf(dup), /web/);
  assert.equal((await call("DELETE", "/api/v1/domains/web")).status, 200);
  const gone = await call("GET", "/api/v1/domains/web");
  assert.equal(gone.status, 404);
  assert.match(errorOf(gone), /no domain 'web'/);
  assert.equal((await call("POST", "/api/v1/domains/web/pause", {})).status, 404);
});

test("malformed input of every kind: a clear 4xx with a message, and the host answers on", async () => {
  const cases: [string, string, unknown, number, RegExp][] = [
    ["POST", "/api/v1/domains", "{not json", 400, /not valid JSON/],
    ["POST", "/api/v1/domains", {}, 400, /config must be the xl\.cfg text/],
    ["POST", "/api/v1/domains", { config: 7 }, 400, /config must be the xl\.cfg text/],
    ["POST", "/api/v1/domains", { config: "name = \"x\"\nmemory = \n" }, 400, /./],
    ["POST", "/api/v1/domains", { config: "name = \"x\"\nmemory = 16\n" }, 400, /kernel/],
    ["POST", "/api/v1/domains", { config: "x".repeat(70_000) }, 400, /at most 65536 bytes/],
    ["POST", "/api/v1/domains", { config: "x".repeat(2 << 20) }, 413, /./],
    ["POST", "/api/v1/domains", [1, 2], 400, /./],
    ["PUT", "/api/v1/domains/Domain-0/memory", { mib: "lots" }, 400, /mib must be a number of MiB/],
    ["PUT", "/api/v1/domains/Domain-0/vcpus", { count: 0.5 }, 400, /count must be a whole number/],
    ["POST", "/api/v1/domains/nobody/disks", { spec: "" }, 400, /spec must be given as text/],
    ["POST", "/api/v1/domains/nobody/migrate", { host: "h", port: 70000 }, 400, /port/],
    ["GET", "/api/v1/nothing-here", undefined, 404, /no route GET \/api\/v1\/nothing-here/],
    ["PATCH", "/api/v1/domains", undefined, 404, /no route/],
  ];
  for (const [method, path, body, status, re] of cases) {
    const r = await call(method, path, body);
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}: ${JSON.stringify(r.body).slice(0, 200)}`);
    assert.match(errorOf(r), re, `${method} ${path}`);
  }
  const plain = await fetch(`${base}/api/v1/domains`, { method: "POST", headers: { ...auth(), "content-type": "text/plain" }, body: "name=x" });
  assert.equal(plain.status, 415);
  const form = await fetch(`${base}/api/v1/domains`, { method: "POST", headers: { ...auth(), "content-type": "application/x-www-form-urlencoded" }, body: "config=x" });
  assert.equal(form.status, 415);
  assert.match(errorOf({ body: await form.json() }), /the body must be JSON/);
  assert.equal((await call("GET", "/api/v1/domains")).status, 200, "still answering");
  const c = await HostClient.connect(paths);
  assert.equal((await c.call("status")).daemon_bugs, 0, "no request was a bug in the daemon");
  c.close();
});

test("the login page's cookie: HttpOnly and SameSite; with it, changes only from this origin and as JSON", async () => {
  const bad = await fetch(`${base}/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=nope", redirect: "manual" });
  assert.equal(bad.status, 401);
  assert.match(await bad.text(), /That is not this host's token/);
  const good = await fetch(`${base}/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token }).toString(), redirect: "manual" });
  assert.equal(good.status, 303);
  const set = good.headers.get("set-cookie") ?? "";
  assert.match(set, /xents_token=/);
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  const cookie = set.split(";")[0];
  assert.equal((await call("GET", "/api/v1/domains", undefined, { cookie })).status, 200);
  const origin = base;
  const noOrigin = await call("POST", "/api/v1/domains/Domain-0/pause", {}, { cookie });
  assert.equal(noOrigin.status, 403);
  assert.match(errorOf(noOrigin), /must come from this page \(Origin missing\)/);
  assert.equal((await call("POST", "/api/v1/domains/Domain-0/pause", {}, { cookie, origin: "http://evil.example" })).status, 403);
  const form = await fetch(`${base}/api/v1/domains/Domain-0/pause`, { method: "POST", headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" }, body: "a=b" });
  assert.equal(form.status, 415, "a form post (what another site could make a browser send) is refused");
  // from the page itself, as JSON: it reaches the command (Domain-0 cannot be paused: the command's own answer)
  const own = await call("POST", "/api/v1/domains/Domain-0/pause", {}, { cookie, origin });
  assert.equal(own.status, 404);
  assert.match(errorOf(own), /no domain 'Domain-0'/);
});

test("the OpenAPI document lists every route with its parameters and body schema", async () => {
  const r = await call("GET", "/api/openapi.json");
  assert.equal(r.status, 200);
  const doc = r.body as { openapi: string; paths: Record<string, Record<string, { parameters: { name: string }[]; requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>> };
  assert.equal(doc.openapi, "3.1.0");
  for (const route of API_ROUTES) {
    const p = route.path.replace(/:(\w+)/g, "{$1}");
    const op = doc.paths[p]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${p} is documented`);
    assert.deepEqual(op.parameters.map((x) => x.name), [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]));
    assert.equal(op.requestBody !== undefined, route.body !== undefined, `${route.method} ${p}'s body`);
  }
  assert.deepEqual(Object.keys(doc.paths["/api/v1/domains"].post.requestBody!.content["application/json"].schema.properties!), ["config", "paused"]);
});

test("where it listens: 127.0.0.1:8480 by default, the next free port when that is taken, beyond localhost only with --http-public, or off", async () => {
  assert.deepEqual(parseHttpListen(undefined, false), { host: "127.0.0.1", port: DEFAULT_HTTP_PORT, explicit: false });
  assert.equal(parseHttpListen("off", false), null);
  assert.deepEqual(parseHttpListen("9001", false), { host: "127.0.0.1", port: 9001, explicit: true });
  assert.deepEqual(parseHttpListen("[::1]:9001", false), { host: "::1", port: 9001, explicit: true });
  assert.throws(() => parseHttpListen("0.0.0.0:9001", false), /listens beyond this machine: say so with --http-public/);
  assert.deepEqual(parseHttpListen("0.0.0.0:9001", true), { host: "0.0.0.0", port: 9001, explicit: true });
  for (const badText of ["", "http://x:1", "1.2.3.4:", "x:70000", "x:0"]) assert.throws(() => parseHttpListen(badText, true), /--http takes ADDRESS:PORT, PORT or off/, badText);
  // a port another holds: the default address moves on; an explicit one says so
  const other = createServer();
  await new Promise<void>((res) => other.listen(0, "127.0.0.1", res));
  const taken = (other.address() as { port: number }).port;
  const dispatcher = { run: async () => ({ ok: true as const, result: null }) } as unknown as ConstructorParameters<typeof ApiServer>[0];
  const a = new ApiServer(dispatcher, "t".repeat(64));
  assert.equal(await a.listen({ host: "127.0.0.1", port: taken, explicit: false }), `127.0.0.1:${taken + 1}`);
  await a.close();
  const b = new ApiServer(dispatcher, "t".repeat(64));
  await assert.rejects(b.listen({ host: "127.0.0.1", port: taken, explicit: true }), /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  await b.close();
  other.close();
});

test("consoles over WebSocket: the history first, then output to every viewer; what a viewer sends is typed; limits and the token hold", async () => {
  const created = await call("POST", "/api/v1/domains", { config: `name = "con"\nmemory = 16\nkernel = "${kernel}"\n` });
  assert.equal(created.status, 201);
  const g = [...(daemon as unknown as { ts: Toolstack }).ts.guests.values()].find((x) => x.name === "con")!;
  const typed: string[] = [];
  g.console.input = (d: Uint8Array): void => { typed.push(Buffer.from(d).toString("latin1")); }; // (what reaches the console's input)
  g.console.emit(new Uint8Array(Buffer.from("said before anyone looked\n")));
  const url = `${base.replace("http:", "ws:")}/api/v1/domains/con/console`;
  type Viewer = { ws: WebSocket; got: () => string; closed: Promise<number> };
  const open = async (headers: Record<string, string> = auth()): Promise<Viewer> => {
    const ws = new WebSocket(url, { headers });
    let text = "";
    ws.on("message", (d: Buffer) => { text += d.toString("latin1"); });
    const closed = new Promise<number>((res) => ws.on("close", (code) => res(code)));
    await new Promise<void>((res, rej) => { ws.once("open", () => res()); ws.once("error", rej); });
    return { ws, got: () => text, closed };
  };
  const until = async (what: string, f: () => boolean): Promise<void> => {
    for (const t0 = Date.now(); !f(); await new Promise((r) => setTimeout(r, 10))) assert.ok(Date.now() - t0 < 5000, what);
  };
  const a = await open(), b = await open();
  await until("the history, to each viewer", () => a.got().includes("said before") && b.got().includes("said before"));
  g.console.emit(new Uint8Array(Buffer.from("live output\n")));
  await until("live output, to each", () => a.got().includes("live output") && b.got().includes("live output"));
  a.ws.send("uname -r\n");
  b.ws.send(Buffer.from([3]));
  await until("both typed", () => typed.join("").includes("uname -r\n") && typed.join("").includes("\x03"));
  // a message over the limit ends that viewer only
  a.ws.send(Buffer.alloc(100 << 10, 0x41));
  assert.equal(await a.closed, 1009);
  assert.ok(!typed.join("").includes("AAAA"), "nothing of it was typed");
  g.console.emit(new Uint8Array(Buffer.from("still here\n")));
  await until("the other viewer goes on", () => b.got().includes("still here"));
  // no token, a wrong origin with the cookie, a domain that is not there
  const refused = (headers: Record<string, string>, path = "/api/v1/domains/con/console"): Promise<number> => new Promise((res) => {
    const ws = new WebSocket(`${base.replace("http:", "ws:")}${path}`, { headers });
    ws.on("unexpected-response", (_req, r) => { res(r.statusCode ?? 0); ws.terminate(); });
    ws.on("open", () => res(101));
    ws.on("error", () => { /* the response said it */ });
  });
  assert.equal(await refused({}), 401);
  const login = await fetch(`${base}/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token }).toString(), redirect: "manual" });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  assert.equal(await refused({ cookie, origin: "http://evil.example" }), 403, "another site cannot open a logged-in browser's console");
  assert.equal(await refused({ cookie, origin: base }), 101, "the page's own origin can");
  const nobody = await open(auth()).catch(() => null);
  assert.ok(nobody);
  nobody.ws.close();
  const ghost = new WebSocket(`${base.replace("http:", "ws:")}/api/v1/domains/ghost/console`, { headers: auth() });
  assert.equal(await new Promise<number>((res) => ghost.on("close", (code) => res(code))), 4404);
  // the domain goes: its viewers are told
  assert.equal((await call("DELETE", "/api/v1/domains/con")).status, 200);
  assert.equal(await b.closed, 1000);
});

test("metrics for Prometheus: per-domain CPU, memory, vCPUs, event channels, disks and vifs; the host's frames, migrations and errors; the token required", async () => {
  const disk = join(home, "met.img");
  writeFileSync(disk, Buffer.alloc(1 << 20));
  const created = await call("POST", "/api/v1/domains", { config: `name = "met"\nmemory = 24\nvcpus = 1\nkernel = "${kernel}"\ndisk = ['format=raw, vdev=xvda, access=rw, target=${disk}']\nvif = ['mac=00:16:3e:00:00:77, bridge=xenbr0']\n` });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = (created.body as { domid: number }).domid;
  assert.equal((await fetch(`${base}/metrics`)).status, 401);
  const r = await fetch(`${base}/metrics`, { headers: auth() });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const value = (name: string, labels: string): number => {
    const sel = labels ? `\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\}` : "";
    const m = new RegExp(`^${name}${sel} (\\S+)$`, "m").exec(text);
    assert.ok(m, `${name}{${labels}} in\n${text.slice(0, 3000)}`);
    return Number(m[1]);
  };
  const met = `domain="met",domid="${id}"`;
  assert.equal(value("xents_domain_memory_bytes", met), 24 << 20);
  assert.equal(value("xents_domain_vcpus", met), 1);
  assert.ok(value("xents_domain_event_channels", met) >= 2, "its console and xenstore channels");
  assert.ok(value("xents_domain_cpu_seconds_total", met) >= 0);
  assert.ok(value("xents_domain_memory_bytes", 'domain="Domain-0",domid="0"') > 0);
  assert.match(text, /^# TYPE xents_domain_cpu_seconds_total counter$/m);
  assert.match(text, /^# TYPE xents_domain_memory_bytes gauge$/m);
  assert.equal(value("xents_vbd_requests_total", `${met},device="51712"`), 0, "its disk, not yet used by a frontend");
  assert.equal(value("xents_vif_received_packets_total", `${met},device="0"`), 0);
  const free = value("xents_host_frames_free", ""), total = value("xents_host_frames", "");
  assert.ok(free > 0 && free < total);
  assert.equal(value("xents_host_migrations_total", 'direction="out",result="ok"'), 0);
  assert.equal(value("xents_host_errors_total", 'source="daemon"'), 0);
  assert.equal(value("xents_host_errors_total", 'source="hypervisor"'), 0);
  assert.equal((await call("DELETE", "/api/v1/domains/met")).status, 200);
  const after = await (await fetch(`${base}/metrics`, { headers: auth() })).text();
  assert.doesNotMatch(after, /domain="met"/, "a destroyed domain's series go");
  assert.ok(Number(/^xents_host_frames_free (\S+)$/m.exec(after)?.[1]) > free, "and its frames come back");
});

test("every command of the CLI's table has a route (or says why not), and a long one streams its progress as events", async () => {
  const routed = new Set(API_ROUTES.map((r) => r.command));
  const elsewhere: Record<string, string> = {
    console: "a WebSocket: /api/v1/domains/{domain}/console",
    domid: "GET /api/v1/domains/{domain} takes a name or an id",
    domname: "GET /api/v1/domains/{domain} takes a name or an id",
  };
  for (const c of COMMAND_NAMES) assert.ok(routed.has(c) || elsewhere[c], `the command ${c} has a route`);
  // a migration to where nothing listens: the stream ends with its error
  const dead = createServer();
  await new Promise<void>((res) => dead.listen(0, "127.0.0.1", res));
  const port = (dead.address() as { port: number }).port;
  await new Promise<void>((res) => dead.close(() => res()));
  const created = await call("POST", "/api/v1/domains", { config: `name = "mover"\nmemory = 16\nkernel = "${kernel}"\n` });
  assert.equal(created.status, 201);
  const r = await fetch(`${base}/api/v1/domains/mover/migrate`, { method: "POST", headers: { ...auth(), "content-type": "application/json", accept: "text/event-stream" }, body: JSON.stringify({ host: "127.0.0.1", port }) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^text\/event-stream/);
  const text = await r.text();
  assert.match(text, /^event: error\ndata: \{"error":"cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED[^"]*"\}\n\n$/m);
  assert.equal((await call("GET", "/api/v1/domains/mover")).status, 200, "the domain stays where it was");
  // without the header, the same failure is a plain 400
  const plain = await call("POST", "/api/v1/domains/mover/migrate", { host: "127.0.0.1", port });
  assert.equal(plain.status, 400);
  assert.match(errorOf(plain), /cannot reach/);
  assert.equal((await call("DELETE", "/api/v1/domains/mover")).status, 200);
});
