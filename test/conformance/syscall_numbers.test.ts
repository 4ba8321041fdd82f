// The system call numbers the user-mode tables are keyed by
// (src/linux_user/syscall_numbers.ts) are Linux's: each one against the
// AArch64 kernel headers the cross toolchain ships (asm/unistd.h, as the
// C library sees them), through its preprocessor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { NR } from "../../src/linux_user/syscall_numbers.js";
import { crossGcc } from "../../src/tools/toolchain.js";

test("every named system call number is the one in Linux's AArch64 asm/unistd.h", () => {
  const names = Object.keys(NR);
  assert.ok(names.length > 100, `${names.length} names`);
  // fstat and newfstatat are __NR3264_ names on 64-bit: the header maps them
  const src = "#include <asm/unistd.h>\n" + names.map((n) => `nr_${n} = __NR_${n};`).join("\n") + "\n";
  const r = spawnSync(crossGcc(), ["-E", "-P", "-x", "c", "-"], { input: src, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const got = new Map<string, number>();
  for (const m of r.stdout.matchAll(/^nr_(\w+) = ([\d\s+()]+);$/gm)) {
    // the header writes some as sums: (__NR_arch_specific_syscall + 16) and the like
    const v = m[2].replace(/[()\s]/g, "").split("+").reduce((a, b) => a + Number(b), 0);
    got.set(m[1], v);
  }
  for (const n of names) assert.equal(got.get(n), NR[n as keyof typeof NR], `__NR_${n}`);
});
