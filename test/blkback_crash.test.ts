// What a crash can lose: a guest writes a file and syncs (the sync ends in
// BLKIF_OP_FLUSH_DISKCACHE, answered only after fdatasync), then the whole
// host process is killed with SIGKILL. The file must be in the image: after
// e2fsck replays the journal, debugfs reads it back with the checksum the
// guest computed. (docs/ARCHITECTURE.md, "blkback", says what is and is not
// durable.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, closeSync, openSync, ftruncateSync, writeFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchImages } from "../src/tools/images.js";
import { ConsoleSession } from "./helpers/linux_guest.js";
import { xentsOk, CliConsole } from "./helpers/cli.js";

test("data a guest flushed survives SIGKILL of the host process", async () => {
  const home = mkdtempSync(join(tmpdir(), "xents-crash-"));
  const images = fetchImages();
  const img = join(home, "disk.img");
  const fd = openSync(img, "w");
  ftruncateSync(fd, 32 << 20);
  closeSync(fd);
  execFileSync("mkfs.ext4", ["-q", "-F", "-b", "4096", img]);
  const cfg = join(home, "g.cfg");
  writeFileSync(cfg, [
    'name = "crashy"', "memory = 160", "vcpus = 1", `kernel = "${images.kernel}"`, `ramdisk = "${images.initrd}"`,
    'extra = "console=hvc0"', `disk = ['format=raw, vdev=xvda, access=rw, target=${img}']`, "",
  ].join("\n"));
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
    await con.exited;
    pid = 0;
    // the journal was not checkpointed: let e2fsck replay it, as a reboot would
    const fsck = spawnSync("e2fsck", ["-f", "-y", img], { encoding: "utf8" });
    assert.ok(fsck.status === 0 || fsck.status === 1, `e2fsck: ${fsck.status}\n${fsck.stdout}${fsck.stderr}`);
    const data = execFileSync("debugfs", ["-R", "cat /kept", img], { stdio: ["ignore", "pipe", "ignore"], maxBuffer: 16 << 20 });
    assert.equal(data.length, 40 * 65536);
    assert.equal(createHash("sha256").update(data).digest("hex"), sum);
  } finally {
    if (pid) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    if (existsSync(home)) rmSync(home, { recursive: true, force: true });
  }
});
