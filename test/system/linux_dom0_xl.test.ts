// Debian's toolstack in a Linux Domain-0 on xents (issue 13), end to end:
// `xl create` makes a domU from /etc/xen/domu.cfg with a disk (a file on a
// loop device, served by Linux's xen-blkback through Debian's block
// script) and a vif on xenbr0 (xen-netback through vif-bridge); the domU
// makes a file system on its disk and finds it again after a reboot,
// pings Domain-0 and moves a file both ways with equal checksums; `xl
// shutdown -w` ends it, and afterwards Domain-0 holds nothing for it and
// the hypervisor's memory audit is clean.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, openSync, closeSync, ftruncateSync, readFileSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { xentsOk, xentsCli, CliConsole } from "../helpers/cli.js";
import { enterDomU, leaveDomU } from "../helpers/xl_console.js";
import { canMakeNetworks } from "../helpers/netns.js";

const root = mkdtempSync(join(tmpdir(), "xents-dom0xl-"));
const home = join(root, "home");
// The machine's NIC is cabled to a host TAP device, moved into a network
// namespace of its own that stands for the LAN (when this machine lets the
// test make one).
const canTap = canMakeNetworks();
const tag = process.pid.toString(36);
const tap = `xd${tag}`.slice(0, 15), ns = `xd-${tag}`;
const inNs = (...a: string[]): string => execFileSync("ip", ["netns", "exec", ns, ...a], { encoding: "utf8", timeout: 60_000 });
after(async () => {
  await xentsCli(home, ["host", "stop"], 60_000).catch(() => undefined);
  if (canTap) spawnSync("ip", ["netns", "del", ns]);
  rmSync(root, { recursive: true, force: true });
});

const BOOT_MS = 300_000;
const DOM0_READY = /xents-dom0: Xen daemons up[\s\S]*dom0:\/# /;
interface Status {
  free_memory_mib: number; hypervisor: { internal_errors: number; audit_now: string[]; iommu: { translations: number; faults: number; command_errors: number } };
  devices: { name: string; kind: string; owner: number | null; stats: Record<string, number> }[];
}
const status = async (): Promise<Status> => JSON.parse(await xentsOk(home, ["host", "status", "--json"]));

