// `xents bench boot --json` with its defaults (README).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { XENTS_BIN } from "../helpers/cli.js";

test("xents bench boot --json: the same kernel and initramfs to the shell on xents and on QEMU, three rounds, the medians", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "boot", "--json"], { encoding: "utf8", timeout: 900_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, number | string>;
  assert.equal(j.benchmark, "boot");
  assert.equal(j.vcpus, 1);
  assert.equal(j.memory_mib, 256);
  for (const k of ["xents_s", "qemu_s", "ratio", "xents_mips"]) assert.ok((j[k] as number) > 0, `${k} = ${j[k]}`);
  assert.ok((j.instructions as number) > 100e6, `${j.instructions} instructions`);
  assert.ok(Math.abs((j.ratio as number) - (j.xents_s as number) / (j.qemu_s as number)) < 0.01);
  // each side's figure is the middle one of its three boots
  const rounds = j.rounds as unknown as { xents_s: number; qemu_s: number }[];
  assert.equal(rounds.length, 3);
  const middle = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1];
  assert.equal(j.xents_s, middle(rounds.map((x) => x.xents_s)));
  assert.equal(j.qemu_s, middle(rounds.map((x) => x.qemu_s)));
  for (const x of rounds) assert.ok(x.xents_s > 0 && x.qemu_s > 0, JSON.stringify(rounds));
  // timed from its process's start, as QEMU's from its spawn: the start (Node, the modules, the images) is part of it
  assert.ok((j.startup_s as number) > 0 && (j.startup_s as number) < (j.xents_s as number), `startup ${j.startup_s} s of ${j.xents_s} s`);
  // the same phases of the two kernels' init, each by its own clock, within its boot
  const phases = j.phases as unknown as Record<"xents" | "qemu", Record<string, number> | null>;
  for (const side of ["xents", "qemu"] as const) {
    const ph = phases[side];
    assert.ok(ph, `${side}: its console showed no phases`);
    const keys = ["to_initramfs_s", "initramfs_s", "rest_of_init_s"];
    for (const k of keys) assert.ok(ph[k] > 0, `${side} ${k} = ${ph[k]}`);
    const sum = keys.reduce((a, k) => a + ph[k], 0);
    assert.ok(sum < (j[`${side}_s`] as number), `${side}: phases ${sum} s within a boot of ${j[`${side}_s`]} s`);
  }
  // where the time went: the core's counters are live, and in and outside the core add up to the boot
  const p = j.profile as unknown as { translate_per_kinsn: number; tlb_flushes: number; tlb_full_flushes: number; exits: Record<string, number>; core_s: number; outside_core_s: number };
  assert.ok(p.translate_per_kinsn > 0 && p.tlb_flushes > 0 && p.tlb_full_flushes <= p.tlb_flushes, JSON.stringify(p));
  assert.ok((p.exits.HVC ?? 0) > 0, "the guest made hypercalls");
  assert.ok(Math.abs(p.core_s + p.outside_core_s - (j.xents_s as number)) < 0.01 && p.core_s > 0);
  // most of what ran translated ran optimised (~77%; with the core compiled
  // ahead by a hint rather than the flags, 0.3%: the translator's thread fell behind)
  const jit = (p as unknown as { jit: { instructions_translated: number; instructions_optimized: number } }).jit;
  assert.ok(jit.instructions_optimized > 0.5 * jit.instructions_translated, `${jit.instructions_optimized} of ${jit.instructions_translated} translated instructions ran optimised`);
});

test("xents bench boot --dom0 linux --json: the same Domain-0 and domU on xents and on the real Xen 4.17 under QEMU, and xl info alike", () => {
  const r = spawnSync(process.execPath, [XENTS_BIN, "bench", "boot", "--dom0", "linux", "--json"], { encoding: "utf8", timeout: 1_200_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.benchmark, "boot");
  assert.equal(j.dom0, "linux");
  assert.equal(j.dom0_mem_mib, 512);
  for (const k of ["dom0_s", "domu_s", "real_xen_dom0_s", "real_xen_domu_s", "ratio"]) assert.ok((j[k] as number) > 0, `${k} = ${String(j[k])}`);
  const total = (j.dom0_s as number) + (j.domu_s as number), real = (j.real_xen_dom0_s as number) + (j.real_xen_domu_s as number);
  assert.ok(Math.abs((j.ratio as number) - total / real) < 0.01);
  // xl info in Domain-0 shows the fields the real Xen shows, with the same values where the host does not decide them
  assert.deepEqual(j.xl_info_missing, []);
  assert.deepEqual(j.xl_info_differ, {});
});
