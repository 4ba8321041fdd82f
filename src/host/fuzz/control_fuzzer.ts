// `xents fuzz control`: random and mutated messages on a host daemon's
// control socket — every command with arguments of every wrong shape, raw
// lines that are no JSON, oversized lines, several at once — against a
// daemon in a directory of its own, with a victim guest the fuzzer never
// names. The daemon must answer every line and stay up; the victim must
// keep running with its memory intact; once the fuzzer's own guests are
// destroyed the host's books and the memory audit must be as before.
// `stop` and `tap-attach`/`tap-detach` are left out: the one ends the run,
// the others change the machine's network.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, Socket } from "node:net";
import { HostDaemon } from "../../tools/daemon/host_daemon.js";
import { hostPaths } from "../../tools/home.js";
import { COMMAND_NAMES, COMMANDS as COMMANDS_TABLE } from "../../tools/daemon/commands.js";
import { makeHostFactory } from "../host_factory.js";
import { FuzzRng } from "./rng.js";
import { FuzzTally, FuzzFigures } from "./tally.js";
import { idleImage } from "./idle_image.js";

export interface ControlFuzzOptions { iterations: number; seed: number }

// host_exceptions: daemon bugs (an exception it did not mean) and requests left unanswered
export interface ControlFuzzReport extends FuzzFigures {
  target: "control";
  requests: number;
  replies: number;
}

// every command of the daemon's table but those three
const COMMANDS = COMMAND_NAMES.filter((c) => c !== "stop" && c !== "tap-attach" && c !== "tap-detach");
// every argument a command takes, and some none does
const ARG_NAMES = [...new Set([...Object.values(COMMANDS_TABLE).flatMap((s) => Object.keys(s.entries)), "vcpus", "vdev", "newName", "id", "target"])];

