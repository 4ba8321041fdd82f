// The host's HTTP API (issue 18): the daemon's commands as versioned JSON
// routes (api_routes.ts), run through the same dispatcher as the control
// socket, with an OpenAPI document at /api/openapi.json.
//
// Fastify is the server: well kept, fast, with body limits, content-type
// parsing and error handling built in, @fastify/cookie for the login
// cookie, @fastify/websocket (ws) for the consoles and @fastify/static for
// the web page. Every request needs the host's token (http_token.ts), as
// `Authorization: Bearer <token>` or the HttpOnly cookie that /login sets.
// A state-changing request authenticated by the cookie must come from the
// page's own origin (its Origin header, which browsers send with every
// such request, names this server) and carry JSON (a form on another site
// can send neither), so another site cannot act with a user's cookie.
// Bodies are limited to 1 MiB and must be JSON; whatever is malformed gets
// a 4xx with a message, and an exception the daemon did not mean a 500.

import type { FastifyInstance, FastifyReply, FastifyRequest, InjectOptions, LightMyRequestResponse } from "fastify";
import { lazyPackage } from "../lazy_package.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../package_root.js";
import type { WebSocket } from "ws";
import type { ConsoleHistory } from "../console_history.js";
import type { HostMetrics } from "./metrics.js";
import type { Dispatcher, Outcome } from "../daemon/control_server.js";
import { checkObject, type CommandName } from "../daemon/commands.js";
import { API_ROUTES, ConfigError, type ApiRoute } from "./api_routes.js";
import { openApiDocument } from "./openapi.js";
import { sameToken } from "./http_token.js";
import type { HttpListen } from "./http_listen.js";

// (CommonJS, loaded by the first server: lazy_package.ts)
const fastify = lazyPackage<typeof import("fastify").default>("fastify");
const fastifyCookie = lazyPackage<typeof import("@fastify/cookie").default>("@fastify/cookie");
const fastifyWebsocket = lazyPackage<typeof import("@fastify/websocket").default>("@fastify/websocket");
const fastifyStatic = lazyPackage<typeof import("@fastify/static").default>("@fastify/static");
const PORTS_TRIED = 32; // from the default port up, when other hosts hold it
const BODY_LIMIT = 1 << 20;
const WEB_ROOT = join(packageRoot, "dist/web");
const WS_MAX_MESSAGE = 64 << 10; // what a console viewer may send at once (larger: the connection closes, 1009)
const WS_BACKLOG = 1 << 20; // output queued for one viewer
export const COOKIE = "xents_token";

const json = (x: unknown): string => JSON.stringify(x, (_k, val: unknown) => (typeof val === "bigint" ? Number(val) : val));

export class ApiServer {
  private readonly app: FastifyInstance;
  address: string | null = null; // host:port once listening

