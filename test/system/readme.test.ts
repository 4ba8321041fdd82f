// The README is a test (issue 12): its main job (`npx xents demo`) with its
// defaults, and the "Running a host" block line by line as written (host
// start with its default memory, create from an xl.cfg as a Xen user
// writes it, list, console, shutdown -w, host stop), with the save, restore
// and migrate commands the README names in between. A default that breaks
// cannot land again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, mkdirSync, copyFileSync, symlinkSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fetchImages } from "../../src/tools/images.js";
import { childInput } from "../../src/tools/child_input.js";
import { ConsoleSession, ConsoleEndpoint } from "../helpers/linux_guest.js";

const BOOT_MS = 300_000;
const readme = readFileSync("README.md", "utf8");
const repo = resolve(".");

// The lines of the first ```sh block after `heading`, without comments.
function shBlock(heading: string): string[] {
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `the README has a '${heading}' section`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `a sh block under '${heading}'`);
  return m[1].split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter(Boolean);
}

// A directory npx takes for the project (its package.json, its bin linked to
// this checkout's), so that README lines run as written with their files
// (guest.cfg, guest.save) beside them, not in the checkout.
function projectDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  copyFileSync(join(repo, "package.json"), join(dir, "package.json"));
  mkdirSync(join(dir, "bin"));
  symlinkSync(join(repo, "bin/xents.js"), join(dir, "bin/xents.js"));
  return dir;
}

// A README line run by bash in `cwd`, with this host's XENTS_HOME.
function sh(line: string, home: string, cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync("bash", ["-c", line], { cwd, env: { ...process.env, XENTS_HOME: home }, encoding: "utf8", timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function ok(line: string, home: string, cwd: string): string {
  const r = sh(line, home, cwd);
  assert.equal(r.code, 0, `${line}: exit ${r.code}\n${r.err}`);
  return r.out;
}

// An interactive command (demo, console) with its stdin and stdout as pipes.
function interactive(line: string, home: string, cwd: string): { ep: ConsoleEndpoint; exited: Promise<number | null> } {
  const p = spawn("bash", ["-c", line], { cwd, env: { ...process.env, XENTS_HOME: home }, stdio: ["pipe", "pipe", "pipe"] });
  let err = "";
  p.stderr.setEncoding("utf8").on("data", (d: string) => { err += d; });
  const exited = new Promise<number | null>((res) => p.on("close", (c) => { if (c !== 0) process.stderr.write(`${line}: ${err}`); res(c); }));
  return {
    ep: { name: line, send: childInput(p), listen: (l) => p.stdout.on("data", (d: Buffer) => l(new Uint8Array(d))) },
    exited,
  };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

// `xents console` detaches on a Ctrl-] read alone, as xl console does on a
// pipe (ConsoleSession.detach: on a loaded machine the shell's cursor
// query's answer and the Ctrl-] reached the client as one read, which it
// forwarded to the guest).
const detach = (s: ConsoleSession, exited: Promise<number | null>): Promise<number | null> => s.detach(() => within(exited, 10_000, "Ctrl-] detaches"));

const images = fetchImages();

test("README: `npx xents demo` boots Debian's kernel to a shell on stdin/stdout and exits when the guest powers off", async () => {
  const main = /^\.\/scripts\/setup\.sh && (npx xents demo)\s/m.exec(readme);
  assert.ok(main, "the README's main job is ./scripts/setup.sh && npx xents demo");
  const cwd = projectDir("xents-readme-demo-");
  const d = interactive(main[1], join(cwd, "home"), cwd);
  const s = new ConsoleSession(d.ep);
  await s.waitForShell(BOOT_MS);
  assert.match(await s.run("uname -r"), /-arm64/);
  assert.equal((await s.run("cat /sys/hypervisor/type")).trim(), "xen");
  s.type("poweroff -f\n");
  assert.equal(await within(d.exited, 60_000, "demo exits after poweroff"), 0);
  rmSync(cwd, { recursive: true, force: true });
});

test("README: running a host as written, with its defaults; save, restore and migrate as the README names them", async () => {
  const lines = shBlock("## Running a host");
  assert.match(lines[0], /^export XENTS_HOME=~\/\.xents$/);
  const [start, create, list, consoleLine, shutdown, stop] = lines.slice(1);
  assert.equal(start, "npx xents host start", "host start with its defaults");
  assert.match(create, /^npx xents create guest\.cfg$/);
  assert.match(readme, /`xents save <domain> <file>`/);
  assert.match(readme, /`xents restore <file>`/);
  assert.match(readme, /`xents migrate <domain> <host:N>`/);

  const cwd = projectDir("xents-readme-");
  const homeA = join(cwd, "hostA"), homeB = join(cwd, "hostB");
  // guest.cfg as a Xen user writes it (xl.cfg(5))
  writeFileSync(join(cwd, "guest.cfg"), [
    "# a Debian guest", 'name = "guest"', "memory = 256", "vcpus = 1",
    `kernel = "${images.kernel}"`, `ramdisk = "${images.initrd}"`, 'extra = "console=hvc0"', 'on_poweroff = "destroy"', "",
  ].join("\n"));
  // the guest on a host's console still has what was written before it moved
  const stillThere = async (home: string): Promise<void> => {
    const c = interactive(consoleLine, home, cwd);
    const s = new ConsoleSession(c.ep);
    s.type("\n");
    assert.equal((await s.run("cat /tmp/mark", 120_000)).trim(), "kept");
    await detach(s, c.exited);
  };
  try {
    ok(start, homeA, cwd);
    const status = JSON.parse(ok("npx xents host status --json", homeA, cwd)) as { total_memory_mib: number };
    assert.equal(status.total_memory_mib, 2048, "the default host memory");
    ok(create, homeA, cwd);
    assert.match(ok(list, homeA, cwd), /^guest\s+\d+\s+256\s+1\s/m);

    // console: the shell, then Ctrl-] detaches
    const c = interactive(consoleLine, homeA, cwd);
    const s = new ConsoleSession(c.ep);
    await s.waitForShell(BOOT_MS);
    await s.run("echo kept > /tmp/mark");
    assert.equal(await detach(s, c.exited), 0);

    // save and restore on the same host: the guest carries on
    ok("npx xents save guest guest.save", homeA, cwd);
    assert.doesNotMatch(ok(list, homeA, cwd), /^guest\s/m);
    ok("npx xents restore guest.save", homeA, cwd);
    await stillThere(homeA);

    // migrate to a second host listening with --migrate-port, whose key host A holds
    ok("npx xents host start --memory 1024 --migrate-port 0", homeB, cwd);
    const port = (JSON.parse(ok("npx xents host status --json", homeB, cwd)) as { migrate_port: number }).migrate_port;
    copyFileSync(join(homeB, "migrate.key"), join(homeA, "migrate.key"));
    ok(`npx xents migrate guest 127.0.0.1:${port}`, homeA, cwd);
    assert.doesNotMatch(ok(list, homeA, cwd), /^guest\s/m);
    assert.match(ok(list, homeB, cwd), /^guest\s/m);
    await stillThere(homeB);

    ok(shutdown, homeB, cwd);
    assert.doesNotMatch(ok(list, homeB, cwd), /^guest\s/m);
    ok(stop, homeB, cwd);
    ok(stop, homeA, cwd);
    assert.ok(!existsSync(join(homeA, "control.sock")) && !existsSync(join(homeB, "control.sock")), "both hosts are gone");
  } finally {
    for (const h of [homeA, homeB]) if (existsSync(join(h, "control.sock"))) sh("npx xents host stop", h, cwd);
    rmSync(cwd, { recursive: true, force: true });
  }
});
