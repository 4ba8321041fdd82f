// The administrator's view, end to end: a host daemon in its own XENTS_HOME,
// driven only through the xents CLI. A Debian domU is created from an
// xl.cfg, listed, reached through `xents console` (twice at once), ballooned
// with mem-set and shut down with `shutdown -w`; then domains are destroyed
// in every state (running, paused, mid-boot, crashed). After each, the
// host's books — free frames, Domain-0's event channels and foreign
// mappings, xenstore nodes and connections — are back where they started.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { xentsCli, xentsOk, CliConsole } from "../helpers/cli.js";
import { guestImage } from "../helpers/guest_programs.js";
import { linuxGuestFields, xlCfgText } from "../helpers/guest_files.js";

const BOOT_MS = 240_000;
const home = mkdtempSync(join(tmpdir(), "xents-e2e-"));
let baseline: Record<string, number>;

interface Row { name: string; id: number; mem: number; vcpus: number; state: string; }

async function accounting(): Promise<Record<string, number>> {
  return (JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { accounting: Record<string, number> }).accounting;
}
async function listRows(): Promise<Row[]> {
  return JSON.parse(await xentsOk(home, ["list", "-l"])) as Row[];
}
// The parsed `xents list` table, as a script would read xl's.
async function listTable(): Promise<Map<string, { id: number; mem: number; vcpus: number; state: string }>> {
  const out = await xentsOk(home, ["list"]);
  const lines = out.trimEnd().split("\n");
  assert.match(lines[0], /^Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)$/);
  const m = new Map<string, { id: number; mem: number; vcpus: number; state: string }>();
  for (const l of lines.slice(1)) {
    const f = l.trim().split(/\s+/);
    m.set(f[0], { id: Number(f[1]), mem: Number(f[2]), vcpus: Number(f[3]), state: f[4] });
  }
  return m;
}
async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
async function assertNothingLeft(what: string, name: string): Promise<void> {
  const rows = await listRows();
  assert.ok(!rows.some((r) => r.name === name), `${what}: ${name} is still listed`);
  assert.deepEqual(await accounting(), baseline, `${what}: the host's books differ from before the domain existed`);
  // and, not trusting the books: every stage-2 walked, every frame recounted
  const hv = (JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { hypervisor: { audit_now: string[]; internal_errors: number } }).hypervisor;
  assert.deepEqual(hv.audit_now, [], `${what}: the memory audit`);
  assert.equal(hv.internal_errors, 0);
  assert.equal(await xentsOk(home, ["lsevtchn"]), baselineEvtchn, `${what}: Domain-0's event channels differ`);
}
function linuxCfg(name: string, extra: string[] = []): string {
  const file = join(home, `${name}.cfg`);
  writeFileSync(file, xlCfgText(linuxGuestFields(name, 192, 2)) + extra.map((l) => `${l}\n`).join(""));
  return file;
}
let baselineEvtchn = "";

before(async () => {
  await xentsOk(home, ["host", "start", "--memory", "1024"], 60_000);
  baseline = await accounting();
  baselineEvtchn = await xentsOk(home, ["lsevtchn"]);
  assert.ok(baseline.dom0_event_channels >= 1, "Domain-0 holds at least its VIRQ_DOM_EXC port");
});

after(async () => {
  await xentsCli(home, ["host", "stop"], 60_000);
  if (process.env.XENTS_KEEP_HOME) process.stderr.write(`kept ${home}\n`);
  else rmSync(home, { recursive: true, force: true });
});

test("host status names the sockets local tools use", async () => {
  const s = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as Record<string, unknown>;
  assert.equal(s.xenstored_socket, join(home, "xenstored.sock"));
  assert.equal(s.control_socket, join(home, "control.sock"));
  const rows = await listTable();
  assert.equal(rows.get("Domain-0")?.id, 0);
  assert.equal((s.hypervisor as { translation: boolean }).translation, process.env.XENTS_JIT !== "0", "translation is on by default");
});