  // `consoles`: a domain's console (its history and its input), as the
  // control socket's console command attaches it; null if there is none
  // `metrics`: the host's, for GET /metrics (none: 404)
  constructor(private readonly dispatcher: Dispatcher, private readonly token: string, private readonly consoles: (domain: string | number) => ConsoleHistory | null = () => null,
    private readonly metrics: HostMetrics | null = null) {
    this.app = fastify()({ bodyLimit: BODY_LIMIT, logger: false, return503OnClosing: true });
    void this.app.register(fastifyCookie());
    void this.app.register(fastifyWebsocket(), { options: { maxPayload: WS_MAX_MESSAGE } });
    // bodies are JSON (415 for anything else), but the login form's (URLSearchParams: the standard's own parser)
    this.app.removeContentTypeParser("text/plain");
    this.app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => { done(null, Object.fromEntries(new URLSearchParams(String(body)))); });
    this.app.addHook("onRequest", async (req, reply) => this.guard(req, reply));
    this.app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      void reply.code(code).type("application/json").send(json({ error: err.message }));
    });
    this.app.setNotFoundHandler((req, reply) => { void reply.code(404).type("application/json").send(json({ error: `no route ${req.method} ${req.url.split("?")[0]}` })); });
    this.app.get("/login", async (_req, reply) => reply.type("text/html").send(LOGIN_PAGE("")));
    this.app.post("/login", async (req, reply) => this.login(req, reply));
    this.app.post("/logout", async (_req, reply) => reply.clearCookie(COOKIE, { path: "/" }).redirect("/login", 303));
    this.app.get("/metrics", async (_req, reply) => {
      if (!this.metrics) { await reply.code(404).type("application/json").send(json({ error: "this host keeps no metrics" })); return; }
      await reply.type(this.metrics.contentType).send(await this.metrics.text());
    });
    this.app.get("/api/openapi.json", async (_req, reply) => reply.type("application/json").send(json(openApiDocument(API_ROUTES))));
    this.app.get("/api/v1/domains/:domain", async (req, reply) => this.domainDetails(req, reply));
    void this.app.register(async (app) => {
      app.get("/api/v1/domains/:domain/console", { websocket: true }, (ws, req) => this.attachConsole(ws, (req.params as { domain: string }).domain));
    });
    for (const r of API_ROUTES) this.app.route({ method: r.method, url: r.path, handler: async (req, reply) => this.run(r, req, reply) });
    // the web page: built by `npm run build` (dist/web), served as it is
    if (existsSync(join(WEB_ROOT, "index.html"))) void this.app.register(fastifyStatic(), { root: WEB_ROOT, prefix: "/", index: ["index.html"], wildcard: true });
    else this.app.get("/", async (_req, reply) => reply.code(404).type("application/json").send(json({ error: `the web page is not built (${WEB_ROOT}): npm run build` })));
  }

  // The token, from the header or the cookie; the cookie's requests only
  // from this origin when they change anything.
  private async guard(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = req.url.split("?")[0];
    if (path === "/login") return;
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined;
    if (bearer !== undefined) {
      if (sameToken(bearer, this.token)) return;
      await reply.code(401).type("application/json").send(json({ error: "the token is wrong" }));
      return;
    }
    if (sameToken(req.cookies[COOKIE], this.token)) {
      // a console's WebSocket changes things too (what is typed into it)
      const upgrade = req.headers.upgrade?.toLowerCase() === "websocket";
      if ((req.method === "GET" || req.method === "HEAD") && !upgrade) return;
      const origin = req.headers.origin;
      if (origin !== `http://${req.headers.host}` || req.headers["sec-fetch-site"] === "cross-site") {
        await reply.code(403).type("application/json").send(json({ error: `a request that changes something must come from this page (Origin ${origin ?? "missing"})` }));
      } else if (!upgrade && path !== "/logout" && !/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
        await reply.code(415).type("application/json").send(json({ error: "a request that changes something sends JSON (Content-Type: application/json)" }));
      }
      return;
    }
    if (path.startsWith("/api/") || path === "/metrics") await reply.code(401).header("www-authenticate", "Bearer").type("application/json").send(json({ error: "a token is needed: Authorization: Bearer <the host's http.token>, or log in at /login" }));
    else await reply.redirect("/login", 303);
  }

  private async login(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = req.body as Record<string, unknown> | undefined;
    const given = typeof body?.token === "string" ? body.token.trim() : undefined;
    if (!sameToken(given, this.token)) {
      await reply.code(401).type("text/html").send(LOGIN_PAGE("That is not this host's token."));
      return;
    }
    await reply.setCookie(COOKIE, this.token, { path: "/", httpOnly: true, sameSite: "strict" }).redirect("/", 303);
  }

  private async run(r: ApiRoute, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    let body: Record<string, unknown> = {};
    if (r.body && req.body !== undefined && !/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
      await reply.code(415).type("application/json").send(json({ error: "the body must be JSON (Content-Type: application/json)" }));
      return;
    }
    if (r.body) {
      const checked = checkObject(r.body, req.body ?? {});
      if (!checked.ok) {
        await reply.code(400).type("application/json").send(json({ error: `${checked.key ?? "the body"} ${checked.message}` }));
        return;
      }
      body = checked.output as Record<string, unknown>;
    }
    let args: Record<string, unknown>;
    try { args = r.args(req.params as Record<string, string>, body); } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      await reply.code(400).type("application/json").send(json({ error: e.message }));
      return;
    }
    if (r.progress && /\btext\/event-stream\b/.test(req.headers.accept ?? "")) { await this.stream(r.command, r.progress, args, reply); return; }
    await this.answer(reply, await this.dispatcher.run(r.command, args, null), r.status ?? 200);
  }

  // A long command as server-sent events: "progress" each time the
  // progress command's answer changes (read every 200 ms), then "done"
  // with the command's answer or "error" with its message.
  private async stream(cmd: CommandName, progress: CommandName, args: Record<string, unknown>, reply: FastifyReply): Promise<void> {
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (event: string, data: unknown): void => { if (!out.destroyed) out.write(`event: ${event}\ndata: ${json(data)}\n\n`); };
    let last = "";
    const poll = setInterval(() => {
      void this.dispatcher.run(progress, {}, null).then((o) => {
        if (!o.ok || o.result === null) return;
        const j = json(o.result);
        if (j !== last) { last = j; send("progress", o.result); }
      });
    }, 200);
    try {
      const o = await this.dispatcher.run(cmd, args, null);
      if (o.ok) send("done", o.result); else send("error", { error: o.error });
    } finally {
      clearInterval(poll);
      out.end();
    }
  }

  private async answer(reply: FastifyReply, o: Outcome, status: number): Promise<void> {
    if (o.ok) { await reply.code(status).type("application/json").send(json(o.result)); return; }
    const code = o.kind === "bug" || o.kind === "unknown" ? 500 : /^no domain /.test(o.error) ? 404 : 400;
    await reply.code(code).type("application/json").send(json({ error: o.error }));
  }

  // One domain: its row of the list, disks, vifs and event channels.
  private async domainDetails(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const ref = (req.params as { domain: string }).domain;
    const domain = /^\d+$/.test(ref) ? Number(ref) : ref;
    const list = await this.dispatcher.run("list", {}, null);
    if (!list.ok) { await this.answer(reply, list, 200); return; }
    const row = (list.result as { name: string; id: number }[]).find((d) => d.name === domain || d.id === domain);
    if (!row) { await reply.code(404).type("application/json").send(json({ error: `no domain '${ref}'` })); return; }
    const out: Record<string, unknown> = { ...row };
    if (row.id !== 0) out.console = `/api/v1/domains/${encodeURIComponent(row.name)}/console`;
    if (this.metrics) out.counters = this.metrics.deviceCounters(row.id);
    if (row.id !== 0) {
      for (const [key, cmd] of [["disks", "block-list"], ["vifs", "network-list"], ["event_channels", "lsevtchn"]] as const) {
        const o = await this.dispatcher.run(cmd, { domain: row.id }, null);
        if (!o.ok) { await this.answer(reply, o, 200); return; }
        out[key] = o.result;
      }
    }
    await reply.type("application/json").send(json(out));
  }

  // A console over a WebSocket, as `xents console` has it: what was said
  // while nobody listened first, then output as it comes (binary
  // messages); every message from the client is typed into the console.
  // Several viewers may attach at once. A viewer that stops reading loses
  // output rather than growing the host's memory.
  private attachConsole(ws: WebSocket, ref: string): void {
    const c = this.consoles(/^\d+$/.test(ref) ? Number(ref) : ref);
    if (!c) { ws.close(4404, `no console of a domain '${ref.slice(0, 64)}'`); return; }
    const send = (d: Uint8Array): void => { if (ws.readyState === ws.OPEN && ws.bufferedAmount < WS_BACKLOG) ws.send(d, { binary: true }); };
    const history = c.historyText();
    if (history.length) send(history);
    const ended = (): void => ws.close(1000, "the console is gone");
    c.listeners.add(send);
    c.endListeners.add(ended);
    ws.on("message", (d: Buffer | ArrayBuffer | Buffer[]) => c.input(new Uint8Array(Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d as ArrayBuffer))));
    ws.on("close", () => { c.listeners.delete(send); c.endListeners.delete(ended); });
    ws.on("error", () => ws.terminate());
  }

  // Listens where asked; at the default address, on the next free port if
  // another host holds it.
  async listen(at: HttpListen): Promise<string> {
    for (let i = 0; ; i++) {
      const port = at.port + i;
      try {
        await this.app.listen({ host: at.host, port });
        const bound = this.app.server.address();
        const real = typeof bound === "object" && bound ? bound.port : port; // (port 0: the one the system chose)
        this.address = `${at.host.includes(":") ? `[${at.host}]` : at.host}:${real}`;
        return this.address;
      } catch (e) {
        const taken = (e as NodeJS.ErrnoException).code === "EADDRINUSE";
        if (!taken || at.explicit || i + 1 >= PORTS_TRIED || port >= 65535) throw new Error(`the HTTP API cannot listen on ${at.host}:${port}: ${(e as Error).message}`);
      }
    }
  }

  async close(): Promise<void> { await this.app.close(); }

  // For tests: a request without a socket.
  inject(o: InjectOptions): Promise<LightMyRequestResponse> { return this.app.inject(o); }
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const LOGIN_PAGE = (error: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xents: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>xents</h1>
<p>This host's token is in <code>$XENTS_HOME/http.token</code> on the host.</p>
${error ? `<p role="alert" style="color: #b00">${esc(error)}</p>` : ""}
<form method="post" action="/login">
<label>Token <input name="token" type="password" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button>
</form></body></html>
`;
