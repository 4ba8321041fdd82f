// Where a host keeps its state: XENTS_HOME (default ~/.xents), so that
// several hosts can run side by side, each with its own directory.

import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface HostPaths {
  home: string;
  control: string; // the host daemon's control socket (mode 0600)
  xenstored: string; // xenstored's socket for local tools
  logs: string; // per-domain console logs
  pidfile: string;
  daemonLog: string;
  migrateKey: string; // the shared secret hosts prove to each other before a migration
  httpToken: string; // what every request to the HTTP API must carry (mode 0600)
}

export function hostPaths(home = process.env.XENTS_HOME ?? join(homedir(), ".xents")): HostPaths {
  const h = resolve(home);
  return {
    home: h,
    control: join(h, "control.sock"),
    xenstored: join(h, "xenstored.sock"),
    logs: join(h, "logs"),
    pidfile: join(h, "host.pid"),
    daemonLog: join(h, "host.log"),
    migrateKey: join(h, "migrate.key"),
    httpToken: join(h, "http.token"),
  };
}

export function ensureHome(p: HostPaths): void {
  mkdirSync(p.home, { recursive: true, mode: 0o700 });
  mkdirSync(p.logs, { recursive: true, mode: 0o700 });
}
