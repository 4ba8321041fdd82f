// The SMMUv3 model (src/hw/smmuv3.ts) driven as a driver would, over a
// small machine memory: the stream table, queues and stage-2 tables are
// written here by hand, so every field the model reads is one these tests
// chose. Checks the walk (tables, blocks, pages, permissions, the access
// flag, output size), the event records a fault leaves, what is cached until
// invalidated (STEs until CFGI_STE, translations until TLBI), command errors
// and the event queue's overflow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SmmuV3, SMMU_REG, CR0, IRQ_CTRL, GERROR, GBPA_ABORT, GBPA_UPDATE, CERROR, Q_OVFLG, CMD, EVT, STE_V, STE_CFG, STE2, EVT1_RNW, EVT1_S2 } from "../../src/hw/smmuv3.js";
import type { MachineMemory } from "../../src/hw/smmuv3.js";

const BASE = 0x8000_0000; // machine RAM: 4 MiB here
const SIZE = 4 << 20;
const STRTAB = BASE, CMDQ = BASE + 0x1000, EVTQ = BASE + 0x2000;
const ROOT = BASE + 0x4000; // two concatenated level-1 tables (40-bit IPA)
const L2 = BASE + 0x6000, L3 = BASE + 0x7000;
const DATA = BASE + 0x100000; // pages the stage 2 maps

function machine(): { mem: MachineMemory; dv: DataView; bytes: Uint8Array; writes: number[] } {
  const bytes = new Uint8Array(SIZE);
  const dv = new DataView(bytes.buffer);
  const writes: number[] = [];
  const mem: MachineMemory = {
    bytes, view: dv,
    hostOf: (pa) => (pa >= BASE && pa < BASE + SIZE ? pa - BASE : -1),
    noteWrite: (h) => { writes.push(h); },
  };
  return { mem, dv, bytes, writes };
}

const put64 = (dv: DataView, pa: number, v: bigint): void => dv.setBigUint64(pa - BASE, v, true);
const get64 = (dv: DataView, pa: number): bigint => dv.getBigUint64(pa - BASE, true);

// Stage-2 descriptors: S2AP read (bit 6) / write (bit 7), AF (bit 10)
const PAGE_RW = 3n | (1n << 6n) | (1n << 7n) | (1n << 10n);
const PAGE_RO = 3n | (1n << 6n) | (1n << 10n);

function ste(vmid: number, root: number, extra = 0n): bigint[] {
  const dw2 = BigInt(vmid) | (24n << BigInt(STE2.T0SZ)) | (1n << BigInt(STE2.SL0)) | (5n << BigInt(STE2.PS)) | (1n << BigInt(STE2.AA64)) | (1n << BigInt(STE2.R)) | extra;
  return [BigInt(STE_V | (STE_CFG.S2 << 1)), 0n, dw2, BigInt(root)];
}

interface Rig { smmu: SmmuV3; dv: DataView; bytes: Uint8Array; writes: number[]; prod: number; cmd(op: number, w1?: number, w2?: number, w3?: number): void; submit(): void; events(): bigint[][] }

function rig(): Rig {
  const { mem, dv, bytes, writes } = machine();
  const smmu = new SmmuV3(mem);
  const w = (off: number, v: number | bigint): void => smmu.writeReg(off, BigInt(v));
  w(SMMU_REG.STRTAB_BASE, STRTAB);
  w(SMMU_REG.STRTAB_BASE_CFG, 4); // 16 streams
  w(SMMU_REG.CMDQ_BASE, BigInt(CMDQ) | 4n); // 16 commands
  w(SMMU_REG.EVENTQ_BASE, BigInt(EVTQ) | 2n); // 4 events
  w(SMMU_REG.IRQ_CTRL, IRQ_CTRL.EVENTQ | IRQ_CTRL.GERROR);
  w(SMMU_REG.CR0, CR0.CMDQEN | CR0.EVENTQEN | CR0.SMMUEN);
  // stream 1: stage 2 with VMID 7 over ROOT; IPA 0x4000_0000.. -> DATA pages
  for (const [i, v] of ste(7, ROOT).entries()) put64(dv, STRTAB + 64 + i * 8, v);
  put64(dv, ROOT + 1 * 8, BigInt(L2) | 3n); // IPA [1 GiB, 2 GiB)
  put64(dv, L2 + 0 * 8, BigInt(L3) | 3n); // IPA [1 GiB, +2 MiB)
  put64(dv, L3 + 0 * 8, BigInt(DATA) | PAGE_RW);
  put64(dv, L3 + 1 * 8, BigInt(DATA + 0x1000) | PAGE_RO);
  put64(dv, L3 + 2 * 8, BigInt(DATA + 0x2000) | (PAGE_RW & ~(1n << 10n))); // access flag clear
  put64(dv, L3 + 3 * 8, BigInt(0xF_0000_0000) | PAGE_RW); // beyond RAM
  put64(dv, L2 + 1 * 8, BigInt(BASE + 0x200000) | 1n | (1n << 6n) | (1n << 7n) | (1n << 10n)); // a 2 MiB block
  const r: Rig = {
    smmu, dv, bytes, writes, prod: 0,
    cmd(op, w1 = 0, w2 = 0, w3 = 0) {
      const at = CMDQ + (r.prod & 15) * 16;
      dv.setUint32(at - BASE, op, true); dv.setUint32(at - BASE + 4, w1, true);
      dv.setUint32(at - BASE + 8, w2, true); dv.setUint32(at - BASE + 12, w3, true);
      r.prod = (r.prod + 1) & 31;
    },
    submit() { w(SMMU_REG.CMDQ_PROD, r.prod); },
    events() {
      const out: bigint[][] = [];
      let cons = Number(smmu.readReg(SMMU_REG.EVENTQ_CONS));
      const prod = Number(smmu.readReg(SMMU_REG.EVENTQ_PROD));
      while ((cons & 7) !== (prod & 7)) {
        const at = EVTQ + (cons & 3) * 32;
        out.push([0, 1, 2, 3].map((i) => get64(dv, at + i * 8)));
        cons = (cons & Q_OVFLG) | ((cons + 1) & 7);
      }
      w(SMMU_REG.EVENTQ_CONS, cons);
      return out;
    },
  };
  return r;
}

