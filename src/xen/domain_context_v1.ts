// Reading a version 1 domain context (xents before sections): one flat
// document whose vCPUs are the core's raw 4 KiB state blocks. The block's
// layout as it was then is frozen here, so that saved files and streams
// from that xents still restore whatever the core's layout becomes. The
// result is a version 2 document, which then goes through the same schema
// and checks as any other; nothing here trusts the input's shape.

import { GUEST_SYSREGS, type GuestSysreg, type SectionRecord } from "./public/domain_context.js";

// The version 1 state block: offsets of the fields that are guest state.
const V1 = { BLOCK: 0x1000, X: 0x000, V: 0x100, PC: 0x300, PSTATE: 0x308, FPCR: 0x310, FPSR: 0x314, EVENT: 0x318, INSTRET: 0x320, SYS: 0x400, GIC: 0x900, GIC_VMCR: 0x88, GIC_AP0R: 0x90, GIC_AP1R: 0x98 } as const;
const V1_SYSREG_SLOT: Record<GuestSysreg, number> = {
  SCTLR_EL1: 0, TCR_EL1: 1, TTBR0_EL1: 2, TTBR1_EL1: 3, MAIR_EL1: 4, AMAIR_EL1: 5, VBAR_EL1: 6, CONTEXTIDR_EL1: 7, TPIDR_EL0: 8,
  TPIDR_EL1: 9, TPIDRRO_EL0: 10, CPACR_EL1: 11, CNTKCTL_EL1: 12, CNTV_CTL_EL0: 13, CNTV_CVAL_EL0: 14, PAR_EL1: 15, ESR_EL1: 16,
  FAR_EL1: 17, ELR_EL1: 18, SPSR_EL1: 19, SP_EL0: 20, SP_EL1: 21, MDSCR_EL1: 22, OSLSR_EL1: 23, OSDLR_EL1: 24, AFSR0_EL1: 25,
  AFSR1_EL1: 26, CSSELR_EL1: 27, ACTLR_EL1: 28, MDCCINT_EL1: 29, DISR_EL1: 33,
};

export class UpgradeError extends Error {}

type Obj = Record<string, unknown>;
const obj = (x: unknown, what: string): Obj => {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new UpgradeError(`${what} is not an object`);
  return x as Obj;
};
const list = (x: unknown, what: string): unknown[] => {
  if (!Array.isArray(x)) throw new UpgradeError(`${what} is not a list`);
  return x;
};

// A vCPU's v1 register block (base64) as the named registers of version 2.
function registers(b64: unknown, i: number): Obj {
  if (typeof b64 !== "string") throw new UpgradeError(`vCPU ${i}: regs is not text`);
  const b = Buffer.from(b64, "base64");
  if (b.length !== V1.BLOCK) throw new UpgradeError(`vCPU ${i}: the register block is ${b.length} bytes, not ${V1.BLOCK}`);
  const u64 = (off: number): string => `0x${b.readBigUInt64LE(off).toString(16)}`;
  const sys = {} as Record<GuestSysreg, string>;
  for (const n of GUEST_SYSREGS) sys[n] = u64(V1.SYS + V1_SYSREG_SLOT[n] * 8);
  return {
    x: Array.from({ length: 31 }, (_, k) => u64(V1.X + k * 8)),
    v: Array.from({ length: 32 }, (_, k) => `0x${((b.readBigUInt64LE(V1.V + k * 16 + 8) << 64n) | b.readBigUInt64LE(V1.V + k * 16)).toString(16)}`),
    pc: u64(V1.PC), pstate: u64(V1.PSTATE), fpcr: b.readUInt32LE(V1.FPCR), fpsr: b.readUInt32LE(V1.FPSR),
    eventRegister: b.readUInt32LE(V1.EVENT) !== 0, instret: u64(V1.INSTRET),
    sys,
    gic: { vmcr: u64(V1.GIC + V1.GIC_VMCR), ap0r: u64(V1.GIC + V1.GIC_AP0R), ap1r: u64(V1.GIC + V1.GIC_AP1R) },
  };
}

export function upgradeContextV1(raw: unknown): { format: string; version: 2; sections: SectionRecord[] } {
  const c = obj(raw, "the context");
  const vcpus = list(c.vcpus, "vcpus").map((x, i) => {
    const v = obj(x, `vCPU ${i}`);
    const { regs, ...rest } = v;
    return { ...rest, regs: registers(regs, i) };
  });
  const section = (id: string, data: unknown): SectionRecord => ({ id, version: 1, data });
  return {
    format: String(c.format), version: 2,
    sections: [
      section("domain", { maxPages: c.maxPages, vmAssist: c.vmAssist, timeOffsetSeconds: c.timeOffsetSeconds, weight: c.weight, cap: c.cap, hvmParams: c.hvmParams, sharedInfo: c.sharedInfo }),
      section("gnttab", { frames: c.grantFrames }),
      section("memory", { ram: c.ram, xenMaps: c.xenMaps }),
      section("vcpus", vcpus),
      section("vgic", c.vgic),
      section("evtchn", c.evtchn),
    ],
  };
}
