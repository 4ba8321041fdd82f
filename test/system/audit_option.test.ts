// XENTS_AUDIT=1 (README): a host that runs the memory audit after every
// hypercall, driven through the CLI with a small guest from an xl.cfg; the
// audits run, none fails, and host status and xl dmesg say so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xentsOk, xentsCli } from "../helpers/cli.js";
import { guestImage } from "../helpers/guest_programs.js";

test("XENTS_AUDIT=1 xents host start: every hypercall audited, a guest's life finds nothing", async () => {
  const home = mkdtempSync(join(tmpdir(), "xents-audit-"));
  const saved = process.env.XENTS_AUDIT;
  process.env.XENTS_AUDIT = "1"; // the CLI helper passes the environment on
  try {
    await xentsOk(home, ["host", "start", "--memory", "128"], 60_000);
    const kernel = join(home, "steady.bin");
    writeFileSync(kernel, guestImage("steady", { ROUNDS: 3 }));
    const cfg = join(home, "steady.cfg");
    writeFileSync(cfg, [`name = "steady"`, "memory = 16", "vcpus = 1", `kernel = "${kernel}"`, 'on_poweroff = "destroy"', ""].join("\n"));
    await xentsOk(home, ["create", cfg]);
    const t0 = Date.now();
    while ((await xentsOk(home, ["list"])).includes("steady")) {
      assert.ok(Date.now() - t0 < 60_000, "the guest powers off and is destroyed");
      await new Promise((r) => setTimeout(r, 200));
    }
    const dmesg = await xentsOk(home, ["dmesg"]);
    assert.match(dmesg, /memory audit after every hypercall: on/);
    assert.match(dmesg, /\(d\d+\) steady: 3 /, dmesg);
    assert.doesNotMatch(dmesg, /AUDIT|BUG/);
    const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { hypervisor: { audits: number; audit_failures: number; internal_errors: number; audit_now: string[] } };
    assert.deepEqual(st.hypervisor.audit_now, []);
    assert.ok(st.hypervisor.audits > 50, `${st.hypervisor.audits} audits`);
    assert.equal(st.hypervisor.audit_failures, 0);
    assert.equal(st.hypervisor.internal_errors, 0);
  } finally {
    if (saved === undefined) delete process.env.XENTS_AUDIT; else process.env.XENTS_AUDIT = saved;
    await xentsCli(home, ["host", "stop"], 60_000);
    rmSync(home, { recursive: true, force: true });
  }
});
