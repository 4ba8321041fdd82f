// AdvSIMD structure loads and stores: LD1-LD4 / ST1-ST4 (multiple
// structures), single-lane and replicating (LD1R-LD4R) forms, with and
// without post-index. Register lists wrap from v31 to v0.
//
// Loads read everything into a scratch buffer before any register changes,
// so a fault leaves the registers (and the base) as they were; the base is
// written back only after the whole transfer succeeded.

import { faulted, xr, setXSP, vaddr } from "./state";
import { undefinedInstruction, CLS_LDST_SIMD } from "./exceptions";
import { readMem, writeMem, read128, write128 } from "./access";
import { checkFpAccess } from "./fp_access";
import { baseReg } from "./base_reg";
import { TAB, eU, eSet, putV } from "./simd_util";

export function execSimdLdSt(insn: u32): void {
  if ((insn & 0x01000000) == 0) multiple(insn);
  else single(insn);
}

@inline function splat(v: u64, sz: u32): v128 {
  if (sz == 0) return i8x16.splat(<i8>v);
  if (sz == 1) return i16x8.splat(<i16>v);
  if (sz == 2) return i32x4.splat(<i32>v);
  return i64x2.splat(<i64>v);
}

// dst[i] = src[i * stride] (or the reverse with scatter) for n elements of
// size sz: the structure (de)interleave, one loop per element size.
function gather(dst: usize, src: usize, n: u32, stride: u32, sz: u32): void {
  if (sz == 0) for (let i: u32 = 0; i < n; i++) store<u8>(dst + i, load<u8>(src + i * stride));
  else if (sz == 1) for (let i: u32 = 0; i < n; i++) store<u16>(dst + (i << 1), load<u16>(src + ((i * stride) << 1)));
  else if (sz == 2) for (let i: u32 = 0; i < n; i++) store<u32>(dst + (i << 2), load<u32>(src + ((i * stride) << 2)));
  else for (let i: u32 = 0; i < n; i++) store<u64>(dst + (i << 3), load<u64>(src + ((i * stride) << 3)));
}
function scatter(dst: usize, src: usize, n: u32, stride: u32, sz: u32): void {
  if (sz == 0) for (let i: u32 = 0; i < n; i++) store<u8>(dst + i * stride, load<u8>(src + i));
  else if (sz == 1) for (let i: u32 = 0; i < n; i++) store<u16>(dst + ((i * stride) << 1), load<u16>(src + (i << 1)));
  else if (sz == 2) for (let i: u32 = 0; i < n; i++) store<u32>(dst + ((i * stride) << 2), load<u32>(src + (i << 2)));
  else for (let i: u32 = 0; i < n; i++) store<u64>(dst + ((i * stride) << 3), load<u64>(src + (i << 3)));
}

