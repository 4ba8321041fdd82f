// The host's control socket against bad clients (issue 12): every malformed
// line gets an error reply, oversized lines and idle or half-open
// connections cost the host nothing, a thousand clients at once are all
// answered, and the host stays up throughout.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { connectUnix } from "../../src/tools/net/unix_connect.js";
import { mkdtempSync, rmSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xentsOk, xentsCli } from "../helpers/cli.js";
import { processAlive } from "../../src/tools/daemon/client.js";
import { readmeBlock } from "../helpers/readme_blocks.js";
import { spawnSync } from "node:child_process";

const home = mkdtempSync(join(tmpdir(), "xents-ctl-"));
const sockPath = join(home, "control.sock");

before(async () => { await xentsOk(home, ["host", "start", "--memory", "128"], 60_000); });
after(async () => { if (existsSync(sockPath)) await xentsCli(home, ["host", "stop"], 60_000); rmSync(home, { recursive: true, force: true }); });

// Connects as the CLI does (a full accept queue is waited out, not an error).
async function open(): Promise<Socket> {
  const s = await connectUnix(sockPath);
  s.on("error", () => { /* the host may cut us off */ });
  return s;
}
// Sends lines, collects reply lines until `n` arrived (or the socket closed).
async function exchange(lines: string[], n: number): Promise<{ replies: { id: number; ok: boolean; error?: string }[]; closed: boolean }> {
  const s = await open();
  const replies: { id: number; ok: boolean; error?: string }[] = [];
  let buf = "", closed = false;
  await new Promise<void>((res) => {
    const t = setTimeout(res, 10_000);
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) { replies.push(JSON.parse(buf.slice(0, i)) as { id: number; ok: boolean }); buf = buf.slice(i + 1); }
      if (replies.length >= n) { clearTimeout(t); res(); }
    });
    s.on("close", () => { closed = true; clearTimeout(t); res(); });
    for (const l of lines) s.write(l);
  });
  s.destroy();
  return { replies, closed };
}

test("every malformed request gets an error reply, and the host keeps answering", async () => {
  const bad = ["null", "[]", "42", "\"list\"", "{}", "{\"cmd\":5}", "{\"id\":1,\"cmd\":\"list\",\"args\":\"x\"}", "{\"id\":2,\"cmd\":\"__proto__\"}",
    "{\"id\":3,\"cmd\":\"constructor\"}", "{\"id\":4,\"cmd\":\"destroy\",\"args\":{\"domain\":{\"x\":1}}}", "{\"id\":5,\"cmd\":\"mem-set\",\"args\":{\"domain\":null,\"mib\":-1}}",
    "{not json", "\u0000\u0001\u0002", "{\"id\":1e400,\"cmd\":\"list\"}"];
  const r = await exchange(bad.map((l) => l + "\n"), bad.length);
  assert.equal(r.replies.length, bad.length, JSON.stringify(r.replies));
  for (const [i, rep] of r.replies.entries()) {
    if (bad[i].includes("\"cmd\":\"list\"") && !bad[i].includes("args")) continue; // a huge id is just 0: list works
    assert.equal(rep.ok, false, `${bad[i]} -> ${JSON.stringify(rep)}`);
    assert.ok(rep.error && rep.error.length > 3, JSON.stringify(rep));
  }
  assert.match(await xentsOk(home, ["list"]), /Domain-0/);
});

test("create with a configuration of the wrong shape is refused by name, not with a TypeError (found by the control fuzzer)", async () => {
  const specs = [undefined, null, 5, [], {}, { name: "x", type: "pvh", memory: 16, maxmem: 16, vcpus: 1, maxvcpus: 1, cmdline: "", disks: [], vifs: "no", onPoweroff: "destroy", onReboot: "destroy", onCrash: "destroy", vuart: false }];
  const r = await exchange(specs.map((spec, i) => JSON.stringify({ id: i + 1, cmd: "create", args: { spec } }) + "\n"), specs.length);
  for (const rep of r.replies) assert.match(rep.error ?? "", /^the domain configuration/, JSON.stringify(rep));
  assert.match(r.replies.at(-1)!.error!, /'vifs' is not a list of strings/);
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { daemon_bugs: number };
  assert.equal(st.daemon_bugs, 0);
});

