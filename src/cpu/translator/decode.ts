// What the translator makes of each instruction word: its kind (translated
// inline, left to the interpreter, a branch), a direct branch's
// displacement, the integer loads and stores it translates, and the
// bitmask immediates (AssemblyScript).

import { decodeBitMasks } from "../core/bitmasks";

// How an instruction is translated.
export const INLINE: i32 = 0; // translated, falls through
export const CALL: i32 = 1; // the interpreter runs it, then the block goes on
export const END: i32 = 2; // the interpreter runs it, then translated code returns (pc may be anything)
export const BRANCH: i32 = 3; // translated branch: ends the block
// classify()'s displacement when the instruction is not a direct branch.
export const NO_REL: i32 = i32.MIN_VALUE;

export function sext(v: i32, bits: i32): i32 { return (v << (32 - bits)) >> (32 - bits); }

export function isBranchReg(insn: u32): bool {
  const b = insn & 0xFFFFFC1F;
  return b == 0xD61F0000 || b == 0xD63F0000 || b == 0xD65F0000;
}
// The instructions compilers put first in a function: BTI (any of its
// targets) and PACIASP/PACIBSP, the landing pads of indirect calls, and
// `mov x9, x30`, the first of the two instructions Linux's ftrace patches
// at every traceable function's entry (-fpatchable-function-entry).
export function functionStart(insn: u32): bool {
  if ((insn & 0xFFFFFF3F) == 0xD503241F) return true; // BTI {c, j, jc}
  return insn == 0xD503233F || insn == 0xD503237F || insn == 0xAA1E03E9; // PACIASP, PACIBSP, MOV X9, X30
}
// MRS Xt of SP_EL0, TPIDR_EL1, DAIF, CTR_EL0 and DCZID_EL0 (the core's jitMrs).
export function isFastMrs(insn: u32): bool {
  const m = insn & 0xFFFFFFE0;
  return m == 0xD5384100 || m == 0xD538D080 || m == 0xD53B4220 || m == 0xD53B0020 || m == 0xD53B00E0;
}
// DC ZVA, Xt (the core's jitDcZva).
export function isDcZva(insn: u32): bool { return (insn & 0xFFFFFFE0) == 0xD50B7420; }
// Load/store exclusive, load-acquire/store-release (the core's jitExclusive).
export function isExclusive(insn: u32): bool { return (insn & 0x3F000000) == 0x08000000; }
export function isSystem(insn: u32): bool { return (insn & 0xFFC00000) == 0xD5000000; }
// BL, BLR, BLRAA(Z), BLRAB(Z): control comes back after them.
export function isCall(insn: u32): bool {
  return (insn & 0xFC000000) == 0x94000000 || (insn & 0xFFFFFC1F) == 0xD63F0000 || (insn & 0xFEFFF800) == 0xD63F0800;
}
// Hints other than WFE, WFI, SEV and SEVL; DSB, DMB and ISB (system.ts).
export function nopLike(insn: u32): bool {
  if ((insn & 0xFFFFF01F) == 0xD503201F) { const op = (insn >> 5) & 0x7F; return op < 2 || op > 5; }
  const b = insn & 0xFFFFF0FF;
  return b == 0xD503309F || b == 0xD50330BF || b == 0xD50330DF;
}

// The kind of an instruction; a direct branch's displacement in bytes in
// classRel (NO_REL otherwise).
export let classRel: i32 = NO_REL;
export function classify(insn: u32): i32 {
  classRel = NO_REL;
  const op0 = (insn >> 25) & 0xF;
  if (op0 == 0xA || op0 == 0xB) {
    if ((insn & 0x7C000000) == 0x14000000) { classRel = sext(<i32>(insn & 0x3FFFFFF), 26) * 4; return BRANCH; }
    if ((insn & 0x7E000000) == 0x34000000) { classRel = sext(<i32>((insn >> 5) & 0x7FFFF), 19) * 4; return BRANCH; }
    if ((insn & 0x7E000000) == 0x36000000) { classRel = sext(<i32>((insn >> 5) & 0x3FFF), 14) * 4; return BRANCH; }
    if ((insn & 0xFF000010) == 0x54000000) { classRel = sext(<i32>((insn >> 5) & 0x7FFFF), 19) * 4; return BRANCH; }
    // System instructions (MRS, MSR, barriers, hints, cache and TLB
    // maintenance) run in the interpreter without ending the block; the
    // interpreter (jitStep) makes translated code leave after one that
    // raised an exception, exited, needs attention (DAIF, timer, GIC
    // writes) or changed the translation regime (a TLB flush, PAN). Hints
    // that do nothing here (NOP, YIELD, the pointer-authentication and BTI
    // hints of a CPU without those features) and DMB, DSB and ISB (the
    // interpreter is sequentially consistent) are translated as nothing.
    if (isSystem(insn)) return nopLike(insn) ? INLINE : CALL;
    // BR, BLR and RET (not the pointer-authentication forms): translated
    // branches to a register's address.
    if (isBranchReg(insn)) return BRANCH;
    return END;
  }
  return translatable(insn) ? INLINE : CALL;
}

