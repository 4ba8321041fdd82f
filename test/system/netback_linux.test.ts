// Linux's own xen-netfront against xents' netback: two Debian domUs on
// xenbr0 get addresses, ping each other, and move a file with nc whose
// checksum is the same on both sides; afterwards no grant stays mapped and
// every frame is back.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fetchImages } from "../../src/tools/images.js";
import { parseVifSpec } from "../../src/tools/vif_spec.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { startHost } from "../helpers/host.js";

const images = fetchImages();

test("two domUs on xenbr0: addresses, ping both ways, a 2 MiB nc transfer with equal checksums", async () => {
  const h = startHost(768);
  try {
    const free0 = h.host.hv.frames.freeCount;
    const kernel = new Uint8Array(readFileSync(images.kernel)), ramdisk = new Uint8Array(readFileSync(images.initrd));
    const mk = (name: string, mac: string) => h.ts.create({ name, memoryMiB: 160, vcpus: 1, kernel, ramdisk, cmdline: "console=hvc0", vifs: [parseVifSpec(`mac=${mac}, bridge=xenbr0`)] });
    const a = mk("net-a", "00:16:3e:00:00:0a"), b = mk("net-b", "00:16:3e:00:00:0b");
    const sa = new ConsoleSession(a), sb = new ConsoleSession(b);
    await sa.waitForShell(300_000);
    await sb.waitForShell(300_000);
    for (const [s, ip] of [[sa, "10.0.0.1"], [sb, "10.0.0.2"]] as const) {
      const out = await s.run(`ip link set eth0 up && ip addr add ${ip}/24 dev eth0 && ip -o -4 addr show eth0`);
      assert.match(out, new RegExp(`inet ${ip.replace(/\./g, "\\.")}/24`));
    }
    assert.equal((await sa.run("cat /sys/class/net/eth0/address")).trim(), "00:16:3e:00:00:0a", "the MAC from the vif spec");
    assert.match(await sa.run("ping -c 3 -W 2 10.0.0.2", 60_000), /3 packets transmitted, 3 packets received/);
    assert.match(await sb.run("ping -c 2 -W 2 10.0.0.1", 60_000), /2 packets transmitted, 2 packets received/);

    sb.type("nc -l -p 5000 > /tmp/f; sha256sum /tmp/f; echo RECV-$((40+2))\n");
    // the listener may not be up yet on a loaded machine: try until it takes the connection
    const sent = await sa.run("dd if=/dev/urandom of=/tmp/f bs=64k count=32 2>/dev/null; until nc 10.0.0.2 5000 < /tmp/f; do sleep 1; done; sha256sum /tmp/f", 180_000);
    const sumA = /([0-9a-f]{64})\s+\/tmp\/f/.exec(sent)?.[1];
    await sb.waitFor(/RECV-42/, 120_000);
    const sumB = /([0-9a-f]{64})\s+\/tmp\/f/.exec(sb.out.slice(sb.out.lastIndexOf("nc -l -p 5000")))?.[1];
    assert.ok(sumA, sent);
    assert.equal(sumB, sumA, "the file arrived intact");
    const vifs = [...h.ts.netback.devices.values()];
    assert.equal(vifs.length, 2);
    assert.ok(vifs.every((v) => v.connected && v.stats.txErrors === 0));
    // in bytes, not packets: with GSO the 2 MiB may cross as a few dozen super-packets
    const vifA = vifs.find((v) => v.domid === a.domid)!, vifB = vifs.find((v) => v.domid === b.domid)!;
    assert.ok(vifA.stats.txBytes > 2 << 20 && vifB.stats.rxBytes > 2 << 20, `the transfer went through the backends: ${JSON.stringify([vifA.stats, vifB.stats])}`);

    for (const g of [a, b]) h.ts.destroy(g.domid);
    assert.equal(h.ts.netback.devices.size, 0);
    assert.equal(h.ts.gnt.mapped, 0, "no grant stays mapped");
    assert.equal(h.host.hv.frames.freeCount, free0, "every frame is back");
    assert.equal(h.ts.bridges.get("xenbr0").ports.size, 0, "the vifs left the bridge");
  } finally {
    await h.done();
  }
});