const IPA = 0x4000_0000;

test("smmu: stage-2 pages and blocks translate to the machine pages they name; S2AP, the access flag and RAM decide", () => {
  const r = rig();
  const s = r.smmu.stream(1);
  const p = s.page(IPA + 0x10, true);
  assert.ok(p, "a read-write page");
  assert.equal(p.byteOffset, DATA - BASE);
  assert.equal(r.writes.at(-1), DATA - BASE, "a DMA write is noted (translated code there goes)");
  assert.equal(s.page(IPA + 0x1000, false)?.byteOffset, DATA + 0x1000 - BASE, "a read-only page reads");
  assert.equal(s.page(IPA + 0x1000, true), null, "and is not written");
  assert.equal(s.page(IPA + 0x2000, false), null, "access flag clear: a fault");
  assert.equal(s.page(IPA + 0x3000, false), null, "output outside RAM: an abort");
  assert.equal(s.page(IPA + 0x200000 + 0x5000, true)?.byteOffset, 0x200000 + 0x5000, "inside a 2 MiB block");
  assert.equal(s.page(IPA + 0x400000, false), null, "nothing mapped: a translation fault");
  assert.equal(s.page(2 ** 40 + IPA, false), null, "beyond the 40-bit IPA space");
  const ev = r.events();
  assert.deepEqual(ev.map((e) => Number(e[0] & 0xffn)), [EVT.F_PERMISSION, EVT.F_ACCESS, EVT.F_TRANSLATION, EVT.F_TRANSLATION], "one record per fault; no RAM behind a descriptor is a bus abort, not an SMMU fault");
  assert.equal(Number(ev[0][0] >> 32n), 1, "stream ID");
  assert.equal(ev[0][1] & BigInt(EVT1_RNW), 0n, "a write");
  assert.equal(ev[1][1] & BigInt(EVT1_RNW), BigInt(EVT1_RNW), "a read");
  assert.equal(ev[0][1] & BigInt(EVT1_S2), BigInt(EVT1_S2), "at stage 2");
  assert.equal(ev[0][2], BigInt(IPA + 0x1000), "input address");
  assert.equal(ev[2][3], BigInt(IPA + 0x400000), "IPA");
});

test("smmu: translations stay cached until TLBI, stream table entries until CFGI_STE", () => {
  const r = rig();
  const s = r.smmu.stream(1);
  assert.equal(s.page(IPA, false)?.byteOffset, DATA - BASE);
  put64(r.dv, L3, BigInt(DATA + 0x5000) | PAGE_RW);
  assert.equal(s.page(IPA, false)?.byteOffset, DATA - BASE, "cached");
  r.cmd(CMD.TLBI_S12_VMALL, 8); r.cmd(CMD.SYNC); r.submit();
  assert.equal(s.page(IPA, false)?.byteOffset, DATA - BASE, "another VMID's invalidation leaves it");
  r.cmd(CMD.TLBI_S2_IPA, 7, IPA, 0); r.cmd(CMD.SYNC); r.submit();
  assert.equal(s.page(IPA, false)?.byteOffset, DATA + 0x5000 - BASE, "TLBI_S2_IPA of the page");
  put64(r.dv, L3, 0n);
  r.cmd(CMD.TLBI_S12_VMALL, 7); r.cmd(CMD.SYNC); r.submit();
  assert.equal(s.page(IPA, false), null, "unmapped and invalidated: gone");

  put64(r.dv, STRTAB + 64, BigInt(STE_V | (STE_CFG.ABORT << 1)));
  assert.equal(s.page(IPA + 0x1000, false)?.byteOffset, DATA + 0x1000 - BASE, "the old STE is cached");
  r.cmd(CMD.CFGI_STE, 1); r.cmd(CMD.SYNC); r.submit();
  assert.equal(s.page(IPA + 0x1000, false), null, "CFGI_STE: now it aborts");
  assert.deepEqual(r.events().map((e) => Number(e[0] & 0xffn)), [EVT.F_TRANSLATION], "an abort STE records nothing");

  put64(r.dv, STRTAB + 64, 0n); // V = 0
  r.cmd(CMD.CFGI_STE_RANGE, 0, 31); r.cmd(CMD.SYNC); r.submit();
  assert.equal(s.page(IPA, false), null);
  assert.equal(r.smmu.stream(15).page(IPA, false), null);
  assert.deepEqual(r.events().map((e) => Number(e[0] & 0xffn)), [EVT.C_BAD_STE, EVT.C_BAD_STE], "invalid STEs are reported");
  assert.throws(() => r.smmu.stream(64), /does not exist/);
});

