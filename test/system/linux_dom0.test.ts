// Linux as Domain-0 (issue 13): `xents host start --dom0 linux` has the
// hypervisor build Domain-0 from Debian's kernel (dom0_build.ts); it boots
// as Xen's initial domain, its hvc0 is the machine's serial line, reached
// with `xents console 0` both ways (input paced through the hypervisor's
// 128-byte receive ring), and the machine follows it: reboot builds it
// again, poweroff stops the host.
import { test, after } from "node:test";
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchImages } from "../../src/tools/images.js";
import { childInput } from "../../src/tools/child_input.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { xentsOk, xentsCli, CliConsole } from "../helpers/cli.js";

const root = mkdtempSync(join(tmpdir(), "xents-dom0-"));
const home = join(root, "home");
after(async () => { await xentsCli(home, ["host", "stop"], 60_000).catch(() => undefined); rmSync(root, { recursive: true, force: true }); });

const BOOT_MS = 300_000;

// The README's "Linux as Domain-0" block, as written: these are its lines.
function readmeBlock(): string[][] {
  const readme = readFileSync("README.md", "utf8");
  const at = readme.indexOf("## Linux as Domain-0");
  assert.ok(at >= 0, "the README has a Linux as Domain-0 section");
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))!;
  return m[1].split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter(Boolean).map((l) => l.split(/\s+/).slice(2));
}

test("a Linux Domain-0 boots as Xen's initial domain, takes typed input on hvc0, restarts the machine on reboot and stops it on poweroff", async () => {
  const [start, consoleCmd, stop] = readmeBlock();
  assert.deepEqual([start, consoleCmd, stop], [["host", "start", "--dom0", "linux"], ["console", "0"], ["host", "stop"]]);
  await xentsOk(home, start, 60_000);
  const c = new CliConsole(home, consoleCmd[1]);
  const s = new ConsoleSession(c);
  s.shellReady = /xents-dom0: Xen daemons up[\s\S]*dom0:\/# /;
  await s.waitForShell(BOOT_MS);

  // the initial domain: XENFEAT_dom0 (bit 11) among the features, one vCPU, dom0_mem's 512 MiB (the defaults)
  const feats = parseInt((await s.run("cat /sys/hypervisor/properties/features")).trim(), 16);
  assert.ok(feats & (1 << 11), `features ${feats.toString(16)} lack dom0`);
  assert.equal((await s.run("cat /sys/hypervisor/type")).trim(), "xen");
  assert.equal((await s.run("grep -c ^processor /proc/cpuinfo")).trim(), "1");
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(await s.run("cat /proc/meminfo"))?.[1]);
  assert.ok(memKiB > 400 * 1024 && memKiB <= 512 * 1024, `MemTotal ${memKiB} kB`);
  assert.match(await s.run("dmesg | grep -i 'xen'"), /Xen 4\.17 support found/);

  // Debian's own toolstack answers in it, from the hypervisor's replies
  const info = await s.run("xl info");
  assert.match(info, /^xen_version\s+: 4\.17/m);
  assert.match(info, /^xen_commandline\s+: .*dom0_mem=512M/m);
  assert.match(await s.run("xl list"), /^Domain-0\s+0\s+5\d\d\s+1\s+r/m);
  assert.equal((await s.run("cat /proc/xen/capabilities")).trim(), "control_d");

  // a line much longer than the receive ring arrives whole
  const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");
  assert.equal((await s.run(`echo ${long} | wc -w`)).trim(), "60");

  // the machine's view: Domain-0 and nothing else; xl's commands belong to Domain-0
  const list = JSON.parse(await xentsOk(home, ["list", "-l"])) as { name: string; id: number; mem: number; vcpus: number }[];
  assert.deepEqual(list.map((d) => [d.name, d.id, d.vcpus]), [["Domain-0", 0, 1]]);
  assert.ok(list[0].mem > 500 && list[0].mem <= 512, `Domain-0 has ${list[0].mem} MiB`); // its balloon driver may give a page or two back
  const cfg = join(root, "domu.cfg");
  writeFileSync(cfg, `name = "domu"\nmemory = 128\nkernel = "${fetchImages().kernel}"\n`);
  const create = await xentsCli(home, ["create", cfg]);
  assert.notEqual(create.code, 0);
  assert.match(create.stderr, /Domain-0 on this host is Linux|use xl in it/);
  const other = await xentsCli(home, ["console", "1"]);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /xl console 1/, "a domU's console is xl's, in Domain-0");
  assert.match(await xentsOk(home, ["dmesg"]), /LOADING DOMAIN 0/);
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as Record<string, unknown>;
  assert.equal(st.dom0, "linux");
  assert.equal((st.hypervisor as { internal_errors: number }).internal_errors, 0);

  // reboot: every domain goes and Domain-0 is built again; the console stays attached
  const mark = s.out.length;
  s.type("reboot -f\n");
  await s.waitFor(/Booting Linux[\s\S]*xents-dom0: Xen daemons up[\s\S]*dom0:\/# /, BOOT_MS, mark);
  await s.waitForShell(BOOT_MS, mark);
  assert.equal((await s.run("echo again")).trim(), "again");
  const st2 = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as Record<string, unknown>;
  assert.equal(st2.machine_restarts, 1);

  // poweroff: the host stops, leaving its console log
  s.type("poweroff -f\n");
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000 && existsSync(join(home, "host.pid"))) await new Promise((r) => setTimeout(r, 200));
  assert.ok(!existsSync(join(home, "host.pid")), "the host stopped when Domain-0 powered off");
  assert.notEqual((await xentsCli(home, ["host", "status"])).code, 0);
  await c.exited;
  const log = readFileSync(join(home, "logs", "console-Domain-0.log"), "utf8");
  assert.equal(log.match(/Booting Linux on physical CPU/g)?.length, 2, "both boots are in Domain-0's console log");

  // and `host stop` stops a machine whatever its Domain-0 is doing (here: booting)
  await xentsOk(home, start, 60_000);
  await xentsOk(home, stop, 60_000);
  assert.ok(!existsSync(join(home, "host.pid")));
});

test("`xents demo --dom0 linux`: Domain-0's serial line on stdin and stdout, Debian's xl in it, and the demo ends when Domain-0 powers off", async () => {
  assert.match(readFileSync("README.md", "utf8"), /`npx xents demo --dom0 linux`/);
  const p = spawn(process.execPath, ["bin/xents.js", "demo", "--dom0", "linux"], { env: { ...process.env, XENTS_HOME: join(root, "demo") }, stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<number | null>((res) => p.on("close", (code) => res(code)));
  const s = new ConsoleSession({ name: "demo", send: childInput(p), listen: (l) => p.stdout.on("data", (d: Buffer) => l(new Uint8Array(d))) });
  s.shellReady = /xents-dom0: Xen daemons up[\s\S]*dom0:\/# /;
  await s.waitForShell(BOOT_MS);
  assert.match(await s.run("xl list"), /^Domain-0\s+0\s/m);
  s.type("poweroff -f\n");
  assert.equal(await exited, 0);
});
