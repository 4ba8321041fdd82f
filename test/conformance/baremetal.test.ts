// Bare-metal EL1 programs (test/programs/baremetal): each is an arm64 Image
// that finds its devices in the device tree, prints one line per check and
// powers off through PSCI. QEMU (-M virt,gic-version=3 -cpu cortex-a57) is
// the reference; xents runs the same Image as a Xen domU. Both must print
// exactly <name>.expected, which was written from what the architecture
// requires and confirmed on QEMU. Where QEMU itself departs from the
// architecture, <name>.qemu-deviations says how (see helpers/qemu_deviations).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BAREMETAL_SRC, bareMetalPrograms, buildBareMetal } from "../helpers/baremetal_build.js";
import { applyQemuDeviations } from "../helpers/qemu_deviations.js";
import { runBareMetalDomU } from "../../src/host/baremetal_domu.js";

const QEMU = "qemu-system-aarch64";
const QEMU_TIMEOUT_MS = 30_000;
const XENTS_INSTRUCTIONS = BigInt(process.env.XENTS_BAREMETAL_INSNS ?? "400000000");

const programs = bareMetalPrograms();
const qemuAvailable = !spawnSync(QEMU, ["--version"], { stdio: "ignore" }).error;

function expected(name: string): string {
  const p = join(BAREMETAL_SRC, `${name}.expected`);
  assert.ok(existsSync(p), `missing ${p}`);
  return readFileSync(p, "utf8");
}

function expectedOnQemu(name: string): string {
  const p = join(BAREMETAL_SRC, `${name}.qemu-deviations`);
  return existsSync(p) ? applyQemuDeviations(expected(name), readFileSync(p, "utf8")) : expected(name);
}

function runQemu(image: string): { out: string; status: number | null; timedOut: boolean; stderr: string } {
  const r = spawnSync(QEMU, [
    "-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-m", "256",
    "-nographic", "-nic", "none", "-no-reboot",
    "-kernel", image,
  ], { timeout: QEMU_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
  return { out: r.stdout ?? "", status: r.status, timedOut, stderr: r.stderr ?? "" };
}

test("every bare-metal program has an expected output and every expected output a program", () => {
  const exp = readdirSync(BAREMETAL_SRC).filter((f) => f.endsWith(".expected")).map((f) => f.slice(0, -9)).sort();
  assert.deepEqual(exp, programs);
  assert.ok(programs.length >= 5);
});

for (const name of programs) {
  test(`bare-metal ${name} on qemu-system-aarch64`, { skip: qemuAvailable ? false : `${QEMU} not installed` }, () => {
    const image = buildBareMetal(name);
    const r = runQemu(image);
    assert.equal(r.out, expectedOnQemu(name), `${name} under QEMU printed something else${r.timedOut ? " (timed out)" : ""}`);
    assert.equal(r.timedOut, false, `${name}: QEMU timed out`);
    assert.equal(r.status, 0, `${name}: QEMU exit status ${r.status}: ${r.stderr}`);
  });

  test(`bare-metal ${name} as a xents domU, interpreted`, async () => {
    const image = new Uint8Array(readFileSync(buildBareMetal(name)));
    const r = await withEnv({ XENTS_JIT: "0" }, () => runBareMetalDomU(image, { timeoutInstructions: XENTS_INSTRUCTIONS }));
    assert.equal(r.console, expected(name), `${name} under xents printed something else (stopped: ${r.reason})`);
    assert.equal(r.reason, "poweroff", `${name}: PSCI SYSTEM_OFF powered the domain off (it did not hang to the instruction limit)`);
  });

  test(`bare-metal ${name} as a xents domU, every page translated to WebAssembly`, async () => {
    const image = new Uint8Array(readFileSync(buildBareMetal(name)));
    const r = await withEnv({ XENTS_JIT: "1", XENTS_JIT_THRESHOLD: "0", XENTS_JIT_BACKGROUND: "0" }, () => runBareMetalDomU(image, { timeoutInstructions: XENTS_INSTRUCTIONS }));
    assert.equal(r.console, expected(name), `${name} translated printed something else (stopped: ${r.reason})`);
    assert.equal(r.reason, "poweroff");
  });
}

// Runs f with the environment variables set (the core reads its translation
// options from the environment when a host starts), then puts them back.
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try { return await f(); } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}