test("top and sched-credit2 with their defaults, a weight set and read back, misuse refused", async () => {
  const top = await xentsOk(home, ["top", "-i", "1"]);
  assert.match(top, /NAME\s+STATE\s+CPU\(sec\)/);
  assert.match(top, /Domain-0 /);
  const credit = async (): Promise<string> => /^Domain-0\s+0\s+(\d+)\s+(\d+)$/m.exec(await xentsOk(home, ["sched-credit2"]))?.slice(1).join("/") ?? "";
  assert.equal(await credit(), "256/0", "credit2's defaults: weight 256, no cap");
  await xentsOk(home, ["sched-credit2", "-d", "Domain-0", "-w", "512"]);
  assert.equal(await credit(), "512/0");
  await xentsOk(home, ["sched-credit2", "-d0", "-w256"]);
  assert.equal(await credit(), "256/0");
  for (const [args, re] of [[["top", "-d", "0"], /-d wants a delay/], [["top", "-i", "x"], /-i \(iterations\) wants a whole number/], [["sched-credit2", "-w", "abc"], /-w \(weight\) wants a whole number/], [["sched-credit2", "-c"], /-c needs a value/]] as const) {
    const r = await xentsCli(home, [...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, re);
  }
});

test("xl.cfg → create → list → two consoles → mem-set balloons → shutdown -w leaves nothing", async () => {
  const cfg = linuxCfg("e2e");
  const dry = JSON.parse(await xentsOk(home, ["create", "-n", cfg])) as { name: string; memory: number; vcpus: number };
  assert.deepEqual([dry.name, dry.memory, dry.vcpus], ["e2e", 192, 2]);
  assert.equal((await listRows()).length, 1, "a dry run creates nothing");

  await xentsOk(home, ["create", cfg]);
  const row = (await listTable()).get("e2e");
  assert.ok(row, "e2e is listed");
  assert.equal(row.mem, 192);
  assert.match(row.state, /^[r-][b-]----$/);

  const c1 = new CliConsole(home, "e2e");
  const s1 = new ConsoleSession(c1);
  await s1.waitForShell(BOOT_MS);
  assert.equal((await s1.run("cat /sys/hypervisor/type")).trim(), "xen");
  assert.equal((await listTable()).get("e2e")!.vcpus, 2, "both vCPUs are online once Linux has brought up the secondary");
  assert.match(s1.out, /Booting Linux on physical CPU/, "the boot messages said before anyone attached are replayed");

  // a second console on the same domain sees the same conversation
  const c2 = new CliConsole(home, "e2e");
  const s2 = new ConsoleSession(c2);
  await s2.waitFor(/Booting Linux on physical CPU/, 10_000);
  assert.equal((await s2.run("echo two-$((6*7))")).trim(), "two-42");
  await s1.waitFor(/two-42/, 10_000);

  // the balloon driver follows memory/target
  const memTotal = async (): Promise<number> => Number(/MemTotal:\s+(\d+) kB/.exec(await s1.run("grep MemTotal /proc/meminfo"))![1]);
  const before = await memTotal();
  await xentsOk(home, ["mem-set", "e2e", "128m"]);
  const afterKiB = await until("MemTotal drops after mem-set", async () => { const m = await memTotal(); return m <= before - 60 * 1024 ? m : undefined; }, 60_000);
  assert.ok(afterKiB > before - 70 * 1024, `MemTotal fell by ${before - afterKiB} KiB for a 64 MiB cut`);
  await until("xents list shows the smaller reservation", async () => (await listTable()).get("e2e")!.mem <= 129, 30_000);

  const log = readFileSync(join(home, "logs", "console-e2e.log"), "utf8");
  assert.match(log, /Booting Linux on physical CPU/);
  assert.match(log, /two-42/);

  await xentsOk(home, ["shutdown", "-w", "e2e"], 120_000);
  assert.equal(await c1.exited, 0, "the console client ends when the domain does");
  assert.equal(await c2.exited, 0);
  assert.match(s1.out, /reboot: Power down|Power down/);
  await assertNothingLeft("after shutdown -w", "e2e");
});

test("errors: bad configuration and unknown domains fail cleanly and create nothing", async () => {
  const bad = join(home, "bad.cfg");
  writeFileSync(bad, 'name = "bad"\nmemory = "lots"\n');
  const r = await xentsCli(home, ["create", bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bad\.cfg:2:\d+/);
  const r2 = await xentsCli(home, ["destroy", "nosuch"]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /no domain 'nosuch'/);
  const r3 = await xentsCli(home, ["create", linuxCfg("withdisk", ["disk = ['/nonexistent.img,raw,xvda,rw']"])]);
  assert.notEqual(r3.code, 0);
  const r4 = await xentsCli(home, ["create", linuxCfg("badvif", ["vif = ['mac=01:00:00:00:00:01']"])]);
  assert.notEqual(r4.code, 0);
  assert.match(r4.stderr, /multicast/);
  await assertNothingLeft("after refused creates", "bad");
});

test("destroy releases everything in every state: paused, mid-boot, running, crashed", async () => {
  // paused: built, never ran
  await xentsOk(home, ["create", "-p", linuxCfg("paused")]);
  assert.match((await listTable()).get("paused")!.state, /^--p---$/);
  await xentsOk(home, ["destroy", "paused"]);
  await assertNothingLeft("destroying a paused domain", "paused");

  // mid-boot: the kernel is printing, xenbus not up yet or just coming up
  await xentsOk(home, ["create", linuxCfg("midboot")]);
  await until("midboot starts printing", async () => {
    const f = join(home, "logs", "console-midboot.log");
    return existsSync(f) && readFileSync(f, "utf8").includes("Booting Linux");
  }, BOOT_MS);
  await xentsOk(home, ["destroy", "midboot"]);
  await assertNothingLeft("destroying a booting domain", "midboot");

  // crashed: a guest that declares a crash (SCHEDOP_shutdown, SHUTDOWN_crash), kept by on_crash=preserve
  const crasher = join(home, "crasher.img");
  writeFileSync(crasher, guestImage("steady", { ROUNDS: 2, SHUTDOWN_REASON: 3 }));
  const ccfg = join(home, "crasher.cfg");
  writeFileSync(ccfg, `name = "crasher"\nmemory = 16\nvcpus = 1\nkernel = "${crasher}"\non_crash = "preserve"\n`);
  await xentsOk(home, ["create", ccfg]);
  const st = await until("crasher is in the crashed state", async () => { const r = (await listTable()).get("crasher"); return r && /^---sc-$/.test(r.state) ? r.state : undefined; }, 60_000);
  assert.equal(st, "---sc-");

  // running: a Linux guest at its shell, destroyed without asking
  await xentsOk(home, ["create", linuxCfg("running")]);
  const con = new CliConsole(home, "running");
  const s = new ConsoleSession(con);
  await s.waitForShell(BOOT_MS);
  assert.equal((await s.run("echo up")).trim(), "up");
  // disk hotplug while it runs: attach, use, detach
  const img = join(home, "hot.img");
  writeFileSync(img, Buffer.alloc(4 << 20, 0x5A));
  await xentsOk(home, ["block-attach", "running", `format=raw, vdev=xvdb, access=rw, target=${img}`]);
  assert.match(await xentsOk(home, ["block-list", "running"]), /^51728\s+0\s+\d+\s+\d+\s+-?\d+\s+-?\d+\s+\/local\/domain\/0\/backend\/vbd\/\d+\/51728$/m);
  await until("the guest sees xvdb", async () => (await s.run("cat /sys/block/xvdb/size 2>/dev/null")).trim() === "8192", 30_000);
  assert.equal((await s.run("dd if=/dev/xvdb bs=512 count=1 2>/dev/null | od -An -tx1 | head -1")).trim().split(/\s+/)[0], "5a");
  await xentsOk(home, ["block-detach", "running", "xvdb"], 60_000);
  await until("xvdb is gone from the guest", async () => (await s.run("ls /sys/block")).includes("xvdb") ? undefined : true, 30_000);
  assert.doesNotMatch(await xentsOk(home, ["block-list", "running"]), /^51728\s/m);
  // and a network interface
  await xentsOk(home, ["network-attach", "running", "mac=00:16:3e:12:34:56", "bridge=xenbr0"]);
  assert.match(await xentsOk(home, ["network-list", "running"]), /^0\s+0\s+00:16:3e:12:34:56\s+0\s+\d+\s+xenbr0$/m);
  await until("the guest sees eth0", async () => (await s.run("cat /sys/class/net/eth0/address 2>/dev/null")).trim() === "00:16:3e:12:34:56", 30_000);
  await xentsOk(home, ["network-detach", "running", "00:16:3e:12:34:56"], 60_000);
  await until("eth0 is gone from the guest", async () => (await s.run("ls /sys/class/net")).includes("eth0") ? undefined : true, 30_000);
  await xentsOk(home, ["destroy", "running"]);
  assert.equal(await con.exited, 0, "the console client ends when the domain is destroyed");
  await xentsOk(home, ["destroy", "crasher"]);
  await assertNothingLeft("destroying a running and a crashed domain", "running");
  assert.ok(!(await listRows()).some((r) => r.name === "crasher"));
});

test("on_reboot=restart brings a rebooting domain back under a new id until it is destroyed", async () => {
  const img = join(home, "rebooter.img");
  writeFileSync(img, guestImage("steady", { ROUNDS: 1, SHUTDOWN_REASON: 1 }));
  const cfg = join(home, "rebooter.cfg");
  writeFileSync(cfg, `name = "rebooter"\nmemory = 16\nvcpus = 1\nkernel = "${img}"\non_reboot = "restart"\n`);
  await xentsOk(home, ["create", cfg]);
  const first = (await listTable()).get("rebooter")!.id;
  // every incarnation reboots at once; each comes back with a fresh domid
  await until("rebooter has restarted three times", async () => { const r = (await listTable()).get("rebooter"); return r && r.id >= first + 3; }, 60_000);
  await xentsOk(home, ["destroy", "rebooter"]);
  await assertNothingLeft("destroying a domain that keeps restarting", "rebooter");
});
