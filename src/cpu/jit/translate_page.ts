// AArch64 -> WebAssembly for one 4 KiB page of guest code.
//
// One function per machine page, called by the core's run loop at a block
// head (src/cpu/core/jit.ts):
//   f(cpu: i32, tlb: i32, pcPage: i64, entry: i32, limit: i64) -> i32
// cpu: the vCPU block; tlb: the TLB set for loads and stores at the current
// EL/PAN; pcPage: the page's virtual address (the code is position
// independent, so every mapping of the frame shares it); entry: the byte
// offset to start at; limit: the instruction count not to pass (budget or
// timer deadline). Returns 1 if any instruction ran, 0 if the first block
// does not fit under the limit, 2 if the entry is not a block head (and
// nothing ran), 3 if it left the page by a branch with pc and instret set
// (the core goes on in the target page's translation if it has one,
// jitChain), 4 if it stopped before a load or store whose fast path missed,
// with pc and instret set (translated with slowExits, as optimised compiles
// are: the interpreter runs that instruction). The module imports no
// function table: an instance that
// imports one stays on the table's list for good in V8, every table.set
// walks that list and every instantiation copies the whole table, so
// translations that come and go would leak and slow down without end.
//
// The page is split into basic blocks (a block ends at a branch, at an
// exception-generating or branch instruction left to the interpreter, or
// before another block's head; system instructions the interpreter runs
// inside a block make translated code leave when they change the
// translation regime or need attention). A dispatch loop with
// a br_table over the heads lets branches within the page stay in wasm.
// Each block checks `instret + length <= limit` before it runs, so exits are
// exact: the interpreter finishes a block that does not fit.
//
// Inside a block the general registers are read from i64 locals, loaded on
// first use; a register written is stored to the vCPU block at the block's
// end or before its next load or store (the state every exit and fault
// needs), and before a call to the interpreter. Integer data
// processing, branches and integer loads/stores (with the TLB probe inline)
// are translated; everything else, and every slow path (TLB miss, page
// crossing, SP alignment, MMIO, fault), calls the interpreter for the whole
// instruction (jitStep) with the state it expects (pc, curPC, curInsn,
// instret, nzcv), so those cases behave exactly as interpreted.

import { Code, Op, T, moduleBytes, ImportedFunc, ImportedGlobal } from "./wasm_code.js";

// Imports: the core's helpers (jit.ts) and hot globals, in this order of index.
export const JIT_FUNCS: ImportedFunc[] = [
  { name: "jitStep", params: [T.I32, T.I64], results: [T.I32] }, // (k << 12 | offset, ic) -> leave?
  { name: "jitMrs", params: [T.I32, T.I32], results: [T.I32] }, // (op0:op1:CRn:CRm:op2, Rt) -> done?
  { name: "jitDcZva", params: [T.I64], results: [T.I32] }, // (Xt) -> done?
  { name: "jitExclusive", params: [T.I32], results: [T.I32] }, // (instruction) -> done?
  { name: "jitCall", params: [T.I32, T.I64], results: [T.I32] }, // (return offset, limit) -> 6: back there, else what to return
];
export const JIT_GLOBALS: ImportedGlobal[] = [
  { name: "pc", type: T.I64 }, { name: "instret", type: T.I64 }, { name: "nzcv", type: T.I32 },
];
const G_PC = 0, G_INSTRET = 1, G_NZCV = 2;
// Entries in each of the core's direct-mapped TLB sets (tlb_sets.ts), 32 bytes each.
export const TLB_ENTRIES = 4096;
const F_STEP = 0, F_MRS = 1, F_DC_ZVA = 2, F_EXCLUSIVE = 3, F_CALL = 4;

// Locals
const L_CPU = 0, L_TLB = 1, L_PAGE = 2, L_ENTRY = 3, L_LIMIT = 4;
const L_IC = 5, L_IC0 = 6;
const L_VA = 7, L_A = 8, L_B = 9, L_R = 10; // i64 temps
// The operands and result of the last ADDS/SUBS/ANDS (64-bit; L_F*32 for
// 32-bit ones): the flags, kept as what they are computed from (pending).
const L_FA = 11, L_FB = 12, L_FR = 13;
const I64_LOCALS = 9;
const L_NZCV = 14; // i32
const L_E = L_NZCV + 1, L_H = L_NZCV + 2, L_A32 = L_NZCV + 3, L_B32 = L_NZCV + 4, L_R32 = L_NZCV + 5, L_C = L_NZCV + 6; // i32 temps
const L_FA32 = L_NZCV + 7, L_FB32 = L_NZCV + 8, L_FR32 = L_NZCV + 9;
// In a self-looping block: 1 when the flags are those of the loop's last
// flag-setter on the L_F* locals (carried round the loop), 0 when the
// packed NZCV is current.
const L_FPEND = L_NZCV + 10;
const I32_LOCALS = 11;
const L_VA32 = L_A32; // a load's or store's address, low half (add/sub's temp is free there)
// Then one i64 for each of x0..x30 and SP (register 31 in its SP role) the
// page's code uses, numbered as first used. Only those: V8's baseline
// compiler reconciles every local at every block boundary and zero-fills
// them all at each entry, so its compile time and entry cost grow with the
// locals declared, used or not (~40% more compile time for 40 more).
const L_X0 = L_FPEND + 1;
const PARAMS = [T.I32, T.I32, T.I64, T.I32, T.I64];
const NZCV = 32; // index of the flags in the cache state
// The longest loop body (instructions) a block runs on through a head for.
const MAX_LOOP_SPAN = 64;

// How the flags were last set: by ADDS/SUBS or ANDS/BICS of the width sf
// selects, on the operands and result in L_FA/L_FB/L_FR (L_F*32).
interface FlagsFrom { op: "add" | "sub" | "logic"; sf: number }

// Cache state of a register (0..31) or the flags (32). A register written
// in a block lives in its local (DIRTY) until the block's end or its next
// load or store, where it is stored once however often it was written
// (the kernel's mpihelp loops wrote some registers four times an
// iteration); the interpreter's instruction and the helpers that read the
// vCPU block store the dirty ones on their own path first.
const UNLOADED = 0, CLEAN = 1, DIRTY = 2;

const enum Kind {
  INLINE, // translated, falls through
  CALL, // the interpreter runs it, then the block goes on
  END, // the interpreter runs it, then translated code returns (pc may be anything)
  BRANCH, // translated branch: ends the block
}

function sext(v: number, bits: number): number { return (v << (32 - bits)) >> (32 - bits); }

// The kind of the last ADDS/SUBS (immediate, shifted or extended register)
// or ANDS/BICS (immediate or shifted register) among words[first..last], by
// their encodings: a guess that emitBranch checks against what the
// translation of the block actually left pending.
function lastFlagSetter(words: Uint32Array, first: number, last: number): FlagsFrom | null {
  for (let i = last; i >= first; i--) {
    const insn = words[i], sf = insn >>> 31, s = (insn >>> 29) & 1, sub = ((insn >>> 30) & 1) === 1;
    if (s && ((insn & 0x1F000000) === 0x11000000 || (insn & 0x1F000000) === 0x0B000000)) return { op: sub ? "sub" : "add", sf };
    const opc = (insn >>> 29) & 3;
    if (opc === 3 && ((insn & 0x1F800000) === 0x12000000 || (insn & 0x1F000000) === 0x0A000000)) return { op: "logic", sf };
  }
  return null;
}

// ---------------------------------------------------------------------------
// DecodeBitMasks (ARM ARM shared pseudocode); null for a reserved encoding.
function ones(n: number): bigint { return n >= 64 ? 0xFFFFFFFFFFFFFFFFn : (1n << BigInt(n)) - 1n; }
function replicate(v: bigint, esize: number): bigint {
  let r = 0n;
  for (let i = 0; i < 64; i += esize) r |= v << BigInt(i);
  return r & ones(64);
}
// Memoised: BigInt arithmetic made it a tenth of the translator's time, and
// kernel code uses few distinct masks. Index: immN:imms:immr, immediate, datasize.
type BitMasks = { w: bigint; t: bigint } | null;
const bitMasks: (BitMasks | undefined)[] = new Array(1 << 15);
export function decodeBitMasks(immN: number, imms: number, immr: number, immediate: boolean, datasize: number): BitMasks {
  const key = (((immN & 1) << 12 | (imms & 0x3F) << 6 | (immr & 0x3F)) << 2) | (immediate ? 2 : 0) | (datasize === 64 ? 1 : 0);
  let m = bitMasks[key];
  if (m === undefined) m = bitMasks[key] = computeBitMasks(immN, imms, immr, immediate, datasize);
  return m;
}
function computeBitMasks(immN: number, imms: number, immr: number, immediate: boolean, datasize: number): BitMasks {
  const combined = (immN << 6) | (~imms & 0x3F);
  if (combined === 0) return null;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return null;
  const levels = (1 << len) - 1;
  if (immediate && (imms & levels) === levels) return null;
  const s = imms & levels, r = immr & levels, d = (s - r) & levels;
  const esize = 1 << len;
  if (esize > datasize) return null;
  const welem = ones(s + 1), telem = ones(d + 1), emask = ones(esize);
  let rot = welem;
  if (r !== 0) rot = ((welem >> BigInt(r)) | (welem << BigInt(esize - r))) & emask;
  let w = replicate(rot, esize), t = replicate(telem, esize);
  if (datasize === 32) { w &= 0xFFFFFFFFn; t &= 0xFFFFFFFFn; }
  return { w, t };
}

// ---------------------------------------------------------------------------
// First pass: what each slot is and where direct branches go.
interface Slot { kind: Kind; rel: number | null } // rel: a direct branch's displacement in bytes

function classify(insn: number): Slot {
  const op0 = (insn >>> 25) & 0xF;
  if (op0 === 0xA || op0 === 0xB) {
    if ((insn & 0x7C000000) === 0x14000000) return { kind: Kind.BRANCH, rel: sext(insn & 0x3FFFFFF, 26) * 4 };
    if ((insn & 0x7E000000) === 0x34000000) return { kind: Kind.BRANCH, rel: sext((insn >>> 5) & 0x7FFFF, 19) * 4 };
    if ((insn & 0x7E000000) === 0x36000000) return { kind: Kind.BRANCH, rel: sext((insn >>> 5) & 0x3FFF, 14) * 4 };
    if ((insn & 0xFF000010) === 0x54000000) return { kind: Kind.BRANCH, rel: sext((insn >>> 5) & 0x7FFFF, 19) * 4 };
    // System instructions (MRS, MSR, barriers, hints, cache and TLB
    // maintenance) run in the interpreter without ending the block; the
    // interpreter (jitStep) makes translated code leave after one that
    // raised an exception, exited, needs attention (DAIF, timer, GIC
    // writes) or changed the translation regime (a TLB flush, PAN). Hints
    // that do nothing here (NOP, YIELD, the pointer-authentication and BTI
    // hints of a CPU without those features) and DMB, DSB and ISB (the
    // interpreter is sequentially consistent) are translated as nothing.
    if (isSystem(insn)) return { kind: nopLike(insn) ? Kind.INLINE : Kind.CALL, rel: null };
    // BR, BLR and RET (not the pointer-authentication forms): translated
    // branches to a register's address.
    if (isBranchReg(insn)) return { kind: Kind.BRANCH, rel: null };
    return { kind: Kind.END, rel: null };
  }
  return { kind: translatable(insn) ? Kind.INLINE : Kind.CALL, rel: null };
}