// The data-processing and load/store forms the translator handles inline.
export function translatable(insn: u32): bool {
  const op0 = (insn >> 25) & 0xF;
  if (op0 == 0x8 || op0 == 0x9) {
    switch ((insn >> 23) & 7) {
      case 0: case 1: return true; // ADR, ADRP
      case 2: return true; // ADD/SUB immediate
      case 4: { const sf = insn >> 31, n = (insn >> 22) & 1; return !(sf == 0 && n != 0) && decodeBitMasks(n, (insn >> 10) & 0x3F, (insn >> 16) & 0x3F, true, sf ? 64 : 32); }
      case 5: { const sf = insn >> 31, opc = (insn >> 29) & 3, hw = (insn >> 21) & 3; return opc != 1 && !(sf == 0 && hw > 1); }
      case 6: {
        const sf = insn >> 31, opc = (insn >> 29) & 3, n = (insn >> 22) & 1, immr = (insn >> 16) & 0x3F, imms = (insn >> 10) & 0x3F;
        if (opc == 3 || n != sf || (sf == 0 && (immr > 31 || imms > 31))) return false;
        return decodeBitMasks(n, imms, immr, false, sf ? 64 : 32);
      }
      case 7: {
        const sf = insn >> 31, op21 = (insn >> 29) & 3, n = (insn >> 22) & 1, o0 = (insn >> 21) & 1, imms = (insn >> 10) & 0x3F;
        return !(op21 != 0 || o0 != 0 || n != sf || (sf == 0 && imms > 31));
      }
      default: return false;
    }
  }
  if (op0 == 0x5 || op0 == 0xD) {
    const op1 = (insn >> 28) & 1, op2 = (insn >> 21) & 0xF, sf = insn >> 31;
    if (op1 == 0) {
      const imm6 = (insn >> 10) & 0x3F;
      if ((op2 & 8) == 0) return !(sf == 0 && imm6 > 31); // logical shifted
      if ((op2 & 1) == 0) return !(((insn >> 22) & 3) == 3 || (sf == 0 && imm6 > 31)); // add/sub shifted
      return ((insn >> 22) & 3) == 0 && ((insn >> 10) & 7) <= 4; // add/sub extended
    }
    if ((op2 & 8) != 0) { // 3-source: MADD/MSUB, SMADDL/SMSUBL, UMADDL/UMSUBL
      const op54 = (insn >> 29) & 3, op31 = (insn >> 21) & 7;
      if (op54 != 0) return false;
      if (op31 == 0) return true;
      return sf == 1 && (op31 == 1 || op31 == 5);
    }
    switch (op2) {
      case 0: return ((insn >> 10) & 0x3F) == 0; // ADC, ADCS, SBC, SBCS
      case 2: return ((insn >> 29) & 1) == 1 && ((insn >> 10) & 1) == 0 && ((insn >> 4) & 1) == 0; // CCMP/CCMN
      case 4: return ((insn >> 29) & 1) == 0 && ((insn >> 10) & 3) <= 1; // CSEL family
      case 6: {
        if (((insn >> 29) & 1) != 0) return false;
        const opcode = (insn >> 10) & 0x3F;
        if (((insn >> 30) & 1) == 0) return opcode == 2 || opcode == 3 || (opcode >= 8 && opcode <= 11); // DIV, shifts
        // RBIT, REV16, REV32 / REV (W), REV (X), CLZ, CLS
        return opcode <= 5 && ((insn >> 16) & 31) == 0 && !(sf == 0 && opcode == 3);
      }
      default: return false;
    }
  }
  if (op0 == 0x4 || op0 == 0x6 || op0 == 0xC || op0 == 0xE) return ldstForm(insn);
  return false;
}

// An integer load or store translated inline, as ldstForm() found it.
export const EXT_U: i32 = 0, EXT_S64: i32 = 1, EXT_S32: i32 = 2; // zero-extend, sign-extend to 64, to 32
export const MODE_IMM: i32 = 0, MODE_REG: i32 = 1, MODE_PRE: i32 = 2, MODE_POST: i32 = 3;
export class LdSt {
  bytes: i32 = 0; // bytes per register
  load: bool = false;
  ext: i32 = EXT_U;
  rt: i32 = 0; rt2: i32 = -1; // rt2 < 0: single register
  rn: i32 = 0; // < 0: PC-relative (literal)
  mode: i32 = MODE_IMM;
  imm: i32 = 0; // offset for imm/pre/post
  rm: i32 = 0; option: i32 = 0; shift: i32 = 0; // register offset
  prefetch: bool = false;
}
export const ls = new LdSt();

