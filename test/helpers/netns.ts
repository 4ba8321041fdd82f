// Whether this machine lets the tests build networks: root, a TUN/TAP
// driver, and network namespaces that can really be made (a container may
// list them but refuse to create one).

import { existsSync } from "node:fs";
import { spawnSync, execFileSync } from "node:child_process";

export function canMakeNetworks(): boolean {
  if (process.getuid?.() !== 0 || !existsSync("/dev/net/tun")) return false;
  const probe = `xents-probe-${process.pid}`;
  if (spawnSync("ip", ["netns", "add", probe]).status !== 0) return false;
  spawnSync("ip", ["netns", "del", probe]);
  return true;
}

const ipRun = (...a: string[]): void => { execFileSync("ip", a, { stdio: "pipe" }); };

// Two namespaces as two machines on one link: a veth pair whose ends sit on
// a Linux bridge br0 in each, holding that machine's address (a /24 on
// `net`, .1 and .2). A host's xenbr0 joins the link by a TAP put on br0.
export interface LinkedPair { nsA: string; nsB: string; va: string; vb: string; addrA: string; addrB: string; remove(): void }
export function linkedPair(prefix: string, tag: string, net: string): LinkedPair {
  const nsA = `${prefix}a-${tag}`, nsB = `${prefix}b-${tag}`, va = `${prefix}va${tag}`.slice(0, 15), vb = `${prefix}vb${tag}`.slice(0, 15);
  ipRun("netns", "add", nsA); ipRun("netns", "add", nsB);
  ipRun("link", "add", va, "type", "veth", "peer", "name", vb);
  ipRun("link", "set", va, "netns", nsA); ipRun("link", "set", vb, "netns", nsB);
  for (const [ns, dev, addr] of [[nsA, va, `${net}.1/24`], [nsB, vb, `${net}.2/24`]]) {
    ipRun("-n", ns, "link", "set", "lo", "up");
    ipRun("-n", ns, "link", "add", "br0", "type", "bridge");
    ipRun("-n", ns, "link", "set", dev, "master", "br0", "up");
    ipRun("-n", ns, "addr", "add", addr, "dev", "br0");
    ipRun("-n", ns, "link", "set", "br0", "up");
  }
  return { nsA, nsB, va, vb, addrA: `${net}.1`, addrB: `${net}.2`, remove: () => { for (const ns of [nsA, nsB]) spawnSync("ip", ["netns", "del", ns]); } };
}