// (JavaScript's & gives a signed result: the masks compare with >>> 0.)
function isBranchReg(insn: number): boolean {
  const b = (insn & 0xFFFFFC1F) >>> 0;
  return b === 0xD61F0000 || b === 0xD63F0000 || b === 0xD65F0000;
}
// The instructions compilers put first in a function: BTI (any of its
// targets) and PACIASP/PACIBSP, the landing pads of indirect calls, and
// `mov x9, x30`, the first of the two instructions Linux's ftrace patches
// at every traceable function's entry (-fpatchable-function-entry).
function functionStart(insn: number): boolean {
  if (((insn & 0xFFFFFF3F) >>> 0) === 0xD503241F) return true; // BTI {c, j, jc}
  return insn === 0xD503233F || insn === 0xD503237F || insn === 0xAA1E03E9; // PACIASP, PACIBSP, MOV X9, X30
}
// MRS Xt of SP_EL0, TPIDR_EL1, DAIF, CTR_EL0 and DCZID_EL0 (the core's jitMrs).
const FAST_MRS = [0xD5384100, 0xD538D080, 0xD53B4220, 0xD53B0020, 0xD53B00E0];
// DC ZVA, Xt (the core's jitDcZva).
const DC_ZVA = 0xD50B7420;
function isFastMrs(insn: number): boolean {
  return FAST_MRS.includes((insn & 0xFFFFFFE0) >>> 0);
}
function isDcZva(insn: number): boolean { return ((insn & 0xFFFFFFE0) >>> 0) === DC_ZVA; }
// Load/store exclusive, load-acquire/store-release (the core's jitExclusive).
function isExclusive(insn: number): boolean { return (insn & 0x3F000000) === 0x08000000; }
function isSystem(insn: number): boolean { return ((insn & 0xFFC00000) >>> 0) === 0xD5000000; }
// BL, BLR, BLRAA(Z), BLRAB(Z): control comes back after them.
function isCall(insn: number): boolean {
  return ((insn & 0xFC000000) >>> 0) === 0x94000000 || ((insn & 0xFFFFFC1F) >>> 0) === 0xD63F0000 || ((insn & 0xFEFFF800) >>> 0) === 0xD63F0800;
}
// Hints other than WFE, WFI, SEV and SEVL; DSB, DMB and ISB (system.ts).
function nopLike(insn: number): boolean {
  if (((insn & 0xFFFFF01F) >>> 0) === 0xD503201F) { const op = (insn >>> 5) & 0x7F; return op < 2 || op > 5; }
  const b = (insn & 0xFFFFF0FF) >>> 0;
  return b === 0xD503309F || b === 0xD50330BF || b === 0xD50330DF;
}

// The data-processing and load/store forms emitInline handles.
function translatable(insn: number): boolean {
  const op0 = (insn >>> 25) & 0xF;
  if (op0 === 0x8 || op0 === 0x9) {
    switch ((insn >>> 23) & 7) {
      case 0: case 1: return true; // ADR, ADRP
      case 2: return true; // ADD/SUB immediate
      case 4: { const sf = insn >>> 31, n = (insn >>> 22) & 1; return !(sf === 0 && n !== 0) && decodeBitMasks(n, (insn >>> 10) & 0x3F, (insn >>> 16) & 0x3F, true, sf ? 64 : 32) !== null; }
      case 5: { const sf = insn >>> 31, opc = (insn >>> 29) & 3, hw = (insn >>> 21) & 3; return opc !== 1 && !(sf === 0 && hw > 1); }
      case 6: {
        const sf = insn >>> 31, opc = (insn >>> 29) & 3, n = (insn >>> 22) & 1, immr = (insn >>> 16) & 0x3F, imms = (insn >>> 10) & 0x3F;
        if (opc === 3 || n !== sf || (sf === 0 && (immr > 31 || imms > 31))) return false;
        return decodeBitMasks(n, imms, immr, false, sf ? 64 : 32) !== null;
      }
      case 7: {
        const sf = insn >>> 31, op21 = (insn >>> 29) & 3, n = (insn >>> 22) & 1, o0 = (insn >>> 21) & 1, imms = (insn >>> 10) & 0x3F;
        return !(op21 !== 0 || o0 !== 0 || n !== sf || (sf === 0 && imms > 31));
      }
      default: return false;
    }
  }
  if (op0 === 0x5 || op0 === 0xD) {
    const op1 = (insn >>> 28) & 1, op2 = (insn >>> 21) & 0xF, sf = insn >>> 31;
    if (op1 === 0) {
      const imm6 = (insn >>> 10) & 0x3F;
      if ((op2 & 8) === 0) return !(sf === 0 && imm6 > 31); // logical shifted
      if ((op2 & 1) === 0) return !(((insn >>> 22) & 3) === 3 || (sf === 0 && imm6 > 31)); // add/sub shifted
      return ((insn >>> 22) & 3) === 0 && ((insn >>> 10) & 7) <= 4; // add/sub extended
    }
    if ((op2 & 8) !== 0) { // 3-source: MADD/MSUB, SMADDL/SMSUBL, UMADDL/UMSUBL
      const op54 = (insn >>> 29) & 3, op31 = (insn >>> 21) & 7;
      if (op54 !== 0) return false;
      if (op31 === 0) return true;
      return sf === 1 && (op31 === 1 || op31 === 5);
    }
    switch (op2) {
      case 0: return ((insn >>> 10) & 0x3F) === 0; // ADC, ADCS, SBC, SBCS
      case 2: return ((insn >>> 29) & 1) === 1 && ((insn >>> 10) & 1) === 0 && ((insn >>> 4) & 1) === 0; // CCMP/CCMN
      case 4: return ((insn >>> 29) & 1) === 0 && ((insn >>> 10) & 3) <= 1; // CSEL family
      case 6: {
        if (((insn >>> 29) & 1) !== 0) return false;
        const opcode = (insn >>> 10) & 0x3F;
        if (((insn >>> 30) & 1) === 0) return opcode === 2 || opcode === 3 || (opcode >= 8 && opcode <= 11); // DIV, shifts
        // RBIT, REV16, REV32 / REV (W), REV (X), CLZ, CLS
        return opcode <= 5 && ((insn >>> 16) & 31) === 0 && !(sf === 0 && opcode === 3);
      }
      default: return false;
    }
  }
  if (op0 === 0x4 || op0 === 0x6 || op0 === 0xC || op0 === 0xE) return ldstForm(insn) !== null;
  return false;
}

// Integer loads and stores translated inline.
interface LdSt {
  bytes: number; // bytes per register
  load: boolean;
  ext: "u" | "s64" | "s32"; // zero-extend, sign-extend to 64, sign-extend to 32
  rt: number; rt2: number; // rt2 < 0: single register
  rn: number;
  mode: "imm" | "reg" | "pre" | "post";
  imm: number; // offset for imm/pre/post
  rm: number; option: number; shift: number; // register offset
  prefetch: boolean;
}

function ldstForm(insn: number): LdSt | null {
  const v = (insn >>> 26) & 1;
  if (v !== 0) return null;
  const rt = insn & 31, rn = (insn >>> 5) & 31;
  const base: LdSt = { bytes: 0, load: false, ext: "u", rt, rt2: -1, rn, mode: "imm", imm: 0, rm: 0, option: 0, shift: 0, prefetch: false };
  const single = (size: number, opc: number): LdSt | null => {
    const bytes = 1 << size;
    if (opc === 0) return { ...base, bytes, load: false };
    if (opc === 1) return { ...base, bytes, load: true };
    if (opc === 2) return size === 3 ? { ...base, bytes, prefetch: true } : { ...base, bytes, load: true, ext: "s64" };
    return size >= 2 ? null : { ...base, bytes, load: true, ext: "s32" };
  };
  if ((insn & 0x3B000000) === 0x39000000) { // unsigned offset
    const size = insn >>> 30, opc = (insn >>> 22) & 3;
    const f = single(size, opc);
    if (f) f.imm = ((insn >>> 10) & 0xFFF) << size;
    return f;
  }
  if ((insn & 0x3B000000) === 0x38000000) {
    const size = insn >>> 30, opc = (insn >>> 22) & 3, op4 = (insn >>> 10) & 3;
    if (((insn >>> 21) & 1) !== 0) {
      const option = (insn >>> 13) & 7;
      if (op4 !== 2 || (option & 2) === 0) return null;
      const f = single(size, opc);
      if (!f) return null;
      f.mode = "reg"; f.rm = (insn >>> 16) & 31; f.option = option; f.shift = ((insn >>> 12) & 1) ? size : 0;
      return f;
    }
    if (op4 === 2) return null; // LDTR/STTR
    const f = single(size, opc);
    if (!f) return null;
    f.imm = sext((insn >>> 12) & 0x1FF, 9);
    if (op4 === 1 || op4 === 3) {
      if (f.prefetch) return null;
      f.mode = op4 === 3 ? "pre" : "post";
    }
    return f;
  }
  if ((insn & 0x3A000000) === 0x28000000) { // pairs
    const opc = insn >>> 30, idx = (insn >>> 23) & 3, l = (insn >>> 22) & 1;
    if (opc === 3 || (opc === 1 && (l === 0 || idx === 0))) return null;
    const scale = opc === 2 ? 3 : 2;
    const f: LdSt = { ...base, bytes: 1 << scale, load: l === 1, ext: opc === 1 ? "s64" : "u", rt2: (insn >>> 10) & 31 };
    f.imm = sext((insn >>> 15) & 0x7F, 7) << scale;
    f.mode = idx === 1 ? "post" : idx === 3 ? "pre" : "imm";
    return f;
  }
  if ((insn & 0x3B000000) === 0x18000000) { // literal
    const opc = insn >>> 30;
    if (opc === 3) return null; // PRFM literal: left to the interpreter
    return { ...base, rn: -1, bytes: opc === 1 ? 8 : 4, load: true, ext: opc === 2 ? "s64" : "u", imm: sext((insn >>> 5) & 0x7FFFF, 19) * 4 };
  }
  return null;
}

// ---------------------------------------------------------------------------

// loops: blocks that branch to their own head (wasm loops); stores: stores
// of guest registers to the vCPU block in the code.
export interface TranslatedPage { bytes: Uint8Array<ArrayBuffer>; heads: number; translated: number; called: number; loops: number; stores: number }

// words: the page's 1024 instruction words; entries: byte offsets where
// execution has entered the page (block heads to translate from).
// slowExits: a load's or store's slow path leaves translated code (returning
// 4 with pc at the instruction) instead of calling the interpreter for it.
// ran: the instructions that have run, a bit each (bit i & 7 of byte i >> 3
// for the i-th word): only those are translated, with the entries and what
// follows a call, an exception or an instruction left to the interpreter
// (each comes back there); a branch or fall-through to the rest returns 5
// with pc and instret set.
export function translatePage(words: Uint32Array, entries: Iterable<number>, slowExits = false, ran?: Uint8Array): TranslatedPage {
  return new PageTranslator(words, slowExits).run(entries, ran);
}

