// A network driver domain as the README's "Driver domains" shows it: the
// host started with `--assignable-nic` has a NIC no domain has, cabled to a
// host TAP device, which the test moves into a network namespace of its
// own. The NIC is passed through to a Linux domU running the driver
// domain's file system: its eth0 joins xenbr0, and when a guest's vif names
// it as backend, its xl devd runs vif-bridge and Linux's xen-netback serves
// the guest. The guest and the namespace ping each other through the
// driver domain; Domain-0 has no NIC, and its own bridge sees none of it.
// The driver domain is destroyed under the running guest in the middle of
// a TCP upload and started again: the upload completes, without a reboot,
// and the guest's disk (Domain-0's) works across its suspend and resume.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xentsCli, xentsOk, CliConsole } from "../helpers/cli.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { xlCfgText, linuxGuestFields, diskImage } from "../helpers/guest_files.js";
import { readmeBlock } from "../helpers/readme_blocks.js";
import { canMakeNetworks } from "../helpers/netns.js";

const canTap = canMakeNetworks();
const execFileP = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), "xents-netdrv-"));
const tag = process.pid.toString(36);
const ns = `xd-${tag}`, tap = `xdt${tag}`.slice(0, 15);
const ip = (...a: string[]): string => execFileSync("ip", a, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const BOOT_MS = 300_000;

// One TCP connection's bytes counted as they come (GOT n) and hashed (UPLOAD n sha256) at its end.
const RECEIVER = `
const h = require("node:crypto").createHash("sha256"); let n = 0, shown = 0;
const srv = require("node:net").createServer((c) => {
  c.on("data", (d) => { h.update(d); n += d.length; if (n - shown >= 65536) { shown = n; console.log("GOT " + n); } });
  c.on("end", () => { console.log("UPLOAD " + n + " " + h.digest("hex")); srv.close(); });
});
srv.listen(8081, "10.79.0.1", () => console.log("listening"));`;

function received(out: string): number { return Number([...out.matchAll(/GOT (\d+)/g)].at(-1)?.[1] ?? 0); }
async function waitFor(ok: () => boolean, ms: number, what: string): Promise<void> {
  for (const t0 = Date.now(); !ok();) {
    if (Date.now() - t0 > ms) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  if (!canTap) return;
  assert.deepEqual(readmeBlock("Driver domains", "sh", 1).trim().split("\n"), [
    "npx xents host start --assignable-nic xtap0", "npx xents create net.cfg", "npx xents create guest.cfg", "npx xents network-list guest",
  ], "the README's lines are the ones this test runs");
  ip("netns", "add", ns);
  ip("-n", ns, "link", "set", "lo", "up");
  // the README's line, with this test's TAP name
  await xentsOk(home, ["host", "start", "--assignable-nic", tap], 60_000);
  ip("link", "set", tap, "netns", ns);
  ip("-n", ns, "addr", "add", "10.79.0.1/24", "dev", tap);
  ip("-n", ns, "link", "set", tap, "up");
});

after(async () => {
  if (!canTap) return;
  await xentsCli(home, ["host", "stop"], 60_000);
  rmSync(home, { recursive: true, force: true });
  try { ip("netns", "del", ns); } catch { /* already gone */ }
});

test("a network driver domain with the machine's NIC serves a domU's vif with Linux's xen-netback; Domain-0 has no network", { skip: canTap ? false : "needs root, /dev/net/tun and ip netns" }, async (t) => {
  const table = await xentsOk(home, ["device-list"]);
  assert.match(table, /^pt-eth0\s+virtio-net\s+\/virtio_mmio@a000000\s+a000\s+48 -$/m, table);
  const initrd = /^initrd (\S+)$/m.exec(await xentsOk(home, ["images", "--driver-domain"]))?.[1];
  assert.ok(initrd);
  const dts = join(home, "pt.dts"), dtb = join(home, "pt.dtb");
  writeFileSync(dts, readmeBlock("Passing a device through", "dts"));
  execFileSync("dtc", ["-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts]);
  const netCfg = join(home, "net.cfg"), guestCfg = join(home, "guest.cfg");
  writeFileSync(netCfg, xlCfgText({ ...linuxGuestFields("net", 256), ramdisk: initrd }) + readmeBlock("Passing a device through", "text")
    + readmeBlock("Driver domains", "text", 0));
  // the guest's disk is Domain-0's: its blkback starts over too when the guest resumes
  const img = diskImage(join(home, "guest.img"), 16, { ext4: false });
  writeFileSync(guestCfg, xlCfgText(linuxGuestFields("guest", 160, 1, { disk: [`${img},raw,xvda,rw`] })) + readmeBlock("Driver domains", "text", 2));

  const startNet = async (): Promise<[CliConsole, ConsoleSession, number]> => {
    await xentsOk(home, ["create", netCfg]);
    const c = new CliConsole(home, "net");
    const session = new ConsoleSession(c);
    session.shellReady = /xents-driver: driver domain up: xl devd serves \/local\/domain\/(\d+)\/backend[\s\S]*driver:[^\n]*# /;
    return [c, session, Number((await session.waitForShell(BOOT_MS))[1])];
  };
  let [nc, n, nid] = await startNet();
  let gc: CliConsole | undefined;
  let server: ChildProcess | undefined;
  try {
    assert.equal((await n.run("cat /sys/class/net/eth0/address")).trim(), "02:78:6e:74:73:10", "the machine's NIC is the driver domain's eth0");
    assert.match(await n.run("ls /sys/class/net/xenbr0/brif"), /eth0/);

    await xentsOk(home, ["create", guestCfg]);
    const gid = Number((await xentsOk(home, ["domid", "guest"])).trim());
    gc = new CliConsole(home, "guest");
    const g = new ConsoleSession(gc);
    await g.waitForShell(BOOT_MS);
    assert.match(await xentsOk(home, ["network-list", "guest"]), new RegExp(`^0\\s+${nid}\\s+00:16:3e:[0-9a-f:]+\\s+0\\s+4\\s+xenbr0$`, "m"));
    // devd ran vif-bridge: the guest's vif is on the driver domain's bridge
    const be = `/local/domain/${nid}/backend/vif/${gid}/0`;
    const hp = (await n.run(`xenstore-read ${be}/hotplug-status ${be}/state`)).trim().split("\n").join(" ");
    if (hp !== "connected 4") assert.fail(`vif hotplug: ${hp}; the driver domain's logs:\n${await n.run("tail -n 30 /var/log/xen/xen-hotplug.log /var/log/xen/xldevd.log")}`);
    assert.match(await n.run("ls /sys/class/net/xenbr0/brif"), new RegExp(`vif${gid}\\.0`));

    await g.run("ip addr add 10.79.0.2/24 dev eth0 && ip link set eth0 up");
    assert.match(await g.run("ping -c 3 -W 3 10.79.0.1", 60_000), /3 packets transmitted, 3 packets received/, "the guest reaches the host's namespace");
    const back = (await execFileP("ip", ["netns", "exec", ns, "ping", "-c", "3", "-W", "3", "10.79.0.2"], { encoding: "utf8", timeout: 60_000 })).stdout;
    assert.match(back, /3 packets transmitted, 3 received/, "and the namespace reaches the guest");

    // Domain-0 has no NIC: its bridge has no port, and none of this traffic crossed it
    const bridges = await xentsOk(home, ["bridge-list"]);
    const rows = bridges.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
    assert.ok(rows.every((r) => r.length === 4 && r[1] === "0"), `Domain-0's bridges have no ports and carried no frame:\n${bridges}`);

    // The driver domain dies under the guest in the middle of a TCP upload
    // and is started again under its old id. The toolstack has the guest
    // suspend and resume, so that netfront starts over with the new
    // netback (attached to the live rings, it would find responses to
    // requests the dead netback had taken out of order); the upload carries
    // on without a reset and arrives whole, and the guest never reboots.
    server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", RECEIVER], { stdio: ["ignore", "pipe", "inherit"] });
    let got = "";
    server.stdout!.on("data", (d: Buffer) => { got += d.toString(); });
    await waitFor(() => got.includes("listening"), 30_000, "the receiver listens");
    const uptime = Number((await g.run("cut -d. -f1 /proc/uptime")).trim());
    await g.run("echo written-before > /tmp/m1; dd if=/tmp/m1 of=/dev/xvda bs=512 conv=fsync 2>/dev/null");
    // 4 MiB at most 64 KiB every 0.2 s: the stream is still going when the driver domain dies
    await g.run("head -c 4194304 /dev/urandom > /tmp/blob; (for i in $(seq 0 63); do dd if=/tmp/blob bs=65536 skip=$i count=1 2>/dev/null; sleep 0.2; done) | nc 10.79.0.1 8081 >/dev/null 2>&1 & true", 60_000);
    await waitFor(() => received(got) >= 512 << 10, 120_000, `the upload is under way (received ${received(got)} bytes)`);
    nc.close();
    const died = Date.now(), before = received(got);
    await xentsOk(home, ["destroy", "net"]);
    assert.ok(!/UPLOAD/.test(got), `the upload was cut in the middle (${received(got)} bytes had arrived)`);
    [nc, n, nid] = await startNet();
    assert.equal(nid, Number((await xentsOk(home, ["network-list", "guest"])).trim().split("\n")[1].trim().split(/\s+/)[1]), "the driver domain is back under the id the guest's rings are granted to");
    await waitFor(() => received(got) > before, 240_000, `the upload moves again (received ${received(got)} bytes)`);
    t.diagnostic(`network driver domain restart mid-upload: ${(before / 1024).toFixed(0)} KiB had arrived; bytes flowed again ${((Date.now() - died) / 1000).toFixed(1)} s after the destroy (the new driver domain's boot included)`);
    await waitFor(() => /UPLOAD/.test(got), 240_000, `the upload ends (received ${received(got)} bytes)`);
    const [, len, sum] = /UPLOAD (\d+) ([0-9a-f]+)/.exec(got)!;
    assert.equal(`${len} ${sum}`, (await g.run("wc -c < /tmp/blob; sha256sum /tmp/blob")).trim().split(/\s+/).slice(0, 2).join(" "), "every byte arrived, in order, on the same connection");
    assert.equal(Number(len), 4194304);
    assert.ok(Number((await g.run("cut -d. -f1 /proc/uptime")).trim()) >= uptime, "the guest did not reboot");
    assert.match(readFileSync(join(home, "host.log"), "utf8"), new RegExp(`d${gid}: resumed; its frontends reconnect to net \\(d${nid}\\)`), "through the guest's suspend and resume");
    const dmesg = await g.run("dmesg | grep -iE 'xen_netfront|inactive request|Disabled for further' | tail -n 5");
    assert.doesNotMatch(dmesg, /inactive request|Disabled for further use/, "netfront never saw a response it did not expect");
    assert.match(await g.run("ping -c 2 -W 3 10.79.0.1", 60_000), /2 packets transmitted, 2 packets received/, "and the guest's network works");
    // Domain-0's disk came through the resume: what was written before reads back, and a write after it reaches the image
    assert.equal((await g.run("dd if=/dev/xvda bs=512 count=1 iflag=direct 2>/dev/null | head -c 14")).trim(), "written-before");
    await g.run("echo written-after > /tmp/m2; dd if=/tmp/m2 of=/dev/xvda bs=512 seek=8 conv=fsync 2>/dev/null");
    const disk = readFileSync(img);
    assert.equal(disk.subarray(0, 14).toString(), "written-before");
    assert.equal(disk.subarray(4096, 4096 + 13).toString(), "written-after");

    gc.close();
    gc = undefined;
    await xentsOk(home, ["destroy", "guest"]);
    for (let t0 = Date.now(); (await n.run("ls /sys/bus/xen-backend/devices")).trim() !== "";) {
      assert.ok(Date.now() - t0 < 60_000, "the driver domain's netback device went away with the guest");
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    server?.kill();
    gc?.close();
    nc.close();
  }
  await xentsOk(home, ["destroy", "net"]);
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { hypervisor: { audit_now: string[]; internal_errors: number }; devices: { name: string; owner: number | null; stats: Record<string, number> }[] };
  assert.deepEqual(st.hypervisor.audit_now, []);
  assert.equal(st.hypervisor.internal_errors, 0);
  assert.deepEqual(st.devices.map((d) => [d.name, d.owner, d.stats.dma_faults]), [["pt-eth0", null, 0]], "the NIC is free again, and never faulted");
});
