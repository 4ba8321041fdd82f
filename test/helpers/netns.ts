// Whether this machine lets the tests build networks: root, a TUN/TAP
// driver, and network namespaces that can really be made (a container may
// list them but refuse to create one).

import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

export function canMakeNetworks(): boolean {
  if (process.getuid?.() !== 0 || !existsSync("/dev/net/tun")) return false;
  const probe = `xents-probe-${process.pid}`;
  if (spawnSync("ip", ["netns", "add", probe]).status !== 0) return false;
  spawnSync("ip", ["netns", "del", probe]);
  return true;
}