class PageTranslator {
  private readonly c = new Code();
  private readonly st = new Uint8Array(33);
  private readonly regLocal = new Int32Array(32).fill(-1);
  private regs = 0;
  // Open wasm blocks, loops and ifs, and where the labels branches name
  // are among them (a branch's depth is the count of those opened since).
  private level = 0;
  private readonly at = { untranslated: 0, left: 0, out: 0, nohead: 0, miss: 0, dispatch: 0, loop: 0 };
  private readonly reach = new Uint8Array(1024);
  private readonly headAt = new Int32Array(1024);
  // Each instruction's kind, classified when the walk first reaches it (most
  // of a page is never reached from the entries).
  private readonly slots: (Slot | undefined)[] = new Array(1024);
  private readonly headIndex = new Int32Array(1025).fill(-1);
  private readonly heads: number[] = [];
  private translated = 0;
  private loops = 0;
  private stores = 0;
  private called = 0;
  private cur = 0; // the head whose block is being emitted
  // Flags are computed lazily within a block. An ADDS, SUBS or ANDS keeps
  // its operands and result in the L_F* locals (flagSrc says how they were
  // set), and a condition (B.cond, CSEL, CCMP...) tests those (fusedCond)
  // rather than bits of the packed NZCV. The packed NZCV is computed
  // (`pending` until then) only where it is needed: read whole (ADC, a
  // condition not fused), at the block's end, and, without changing this
  // state, on every way out of the block from inside it (a slow path or the
  // interpreter's instruction: spillFlags). A flag-setter whose flags the
  // next one replaces in the same block costs two or three local copies.
  private flagSrc: FlagsFrom | null = null;
  private pending = false;
  // A self-looping block whose last flag-setter is likely `loopFlags` (its
  // kind, by a scan of its words) does not compute the NZCV at its back
  // edge: L_FPEND says at run time whether the flags come round the loop
  // pending. Until the body's first flag-setter (`carried`), the ways out
  // and readers of the flags test L_FPEND.
  private loopFlags: FlagsFrom | null = null;
  private carried = false;
  private selfLoop = false; // ... and whether it is a wasm loop

  constructor(private readonly words: Uint32Array, private readonly slowExits: boolean) {}

  run(entries: Iterable<number>, ran?: Uint8Array): TranslatedPage {
    const n = 1024;
    // Translate what the entries reach: fall-through, direct branches within
    // the page, the return points of calls, the instructions after those
    // left to the interpreter. The rest of the page (data, code reached only
    // from elsewhere) is not translated until it is entered. With `ran`,
    // only along what has run and what comes back after it (`sure`).
    const reach = this.reach, isHead = new Uint8Array(n), sure = new Uint8Array(n);
    const work: number[] = [];
    for (const e of entries) if (e >= 0 && e < 4096 && (e & 3) === 0) { isHead[e >> 2] = 1; sure[e >> 2] = 1; work.push(e >> 2); }
    const ranAt = (i: number): boolean => !!ran && ((ran[i >> 3] >> (i & 7)) & 1) === 1;
    const allowed = (i: number): boolean => !ran || sure[i] === 1 || ranAt(i);
    // Where a run of what has run begins, control came from elsewhere (a
    // branch, a call or return from another page, an exception): entries
    // too, so that what ran is translated whichever way it was reached.
    if (ran) for (let i = 0; i < n; i++) if (ranAt(i) && (i === 0 || !ranAt(i - 1))) { isHead[i] = 1; work.push(i); }
    while (work.length) {
      for (let i = work.pop()!; i < n && !reach[i] && allowed(i); i++) {
        reach[i] = 1;
        const s = this.slot(i), insn = this.words[i];
        if (i + 1 < n && (s.kind === Kind.CALL || s.kind === Kind.END || isCall(insn))) sure[i + 1] = 1;
        // After a system instruction that writes (MSR, SYS) translated code
        // often leaves (DAIFClr, a TLB flush): what follows is a head to
        // come back to. Reads (MRS) leave only when they trap.
        if (s.kind === Kind.CALL && isSystem(insn) && ((insn >>> 21) & 1) === 0 && i + 1 < n) isHead[i + 1] = 1;
        if (s.kind !== Kind.BRANCH && s.kind !== Kind.END) continue;
        if (i + 1 < n) isHead[i + 1] = 1;
        if (s.rel !== null) {
          const t = i * 4 + s.rel;
          if (t >= 0 && t < 4096) { isHead[t >> 2] = 1; work.push(t >> 2); }
        }
        // B does not come back; everything else (conditional branches,
        // BL/BLR return points, the interpreter's instructions) may, and what
        // follows BR/RET is most often the next function: translating it
        // too (measured on a Linux boot) saves more entries that miss than
        // it costs.
        const unconditional = (insn & 0x7C000000) === 0x14000000 && (insn >>> 31) === 0;
        if (unconditional) break;
      }
    }
    // Where functions begin, entered by indirect calls that no entry seen
    // so far shows: a block head, so that the first such call finds code
    // when fall-through from before reached the function (a third of the
    // entries a Linux boot adds to its pages' translations are these).
    for (let i = 0; i < n; i++) if (reach[i] && functionStart(this.words[i])) isHead[i] = 1;
    for (let i = 0; i < n; i++) if (isHead[i] && reach[i]) { this.headIndex[i] = this.heads.length; this.heads.push(i); }

    const c = this.c;
    c.gget(G_INSTRET); c.tee(L_IC); c.set(L_IC0);
    // Shared exits (their tails follow the function's body): "left" with pc
    // set, "out" with pc = the page + L_ENTRY (a branch out of the page),
    // "untranslated" with pc = the page + L_ENTRY (a path left out).
    c.block(); this.open("untranslated");
    c.block(); this.open("left");
    c.block(); this.open("out");
    c.block(); this.open("nohead");
    c.block(); this.open("miss");
    c.loop(); this.open("dispatch");
    const H = this.heads.length;
    for (let h = H - 1; h >= 0; h--) { c.block(); this.headAt[h] = this.level++; }
    if (this.slowExits) {
      // Optimised code: a br_table over the page's instructions, which V8's
      // optimising compiler makes one indirect jump.
      c.get(L_ENTRY); c.i32(2); c.op(Op.I32_SHR_U);
      let top = 0;
      for (let i = 0; i < n; i++) if (this.headIndex[i] >= 0) top = i + 1;
      const table: number[] = [];
      for (let i = 0; i < top; i++) table.push(this.headIndex[i] >= 0 ? this.headIndex[i] : H + 2);
      c.brTable(table, H + 2);
    } else {
      // Baseline code: a binary search over the heads' offsets. V8's
      // baseline compiler makes a br_table a binary search over all its
      // indices, every one a compare and a jump in the code: up to 1024 of
      // them, ~17 KB of machine code a page and ten compares an entry.
      this.searchHeads(0, H);
    }
    for (let h = 0; h < H; h++) {
      c.end(); this.level--; // closes H<h>
      this.emitBlock(h);
    }
    c.end(); this.level--; // dispatch (not reached: every block leaves by a branch)
    c.end(); this.level--; // miss
    // A block that does not fit under the limit: the interpreter goes on from it.
    this.exitAtEntry(); c.op(Op.I64_NE); c.op(Op.RETURN);
    c.end(); this.level--; // nohead
    // Not a block head of this translation: 2 if nothing ran (the core may translate again).
    this.exitAtEntry(); c.op(Op.I64_NE); c.set(L_C);
    c.i32(1); c.i32(2); c.get(L_C); c.op(Op.SELECT); c.op(Op.RETURN);
    c.end(); this.level--; // out
    c.get(L_PAGE); c.get(L_ENTRY); c.op(Op.I64_EXTEND_I32_S); c.op(Op.I64_ADD); c.gset(G_PC);
    c.end(); this.level--; // left
    // Out of the page with pc set: the core goes on in the next page's
    // translation if it has one, else in the run loop.
    c.get(L_IC); c.gset(G_INSTRET);
    c.i32(3); c.op(Op.RETURN);
    c.end(); this.level--; // untranslated
    this.exitAtEntry(); c.op(Op.DROP); c.op(Op.DROP);
    c.i32(5);
    const locals: [number, T][] = [[I64_LOCALS, T.I64], [I32_LOCALS, T.I32]];
    if (this.regs) locals.push([this.regs, T.I64]);
    const bytes = moduleBytes(JIT_FUNCS, JIT_GLOBALS, PARAMS, [T.I32], locals, c);
    return { bytes, heads: H, translated: this.translated, called: this.called, loops: this.loops, stores: this.stores };
  }

  // Branches to the head among heads [lo, hi) whose offset is L_ENTRY (from
  // inside the innermost head block), or to "nohead" if none is.
  private searchHeads(lo: number, hi: number): void {
    const c = this.c;
    if (hi - lo <= 1) {
      if (hi === lo) { c.br(this.depth("nohead")); return; }
      c.get(L_ENTRY); c.i32(this.heads[lo] * 4); c.op(Op.I32_NE); c.brIf(this.depth("nohead"));
      c.br(this.depthH(lo));
      return;
    }
    const mid = (lo + hi) >> 1;
    c.get(L_ENTRY); c.i32(this.heads[mid] * 4); c.op(Op.I32_LT_U);
    this.openIf();
    this.searchHeads(lo, mid);
    c.else_();
    this.searchHeads(mid, hi);
    this.close();
  }

  // pc = the entry, instret = what ran; pushes ic and ic0 for a comparison.
  private exitAtEntry(): void {
    const c = this.c;
    c.get(L_PAGE); c.get(L_ENTRY); c.op(Op.I64_EXTEND_I32_U); c.op(Op.I64_ADD); c.gset(G_PC);
    c.get(L_IC); c.gset(G_INSTRET);
    c.get(L_IC); c.get(L_IC0);
  }

  private open(label: keyof PageTranslator["at"]): void { this.at[label] = this.level++; }
  private depth(label: keyof PageTranslator["at"]): number { return this.level - 1 - this.at[label]; }
  private depthH(j: number): number { return this.level - 1 - this.headAt[j]; }
  // An `if` inside an instruction's code (its label counts for depth()).
  private openIf(t: T = T.VOID): void {
    this.c.if_(t);
    this.level++;
  }

  private close(): void { this.c.end(); this.level--; }

  private slot(i: number): Slot { return this.slots[i] ??= classify(this.words[i]); }