export async function fuzzControl(o: ControlFuzzOptions): Promise<ControlFuzzReport> {
  const tally = new FuzzTally<ControlFuzzReport>("control", o, { requests: 0, replies: 0 });
  const r = tally.r;
  const rng = new FuzzRng(o.seed);
  const home = mkdtempSync(join(tmpdir(), "xents-fuzz-ctl-"));
  const paths = hostPaths(home);
  const daemonLog: string[] = [];
  const daemon = new HostDaemon(paths, makeHostFactory(() => {}), { ramMiB: 256, deterministic: false });
  const origLog = daemon.log.bind(daemon);
  daemon.log = (l: string): void => { if (l.startsWith("BUG") && daemonLog.length < 5) daemonLog.push(l); origLog(l); };
  await daemon.start();
  const serving = daemon.serve();
  const kernel = join(home, "idle.bin");
  writeFileSync(kernel, idleImage());

  // ---- a connection that pairs each line sent with the reply line
  const conn: { sock: Socket | null } = { sock: null };
  let buf = "";
  const waiting: ((line: string | null) => void)[] = [];
  const open = (): Promise<Socket> => new Promise((res, rej) => {
    const s = connect(paths.control);
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); waiting.shift()?.(line); }
    });
    s.on("close", () => { if (conn.sock === s) conn.sock = null; buf = ""; for (const w of waiting.splice(0)) w(null); });
    s.on("error", () => { /* closed by the daemon */ });
    s.once("connect", () => res(s));
    s.once("error", rej);
  });
  // Sends one line; resolves with the reply line, or null if the daemon closed the connection.
  const request = async (line: string): Promise<string | null> => {
    conn.sock ??= await open();
    const s = conn.sock;
    r.requests++;
    const reply = new Promise<string | null>((res) => {
      const t = setTimeout(() => { tally.exception("a request", `no reply within 30 s to ${line.slice(0, 80)}`); res(null); }, 30_000);
      waiting.push((l) => { clearTimeout(t); res(l); });
    });
    s.write(line + "\n");
    return reply;
  };
  const call = async (cmd: string, args: Record<string, unknown>): Promise<{ ok: boolean; result?: unknown; error?: string } | null> => {
    const line = await request(JSON.stringify({ id: 1, cmd, args }));
    return line === null ? null : JSON.parse(line) as { ok: boolean; result?: unknown; error?: string };
  };

  const before = await call("status", {}) as { result: { accounting: Record<string, number> } };
  const spec = (name: string): Record<string, unknown> => ({
    name, type: "pvh", memory: 16, maxmem: 16, vcpus: 1, maxvcpus: 1, kernel, cmdline: "", disks: [], vifs: [],
    onPoweroff: "destroy", onReboot: "restart", onCrash: "destroy", vuart: false,
  });
  const victim = await call("create", { spec: spec("victim"), paused: true });
  const victimId = (victim?.result as { domid: number } | undefined)?.domid ?? -1;
  if (victimId < 0) throw new Error(`the victim could not be made: ${victim?.error}`);

  // ---- arguments of every shape, never the victim's name or id
  const names = ["f1", "f2", "f3"];
  const domainRef = (): unknown => rng.pick<unknown>([...names, ...names, "Domain-0", 0, 9999, -1, "", "../x", "x".repeat(5000), null, {}, [], 1.5, "0x10"]);
  const anyValue = (depth = 0): unknown => {
    switch (rng.int(10)) {
      case 0: return rng.int(10);
      case 1: return rng.pick([-1, 0, 2 ** 31, 2 ** 53, 1e308, -0, 0.5, Number.MAX_SAFE_INTEGER]);
      case 2: return rng.pick(["", "a", "Domain-0", "\u0000", "x".repeat(rng.int(3) === 0 ? 100000 : 10), "format=raw, vdev=xvda, target=/nonexistent", "mac=00:16:3e:00:00:01, bridge=xenbr0"]);
      case 3: return rng.chance(0.5);
      case 4: return null;
      case 5: return depth < 2 ? Array.from({ length: rng.int(4) }, () => anyValue(depth + 1)) : [];
      case 6: return depth < 2 ? Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.pick(ARG_NAMES), anyValue(depth + 1)])) : {};
      case 7: return join(home, rng.pick(["save1", "save2", "nofile", "logs", "idle.bin"]));
      default: return domainRef();
    }
  };
  const args = (cmd: string): Record<string, unknown> => {
    const a: Record<string, unknown> = {};
    if (rng.chance(0.8)) a.domain = domainRef();
    for (let i = rng.int(4); i > 0; i--) a[rng.pick(ARG_NAMES)] = anyValue();
    if (cmd === "create" && rng.chance(0.6)) {
      const sp = spec(rng.pick(names));
      if (rng.chance(0.3)) sp[rng.pick(Object.keys(sp))] = anyValue();
      a.spec = sp;
      a.paused = true;
    }
    if ((cmd === "save" || cmd === "restore") && rng.chance(0.7)) a.file = join(home, rng.pick(["save1", "save2", "idle.bin", "nofile"]));
    if (cmd === "migrate") { a.host = rng.pick(["127.0.0.1", "nonexistent.invalid", "", 5]); a.port = rng.pick([1, 0, 70000, "x"]); }
    // shutdown --wait waits as asked (60 s unless told otherwise) for a guest
    // that may never go (the idle image ignores the request): a wait the
    // fuzzer can afford, or a bad value
    if (cmd === "shutdown" && a.wait === true) a.timeout = rng.pick<unknown>([0, 0.5, 1, -1, "x", 86401]);
    if (a.domain === "victim" || a.domain === victimId) a.domain = "f1";
    return a;
  };
  const rawLine = (): string => rng.pick([
    "null", "[]", "42", "\"list\"", "{", "{}", "{\"cmd\":\"__proto__\"}", "{\"cmd\":\"constructor\",\"args\":{}}", "{\"id\":\"x\",\"cmd\":\"list\"}",
    "\u0000\u0001\u0002", "{\"cmd\":\"list\",\"args\":[1,2]}", "{\"cmd\":\"list\",\"args\":{\"__proto__\":{\"x\":1}}}", JSON.stringify({ cmd: "list", args: { a: "b".repeat(300000) } }),
  ]);

  const domains = async (): Promise<{ id: number; name: string }[]> => ((await call("list", {}))?.result as { id: number; name: string }[] | undefined) ?? [];
  const checkVictim = async (): Promise<void> => {
    const l = await call("list", {});
    const row = (l?.result as { id: number; state: string }[] | undefined)?.find((d) => d.id === victimId);
    if (!row) tally.leak("the victim is gone");
  };

  for (let it = 0; it < o.iterations; it++) {
    let label: string;
    let reply: string | null;
    if (it % 50 === 25) {
      // a well-formed create now and then, so that whatever the seed guests
      // are made (and then mutated calls meet them); a name in use is freed first
      const have = await domains();
      let name = names.find((n) => !have.some((d) => d.name === n));
      if (!name) { name = rng.pick(names); await request(JSON.stringify({ id: it + 1, cmd: "destroy", args: { domain: name } })); }
      label = "create";
      reply = await request(JSON.stringify({ id: it + 1, cmd: "create", args: { spec: spec(name), paused: true } }));
    } else if (rng.chance(0.85)) {
      const cmd = rng.chance(0.95) ? rng.pick(COMMANDS) : rng.pick(["nosuch", "", "STATUS", "stop ", "toString", "hasOwnProperty"]);
      label = cmd;
      reply = await request(JSON.stringify({ id: it + 1, cmd, args: args(cmd) }));
      if (cmd === "console" && reply && JSON.parse(reply).ok) { conn.sock?.destroy(); conn.sock = null; } // a console stream: hang up
    } else {
      const line = rawLine();
      label = `raw:${line.slice(0, 24)}`;
      reply = await request(line);
    }
    if (reply !== null) {
      r.replies++;
      let rep: { ok?: boolean; error?: string } = {};
      try { rep = JSON.parse(reply) as typeof rep; } catch { rep = { error: "a reply that is no JSON" }; r.host_exceptions++; }
      const what = rep.ok ? "ok" : (rep.error ?? "?").replace(/\d+/g, "N").replace(/'[^']*'/g, "'…'").slice(0, 50);
      tally.result(`${label} -> ${what}`);
    } else tally.result(`${label} -> connection closed`);
    if ((it + 1) % 32 === 0) await checkVictim();
    // the fuzzer's guests are few (renamed or restored ones included): one too many, and one goes
    if ((it + 1) % 8 === 0) {
      const others = (await domains()).filter((d) => d.id !== 0 && d.id !== victimId);
      if (others.length > 2) await call("destroy", { domain: others[0].id });
    }
  }
  await checkVictim();
  for (const d of await domains()) if (d.id !== 0) await call("destroy", { domain: d.id });
  const after = await call("status", {}) as { result: { accounting: Record<string, number>; hypervisor: { audit_now: string[]; internal_errors: number } } };
  const a0 = before.result.accounting, a1 = after.result.accounting;
  r.accounting_ok = JSON.stringify(a0) === JSON.stringify(a1);
  if (!r.accounting_ok) tally.note(`accounting before ${JSON.stringify(a0)} after ${JSON.stringify(a1)}`);
  r.audit_failures = after.result.hypervisor.audit_now.length ? 1 : 0;
  r.host_exceptions += daemon.stats.bugs + after.result.hypervisor.internal_errors;
  for (const l of daemonLog) tally.note(l);
  await call("stop", {});
  conn.sock?.destroy();
  await serving;
  rmSync(home, { recursive: true, force: true });
  return tally.finish();
}
