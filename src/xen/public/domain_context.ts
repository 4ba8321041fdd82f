// The domain context of XEN_DOMCTL_gethvmcontext / sethvmcontext as xents
// defines it (Xen on Arm has no HVM save records): a JSON document of
// versioned sections, one per stateful part of a domain (src/xen/snapshot.ts
// has the contract, src/xen/domain_context.ts the parts). Each section's
// schema below is both its TypeScript type and the validator an untrusted
// section goes through before anything is changed.
//
// The schemas are valibot's (a well-kept, dependency-free library): a schema
// is plain data that yields the type with InferOutput, and a failed parse
// names the path of the offending field, which becomes the refusal message.
// Tools read only the "memory" and "domain" sections (which frames to copy,
// the page limit), through contextMemory() below.

import * as v from "valibot";

export const CONTEXT_FORMAT = "xents-domain-context";
// 1: one flat document with each vCPU's raw state block (still read: its
// layout is frozen in src/xen/domain_context_v1.ts). 2: sections.
export const CONTEXT_VERSION = 2;

const hex = (digits: number, what: string) => v.pipe(v.string(), v.regex(new RegExp(`^0x[0-9a-f]{1,${digits}}$`), `is not a ${what} in hex (0x…)`));
export const U64 = hex(16, "64-bit value");
const U128 = hex(32, "128-bit value");
const DECIMAL = v.pipe(v.string(), v.regex(/^\d{1,20}$/, "is not a decimal number"));
const SIGNED = v.pipe(v.string(), v.regex(/^-?\d{1,20}$/, "is not a decimal number"));
const int = (min: number, max: number) => v.pipe(v.number(), v.integer("is not a whole number"), v.minValue(min), v.maxValue(max));
const flag = v.boolean();
// A 4 KiB page as base64 (4096 bytes are 5464 characters with padding).
const PAGE = v.pipe(v.string(), v.length(5464, "is not a 4 KiB page in base64"), v.base64("is not base64"));
export const MAX_GFN = 2 ** 28; // the guest physical address space (40 bits of 4 KiB frames)
const GFN = int(0, MAX_GFN - 1);

// ---- the envelope
// What every version has: which format and version the rest is.
export const ContextHead = v.looseObject({ format: v.literal(CONTEXT_FORMAT, `is not "${CONTEXT_FORMAT}"`), version: int(1, 1000) });
export const ContextEnvelope = v.strictObject({
  format: v.literal(CONTEXT_FORMAT),
  version: v.literal(CONTEXT_VERSION),
  sections: v.array(v.strictObject({ id: v.pipe(v.string(), v.maxLength(32)), version: int(1, 1000), data: v.unknown() })),
});
export type SectionRecord = { id: string; version: number; data: unknown };
export interface DomainContext { format: typeof CONTEXT_FORMAT; version: number; sections: SectionRecord[] }

// ---- "domain": limits, scheduling, HVM parameters and shared_info
export const DomainSection = v.strictObject({
  maxPages: DECIMAL, vmAssist: DECIMAL, timeOffsetSeconds: SIGNED,
  weight: int(1, 65535), cap: int(0, 65535),
  hvmParams: v.pipe(v.array(DECIMAL), v.maxLength(256)),
  sharedInfo: PAGE,
});
export type SavedDomainState = v.InferOutput<typeof DomainSection>;

// ---- "memory": RAM as runs of [first gfn, count], and where the guest mapped hypervisor pages
export const MemorySection = v.strictObject({
  ram: v.array(v.tuple([GFN, int(1, MAX_GFN)])),
  xenMaps: v.pipe(v.array(v.strictObject({ gfn: GFN, what: v.picklist(["shared_info", "grant"]), index: int(0, 4095) })), v.maxLength(4097)),
});
export type SavedMemory = v.InferOutput<typeof MemorySection>;

// ---- "gnttab": the grant table's frames
export const GrantSection = v.strictObject({ frames: v.pipe(v.array(PAGE), v.maxLength(4096)) });
export type SavedGrantTable = v.InferOutput<typeof GrantSection>;