  // --- registers ------------------------------------------------------------
  // The local of guest register r (31: SP).
  private xl(r: number): number {
    let l = this.regLocal[r];
    if (l < 0) l = this.regLocal[r] = L_X0 + this.regs++;
    return l;
  }
  private load(r: number): void {
    if (r === NZCV && (this.pending || this.carried)) { this.settleFlags(); return; }
    if (this.st[r] !== UNLOADED) return;
    const c = this.c;
    if (r === NZCV) { c.gget(G_NZCV); c.set(L_NZCV); } else { c.get(L_CPU); c.mem(Op.I64_LOAD, r * 8); c.set(this.xl(r)); }
    this.st[r] = CLEAN;
  }
  // Register r in its zero-register role (31 reads 0), 64 bits.
  private x(r: number): void { if (r === 31) this.c.i64(0); else { this.load(r); this.c.get(this.xl(r)); } }
  // Register r in its SP role.
  private xsp(r: number): void { this.load(r); this.c.get(this.xl(r)); }
  private w(r: number): void { this.x(r); this.c.op(Op.I32_WRAP_I64); }
  private wsp(r: number): void { this.xsp(r); this.c.op(Op.I32_WRAP_I64); }
  private setX(r: number): void { if (r === 31) this.c.op(Op.DROP); else this.setXSP(r); }
  private setXSP(r: number): void {
    this.c.set(this.xl(r));
    this.st[r] = DIRTY;
  }
  // Dirty registers stored to the vCPU block: on the block's own path
  // (they are clean after), or on a way out of it (spillRegs: the rest of
  // the block still sees them dirty).
  private flushRegs(): void {
    for (let r = 0; r < 32; r++) if (this.st[r] === DIRTY) { this.storeReg(r); this.st[r] = CLEAN; }
  }
  private spillRegs(): void {
    for (let r = 0; r < 32; r++) if (this.st[r] === DIRTY) this.storeReg(r);
  }
  private storeReg(r: number): void { const c = this.c; c.get(L_CPU); c.get(this.xl(r)); c.mem(Op.I64_STORE, r * 8); this.stores++; }
  private setW(r: number): void { this.c.op(Op.I64_EXTEND_I32_U); this.setX(r); }
  private setWSP(r: number): void { this.c.op(Op.I64_EXTEND_I32_U); this.setXSP(r); }
  // The packed NZCV on the stack is the flags now (set by what the flag
  // fusion does not cover).
  private setFlags(): void { this.c.tee(L_NZCV); this.c.gset(G_NZCV); this.st[NZCV] = CLEAN; this.flagSrc = null; this.pending = false; this.carried = false; }
  // The flags are now those of flagSrc on the L_F* locals, not computed yet.
  private setPending(f: FlagsFrom): void { this.flagSrc = f; this.pending = true; this.st[NZCV] = UNLOADED; this.carried = false; }
  // Pending flags computed into L_NZCV and the core's nzcv (they stay
  // available to fusedCond).
  private settleFlags(): void {
    const c = this.c;
    if (this.carried) {
      // (L_NZCV holds the flags the loop was entered with, loaded before it.)
      c.get(L_FPEND);
      this.openIf();
      this.pushNzcv(this.loopFlags!); c.tee(L_NZCV); c.gset(G_NZCV);
      c.i32(0); c.set(L_FPEND);
      this.close();
      this.carried = false;
      return;
    }
    if (!this.pending) return;
    this.pushNzcv(this.flagSrc!);
    c.tee(L_NZCV); c.gset(G_NZCV);
    this.st[NZCV] = CLEAN;
    this.pending = false;
  }
  // The same on a way out of the block (the state the rest of the block
  // sees does not change).
  private spillFlags(): void {
    const c = this.c;
    if (this.carried) {
      c.get(L_FPEND);
      this.openIf(); this.pushNzcv(this.loopFlags!); c.gset(G_NZCV); this.close();
      return;
    }
    if (!this.pending) return;
    this.pushNzcv(this.flagSrc!);
    c.gset(G_NZCV);
  }

  private forget(): void { this.st.fill(UNLOADED); this.flagSrc = null; this.pending = false; this.carried = false; }

  // --- exits -----------------------------------------------------------------
  private pcConst(off: number): void { this.c.get(L_PAGE); if (off !== 0) { this.c.i64(off); this.c.op(Op.I64_ADD); } }
  // Control to byte offset `off` of this page (or beyond it), after the block's end.
  private goto(off: number): void {
    const c = this.c;
    const j = off >= 0 && off < 4096 ? this.headIndex[off >> 2] : -1;
    if (j >= 0) {
      // Forward: the target's code follows the end of its wasm block, which
      // encloses this one; the block's own head: its loop. Both are direct
      // jumps. Anything else goes round the dispatch loop's br_table.
      if (j > this.cur) { c.br(this.depthH(j)); return; }
      if (j === this.cur && this.selfLoop) { c.br(this.depth("loop")); return; }
      c.i32(off); c.set(L_ENTRY); c.br(this.depth("dispatch"));
      return;
    }
    c.i32(off); c.set(L_ENTRY); c.br(this.depth(off >= 0 && off < 4096 ? "untranslated" : "out"));
  }
  // The same if the i32 on the stack is not 0 (else nothing).
  private gotoIf(off: number): void {
    const c = this.c;
    const j = off >= 0 && off < 4096 ? this.headIndex[off >> 2] : -1;
    if (j > this.cur) { c.brIf(this.depthH(j)); return; }
    if (j >= 0 && j === this.cur && this.selfLoop) { c.brIf(this.depth("loop")); return; }
    this.openIf(); this.goto(off); this.close();
  }
  // The interpreter runs instruction k of the block (at byte `off`), with the
  // registers in memory, and counts it in instret; pushes whether translated
  // code must leave. (The core finds the word and the page itself: a call is
  // a few bytes, and most of them are slow paths.)
  private interp(off: number, k: number): void {
    const c = this.c;
    this.spillFlags();
    this.spillRegs();
    c.i32((k << 12) | off); c.get(L_IC); c.call(F_STEP);
  }
  // ... and leaves if it raised anything or branched (always, for `end`).
  private callInterp(off: number, k: number, end: boolean): void {
    const c = this.c;
    this.interp(off, k);
    if (end) c.op(Op.DROP);
    else this.openIf();
    c.i32(1); c.op(Op.RETURN);
    if (!end) this.close();
  }

  // MRS of SP_EL0, TPIDR_EL1, DAIF, CTR_EL0 or DCZID_EL0 (isFastMrs): the
  // core's jitMrs writes Rt in the vCPU block; where it cannot (EL0, SPSel
  // 0), the interpreter runs the instruction, and translated code leaves if
  // that raised anything. Only Rt changes, so only Rt is loaded again.
  private mrs(insn: number, off: number, k: number): void {
    const c = this.c, rt = insn & 31;
    c.i32((insn >>> 5) & 0xFFFF); c.i32(rt); c.call(F_MRS);
    this.interpUnless(off, k);
    this.st[rt] = UNLOADED;
  }
  // DC ZVA: the core's jitDcZva zeroes the block where the TLB has it
  // writable; otherwise (a miss, EL0 without DZE) the interpreter runs it.
  // No register changes.
  private dcZva(insn: number, off: number, k: number): void {
    this.x(insn & 31); this.c.call(F_DC_ZVA);
    this.interpUnless(off, k);
  }
  // LDXR, STXR, LDAR, STLR and the rest of their class: the core's
  // jitExclusive does the access where the data TLB has it (and keeps the
  // monitor); otherwise the interpreter runs the instruction. They write
  // Rt and Rt2 (loads) or Rs (the store's status) at most: only those are
  // loaded again.
  private exclusive(insn: number, off: number, k: number): void {
    this.spillRegs(); // (the helper reads its operands from the vCPU block)
    this.c.i32(insn); this.c.call(F_EXCLUSIVE);
    this.interpUnless(off, k);
    this.st[insn & 31] = UNLOADED;
    this.st[(insn >>> 10) & 31] = UNLOADED;
    this.st[(insn >>> 16) & 31] = UNLOADED;
  }
  // Unless the i32 on the stack (a helper's answer) says done: the
  // interpreter runs instruction k, and translated code leaves if it says so.
  private interpUnless(off: number, k: number): void {
    const c = this.c;
    c.op(Op.I32_EQZ);
    this.openIf();
    this.interp(off, k);
    this.openIf(); c.i32(1); c.op(Op.RETURN); this.close();
    this.close();
  }

  // Data processing, one source (dp_reg.ts's dp1): CLZ and CLS as wasm's
  // clz; RBIT and the REVs by swapping ever larger fields (wasm has no bit
  // or byte reverse), W forms on the zero-extended word. RBIT alone ran
  // ~2.7 M times a boot through the interpreter (find_next_bit's __ffs).
  private dp1(sf: number, opcode: number, rn: number, rd: number): void {
    const c = this.c;
    if (opcode === 4 || opcode === 5) { // CLZ, CLS (clz(a ^ (a >> 1)) - 1)
      const one = (): void => { if (sf) c.i64(1); else c.i32(1); };
      if (sf) this.x(rn); else this.w(rn);
      if (opcode === 5) { c.tee(sf ? L_A : L_A32); c.get(sf ? L_A : L_A32); one(); c.op(sf ? Op.I64_SHR_S : Op.I32_SHR_S); c.op(sf ? Op.I64_XOR : Op.I32_XOR); }
      c.op(sf ? Op.I64_CLZ : Op.I32_CLZ);
      if (opcode === 5) { one(); c.op(sf ? Op.I64_SUB : Op.I32_SUB); }
      if (sf) this.setX(rd); else this.setW(rd);
      return;
    }
    // ((a >> s) & m) | ((a & m) << s): adjacent fields of s bits change places
    const swap = (s: number, m: bigint): void => {
      c.get(L_A); c.i64(s); c.op(Op.I64_SHR_U); c.i64(m); c.op(Op.I64_AND);
      c.get(L_A); c.i64(m); c.op(Op.I64_AND); c.i64(s); c.op(Op.I64_SHL);
      c.op(Op.I64_OR); c.set(L_A);
    };
    if (sf) this.x(rn); else { this.w(rn); c.op(Op.I64_EXTEND_I32_U); }
    c.set(L_A);
    if (opcode === 0) {
      swap(1, 0x5555555555555555n); swap(2, 0x3333333333333333n); swap(4, 0x0F0F0F0F0F0F0F0Fn);
    }
    swap(8, 0x00FF00FF00FF00FFn);
    if (opcode !== 1) swap(16, 0x0000FFFF0000FFFFn);
    // Each swap stays inside a 32-bit word: the W forms (and REV32) are
    // done; RBIT and REV of an X register exchange its words too.
    c.get(L_A);
    if (sf && (opcode === 0 || opcode === 3)) { c.i64(32); c.op(Op.I64_ROTR); }
    this.setX(rd);
  }

  // --- blocks ----------------------------------------------------------------
  // The last instruction of straight-line code from `first` (reached, up to
  // a branch or an instruction that ends a block), at most `limit`.
  private straightTo(first: number, limit: number): number {
    let last = first;
    while (last < limit && this.reach[last + 1] && this.slot(last).kind !== Kind.BRANCH && this.slot(last).kind !== Kind.END) last++;
    return last;
  }