test("smmu: a bad stream table entry, a stream beyond the table, the SMMU off", () => {
  const r = rig();
  const bad = ste(9, ROOT);
  bad[2] &= ~(1n << BigInt(STE2.AA64)); // AArch32 tables
  for (const [i, v] of bad.entries()) put64(r.dv, STRTAB + 2 * 64 + i * 8, v);
  const odd = ste(9, ROOT + 0x1000); // root not aligned to its two concatenated tables
  for (const [i, v] of odd.entries()) put64(r.dv, STRTAB + 3 * 64 + i * 8, v);
  assert.equal(r.smmu.stream(2).page(IPA, false), null);
  assert.equal(r.smmu.stream(3).page(IPA, false), null);
  assert.equal(r.smmu.stream(20).page(IPA, false), null);
  assert.deepEqual(r.events().map((e) => Number(e[0] & 0xffn)), [EVT.C_BAD_STE, EVT.C_BAD_STE, EVT.C_BAD_STREAMID]);
  r.smmu.writeReg(SMMU_REG.CR0, BigInt(CR0.CMDQEN | CR0.EVENTQEN));
  assert.equal(r.smmu.stream(1).page(DATA, false), null, "disabled with GBPA.ABORT: every access aborts");
  r.smmu.writeReg(SMMU_REG.GBPA, BigInt(GBPA_UPDATE));
  assert.equal(r.smmu.stream(1).page(DATA, false)?.byteOffset, DATA - BASE, "disabled without ABORT: bypass");
  r.smmu.writeReg(SMMU_REG.GBPA, BigInt(GBPA_UPDATE | GBPA_ABORT));
  r.smmu.writeReg(SMMU_REG.STRTAB_BASE, 0n);
  r.smmu.writeReg(SMMU_REG.CR0, BigInt(CR0.CMDQEN | CR0.EVENTQEN | CR0.SMMUEN));
  r.smmu.writeReg(SMMU_REG.STRTAB_BASE, BigInt(BASE + 0x9000));
  assert.equal(r.smmu.readReg(SMMU_REG.STRTAB_BASE), 0n, "the base cannot move while the SMMU is on");
});

test("smmu: an illegal command stops the queue with CERROR_ILL until the error is acknowledged", () => {
  const r = rig();
  let gerrors = 0;
  r.smmu.onIrq = (line) => { if (line === "gerror") gerrors++; };
  r.cmd(CMD.TLBI_S12_VMALL, 7); r.cmd(0x7f); r.cmd(CMD.SYNC); r.submit();
  const cons = Number(r.smmu.readReg(SMMU_REG.CMDQ_CONS));
  assert.equal(cons & 31, 1, "stopped at the bad command");
  assert.equal((cons >> 24) & 0x7f, CERROR.ILL);
  assert.equal(Number(r.smmu.readReg(SMMU_REG.GERROR) ^ r.smmu.readReg(SMMU_REG.GERRORN)) & GERROR.CMDQ_ERR, GERROR.CMDQ_ERR);
  assert.equal(gerrors, 1);
  r.submit();
  assert.equal(Number(r.smmu.readReg(SMMU_REG.CMDQ_CONS)) & 31, 1, "still stopped");
  r.dv.setUint32(CMDQ + 16 - BASE, CMD.SYNC, true); // the driver replaces it, then acknowledges
  r.smmu.writeReg(SMMU_REG.GERRORN, r.smmu.readReg(SMMU_REG.GERROR));
  assert.equal(Number(r.smmu.readReg(SMMU_REG.CMDQ_CONS)) & 31, 3, "the rest ran");
  assert.equal(r.smmu.stats.command_errors, 1);
});

test("smmu: a full event queue drops records and says so with OVFLG", () => {
  const r = rig();
  for (let i = 0; i < 6; i++) assert.equal(r.smmu.stream(1).page(IPA + 0x400000 + i * 0x1000, false), null);
  const prod = Number(r.smmu.readReg(SMMU_REG.EVENTQ_PROD));
  assert.ok(prod & Q_OVFLG, "overflow flagged");
  assert.equal(r.events().length, 4, "four records kept");
  assert.equal(r.smmu.stats.events_lost, 2);
  r.smmu.writeReg(SMMU_REG.EVENTQ_CONS, BigInt(Number(r.smmu.readReg(SMMU_REG.EVENTQ_CONS)) | Q_OVFLG));
  assert.equal(r.smmu.stream(1).page(IPA + 0x400000, false), null);
  assert.equal(r.events().length, 1, "and it records again");
});
