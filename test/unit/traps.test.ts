// Trapped system-register accesses (src/xen/traps.ts): the ones the
// hypervisor emulates, and the others made UNDEFINED in the guest with a
// rate-limited line in the log, as Xen's vsysreg.c.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emulateSysreg, decodeSysreg, sysregEnc, sysregName, TrapHost } from "../../src/xen/traps.js";
import type { Domain } from "../../src/xen/domain.js";
import type { Vcpu } from "../../src/xen/vcpu.js";

// The ESR of a trapped MSR/MRS (EC 0x18) for S<op0>_<op1>_C<crn>_C<crm>_<op2>.
function esr(op0: number, op1: number, crn: number, crm: number, op2: number, rt: number, read: boolean): bigint {
  const iss = (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | (read ? 1 : 0);
  return (0x18n << 26n) | (1n << 25n) | BigInt(iss);
}

// Just what emulateSysreg touches of a vCPU and its domain.
function guest(): { d: Domain; v: Vcpu; regs: bigint[]; sgis: [number, bigint][]; injected: bigint[]; st: { pc: bigint; exitEsr: bigint } } {
  const regs = Array.from({ length: 31 }, (_, i) => BigInt(0x1000 + i));
  const injected: bigint[] = [];
  const sgis: [number, bigint][] = [];
  const st = {
    pc: 0x40000000n, exitEsr: 0n,
    x: (r: number): bigint => regs[r],
    setX: (r: number, val: bigint): void => { regs[r] = val; },
    inject: (e: bigint): void => { injected.push(e); },
  };
  const v = { id: 1, state: st } as unknown as Vcpu;
  const d = { id: 7, vgic: { sendSgi: (from: number, val: bigint) => sgis.push([from, val]) } } as unknown as Domain;
  return { d, v, regs, sgis, injected, st };
}

function host(): TrapHost & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l), stats: { mmio: 0 } };
}

test("decoding: the ISS fields and the architectural name", () => {
  const a = decodeSysreg(Number(esr(3, 0, 12, 11, 5, 4, false) & 0x1FFFFFFn), (r) => BigInt(r * 10));
  assert.equal(a.enc, sysregEnc(3, 0, 12, 11, 5));
  assert.deepEqual([a.read, a.rt, a.value], [false, 4, 40n]);
  assert.equal(decodeSysreg(Number(esr(3, 0, 12, 11, 5, 31, false) & 0x1FFFFFFn), () => 99n).value, 0n, "XZR writes zero");
  assert.equal(sysregName(sysregEnc(3, 3, 14, 0, 1)), "S3_3_C14_C0_1");
});

test("emulated accesses: SGI1R sends the SGI, the physical timer reads as zero, the PC moves on", () => {
  const h = host();
  const g = guest();
  g.st.exitEsr = esr(3, 0, 12, 11, 5, 2, false); // MSR ICC_SGI1R_EL1, x2
  emulateSysreg(h, g.d, g.v);
  assert.deepEqual(g.sgis, [[1, 0x1002n]]);
  assert.equal(g.st.pc, 0x40000004n);
  g.st.exitEsr = esr(3, 3, 14, 2, 1, 5, true); // MRS x5, CNTP_CTL_EL0
  emulateSysreg(h, g.d, g.v);
  assert.equal(g.regs[5], 0n);
  assert.equal(g.st.pc, 0x40000008n);
  assert.deepEqual(g.injected, []);
  assert.deepEqual(h.lines, []);
});

test("an access the hypervisor does not emulate is UNDEFINED at the instruction, logged by name, at most 10 lines per 5 s", () => {
  const h = host();
  const g = guest();
  g.st.exitEsr = esr(3, 3, 14, 0, 1, 0, true); // MRS x0, CNTPCT_EL0 (trapped while CNTHCTL.EL1PCTEN is clear)
  for (let i = 0; i < 100; i++) emulateSysreg(h, g.d, g.v, 1000);
  assert.equal(g.injected.length, 100);
  assert.ok(g.injected.every((e) => e === 1n << 25n), "EC 0 (unknown reason), IL set");
  assert.equal(g.st.pc, 0x40000000n, "the PC stays on the instruction");
  assert.equal(g.regs[0], 0x1000n, "the destination is untouched");
  assert.equal(h.lines.length, 10);
  assert.match(h.lines[0], /d7v1: unhandled system register read S3_3_C14_C0_1 at pc 0x40000000: UNDEFINED/);
  emulateSysreg(h, g.d, g.v, 7000);
  assert.equal(h.lines.length, 11);
  assert.match(h.lines[10], /\(90 more not logged\)/);
});