  private emitBlock(h: number): void {
    const c = this.c;
    const first = this.heads[h];
    const next = h + 1 < this.heads.length ? this.heads[h + 1] : 1024;
    let last = this.straightTo(first, next - 1);
    // A loop entered in its middle (GCC's `b` past the first instructions
    // of a loop body to its test: the kernel's mpihelp_*mul_1, half a boot's
    // instructions) has a head inside its body. The block from the loop's
    // own head runs on through it, so that the loop is one block (a wasm
    // loop, registers and flags kept round it) rather than two with the
    // dispatch between; the head inside keeps a block of its own, a copy of
    // the rest of the body, that branches back into the loop.
    if (last + 1 === next && next < 1024 && this.slot(last).kind !== Kind.BRANCH && this.slot(last).kind !== Kind.END) {
      const end = this.straightTo(first, Math.min(1023, first + MAX_LOOP_SPAN - 1));
      const r = this.slot(end).rel;
      if (this.slot(end).kind === Kind.BRANCH && r !== null && end * 4 + r === first * 4) last = end;
    }
    this.cur = h;
    // A block that branches to its own head (an inner loop) is a wasm loop.
    const rel = this.slot(last).rel;
    this.selfLoop = rel !== null && last * 4 + rel === first * 4;
    if (this.selfLoop) this.loops++;
    this.forget();
    // Registers are stored by the back edge, so their locals stay valid
    // from one iteration to the next as long as the interpreter never runs
    // in the loop; in that case everything the block may read is loaded
    // once, before the loop.
    const hoist = this.selfLoop && !this.slots.slice(first, last + 1).some((sl) => sl!.kind === Kind.CALL || sl!.kind === Kind.END);
    if (hoist) {
      for (let i = first; i <= last; i++) {
        const insn = this.words[i];
        for (const sh of [0, 5, 10, 16]) this.load((insn >>> sh) & 31);
      }
      this.load(NZCV);
    }
    this.loopFlags = hoist ? lastFlagSetter(this.words, first, last) : null;
    if (this.loopFlags) { c.i32(0); c.set(L_FPEND); }
    if (this.selfLoop) { c.loop(); this.open("loop"); }
    this.carried = this.loopFlags !== null;
    this.emitBlockBody(h, first, last, next, hoist);
    if (this.selfLoop) this.close();
    this.loopFlags = null;
    this.carried = false;
  }

  private emitBlockBody(h: number, first: number, last: number, next: number, hoisted: boolean): void {
    const c = this.c;
    const n = last - first + 1;
    if (!hoisted) this.forget();
    // Does the whole block fit under the limit? (A br_if where no flags
    // need computing on the way out: an `if` costs V8's baseline compiler
    // a merge of every local.)
    if (this.carried) {
      c.get(L_IC); c.i64(n); c.op(Op.I64_ADD); c.get(L_LIMIT); c.op(Op.I64_GT_U);
      this.openIf(); this.spillFlags(); c.i32(first * 4); c.set(L_ENTRY); c.br(this.depth("miss")); this.close();
    } else {
      c.i32(first * 4); c.set(L_ENTRY);
      c.get(L_IC); c.i64(n); c.op(Op.I64_ADD); c.get(L_LIMIT); c.op(Op.I64_GT_U); c.brIf(this.depth("miss"));
    }
    for (let i = first; i <= last; i++) {
      const insn = this.words[i], k = i - first, off = i * 4, slot = this.slot(i);
      switch (slot.kind) {
        case Kind.INLINE: this.translated++; this.emitInline(insn, off, k); break;
        case Kind.CALL:
          if (isFastMrs(insn)) { this.translated++; this.mrs(insn, off, k); break; }
          if (isDcZva(insn)) { this.translated++; this.dcZva(insn, off, k); break; }
          if (isExclusive(insn)) { this.translated++; this.exclusive(insn, off, k); break; }
          this.called++; this.callInterp(off, k, false); this.forget(); break;
        case Kind.END: this.called++; this.callInterp(off, k, true); return;
        case Kind.BRANCH: this.translated++; this.emitBranch(insn, off, n); return;
      }
    }
    // Falls into the next block (the next section of the function), off the
    // page, or into a path left out.
    this.settleFlags();
    this.flushRegs();
    c.get(L_IC); c.i64(n); c.op(Op.I64_ADD); c.set(L_IC);
    if (last + 1 !== next || next >= 1024) this.goto((last + 1) * 4);
  }

  private endBlock(n: number): void {
    const c = this.c;
    c.get(L_IC); c.i64(n); c.op(Op.I64_ADD); c.set(L_IC);
  }

  // --- branches ----------------------------------------------------------------
  private cond(cond: number): void {
    const c = this.c;
    if (cond >= 14) { c.i32(1); return; }
    if (this.flagSrc && this.fusedCond(cond, this.flagSrc)) return;
    this.load(NZCV);
    const nz = (): void => c.get(L_NZCV);
    const bit = (b: number): void => { nz(); if (b) { c.i32(b); c.op(Op.I32_SHR_U); } c.i32(1); c.op(Op.I32_AND); };
    switch (cond >> 1) {
      case 0: bit(2); break; // EQ: Z
      case 1: bit(1); break; // CS: C
      case 2: bit(3); break; // MI: N
      case 3: bit(0); break; // VS: V
      case 4: nz(); c.i32(1); c.op(Op.I32_SHR_U); nz(); c.i32(2); c.op(Op.I32_SHR_U); c.i32(-1); c.op(Op.I32_XOR); c.op(Op.I32_AND); c.i32(1); c.op(Op.I32_AND); break; // HI: C && !Z
      case 5: nz(); c.i32(3); c.op(Op.I32_SHR_U); nz(); c.op(Op.I32_XOR); c.i32(1); c.op(Op.I32_AND); c.i32(1); c.op(Op.I32_XOR); break; // GE: N == V
      case 6: // GT: !Z && N == V
        nz(); c.i32(3); c.op(Op.I32_SHR_U); nz(); c.op(Op.I32_XOR); nz(); c.i32(2); c.op(Op.I32_SHR_U); c.op(Op.I32_OR);
        c.i32(1); c.op(Op.I32_AND); c.i32(1); c.op(Op.I32_XOR); break;
    }
    if (cond & 1) { c.i32(1); c.op(Op.I32_XOR); }
  }

  // A condition on the flags `f` says how were set, from the operands and
  // result in the L_F* locals: the same truth value as on the packed NZCV,
  // without computing it. false: not a form done here.
  private fusedCond(cond: number, f: FlagsFrom): boolean {
    const c = this.c;
    const w = f.sf === 1;
    const [a, b, r] = w ? [L_FA, L_FB, L_FR] : [L_FA32, L_FB32, L_FR32];
    const inv = (cond & 1) === 1, base = cond >> 1;
    if (cond >= 14) return false;
    // a <op> b, or r <op> 0 (opcodes: 64-bit, else 32-bit)
    const cmp = (x: number, y: number | null, op64: Op, op32: Op): void => {
      c.get(x);
      if (y === null) { if (w) c.i64(0); else c.i32(0); } else c.get(y);
      c.op(w ? op64 : op32);
    };
    const sign = (): void => cmp(r, null, inv ? Op.I64_GE_S : Op.I64_LT_S, inv ? Op.I32_GE_S : Op.I32_LT_S); // MI / PL
    if (f.op === "sub") {
      switch (base) {
        case 0: cmp(a, b, inv ? Op.I64_NE : Op.I64_EQ, inv ? Op.I32_NE : Op.I32_EQ); return true; // EQ / NE: a == b
        case 1: cmp(a, b, inv ? Op.I64_LT_U : Op.I64_GE_U, inv ? Op.I32_LT_U : Op.I32_GE_U); return true; // CS / CC: no borrow
        case 2: sign(); return true;
        case 4: cmp(a, b, inv ? Op.I64_LE_U : Op.I64_GT_U, inv ? Op.I32_LE_U : Op.I32_GT_U); return true; // HI / LS
        case 5: cmp(a, b, inv ? Op.I64_LT_S : Op.I64_GE_S, inv ? Op.I32_LT_S : Op.I32_GE_S); return true; // GE / LT: N == V
        case 6: cmp(a, b, inv ? Op.I64_LE_S : Op.I64_GT_S, inv ? Op.I32_LE_S : Op.I32_GT_S); return true; // GT / LE
        default: return false; // VS / VC
      }
    }
    if (f.op === "add") {
      switch (base) {
        case 0: cmp(r, null, inv ? Op.I64_NE : Op.I64_EQ, inv ? Op.I32_NE : Op.I32_EQ); return true;
        case 1: cmp(r, a, inv ? Op.I64_GE_U : Op.I64_LT_U, inv ? Op.I32_GE_U : Op.I32_LT_U); return true; // CS / CC: the sum wrapped
        case 2: sign(); return true;
        default: return false;
      }
    }
    // logic: C = V = 0
    switch (base) {
      case 0: cmp(r, null, inv ? Op.I64_NE : Op.I64_EQ, inv ? Op.I32_NE : Op.I32_EQ); return true;
      case 2: sign(); return true;
      case 5: cmp(r, null, inv ? Op.I64_LT_S : Op.I64_GE_S, inv ? Op.I32_LT_S : Op.I32_GE_S); return true; // GE / LT: N == V with V = 0
      case 6: cmp(r, null, inv ? Op.I64_LE_S : Op.I64_GT_S, inv ? Op.I32_LE_S : Op.I32_GT_S); return true; // GT / LE: !Z && !N
      default: return false;
    }
  }

  // Whether the return point of a call is a head of this translation, in
  // this page (where the caller's code can go on after the call: callOut).
  private returnsHere(ret: number): boolean { return ret < 4096 && this.headIndex[ret >> 2] >= 0; }
  // A call out of the page (the target pushed by `target`; the registers
  // and instret stored), made through the core's jitCall: when the callee
  // comes back to `ret` this code goes on there (the registers and flags
  // reloaded, instret from the core's); otherwise it returns what jitCall
  // says (3 with pc set, as for a branch out, or the callee's answer).
  private callOut(target: () => void, ret: number): void {
    const c = this.c;
    target(); c.gset(G_PC);
    c.get(L_IC); c.gset(G_INSTRET);
    c.i32(ret); c.get(L_LIMIT); c.call(F_CALL); c.tee(L_C);
    c.i32(6); c.op(Op.I32_NE);
    this.openIf(); c.get(L_C); c.op(Op.RETURN); this.close();
    c.gget(G_INSTRET); c.set(L_IC);
    this.forget();
    this.goto(ret);
  }