// ---- "vcpus": each vCPU's architectural registers by name, and its hypervisor-side state
// The EL1 (and EL0) system registers a guest owns. EL2 registers (stage 2,
// trap controls, virtual MPIDR) and the counter offset belong to the host.
export const GUEST_SYSREGS = [
  "SCTLR_EL1", "TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "AMAIR_EL1", "VBAR_EL1", "CONTEXTIDR_EL1",
  "TPIDR_EL0", "TPIDR_EL1", "TPIDRRO_EL0", "CPACR_EL1", "CNTKCTL_EL1", "CNTV_CTL_EL0", "CNTV_CVAL_EL0",
  "PAR_EL1", "ESR_EL1", "FAR_EL1", "ELR_EL1", "SPSR_EL1", "SP_EL0", "SP_EL1", "MDSCR_EL1", "OSLSR_EL1",
  "OSDLR_EL1", "AFSR0_EL1", "AFSR1_EL1", "CSSELR_EL1", "ACTLR_EL1", "MDCCINT_EL1", "DISR_EL1",
] as const;
export type GuestSysreg = (typeof GUEST_SYSREGS)[number];
const sysregs = Object.fromEntries(GUEST_SYSREGS.map((n) => [n, U64])) as Record<GuestSysreg, typeof U64>;
export const VcpuRegisters = v.strictObject({
  x: v.pipe(v.array(U64), v.length(31, "is not x0..x30")),
  v: v.pipe(v.array(U128), v.length(32, "is not v0..v31")),
  pc: U64, pstate: U64, fpcr: int(0, 0xFFFFFFFF), fpsr: int(0, 0xFFFFFFFF),
  eventRegister: flag, instret: U64,
  sys: v.strictObject(sysregs),
  // the virtual GIC CPU interface the guest programs: ICH_VMCR (priority
  // mask, group enables) and the active priorities. The list registers are
  // empty between runs (their interrupts are in the "vgic" section) and
  // ICH_HCR is recomputed each time the vCPU is entered.
  gic: v.strictObject({ vmcr: U64, ap0r: U64, ap1r: U64 }),
});
export type SavedVcpuRegisters = v.InferOutput<typeof VcpuRegisters>;
export const BLOCK_REASONS = ["none", "wfi", "block", "poll"] as const;
export type SavedBlockReason = (typeof BLOCK_REASONS)[number];
const VcpuState = v.strictObject({
  online: flag, block: v.picklist(BLOCK_REASONS), pollPorts: v.pipe(v.array(int(0, 1 << 17)), v.maxLength(128)),
  vcount: SIGNED, pollIn: SIGNED,
  vcpuInfo: v.nullable(v.strictObject({ gfn: DECIMAL, offset: int(0, 4095) })),
  runstateVa: v.nullable(DECIMAL),
  regs: VcpuRegisters,
});
export const VcpusSection = v.pipe(v.array(VcpuState), v.minLength(1, "has no vCPUs"), v.maxLength(128));
export type SavedVcpu = v.InferOutput<typeof VcpuState>;

// ---- "vgic": the distributor and every interrupt's state
const Irq = v.strictObject({ enabled: flag, latch: flag, active: flag, level: flag, priority: int(0, 255), edge: flag, group1: flag, route: DECIMAL });
export type SavedIrq = v.InferOutput<typeof Irq>;
export const VgicSection = v.strictObject({
  ctlr: int(0, 0xFFFFFFFF),
  spis: v.pipe(v.array(Irq), v.maxLength(988)),
  cpus: v.pipe(v.array(v.strictObject({ waker: int(0, 0xFFFFFFFF), irqs: v.pipe(v.array(Irq), v.length(32, "is not 32 private interrupts")) })), v.maxLength(128)),
});
export type SavedVgic = v.InferOutput<typeof VgicSection>;

// ---- "evtchn": the ports, and the FIFO ABI's registrations by guest frame
export const CHANNEL_STATES = ["free", "reserved", "unbound", "interdomain", "virq", "ipi"] as const;
export type SavedChannelState = (typeof CHANNEL_STATES)[number];
const Channel = v.strictObject({ state: v.picklist(CHANNEL_STATES), remoteDom: int(0, 0x7FFF), remotePort: int(0, 1 << 17), virq: int(0, 63), notifyVcpu: int(0, 127), priority: int(0, 15) });
export type SavedChannel = v.InferOutput<typeof Channel>;
export const EvtchnSection = v.strictObject({
  abi: v.picklist(["2l", "fifo"]),
  ports: v.pipe(v.array(Channel), v.maxLength(1 << 17)),
  fifo: v.pipe(v.array(v.nullable(v.strictObject({ controlGfn: DECIMAL, controlOffset: int(0, 4095), heads: v.pipe(v.array(int(0, 1 << 17)), v.length(16)), tails: v.pipe(v.array(int(0, 1 << 17)), v.length(16)) }))), v.maxLength(128)),
  arrayGfns: v.pipe(v.array(DECIMAL), v.maxLength(256)),
  pendingCarry: v.pipe(v.array(int(0, 1 << 17)), v.maxLength(1 << 17)),
});
export type SavedEventChannels = v.InferOutput<typeof EvtchnSection>;

// ---- "vpl011": the emulated SBSA UART's registers and receive FIFO
export const VPL011_RX_FIFO = 32;
export const Vpl011Section = v.strictObject({ imsc: int(0, 0x7FF), ris: int(0, 0x7FF), rx: v.pipe(v.array(int(0, 255)), v.maxLength(VPL011_RX_FIFO)) });
export type SavedVpl011 = v.InferOutput<typeof Vpl011Section>;

// What the tools read of a context (gethvmcontext's bytes): the frames to
// copy and the page limit.
export function contextMemory(bytes: Uint8Array): { ram: [number, number][]; maxPages: string } {
  const c = JSON.parse(Buffer.from(bytes).toString("utf8")) as DomainContext;
  const mem = c.sections?.find((s) => s.id === "memory")?.data;
  const dom = c.sections?.find((s) => s.id === "domain")?.data;
  const m = v.safeParse(MemorySection, mem), d = v.safeParse(DomainSection, dom);
  if (!m.success || !d.success) throw new Error("the domain context has no valid memory or domain section");
  return { ram: m.output.ram, maxPages: d.output.maxPages };
}