test("files are named absolutely: a save, restore or key file relative to the daemon's directory is refused (the control fuzzer left a save named 'undefined' in the checkout)", async () => {
  const reqs = [{ cmd: "save", args: { domain: "nosuch", file: "../escaped.save" } }, { cmd: "save", args: { domain: "nosuch", file: "here.save" } },
    { cmd: "restore", args: { file: "guest.save" } }, { cmd: "migrate", args: { domain: "nosuch", host: "127.0.0.1", port: 1, keyFile: "migrate.key" } },
    { cmd: "save", args: { domain: "nosuch" } }];
  const r = await exchange(reqs.map((q, i) => JSON.stringify({ id: i + 1, ...q }) + "\n"), reqs.length);
  assert.equal(r.replies.length, reqs.length);
  for (const rep of r.replies) assert.match(rep.error ?? "", rep.id === 5 ? /'file' must be given as text/ : /must be an absolute path/, JSON.stringify(rep));
});

test("a line over 1 MiB ends that connection only; idle and half-open connections cost nothing; a thousand clients are answered", async () => {
  const big = await exchange(["{\"cmd\":\"list\",\"args\":{\"x\":\"" + "a".repeat(1100 << 10)], 2); // wait for the close
  assert.ok(big.closed);
  assert.match(big.replies[0]?.error ?? "", /longer than/);
  const idle = await Promise.all(Array.from({ length: 50 }, () => open()));
  const half = await Promise.all(Array.from({ length: 50 }, async () => { const s = await open(); s.write("{\"id\":1,\"cmd\":\"li"); return s; }));
  const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => exchange([`{"id":${i + 1},"cmd":"list"}\n`], 1)));
  assert.ok(many.every((m, i) => m.replies[0]?.id === i + 1 && m.replies[0].ok), "every client got its own answer");
  for (const s of [...idle, ...half]) s.destroy();
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { domains: number; hypervisor: { internal_errors: number } };
  assert.equal(st.domains, 1);
  assert.equal(st.hypervisor.internal_errors, 0);
});

test("arguments are checked against the command table before a handler runs: the argument's name and what is wrong", async () => {
  const reqs = [
    { cmd: "mem-set", args: { domain: "nosuch", mib: "lots" } },
    { cmd: "pause", args: {} },
    { cmd: "pause", args: { domain: { name: "x" } } },
    { cmd: "migrate", args: { domain: "nosuch", host: "127.0.0.1", port: 70000 } },
    { cmd: "shutdown", args: { domain: "nosuch", wait: "yes" } },
    { cmd: "pause", args: { domain: "nosuch", unknownExtra: 1 } },
  ];
  const r = await exchange(reqs.map((q, i) => JSON.stringify({ id: i + 1, ...q }) + "\n"), reqs.length);
  const byId = new Map(r.replies.map((x) => [x.id, x.error ?? ""]));
  assert.equal(byId.get(1), "mem-set: 'mib' must be a number");
  assert.equal(byId.get(2), "pause: 'domain' must name a domain (its name or id)");
  assert.equal(byId.get(3), "pause: 'domain' must name a domain (its name or id)");
  assert.match(byId.get(4)!, /^migrate: 'port' /);
  assert.equal(byId.get(5), "shutdown: 'wait' must be true or false");
  assert.equal(byId.get(6), "no domain 'nosuch'", "an argument no command takes is ignored; the handler ran");
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { daemon_bugs: number };
  assert.equal(st.daemon_bugs, 0);
});

test("the README's HTTP API line, against a host started with the defaults: the API is on, at 8480 or the next free port", async () => {
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { http: string };
  const m = /^127\.0\.0\.1:(\d+)$/.exec(st.http);
  assert.ok(m, `host status says where: ${st.http}`);
  assert.ok(Number(m[1]) >= 8480 && Number(m[1]) < 8480 + 32, "the default port or one of the next");
  const line = readmeBlock("The HTTP API", "sh").trim();
  assert.equal(line.split("\n").length, 1);
  const r = spawnSync("bash", ["-c", line.replace(":8480/", `:${m[1]}/`)], { env: { ...process.env, XENTS_HOME: home }, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { name: string }[]).map((d) => d.name), ["Domain-0"]);
  const refused = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `http://${st.http}/api/v1/domains`], { encoding: "utf8", timeout: 30_000 });
  assert.equal(refused.stdout, "401", "and without the token, nothing");
});

test("host stop returns once the host process has exited, its last line written: the directory can go at once (a test's cleanup once raced the daemon's last log line: ENOTEMPTY)", async () => {
  const pid = (JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { pid: number }).pid;
  await xentsOk(home, ["host", "stop"], 60_000);
  assert.equal(processAlive(pid), false, "the host process is gone");
  const log = readFileSync(join(home, "host.log"), "utf8").trimEnd().split("\n");
  assert.match(log.at(-1) ?? "", /host stopped$/, "and said so last");
  rmSync(home, { recursive: true, force: true }); // nothing writes into it any more
  assert.equal(existsSync(home), false);
});
