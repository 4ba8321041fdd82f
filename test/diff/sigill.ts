// Which instruction words does qemu-aarch64 (-cpu cortex-a57) treat as
// UNDEFINED? One static program runs every word once, with a SIGILL handler
// that records the faulting pc and skips the word; the pcs come back on
// stdout. Before each word a helper points x0-x29 at a buffer, so that
// loads/stores with a general-register base stay inside it.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// struct ucontext: uc_mcontext at 176, sigcontext.pc 8 + 31*8 + 8 further on
const UC_PC = 176 + 8 + 31 * 8 + 8;

export function qemuIllegal(words: number[]): boolean[] {
  const dir = mkdtempSync(join(tmpdir(), "xents-sigill-"));
  try {
    const L: string[] = [".text", ".globl _start", "_start:"];
    // rt_sigaction(SIGILL, &act, NULL, 8)
    L.push("  mov x0, #4", "  adr x1, act", "  mov x2, #0", "  mov x3, #8", "  mov x8, #134", "  svc #0");
    L.push("  adr x20, cases", "  br x20", ".balign 16", "cases:");
    for (const w of words) L.push("  bl setup", `  .inst 0x${(w >>> 0).toString(16)}`);
    L.push("  ldr x1, =pcs", "  ldr x2, =count", "  ldr x2, [x2]", "  lsl x2, x2, #3", "  mov x0, #1", "  mov x8, #64", "  svc #0");
    L.push("  mov x0, #0", "  mov x8, #93", "  svc #0");
    L.push("setup:", "  ldr x0, =buf+2048");
    for (let r = 1; r < 30; r++) L.push(`  mov x${r}, x0`);
    L.push("  ret");
    L.push("handler:", `  ldr x3, [x2, #${UC_PC}]`, "  ldr x4, =count", "  ldr x5, [x4]", "  ldr x6, =pcs",
      "  str x3, [x6, x5, lsl #3]", "  add x5, x5, #1", "  str x5, [x4]", "  add x3, x3, #4", `  str x3, [x2, #${UC_PC}]`, "  ret");
    L.push("  .ltorg", ".data", ".balign 16", "act:", "  .quad handler", "  .quad 0x40000004", "  .quad 0", "  .quad 0");
    L.push("count: .quad 0", ".balign 16", "buf: .space 4096", `pcs: .space ${8 * words.length + 8}`);
    writeFileSync(join(dir, "t.s"), L.join("\n") + "\n");
    execFileSync("aarch64-linux-gnu-as", ["-o", join(dir, "t.o"), join(dir, "t.s")]);
    execFileSync("aarch64-linux-gnu-ld", ["-static", "-nostdlib", "-Ttext=0x400000", "-o", join(dir, "t.elf"), join(dir, "t.o")]);
    const nm = execFileSync("aarch64-linux-gnu-nm", [join(dir, "t.elf")]).toString();
    const casesAddr = BigInt("0x" + (/^([0-9a-f]+) t cases$/m.exec(nm)?.[1] ?? "0"));
    const r = spawnSync("qemu-aarch64", ["-cpu", "cortex-a57", join(dir, "t.elf")], { maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`qemu sigill probe failed: ${r.status} ${r.stderr.toString().slice(0, 300)}`);
    const out = Buffer.from(r.stdout);
    const illegal = new Array<boolean>(words.length).fill(false);
    for (let o = 0; o + 8 <= out.length; o += 8) {
      const i = Number((out.readBigUInt64LE(o) - casesAddr - 4n) / 8n);
      if (i >= 0 && i < words.length) illegal[i] = true;
    }
    return illegal;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
