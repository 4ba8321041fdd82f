// What a crash can lose: a guest writes a file and syncs (the sync ends in
// BLKIF_OP_FLUSH_DISKCACHE, answered only after fdatasync), then the whole
// host process is killed with SIGKILL and the machine loses power. The disk
// image lives on a file system of its own, on a loop device: "power loss" is
// a copy of that device's backing file taken at once, which holds only what
// reached the device, not what sat in the page cache (a SIGKILL alone keeps
// the page cache, so without this a FLUSH that skipped fdatasync would pass).
// In the copy, after e2fsck replays both journals, debugfs must read the
// file back with the checksum the guest computed. (docs/ARCHITECTURE.md,
// "blkback", says what is and is not durable.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync, copyFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleSession } from "../helpers/linux_guest.js";
import { xentsOk, CliConsole } from "../helpers/cli.js";
import { loopFs } from "../helpers/loop_fs.js";
import { diskImage, linuxGuestFields, writeXlCfg } from "../helpers/guest_files.js";

const home = mkdtempSync(join(tmpdir(), "xents-crash-"));
const fs = loopFs(home, 96);

test("data a guest flushed survives SIGKILL of the host process and a power loss", { skip: typeof fs === "string" ? fs : false }, async () => {
  if (typeof fs === "string") return;
  const img = join(fs.mnt, "disk.img");
  diskImage(img, 32);
  execFileSync("sync", ["-f", img]); // the empty file system is on the device before the guest starts
  const cfg = join(home, "g.cfg");
  writeXlCfg(cfg, linuxGuestFields("crashy", 160, 1, { disk: [`format=raw, vdev=xvda, access=rw, target=${img}`] }));
  let pid = 0;
  try {
    await xentsOk(home, ["host", "start", "--memory", "512"], 60_000);
    pid = Number(readFileSync(join(home, "host.pid"), "utf8"));
    await xentsOk(home, ["create", cfg]);
    const con = new CliConsole(home, "crashy");
    const s = new ConsoleSession(con);
    await s.waitForShell(240_000);
    const out = await s.run("mount -t ext4 /dev/xvda /mnt && dd if=/dev/urandom of=/mnt/kept bs=64k count=40 2>/dev/null && sync && sha256sum /mnt/kept", 120_000);
    const sum = /^([0-9a-f]{64})\s+\/mnt\/kept$/m.exec(out)?.[1];
    assert.ok(sum, out);
    process.kill(pid, "SIGKILL");
    // the power goes: what the device holds now is all that survives
    const lost = join(home, "after-power-loss.img");
    copyFileSync(fs.backing, lost);
    await con.exited;
    pid = 0;
    // neither journal was checkpointed: let e2fsck replay them, as a reboot would
    const fsck = (f: string): void => {
      const r = spawnSync("e2fsck", ["-f", "-y", f], { encoding: "utf8" });
      assert.ok(r.status === 0 || r.status === 1, `e2fsck ${f}: ${r.status}\n${r.stdout}${r.stderr}`);
    };
    fsck(lost);
    const inner = join(home, "disk-after-power-loss.img");
    execFileSync("debugfs", ["-R", `dump /disk.img ${inner}`, lost], { stdio: "ignore" });
    fsck(inner);
    const data = execFileSync("debugfs", ["-R", "cat /kept", inner], { stdio: ["ignore", "pipe", "ignore"], maxBuffer: 16 << 20 });
    assert.equal(data.length, 40 * 65536);
    assert.equal(createHash("sha256").update(data).digest("hex"), sum);
  } finally {
    if (pid) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
  }
});

test.after(() => {
  if (typeof fs !== "string") fs.done();
  if (existsSync(home)) rmSync(home, { recursive: true, force: true });
});