function multiple(insn: u32): void {
  const q = (insn >> 30) & 1, post = (insn >> 23) & 1, l = (insn >> 22) & 1;
  const rm = (insn >> 16) & 31, opcode = (insn >> 12) & 15, size = (insn >> 10) & 3;
  const rn = (insn >> 5) & 31, rt = insn & 31;
  // the no-offset form has bits 21:16 zero; the post-index form bit 21 zero
  if ((insn & (post != 0 ? 0x00200000 : 0x003F0000)) != 0) { undefinedInstruction(CLS_LDST_SIMD); return; }
  let rpt: u32, selem: u32;
  switch (opcode) {
    case 0x0: rpt = 1; selem = 4; break; // LD4/ST4
    case 0x2: rpt = 4; selem = 1; break; // LD1/ST1, 4 registers
    case 0x4: rpt = 1; selem = 3; break; // LD3/ST3
    case 0x6: rpt = 3; selem = 1; break; // LD1/ST1, 3 registers
    case 0x7: rpt = 1; selem = 1; break; // LD1/ST1, 1 register
    case 0x8: rpt = 1; selem = 2; break; // LD2/ST2
    case 0xA: rpt = 2; selem = 1; break; // LD1/ST1, 2 registers
    default: undefinedInstruction(CLS_LDST_SIMD); return;
  }
  if (size == 3 && q == 0 && selem != 1) { undefinedInstruction(CLS_LDST_SIMD); return; }
  if (!checkFpAccess()) return;
  const base = baseReg(rn);
  if (faulted) return;
  const regBytes: u32 = 8 << q;
  const nregs = rpt * selem;
  const total: u32 = nregs * regBytes;
  if (l != 0) {
    if (nregs == 1 && q != 0) {
      // LD1 {Vt.16B}: read128 writes Vt only when both halves arrived
      read128(base, vaddr(rt));
      if (faulted) return;
    } else {
      for (let off: u32 = 0; off < total; off += 8) {
        const v = readMem(base + off, 8);
        if (faulted) return;
        store<u64>(TAB + off, v);
      }
      if (selem == 1) {
        for (let r: u32 = 0; r < nregs; r++) putV((rt + r) & 31, v128.load(TAB + r * regBytes), q);
      } else {
        // de-interleave: structure e holds element e of each register
        const elements: u32 = regBytes >> size;
        for (let s: u32 = 0; s < selem; s++) {
          const p = vaddr((rt + s) & 31);
          if (q == 0) store<u64>(p, 0, 8);
          gather(p, TAB + (s << size), elements, selem, size);
        }
      }
    }
  } else {
    if (nregs == 1 && q != 0) {
      write128(base, vaddr(rt));
      if (faulted) return;
    } else {
      if (selem == 1) {
        for (let r: u32 = 0; r < nregs; r++) v128.store(TAB + r * regBytes, v128.load(vaddr((rt + r) & 31)));
      } else {
        const elements: u32 = regBytes >> size;
        for (let s: u32 = 0; s < selem; s++) scatter(TAB + (s << size), vaddr((rt + s) & 31), elements, selem, size);
      }
      for (let off: u32 = 0; off < total; off += 8) {
        writeMem(base + off, 8, load<u64>(TAB + off));
        if (faulted) return;
      }
    }
  }
  if (post != 0) setXSP(rn, base + (rm == 31 ? <u64>total : xr(rm)));
}

function single(insn: u32): void {
  const q = (insn >> 30) & 1, post = (insn >> 23) & 1, l = (insn >> 22) & 1, r = (insn >> 21) & 1;
  const rm = (insn >> 16) & 31, opcode = (insn >> 13) & 7, s = (insn >> 12) & 1, size = (insn >> 10) & 3;
  const rn = (insn >> 5) & 31, rt = insn & 31;
  if (post == 0 && rm != 0) { undefinedInstruction(CLS_LDST_SIMD); return; }
  let scale: u32 = opcode >> 1;
  const selem: u32 = (((opcode & 1) << 1) | r) + 1;
  let index: u32 = 0;
  let replicate = false;
  switch (scale) {
    case 3:
      if (l == 0 || s != 0) { undefinedInstruction(CLS_LDST_SIMD); return; }
      scale = size;
      replicate = true;
      break;
    case 0:
      index = (q << 3) | (s << 2) | size;
      break;
    case 1:
      if ((size & 1) != 0) { undefinedInstruction(CLS_LDST_SIMD); return; }
      index = (q << 2) | (s << 1) | (size >> 1);
      break;
    default: // 2
      if ((size & 2) != 0) { undefinedInstruction(CLS_LDST_SIMD); return; }
      if ((size & 1) == 0) index = (q << 1) | s;
      else {
        if (s != 0) { undefinedInstruction(CLS_LDST_SIMD); return; }
        index = q;
        scale = 3;
      }
  }
  if (!checkFpAccess()) return;
  const base = baseReg(rn);
  if (faulted) return;
  const ebytes: u32 = 1 << scale;
  if (l != 0) {
    for (let k: u32 = 0; k < selem; k++) {
      const v = readMem(base + k * ebytes, ebytes);
      if (faulted) return;
      store<u64>(TAB + (k << 3), v);
    }
    for (let k: u32 = 0; k < selem; k++) {
      const t = (rt + k) & 31;
      const v = load<u64>(TAB + (k << 3));
      if (replicate) putV(t, splat(v, scale), q);
      else eSet(vaddr(t), index, scale, v);
    }
  } else {
    for (let k: u32 = 0; k < selem; k++) {
      writeMem(base + k * ebytes, ebytes, eU(vaddr((rt + k) & 31), index, scale));
      if (faulted) return;
    }
  }
  if (post != 0) setXSP(rn, base + (rm == 31 ? <u64>(selem * ebytes) : xr(rm)));
}