// A single register's form (size, opc): false if not one translated.
function single(size: u32, opc: u32): bool {
  ls.bytes = 1 << size;
  if (opc == 0) return true;
  if (opc == 1) { ls.load = true; return true; }
  if (opc == 2) {
    if (size == 3) ls.prefetch = true;
    else { ls.load = true; ls.ext = EXT_S64; }
    return true;
  }
  if (size >= 2) return false;
  ls.load = true; ls.ext = EXT_S32;
  return true;
}

// Fills `ls` with the integer load or store insn is, or returns false.
export function ldstForm(insn: u32): bool {
  if (((insn >> 26) & 1) != 0) return false;
  ls.bytes = 0; ls.load = false; ls.ext = EXT_U; ls.rt = insn & 31; ls.rt2 = -1; ls.rn = (insn >> 5) & 31;
  ls.mode = MODE_IMM; ls.imm = 0; ls.rm = 0; ls.option = 0; ls.shift = 0; ls.prefetch = false;
  if ((insn & 0x3B000000) == 0x39000000) { // unsigned offset
    const size = insn >> 30, opc = (insn >> 22) & 3;
    if (!single(size, opc)) return false;
    ls.imm = <i32>(((insn >> 10) & 0xFFF) << size);
    return true;
  }
  if ((insn & 0x3B000000) == 0x38000000) {
    const size = insn >> 30, opc = (insn >> 22) & 3, op4 = (insn >> 10) & 3;
    if (((insn >> 21) & 1) != 0) {
      const option = (insn >> 13) & 7;
      if (op4 != 2 || (option & 2) == 0) return false;
      if (!single(size, opc)) return false;
      ls.mode = MODE_REG; ls.rm = (insn >> 16) & 31; ls.option = option; ls.shift = ((insn >> 12) & 1) ? size : 0;
      return true;
    }
    if (op4 == 2) return false; // LDTR/STTR
    if (!single(size, opc)) return false;
    ls.imm = sext(<i32>((insn >> 12) & 0x1FF), 9);
    if (op4 == 1 || op4 == 3) {
      if (ls.prefetch) return false;
      ls.mode = op4 == 3 ? MODE_PRE : MODE_POST;
    }
    return true;
  }
  if ((insn & 0x3A000000) == 0x28000000) { // pairs
    const opc = insn >> 30, idx = (insn >> 23) & 3, l = (insn >> 22) & 1;
    if (opc == 3 || (opc == 1 && (l == 0 || idx == 0))) return false;
    const scale: i32 = opc == 2 ? 3 : 2;
    ls.bytes = 1 << scale; ls.load = l == 1; ls.ext = opc == 1 ? EXT_S64 : EXT_U; ls.rt2 = (insn >> 10) & 31;
    ls.imm = sext(<i32>((insn >> 15) & 0x7F), 7) << scale;
    ls.mode = idx == 1 ? MODE_POST : idx == 3 ? MODE_PRE : MODE_IMM;
    return true;
  }
  if ((insn & 0x3B000000) == 0x18000000) { // literal
    const opc = insn >> 30;
    if (opc == 3) return false; // PRFM literal: left to the interpreter
    ls.rn = -1; ls.bytes = opc == 1 ? 8 : 4; ls.load = true; ls.ext = opc == 2 ? EXT_S64 : EXT_U;
    ls.imm = sext(<i32>((insn >> 5) & 0x7FFFF), 19) * 4;
    return true;
  }
  return false;
}

// Flags as the translator keeps them lazily: how they were last set, by
// ADDS/SUBS or ANDS/BICS of the width sf selects (FLAGS_NONE: not known).
export const F_ADD: i32 = 0, F_SUB: i32 = 1, F_LOGIC: i32 = 2;
export const FLAGS_NONE: i32 = -1;
@inline export function flags(op: i32, sf: i32): i32 { return (op << 1) | sf; }
@inline export function flagsOp(f: i32): i32 { return f >> 1; }
@inline export function flagsSf(f: i32): i32 { return f & 1; }

// The kind of the last ADDS/SUBS (immediate, shifted or extended register)
// or ANDS/BICS (immediate or shifted register) among words[first..last], by
// their encodings: a guess that emitBranch checks against what the
// translation of the block actually left pending.
export function lastFlagSetter(words: StaticArray<u32>, first: i32, last: i32): i32 {
  for (let i = last; i >= first; i--) {
    const insn = unchecked(words[i]), sf = <i32>(insn >> 31), s = (insn >> 29) & 1, sub = ((insn >> 30) & 1) == 1;
    if (s && ((insn & 0x1F000000) == 0x11000000 || (insn & 0x1F000000) == 0x0B000000)) return flags(sub ? F_SUB : F_ADD, sf);
    const opc = (insn >> 29) & 3;
    if (opc == 3 && ((insn & 0x1F800000) == 0x12000000 || (insn & 0x1F000000) == 0x0A000000)) return flags(F_LOGIC, sf);
  }
  return FLAGS_NONE;
}
