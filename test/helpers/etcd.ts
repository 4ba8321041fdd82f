// A single-node etcd (Debian's etcd-server) for the Remus arbiter's tests,
// on free loopback ports or on a given address (inside a namespace), with
// short election timing so it is ready in well under a second.

import { spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/tools/net/free_port.js";

export interface TestEtcd { url: string; address: string; stop(): Promise<void> }

// `prefix`: a command to run etcd under (["ip", "netns", "exec", ns]).
export async function startEtcd(o: { host?: string; port?: number; prefix?: string[] } = {}): Promise<TestEtcd> {
  const host = o.host ?? "127.0.0.1";
  const port = o.port ?? await freePort(), peer = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "xents-etcd-"));
  const client = `http://${host}:${port}`, peers = `http://127.0.0.1:${peer}`;
  const args = ["--name", "arbiter", "--data-dir", dir, "--listen-client-urls", client, "--advertise-client-urls", client,
    "--listen-peer-urls", peers, "--initial-advertise-peer-urls", peers, "--initial-cluster", `arbiter=${peers}`,
    "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "warn"];
  const cmd = [...(o.prefix ?? []), "etcd", ...args];
  const p: ChildProcess = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((res) => p.on("close", () => res()));
  // ready when its health endpoint says so
  for (const t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() - t0 > 20_000) { p.kill(); throw new Error(`etcd did not start: ${err.slice(-500)}`); }
    if (p.exitCode !== null) throw new Error(`etcd exited: ${err.slice(-500)}`);
    const ok = o.prefix
      ? await new Promise<boolean>((res) => {
        const probe = `fetch("${client}/health").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
        const c = spawn(o.prefix![0], [...o.prefix!.slice(1), process.execPath, "-e", probe], { stdio: "ignore" });
        c.on("close", (code) => res(code === 0));
      })
      : await fetch(`${client}/health`).then((r) => r.ok, () => false);
    if (ok) break;
  }
  return {
    url: `etcd://${host}:${port}`, address: `${host}:${port}`,
    stop: async () => { p.kill(); await exited; rmSync(dir, { recursive: true, force: true }); },
  };
}