test("xl in a Linux Domain-0 creates a domU whose disk and network work, reboots it, and shuts it down leaving nothing behind", async (t) => {
  const disk = join(root, "machine.img");
  const fd = openSync(disk, "w");
  ftruncateSync(fd, 32 << 20);
  closeSync(fd);
  // the README's command for a machine with devices, with this test's image and TAP
  const line = /^npx xents (host start --dom0 linux --dom0-disk \/srv\/machine\.img --dom0-tap xtap0)$/m.exec(readFileSync("README.md", "utf8"));
  assert.ok(line, "the README shows host start with --dom0-disk and --dom0-tap");
  const args = line[1].split(" ").map((w) => w === "/srv/machine.img" ? disk : w);
  if (!canTap) args.splice(args.indexOf("--dom0-tap"), 2);
  await xentsOk(home, args.map((w) => w === "xtap0" ? tap : w), 60_000);
  if (canTap) {
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", ["link", "set", tap, "netns", ns]);
    inNs("ip", "addr", "add", "192.168.100.254/24", "dev", tap);
    inNs("ip", "link", "set", tap, "up");
  } else t.diagnostic("the TAP part is left out: this machine does not let the test make network namespaces");
  const c = new CliConsole(home, "0", ["-e", "^A"]); // Ctrl-] is for xl console inside
  const s = new ConsoleSession(c);
  s.shellReady = DOM0_READY;
  await s.waitForShell(BOOT_MS);
  const st0 = await status();
  const free0 = st0.free_memory_mib;
  // the machine's devices, Domain-0's: its disk and its NIC
  assert.deepEqual(st0.devices.map((d) => [d.name, d.kind, d.owner]), [["vda", "virtio-blk", 0], ["eth0", "virtio-net", 0]]);
  assert.match(await s.run("cat /sys/block/vda/size"), /^65536$/m, "the 32 MiB image is Domain-0's vda");
  if (canTap) assert.match(inNs("ping", "-c", "3", "-W", "5", "192.168.100.1"), /3 packets transmitted, 3 received/, "Domain-0 answers on the wire through its eth0");

  const created = await s.run("xl create /etc/xen/domu.cfg 2>&1; echo rc=$?", 180_000);
  t.diagnostic(created.trim());
  assert.match(created, /rc=0/);
  assert.match(await s.run("xl list"), /^domu\s+1\s+128\s+1\s/m);
  assert.match(await s.run("losetup -a"), /domu\.img/, "the block script put the disk on a loop device");
  assert.match(await s.run("ls /sys/class/net/xenbr0/brif"), /vif1\.0/, "vif-bridge put the vif on xenbr0");

  const enter = (): Promise<void> => enterDomU(s, "domu", BOOT_MS);
  const leave = (): Promise<void> => leaveDomU(s);
  await enter();
  await s.run("dmesg -n 1");
  assert.equal((await s.run("cat /sys/hypervisor/type")).trim(), "xen");
  assert.match(await s.run("cat /sys/block/xvda/size"), /^131072/m, "the 64 MiB disk");
  assert.match(await s.run("mke2fs -q /dev/xvda && mount -t ext4 /dev/xvda /mnt && echo written-before-reboot > /mnt/f && umount /mnt && echo ok"), /ok/);
  assert.match(await s.run("ip link set eth0 up && ip addr add 192.168.100.2/24 dev eth0 && ping -c 3 -W 2 192.168.100.1", 60_000), /3 packets transmitted, 3 packets received/);
  if (canTap) assert.match(inNs("ping", "-c", "3", "-W", "5", "192.168.100.2"), /3 packets transmitted, 3 received/, "the domU answers the LAN: TAP, the machine's NIC, Domain-0's xenbr0, its vif");
  // dom0 -> domU
  s.type("(nc -l -p 5000 > /tmp/in; sha256sum /tmp/in > /tmp/in.sum) &\n");
  await leave();
  const sent = await s.run("dd if=/dev/urandom of=/tmp/f bs=64k count=16 2>/dev/null; until nc 192.168.100.2 5000 < /tmp/f; do sleep 1; done; sha256sum /tmp/f", 120_000);
  await enter();
  const got = await s.run("sleep 1; cat /tmp/in.sum");
  const sum = (x: string): string | undefined => /([0-9a-f]{64})/.exec(x)?.[1];
  assert.ok(sum(sent));
  assert.equal(sum(got), sum(sent), "Domain-0's file arrived intact in the domU");
  // domU -> dom0
  await leave();
  s.type("(nc -l -p 5001 > /tmp/back; sha256sum /tmp/back > /tmp/back.sum) &\n");
  await enter();
  const sent2 = await s.run("dd if=/dev/urandom of=/tmp/g bs=64k count=16 2>/dev/null; until nc 192.168.100.1 5001 < /tmp/g; do sleep 1; done; sha256sum /tmp/g", 120_000);
  await leave();
  assert.equal(sum(await s.run("sleep 1; cat /tmp/back.sum")), sum(sent2), "the domU's file arrived intact in Domain-0");

  // a reboot of the domU: it comes back (a new domain id) and its file system is there
  await s.run("xl reboot domu");
  const t0 = Date.now();
  // the new incarnation built and running (not still paused by its builder), its console known to xenstore
  while (Date.now() - t0 < 120_000 && !/^domu\s+2\s+128\s+1\s+[r-][b-]-/m.test(await s.run("xl list"))) await new Promise((r) => setTimeout(r, 2000));
  await enter();
  await s.run("dmesg -n 1");
  assert.equal((await s.run("mount -t ext4 /dev/xvda /mnt && cat /mnt/f && umount /mnt")).trim(), "written-before-reboot");
  await leave();

  // shut down and gone: no domain, no loop device, no vif, nothing in xenstore
  assert.match(await s.run("xl shutdown -w domu 2>&1; echo rc=$?", 120_000), /rc=0/);
  // -w returns once it has shut down; the xl that created it (on_poweroff=destroy) then destroys it
  let listed = "";
  for (let i = 0; i < 30 && /domu/.test(listed = await s.run("xl list")); i++) await new Promise((r) => setTimeout(r, 1000));
  assert.doesNotMatch(listed, /domu/);
  assert.equal((await s.run("losetup -a")).trim(), "");
  assert.doesNotMatch(await s.run("ls /sys/class/net/xenbr0/brif"), /vif/);
  assert.equal((await s.run("xenstore-list /local/domain")).trim(), "0");
  const st = await status();
  assert.deepEqual(st.hypervisor.audit_now, [], "the memory audit is clean");
  for (const d of st.devices) assert.deepEqual([d.name, d.stats.dma_faults, d.stats.errors], [d.name, 0, 0]);
  // Domain-0's devices did their DMA through the SMMU, without a fault
  assert.ok(st.hypervisor.iommu.translations > 100, `${st.hypervisor.iommu.translations} SMMU translations`);
  assert.deepEqual([st.hypervisor.iommu.faults, st.hypervisor.iommu.command_errors], [0, 0]);
  assert.equal(st.hypervisor.internal_errors, 0);
  assert.ok(st.free_memory_mib >= free0 - 1, `free memory ${st.free_memory_mib} MiB, ${free0} before the domU`);
  // and the console's own detach character (-e ^A) lets go of Domain-0
  c.send(new Uint8Array([1]));
  assert.equal(await c.exited, 0);
});