  private emitBranch(insn: number, off: number, n: number): void {
    const c = this.c;
    // The back edge of a loop whose flags come round pending (as its
    // body's prefix expects): the NZCV is computed only on the way out.
    const f = this.flagSrc, lf = this.loopFlags;
    const carry = lf !== null && this.pending && f !== null && f.op === lf.op && f.sf === lf.sf;
    if (carry) { c.i32(1); c.set(L_FPEND); } else this.settleFlags();
    // The block's registers are stored once, here (a link register after).
    this.flushRegs();
    if (isBranchReg(insn)) {
      // The target first (BLR X30 branches to the old X30). A misaligned
      // one is the interpreter's (its fetch must fault there); within this
      // page, the dispatch loop goes on at it (past the translation's
      // heads it leaves with pc there); elsewhere, translated code leaves.
      this.x((insn >>> 5) & 31); c.set(L_VA);
      c.get(L_VA); c.op(Op.I32_WRAP_I64); c.i32(3); c.op(Op.I32_AND);
      this.openIf(); this.interp(off, n - 1); c.op(Op.DROP); c.i32(1); c.op(Op.RETURN); this.close();
      if (((insn >>> 21) & 3) === 1) { this.pcConst(off + 4); this.setX(30); this.flushRegs(); }
      this.endBlock(n);
      c.get(L_VA); c.i64(~0xFFFn); c.op(Op.I64_AND); c.get(L_PAGE); c.op(Op.I64_EQ);
      this.openIf(); c.get(L_VA); c.op(Op.I32_WRAP_I64); c.i32(0xFFF); c.op(Op.I32_AND); c.set(L_ENTRY); c.br(this.depth("dispatch")); this.close();
      if (((insn >>> 21) & 3) === 1 && this.returnsHere(off + 4)) { this.callOut(() => c.get(L_VA), off + 4); return; }
      c.get(L_VA); c.gset(G_PC); c.br(this.depth("left"));
      return;
    }
    if ((insn & 0x7C000000) === 0x14000000) { // B, BL
      const t = off + sext(insn & 0x3FFFFFF, 26) * 4;
      if (insn >>> 31) { this.pcConst(off + 4); this.setX(30); this.flushRegs(); }
      this.endBlock(n);
      if ((insn >>> 31) && (t < 0 || t >= 4096) && this.returnsHere(off + 4)) {
        this.callOut(() => { c.get(L_PAGE); c.i64(t); c.op(Op.I64_ADD); }, off + 4);
        return;
      }
      this.goto(t);
      return;
    }
    // Conditional: the block's end, then the condition.
    this.endBlock(n);
    if ((insn & 0x7E000000) === 0x34000000) { // CBZ, CBNZ
      const sf = insn >>> 31, op = (insn >>> 24) & 1, rt = insn & 31;
      if (sf) { this.x(rt); c.op(Op.I64_EQZ); } else { this.w(rt); c.op(Op.I32_EQZ); }
      if (op) { c.i32(1); c.op(Op.I32_XOR); }
    } else if ((insn & 0x7E000000) === 0x36000000) { // TBZ, TBNZ
      const bit = ((insn >>> 31) << 5) | ((insn >>> 19) & 31), op = (insn >>> 24) & 1, rt = insn & 31;
      this.x(rt); c.i64(bit); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64); c.i32(1); c.op(Op.I32_AND);
      if (!op) { c.i32(1); c.op(Op.I32_XOR); }
    } else this.cond(insn & 0xF); // B.cond
    this.gotoIf(off + this.slot(off >> 2).rel!);
    if (carry) this.settleFlags();
    this.goto(off + 4);
  }

  // --- data processing and memory ----------------------------------------------
  private emitInline(insn: number, off: number, k: number): void {
    if (nopLike(insn)) return;
    const op0 = (insn >>> 25) & 0xF;
    if (op0 === 0x8 || op0 === 0x9) this.dpImm(insn, off);
    else if (op0 === 0x5 || op0 === 0xD) this.dpReg(insn);
    else this.ldst(insn, off, k, ldstForm(insn)!);
  }

  // Pushes the packed NZCV of ADDS/SUBS (`sub`) on a and b with result r
  // (i64 locals if sf, else i32 ones).
  private pushAddSubNzcv(sf: number, sub: boolean, a: number, b: number, r: number): void {
    const c = this.c;
    if (sf) {
      c.get(r); c.i64(63); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64); c.i32(3); c.op(Op.I32_SHL);
      c.get(r); c.op(Op.I64_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I64_GE_U); } else { c.get(r); c.get(a); c.op(Op.I64_LT_U); }
      c.i32(1); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I64_XOR); } else { c.get(b); c.get(r); c.op(Op.I64_XOR); }
      c.get(a); c.get(r); c.op(Op.I64_XOR); c.op(Op.I64_AND); c.i64(63); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64);
      c.op(Op.I32_OR);
    } else {
      c.get(r); c.i32(31); c.op(Op.I32_SHR_U); c.i32(3); c.op(Op.I32_SHL);
      c.get(r); c.op(Op.I32_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I32_GE_U); } else { c.get(r); c.get(a); c.op(Op.I32_LT_U); }
      c.i32(1); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I32_XOR); } else { c.get(b); c.get(r); c.op(Op.I32_XOR); }
      c.get(a); c.get(r); c.op(Op.I32_XOR); c.op(Op.I32_AND); c.i32(31); c.op(Op.I32_SHR_U);
      c.op(Op.I32_OR);
    }
  }
  // Pushes the packed NZCV of flagSrc-style flags `f` from the L_F* locals.
  private pushNzcv(f: FlagsFrom): void {
    const c = this.c;
    if (f.op !== "logic") { this.pushAddSubNzcv(f.sf, f.op === "sub", f.sf ? L_FA : L_FA32, f.sf ? L_FB : L_FB32, f.sf ? L_FR : L_FR32); return; }
    // NZ from the result, C = V = 0
    if (f.sf) {
      c.get(L_FR); c.i64(63); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64); c.i32(3); c.op(Op.I32_SHL);
      c.get(L_FR); c.op(Op.I64_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    } else {
      c.get(L_FR32); c.i32(31); c.op(Op.I32_SHR_U); c.i32(3); c.op(Op.I32_SHL);
      c.get(L_FR32); c.op(Op.I32_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    }
  }
  // NZCV of AddWithCarry(a, b, carry in L_C) with the result in L_R / L_R32
  // (alu.ts's addFlags): the carry out is r <= a with a carry in, r < a
  // without; V when a and b agree in sign and r does not.
  private carryFlags(sf: number): void {
    const c = this.c;
    const [a, b, r] = sf ? [L_A, L_B, L_R] : [L_A32, L_B32, L_R32];
    const [shr, xor, and, le, lt, top] = sf ? [Op.I64_SHR_U, Op.I64_XOR, Op.I64_AND, Op.I64_LE_U, Op.I64_LT_U, 63] : [Op.I32_SHR_U, Op.I32_XOR, Op.I32_AND, Op.I32_LE_U, Op.I32_LT_U, 31];
    const topBit = (): void => { if (sf) { c.i64(top); c.op(shr); c.op(Op.I32_WRAP_I64); } else { c.i32(top); c.op(shr); } };
    c.get(r); topBit(); c.i32(3); c.op(Op.I32_SHL);
    c.get(r); c.op(sf ? Op.I64_EQZ : Op.I32_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    c.get(r); c.get(a); c.op(le); c.get(r); c.get(a); c.op(lt); c.get(L_C); c.op(Op.SELECT); c.i32(1); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    c.get(a); c.get(r); c.op(xor); c.get(b); c.get(r); c.op(xor); c.op(and); topBit(); c.op(Op.I32_OR);
    this.setFlags();
  }
  // ANDS/BICS/TST: the result on the stack (of the width sf selects) sets
  // NZ, C = V = 0; it stays on the stack.
  private logicFlags(sf: number): void {
    this.c.tee(sf ? L_FR : L_FR32);
    this.setPending({ op: "logic", sf });
  }

  // Operands for add/sub: `a` pushes the first operand, `b` the second (both
  // of the width sf selects). Writes Rd (SP role unless setting flags).
  private addSub(sf: number, sub: boolean, s: boolean, rd: number, rdSP: boolean, a: () => void, b: () => void): void {
    const c = this.c;
    if (!s) { // no flags: no temporaries
      a(); b();
      if (sf) { c.op(sub ? Op.I64_SUB : Op.I64_ADD); if (rdSP) this.setXSP(rd); else this.setX(rd); }
      else { c.op(sub ? Op.I32_SUB : Op.I32_ADD); if (rdSP) this.setWSP(rd); else this.setW(rd); }
      return;
    }
    // Flags: pending, from the operands and result kept in the L_F* locals.
    if (sf) {
      a(); c.set(L_FA); b(); c.set(L_FB);
      c.get(L_FA); c.get(L_FB); c.op(sub ? Op.I64_SUB : Op.I64_ADD); c.tee(L_FR);
      this.setPending({ op: sub ? "sub" : "add", sf: 1 });
      if (rdSP) this.setXSP(rd); else this.setX(rd);
    } else {
      a(); c.set(L_FA32); b(); c.set(L_FB32);
      c.get(L_FA32); c.get(L_FB32); c.op(sub ? Op.I32_SUB : Op.I32_ADD); c.tee(L_FR32);
      this.setPending({ op: sub ? "sub" : "add", sf: 0 });
      if (rdSP) this.setWSP(rd); else this.setW(rd);
    }
  }

  private dpImm(insn: number, off: number): void {
    const c = this.c;
    const sf = insn >>> 31, rd = insn & 31, rn = (insn >>> 5) & 31;
    switch ((insn >>> 23) & 7) {
      case 0: case 1: { // ADR, ADRP
        const imm = (sext((insn >>> 5) & 0x7FFFF, 19) * 4) | ((insn >>> 29) & 3);
        if ((insn >>> 31) === 0) { this.pcConst(0); c.i64(off + imm); c.op(Op.I64_ADD); }
        else { this.pcConst(0); c.i64(BigInt(imm) << 12n); c.op(Op.I64_ADD); }
        this.setX(rd);
        return;
      }
      case 2: { // ADD/SUB immediate
        const sub = ((insn >>> 30) & 1) === 1, s = ((insn >>> 29) & 1) === 1;
        const imm = ((insn >>> 10) & 0xFFF) * (((insn >>> 22) & 1) ? 4096 : 1);
        if (sf) this.addSub(1, sub, s, rd, !s, () => this.xsp(rn), () => c.i64(imm));
        else this.addSub(0, sub, s, rd, !s, () => this.wsp(rn), () => c.i32(imm));
        return;
      }
      case 4: { // logical immediate
        const opc = (insn >>> 29) & 3;
        const m = decodeBitMasks((insn >>> 22) & 1, (insn >>> 10) & 0x3F, (insn >>> 16) & 0x3F, true, sf ? 64 : 32)!;
        const wop = [Op.I64_AND, Op.I64_OR, Op.I64_XOR, Op.I64_AND][opc];
        this.x(rn); c.i64(m.w); c.op(wop);
        if (!sf) { c.i64(0xFFFFFFFFn); c.op(Op.I64_AND); }
        if (opc === 3) { if (sf) this.logicFlags(1); else { c.tee(L_R); c.op(Op.I32_WRAP_I64); this.logicFlags(0); c.op(Op.DROP); c.get(L_R); } this.setX(rd); }
        else this.setXSP(rd);
        return;
      }
      case 5: { // MOVN, MOVZ, MOVK
        const opc = (insn >>> 29) & 3, pos = BigInt(((insn >>> 21) & 3) * 16);
        const imm = BigInt((insn >>> 5) & 0xFFFF) << pos;
        const mask = sf ? 0xFFFFFFFFFFFFFFFFn : 0xFFFFFFFFn;
        if (opc === 0) c.i64(~imm & mask);
        else if (opc === 2) c.i64(imm);
        else { this.x(rd); c.i64(~(0xFFFFn << pos) & mask); c.op(Op.I64_AND); c.i64(imm); c.op(Op.I64_OR); }
        this.setX(rd);
        return;
      }
      case 6: { // SBFM, BFM, UBFM
        const opc = (insn >>> 29) & 3, immr = (insn >>> 16) & 0x3F, imms = (insn >>> 10) & 0x3F;
        if (opc !== 1 && this.bitfieldAlias(sf, opc === 0, immr, imms, rn)) { this.setX(rd); return; }
        const m = decodeBitMasks((insn >>> 22) & 1, imms, immr, false, sf ? 64 : 32)!;
        // rot = ROR(src, immr) within the data size
        if (sf) { this.x(rn); c.i64(immr); c.op(Op.I64_ROTR); }
        else { this.w(rn); c.i32(immr); c.op(Op.I32_ROTR); c.op(Op.I64_EXTEND_I32_U); }
        c.set(L_R);
        if (opc === 2) { c.get(L_R); c.i64(m.w & m.t); c.op(Op.I64_AND); }
        else if (opc === 0) {
          // top = replicate(src<imms>): shift the bit to the top and arithmetic-shift back
          this.x(rn); c.i64(63 - imms); c.op(Op.I64_SHL); c.i64(63); c.op(Op.I64_SHR_S);
          c.i64(~m.t & 0xFFFFFFFFFFFFFFFFn); c.op(Op.I64_AND);
          c.get(L_R); c.i64(m.w & m.t); c.op(Op.I64_AND); c.op(Op.I64_OR);
          if (!sf) { c.i64(0xFFFFFFFFn); c.op(Op.I64_AND); }
        } else {
          // bot = (dst & ~wmask) | (rot & wmask); res = (dst & ~tmask) | (bot & tmask)
          this.x(rd); c.i64(~m.t & 0xFFFFFFFFFFFFFFFFn); c.op(Op.I64_AND);
          this.x(rd); c.i64(~m.w & m.t & 0xFFFFFFFFFFFFFFFFn); c.op(Op.I64_AND); c.op(Op.I64_OR);
          c.get(L_R); c.i64(m.w & m.t); c.op(Op.I64_AND); c.op(Op.I64_OR);
          if (!sf) { c.i64(0xFFFFFFFFn); c.op(Op.I64_AND); }
        }
        this.setX(rd);
        return;
      }
      case 7: { // EXTR
        const rm = (insn >>> 16) & 31, imms = (insn >>> 10) & 0x3F;
        if (sf) {
          if (imms === 0) this.x(rm);
          else { this.x(rm); c.i64(imms); c.op(Op.I64_SHR_U); this.x(rn); c.i64(64 - imms); c.op(Op.I64_SHL); c.op(Op.I64_OR); }
        } else {
          this.x(rn); c.i64(32); c.op(Op.I64_SHL); this.x(rm); c.i64(0xFFFFFFFFn); c.op(Op.I64_AND); c.op(Op.I64_OR);
          c.i64(imms); c.op(Op.I64_SHR_U); c.i64(0xFFFFFFFFn); c.op(Op.I64_AND);
        }
        this.setX(rd);
        return;
      }
    }
  }

  // The commonest SBFM/UBFM aliases as one or two wasm operations (the
  // general form rotates and masks: seven machine instructions for an
  // SXTW, V8 keeping even a rotate by 0): LSR, ASR and LSL by a constant,
  // SXTB/SXTH/SXTW, UBFX and SBFX. Pushes the result (a W result
  // zero-extended) and returns true, or pushes nothing and returns false.
  private bitfieldAlias(sf: number, signed: boolean, immr: number, imms: number, rn: number): boolean {
    const c = this.c, size = sf ? 64 : 32;
    if (immr >= size || imms >= size) return false; // (reserved for W: the interpreter's)
    const top = size - 1;
    if (imms === top) { // LSR / ASR
      if (sf) { this.x(rn); if (immr) { c.i64(immr); c.op(signed ? Op.I64_SHR_S : Op.I64_SHR_U); } }
      else { this.w(rn); if (immr) { c.i32(immr); c.op(signed ? Op.I32_SHR_S : Op.I32_SHR_U); } c.op(Op.I64_EXTEND_I32_U); }
      return true;
    }
    if (!signed && imms + 1 === immr) { // LSL
      if (sf) { this.x(rn); c.i64(top - imms); c.op(Op.I64_SHL); }
      else { this.w(rn); c.i32(top - imms); c.op(Op.I32_SHL); c.op(Op.I64_EXTEND_I32_U); }
      return true;
    }
    if (signed && immr === 0 && (imms === 7 || imms === 15 || imms === 31)) { // SXTB, SXTH, SXTW
      if (sf) { this.x(rn); c.op(imms === 7 ? Op.I64_EXTEND8_S : imms === 15 ? Op.I64_EXTEND16_S : Op.I64_EXTEND32_S); }
      else { this.w(rn); c.op(imms === 7 ? Op.I32_EXTEND8_S : Op.I32_EXTEND16_S); c.op(Op.I64_EXTEND_I32_U); }
      return true;
    }
    if (imms < immr) return false; // the *BFIZ forms: the general one
    // UBFX / SBFX: bits imms..immr to the bottom (zero- or sign-extended)
    if (sf) {
      this.x(rn);
      if (signed) { c.i64(top - imms); c.op(Op.I64_SHL); c.i64(top - imms + immr); c.op(Op.I64_SHR_S); }
      else { if (immr) { c.i64(immr); c.op(Op.I64_SHR_U); } c.i64((1n << BigInt(imms - immr + 1)) - 1n); c.op(Op.I64_AND); }
    } else {
      this.w(rn);
      if (signed) { c.i32(top - imms); c.op(Op.I32_SHL); c.i32(top - imms + immr); c.op(Op.I32_SHR_S); }
      else { if (immr) { c.i32(immr); c.op(Op.I32_SHR_U); } c.i32(2 ** (imms - immr + 1) - 1); c.op(Op.I32_AND); } // (imms < 31 here)
      c.op(Op.I64_EXTEND_I32_U);
    }
    return true;
  }

  // Rm shifted by a constant (LSL, LSR, ASR, ROR), of the width sf selects.
  private shifted(sf: number, rm: number, type: number, amount: number): void {
    const c = this.c;
    if (sf) {
      this.x(rm);
      if (amount) { c.i64(amount); c.op([Op.I64_SHL, Op.I64_SHR_U, Op.I64_SHR_S, Op.I64_ROTR][type]); }
    } else {
      this.w(rm);
      if (amount) { c.i32(amount); c.op([Op.I32_SHL, Op.I32_SHR_U, Op.I32_SHR_S, Op.I32_ROTR][type]); }
    }
  }
  // ExtendReg(Rm, option, shift) as 64 bits.
  private extended(rm: number, option: number, shift: number): void {
    const c = this.c;
    this.x(rm);
    switch (option) {
      case 0: c.i64(0xFFn); c.op(Op.I64_AND); break;
      case 1: c.i64(0xFFFFn); c.op(Op.I64_AND); break;
      case 2: c.i64(0xFFFFFFFFn); c.op(Op.I64_AND); break;
      case 4: c.i64(56); c.op(Op.I64_SHL); c.i64(56); c.op(Op.I64_SHR_S); break;
      case 5: c.i64(48); c.op(Op.I64_SHL); c.i64(48); c.op(Op.I64_SHR_S); break;
      case 6: c.i64(32); c.op(Op.I64_SHL); c.i64(32); c.op(Op.I64_SHR_S); break;
      default: break;
    }
    if (shift) { c.i64(shift); c.op(Op.I64_SHL); }
  }

  private dpReg(insn: number): void {
    const c = this.c;
    const sf = insn >>> 31, rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
    const op1 = (insn >>> 28) & 1, op2 = (insn >>> 21) & 0xF;
    if (op1 === 0) {
      const type = (insn >>> 22) & 3, imm6 = (insn >>> 10) & 0x3F;
      if ((op2 & 8) === 0) { // logical shifted
        const opc = (insn >>> 29) & 3, neg = ((insn >>> 21) & 1) === 1;
        if (sf) {
          this.x(rn); this.shifted(1, rm, type, imm6); if (neg) { c.i64(-1); c.op(Op.I64_XOR); }
          c.op([Op.I64_AND, Op.I64_OR, Op.I64_XOR, Op.I64_AND][opc]);
          if (opc === 3) this.logicFlags(1);
          this.setX(rd);
        } else {
          this.w(rn); this.shifted(0, rm, type, imm6); if (neg) { c.i32(-1); c.op(Op.I32_XOR); }
          c.op([Op.I32_AND, Op.I32_OR, Op.I32_XOR, Op.I32_AND][opc]);
          if (opc === 3) this.logicFlags(0);
          this.setW(rd);
        }
        return;
      }
      const sub = ((insn >>> 30) & 1) === 1, s = ((insn >>> 29) & 1) === 1;
      if ((op2 & 1) === 0) { // add/sub shifted
        if (sf) this.addSub(1, sub, s, rd, false, () => this.x(rn), () => this.shifted(1, rm, type, imm6));
        else this.addSub(0, sub, s, rd, false, () => this.w(rn), () => this.shifted(0, rm, type, imm6));
        return;
      }
      // add/sub extended: Rn and (without S) Rd in their SP role
      const option = (insn >>> 13) & 7, imm3 = (insn >>> 10) & 7;
      if (sf) this.addSub(1, sub, s, rd, !s, () => this.xsp(rn), () => this.extended(rm, option, imm3));
      else this.addSub(0, sub, s, rd, !s, () => this.wsp(rn), () => { this.extended(rm, option, imm3); c.op(Op.I32_WRAP_I64); });
      return;
    }
    if ((op2 & 8) !== 0) { // 3-source
      const ra = (insn >>> 10) & 31, o0 = (insn >>> 15) & 1, op31 = (insn >>> 21) & 7;
      if (op31 === 0) { // MADD, MSUB
        this.x(ra); this.x(rn); this.x(rm); c.op(Op.I64_MUL); c.op(o0 ? Op.I64_SUB : Op.I64_ADD);
        if (!sf) { c.i64(0xFFFFFFFFn); c.op(Op.I64_AND); }
      } else { // SMADDL/SMSUBL (op31 1), UMADDL/UMSUBL (op31 5)
        const ext = op31 === 1 ? Op.I64_EXTEND_I32_S : Op.I64_EXTEND_I32_U;
        this.x(ra); this.w(rn); c.op(ext); this.w(rm); c.op(ext); c.op(Op.I64_MUL); c.op(o0 ? Op.I64_SUB : Op.I64_ADD);
      }
      this.setX(rd);
      return;
    }
    switch (op2) {
      case 0: { // ADC, ADCS, SBC, SBCS: Rn + (Rm or NOT Rm) + C
        const op = (insn >>> 30) & 1, s = (insn >>> 29) & 1;
        // The carry in as a condition (CS): from the last ADDS/SUBS's
        // operands where it is pending, without computing the whole NZCV
        // (mpihelp_addmul_1's ADDS then ADC, each time round its loop).
        this.cond(2); c.set(L_C);
        if (sf) {
          this.x(rn); c.set(L_A);
          this.x(rm); if (op) { c.i64(-1); c.op(Op.I64_XOR); } c.set(L_B);
          c.get(L_A); c.get(L_B); c.op(Op.I64_ADD); c.get(L_C); c.op(Op.I64_EXTEND_I32_U); c.op(Op.I64_ADD); c.set(L_R);
        } else {
          this.w(rn); c.set(L_A32);
          this.w(rm); if (op) { c.i32(-1); c.op(Op.I32_XOR); } c.set(L_B32);
          c.get(L_A32); c.get(L_B32); c.op(Op.I32_ADD); c.get(L_C); c.op(Op.I32_ADD); c.set(L_R32);
        }
        if (s) this.carryFlags(sf);
        if (sf) { c.get(L_R); this.setX(rd); } else { c.get(L_R32); this.setW(rd); }
        return;
      }
      case 2: { // CCMP, CCMN
        const sub = ((insn >>> 30) & 1) === 1, isImm = ((insn >>> 11) & 1) === 1, cond = (insn >>> 12) & 0xF;
        // Operands and condition first: registers are loaded on both arms' way.
        if (sf) { this.x(rn); c.set(L_A); if (isImm) c.i64(rm); else this.x(rm); c.set(L_B); }
        else { this.w(rn); c.set(L_A32); if (isImm) c.i32(rm); else this.w(rm); c.set(L_B32); }
        this.cond(cond);
        this.openIf(T.I32);
        if (sf) { c.get(L_A); c.get(L_B); c.op(sub ? Op.I64_SUB : Op.I64_ADD); c.set(L_R); this.pushAddSubNzcv(1, sub, L_A, L_B, L_R); }
        else { c.get(L_A32); c.get(L_B32); c.op(sub ? Op.I32_SUB : Op.I32_ADD); c.set(L_R32); this.pushAddSubNzcv(0, sub, L_A32, L_B32, L_R32); }
        c.else_();
        c.i32(insn & 0xF);
        this.close();
        this.setFlags(); // set on either arm: packed
        return;
      }
      case 4: { // CSEL, CSINC, CSINV, CSNEG
        const op = (insn >>> 30) & 1, o2 = (insn >>> 10) & 1;
        // Loads before the select: both arms must see the registers loaded.
        this.x(rn); c.set(L_A); this.x(rm); c.set(L_B);
        this.cond((insn >>> 12) & 0xF); c.set(L_C);
        c.get(L_A);
        c.get(L_B);
        if (op) { c.i64(-1); c.op(Op.I64_XOR); }
        if (o2) { c.i64(1); c.op(Op.I64_ADD); }
        c.get(L_C); c.op(Op.SELECT);
        if (!sf) { c.i64(0xFFFFFFFFn); c.op(Op.I64_AND); }
        this.setX(rd);
        return;
      }
      case 6: {
        const opcode = (insn >>> 10) & 0x3F;
        if (((insn >>> 30) & 1) === 1) { this.dp1(sf, opcode, rn, rd); return; }
        if (sf) {
          this.x(rn); c.set(L_A); this.x(rm); c.set(L_B);
          if (opcode === 2 || opcode === 3) {
            // b == 0 -> 0; INT64_MIN / -1 -> INT64_MIN (wasm would trap on both)
            c.get(L_B); c.op(Op.I64_EQZ);
            this.openIf(T.I64); c.i64(0);
            c.else_();
            if (opcode === 3) {
              c.get(L_A); c.i64(-(1n << 63n)); c.op(Op.I64_EQ); c.get(L_B); c.i64(-1); c.op(Op.I64_EQ); c.op(Op.I32_AND);
              this.openIf(T.I64); c.get(L_A); c.else_(); c.get(L_A); c.get(L_B); c.op(Op.I64_DIV_S); this.close();
            } else { c.get(L_A); c.get(L_B); c.op(Op.I64_DIV_U); }
            this.close();
          } else {
            c.get(L_A); c.get(L_B); c.op([Op.I64_SHL, Op.I64_SHR_U, Op.I64_SHR_S, Op.I64_ROTR][opcode - 8]);
          }
          this.setX(rd);
        } else {
          this.w(rn); c.set(L_A32); this.w(rm); c.set(L_B32);
          if (opcode === 2 || opcode === 3) {
            c.get(L_B32); c.op(Op.I32_EQZ);
            this.openIf(T.I32); c.i32(0);
            c.else_();
            if (opcode === 3) {
              c.get(L_A32); c.i32(-0x80000000); c.op(Op.I32_EQ); c.get(L_B32); c.i32(-1); c.op(Op.I32_EQ); c.op(Op.I32_AND);
              this.openIf(T.I32); c.get(L_A32); c.else_(); c.get(L_A32); c.get(L_B32); c.op(Op.I32_DIV_S); this.close();
            } else { c.get(L_A32); c.get(L_B32); c.op(Op.I32_DIV_U); }
            this.close();
          } else {
            c.get(L_A32); c.get(L_B32); c.op([Op.I32_SHL, Op.I32_SHR_U, Op.I32_SHR_S, Op.I32_ROTR][opcode - 8]);
          }
          this.setW(rd);
        }
        return;
      }
    }
    throw new Error(`jit: dpReg cannot translate ${insn.toString(16)}`);
  }

  private ldst(insn: number, off: number, k: number, f: LdSt): void {
    const c = this.c;
    if (f.prefetch) {
      // PRFM: no access; an SP base still gets its alignment check in the interpreter.
      if (f.rn === 31) { this.callInterp(off, k, false); this.forget(); }
      return;
    }
    // Address (and the base's new value for writeback) into L_VA / L_R.
    if (f.rn < 0) { this.pcConst(off); c.i64(f.imm); c.op(Op.I64_ADD); c.set(L_VA); }
    else {
      this.xsp(f.rn);
      if (f.mode === "reg") { this.extended(f.rm, f.option, f.shift); c.op(Op.I64_ADD); }
      else if (f.mode !== "post" && f.imm) { c.i64(f.imm); c.op(Op.I64_ADD); }
      c.set(L_VA);
      if (f.mode === "post" && f.imm) { this.xsp(f.rn); c.i64(f.imm); c.op(Op.I64_ADD); c.set(L_R); }
      else if (f.mode === "pre" || f.mode === "post") { c.get(L_VA); c.set(L_R); }
    }
    // Dirty registers are stored here, on the block's path, rather than on
    // the slow path's (which would grow every load and store: compiles ~20%
    // longer); writes between two memory accesses still cost one store each.
    this.flushRegs();
    // Registers a store reads are loaded before the branch, so both paths agree.
    if (!f.load) { if (f.rt !== 31) this.load(f.rt); if (f.rt2 >= 0 && f.rt2 !== 31) this.load(f.rt2); }
    const total = f.rt2 >= 0 ? 2 * f.bytes : f.bytes;
    // TLB probe: the entry of va's page must hold the page of the access's
    // last byte (so a tag match also rules out crossing into the next page),
    // and an SP base must be 16-byte aligned.
    c.get(L_VA); c.op(Op.I32_WRAP_I64); c.tee(L_VA32); c.i32(7); c.op(Op.I32_SHR_U); c.i32((TLB_ENTRIES - 1) << 5); c.op(Op.I32_AND);
    c.get(L_TLB); c.op(Op.I32_ADD); c.tee(L_E);
    c.mem(Op.I64_LOAD, f.load ? 0 : 8);
    c.get(L_VA); if (total > 1) { c.i64(total - 1); c.op(Op.I64_ADD); } c.i64(12); c.op(Op.I64_SHR_U); c.op(Op.I64_EQ);
    if (f.rn === 31) { c.get(this.xl(31)); c.op(Op.I32_WRAP_I64); c.i32(15); c.op(Op.I32_AND); c.op(Op.I32_EQZ); c.op(Op.I32_AND); }
    this.openIf();
    // Fast path: the TLB entry's host address (its low half: wasm addresses
    // are 32-bit). A frame holding translated code has no write tag, so a
    // store here never writes code. Registers written are dirty after both
    // paths (wrote()).
    const host = (): void => { c.get(L_E); c.mem(Op.I32_LOAD, 24); c.get(L_VA32); c.op(Op.I32_ADD); };
    const pair = f.rt2 >= 0;
    if (pair) { host(); c.set(L_H); }
    const at = (): void => { if (pair) c.get(L_H); else host(); };
    if (f.load) {
      this.loadTo(f.rt, () => { at(); this.loadValue(f, 0); });
      if (pair) this.loadTo(f.rt2, () => { c.get(L_H); this.loadValue(f, f.bytes); });
    } else {
      at(); this.x(f.rt); this.storeValue(f.bytes, 0);
      if (pair) { c.get(L_H); this.x(f.rt2); this.storeValue(f.bytes, f.bytes); }
    }
    const wb = f.mode === "pre" || f.mode === "post";
    if (wb) { c.get(L_R); c.set(this.xl(f.rn)); }
    // (The registers the fast path wrote are marked dirty after both paths:
    // the slow one stores those dirty before the instruction.)
    const wrote = (): void => {
      if (f.load) for (const r of [f.rt, f.rt2]) if (r >= 0 && r !== 31) this.st[r] = DIRTY;
      if (wb) this.st[f.rn] = DIRTY;
    };
    c.else_();
    if (this.slowExits) {
      this.pcConst(off); c.gset(G_PC);
      c.get(L_IC); if (k) { c.i64(k); c.op(Op.I64_ADD); } c.gset(G_INSTRET);
      this.spillFlags();
      this.spillRegs();
      c.i32(4); c.op(Op.RETURN);
      this.close();
      wrote();
      return;
    }
    // Slow path: the interpreter runs the whole instruction (the walk, an
    // MMIO exit, a fault, a store to code), exactly as interpreted, and
    // translated code leaves unless it simply completed; then the registers
    // it wrote are read back.
    this.callInterp(off, k, false);
    // (Register 31 is the zero register as a load's target, SP as a base.)
    const written = f.load ? [f.rt, f.rt2].filter((r) => r >= 0 && r !== 31) : [];
    if (wb) written.push(f.rn);
    for (const r of written) { c.get(L_CPU); c.mem(Op.I64_LOAD, r * 8); c.set(this.xl(r)); }
    this.close();
    wrote();
  }

  // Register r (the zero register: nothing) gets the value `value` pushes
  // (in its local only: the caller marks it dirty).
  private loadTo(r: number, value: () => void): void {
    const c = this.c;
    if (r === 31) { value(); c.op(Op.DROP); return; }
    value(); c.set(this.xl(r));
  }

  // The value at the host address on the stack, extended as the load does.
  private loadValue(f: LdSt, offset: number): void {
    const c = this.c;
    switch (f.bytes) {
      case 1: if (f.ext === "s32") { c.mem(Op.I32_LOAD8_S, offset); c.op(Op.I64_EXTEND_I32_U); } else c.mem(f.ext === "s64" ? Op.I64_LOAD8_S : Op.I64_LOAD8_U, offset); break;
      case 2: if (f.ext === "s32") { c.mem(Op.I32_LOAD16_S, offset); c.op(Op.I64_EXTEND_I32_U); } else c.mem(f.ext === "s64" ? Op.I64_LOAD16_S : Op.I64_LOAD16_U, offset); break;
      case 4: c.mem(f.ext === "s64" ? Op.I64_LOAD32_S : Op.I64_LOAD32_U, offset); break;
      default: c.mem(Op.I64_LOAD, offset);
    }
  }
  private storeValue(bytes: number, offset: number): void {
    this.c.mem(bytes === 1 ? Op.I64_STORE8 : bytes === 2 ? Op.I64_STORE16 : bytes === 4 ? Op.I64_STORE32 : Op.I64_STORE, offset);
  }
}
