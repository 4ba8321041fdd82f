// SMP under load (issue 12): a 4-vCPU Debian guest runs a pthread stress
// program for a minute (atomics, LL/SC, futex wake-ups across CPUs,
// mprotect-driven TLB shootdowns; test/programs/user/smp_stress.c checks
// every result), while `xents vcpu-set` takes two vCPUs away and gives
// them back. (A 2-vCPU guest under the same load is migrated in
// test/system/migration.test.ts.)
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchImages } from "../../src/tools/images.js";
import { initrdWithPrograms } from "../../src/tools/initrd_programs.js";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { xentsOk, xentsCli, CliConsole } from "../helpers/cli.js";
import { linuxGuestFields, writeXlCfg } from "../helpers/guest_files.js";

const root = mkdtempSync(join(tmpdir(), "xents-smp-"));
const home = join(root, "home");
after(async () => { await xentsCli(home, ["host", "stop"], 60_000).catch(() => undefined); rmSync(root, { recursive: true, force: true }); });

test("4 vCPUs under a minute of checked pthread stress, two of them unplugged and plugged back meanwhile", async (t) => {
  const images = fetchImages();
  const initrd = join(root, "initrd-smp.cpio.gz");
  writeFileSync(initrd, initrdWithPrograms(images.initrd, ["test/programs/user/smp_stress.c"]));
  const cfg = join(root, "smp.cfg");
  writeXlCfg(cfg, linuxGuestFields("smp", 256, 4, { ramdisk: initrd }));
  await xentsOk(home, ["host", "start", "--memory", "512"], 60_000);
  await xentsOk(home, ["create", cfg]);
  const c = new CliConsole(home, "smp");
  const s = new ConsoleSession(c);
  await s.waitForShell(300_000);
  assert.equal((await s.run("cat /sys/devices/system/cpu/online")).trim(), "0-3");
  s.type("(/opt/smp_stress 60 6 > /tmp/smp.log 2>&1; echo exit=$? >> /tmp/smp.log) &\n");
  const online = async (want: string): Promise<void> => {
    for (let i = 0; i < 60; i++) {
      if ((await s.run("cat /sys/devices/system/cpu/online")).trim() === want) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.fail(`the guest's online CPUs never became ${want}: ${await s.run("cat /sys/devices/system/cpu/online; dmesg | tail -5")}`);
  };
  await new Promise((r) => setTimeout(r, 10_000));
  await xentsOk(home, ["vcpu-set", "smp", "2"]);
  await online("0-1");
  const list = await xentsOk(home, ["vcpu-list", "smp"]);
  t.diagnostic(list.trim());
  await new Promise((r) => setTimeout(r, 10_000));
  await xentsOk(home, ["vcpu-set", "smp", "4"]);
  await s.run("for c in 2 3; do [ $(cat /sys/devices/system/cpu/cpu$c/online) = 1 ] || echo 1 > /sys/devices/system/cpu/cpu$c/online; done");
  await online("0-3");
  let log = "";
  for (let i = 0; i < 120 && !/exit=\d/.test(log); i++) {
    await new Promise((r) => setTimeout(r, 2000));
    log = (await s.run("cat /tmp/smp.log", 30_000)).trim();
  }
  t.diagnostic(log);
  assert.match(log, /^SMP ok threads=6 .* stale=0 cpus=[2-4]\s*\nexit=0$/m);
  const complaints = (await s.run("dmesg | grep -i -E 'BUG|Oops|rcu.*stall|watchdog' | head -5; echo END-OF-COMPLAINTS")).replace(/END-OF-COMPLAINTS\s*$/, "").trim();
  assert.equal(complaints, "", "the kernel complained");
  c.close();
  await xentsOk(home, ["destroy", "smp"]);
});
