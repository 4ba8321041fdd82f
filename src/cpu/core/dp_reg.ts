// Data processing (register): logical and add/sub (shifted, extended),
// add/sub with carry, conditional compare and select, 1- and 2-source
// (RBIT, REV*, CLZ, CLS, DIV, variable shifts, CRC32*), 3-source multiplies.

import { nzcv, xr, xsp, setX, setXSP, setNZCV } from "./state";
import {
  addFlags64, addFlags32, logicFlags64, logicFlags32, shift64, shift32, extendReg, condHolds, umulh, smulh, crc32,
} from "./alu";
import { undefinedInstruction, CLS_DP_REG } from "./exceptions";

export function execDpReg(insn: u32): void {
  const op1 = (insn >> 28) & 1;
  const op2 = (insn >> 21) & 0xF;
  if (op1 == 0) {
    if ((op2 & 8) == 0) { logicalShifted(insn); return; }
    if ((op2 & 1) == 0) { addSubShifted(insn); return; }
    addSubExtended(insn); return;
  }
  if ((op2 & 8) != 0) { dp3(insn); return; }
  switch (op2) {
    case 0: adcSbc(insn); return;
    case 2: condCompare(insn); return;
    case 4: condSelect(insn); return;
    case 6:
      if (((insn >> 30) & 1) == 0) dp2(insn); else dp1(insn);
      return;
    default: undefinedInstruction(CLS_DP_REG);
  }
}

@inline function logicalShifted(insn: u32): void {
  const sf = insn >> 31, opc = (insn >> 29) & 3, type = (insn >> 22) & 3, n = (insn >> 21) & 1;
  const rm = (insn >> 16) & 31, imm6 = (insn >> 10) & 0x3F, rn = (insn >> 5) & 31, rd = insn & 31;
  if (sf == 0 && imm6 > 31) { undefinedInstruction(CLS_DP_REG); return; }
  if (sf != 0) {
    let b = shift64(xr(rm), type, imm6);
    if (n != 0) b = ~b;
    const a = xr(rn);
    let res: u64;
    switch (opc) {
      case 0: res = a & b; break;
      case 1: res = a | b; break;
      case 2: res = a ^ b; break;
      default: res = a & b; setNZCV(logicFlags64(res));
    }
    setX(rd, res);
  } else {
    let b = shift32(<u32>xr(rm), type, imm6);
    if (n != 0) b = ~b;
    const a = <u32>xr(rn);
    let res: u32;
    switch (opc) {
      case 0: res = a & b; break;
      case 1: res = a | b; break;
      case 2: res = a ^ b; break;
      default: res = a & b; setNZCV(logicFlags32(res));
    }
    setX(rd, <u64>res);
  }
}

@inline function addSubShifted(insn: u32): void {
  const sf = insn >> 31, op = (insn >> 30) & 1, s = (insn >> 29) & 1, type = (insn >> 22) & 3;
  const rm = (insn >> 16) & 31, imm6 = (insn >> 10) & 0x3F, rn = (insn >> 5) & 31, rd = insn & 31;
  if (type == 3 || (sf == 0 && imm6 > 31)) { undefinedInstruction(CLS_DP_REG); return; }
  if (sf != 0) {
    let b = shift64(xr(rm), type, imm6);
    if (op != 0) b = ~b;
    const a = xr(rn);
    const res = a + b + <u64>op;
    if (s != 0) setNZCV(addFlags64(a, b, op, res));
    setX(rd, res);
  } else {
    let b = shift32(<u32>xr(rm), type, imm6);
    if (op != 0) b = ~b;
    const a = <u32>xr(rn);
    const res = a + b + op;
    if (s != 0) setNZCV(addFlags32(a, b, op, res));
    setX(rd, <u64>res);
  }
}

function addSubExtended(insn: u32): void {
  const sf = insn >> 31, op = (insn >> 30) & 1, s = (insn >> 29) & 1, opt = (insn >> 22) & 3;
  const rm = (insn >> 16) & 31, option = (insn >> 13) & 7, imm3 = (insn >> 10) & 7;
  const rn = (insn >> 5) & 31, rd = insn & 31;
  if (opt != 0 || imm3 > 4) { undefinedInstruction(CLS_DP_REG); return; }
  const a = xsp(rn);
  let b = extendReg(xr(rm), option, imm3);
  if (sf != 0) {
    if (op != 0) b = ~b;
    const res = a + b + <u64>op;
    if (s != 0) { setNZCV(addFlags64(a, b, op, res)); setX(rd, res); }
    else setXSP(rd, res);
  } else {
    const a32 = <u32>a;
    let b32 = <u32>b;
    if (op != 0) b32 = ~b32;
    const res = a32 + b32 + op;
    if (s != 0) { setNZCV(addFlags32(a32, b32, op, res)); setX(rd, <u64>res); }
    else setXSP(rd, <u64>res);
  }
}

function adcSbc(insn: u32): void {
  const sf = insn >> 31, op = (insn >> 30) & 1, s = (insn >> 29) & 1;
  if (((insn >> 10) & 0x3F) != 0) { undefinedInstruction(CLS_DP_REG); return; }
  const rm = (insn >> 16) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  const c: u32 = (nzcv >> 1) & 1;
  if (sf != 0) {
    const a = xr(rn);
    let b = xr(rm);
    if (op != 0) b = ~b;
    const res = a + b + <u64>c;
    if (s != 0) setNZCV(addFlags64(a, b, c, res));
    setX(rd, res);
  } else {
    const a = <u32>xr(rn);
    let b = <u32>xr(rm);
    if (op != 0) b = ~b;
    const res = a + b + c;
    if (s != 0) setNZCV(addFlags32(a, b, c, res));
    setX(rd, <u64>res);
  }
}

function condCompare(insn: u32): void {
  const sf = insn >> 31, op = (insn >> 30) & 1, s = (insn >> 29) & 1;
  const isImm = (insn >> 11) & 1, o2 = (insn >> 10) & 1, o3 = (insn >> 4) & 1;
  if (s == 0 || o2 != 0 || o3 != 0) { undefinedInstruction(CLS_DP_REG); return; }
  const cond = (insn >> 12) & 0xF;
  if (!condHolds(cond)) { setNZCV(insn & 0xF); return; }
  const rn = (insn >> 5) & 31, rmOrImm = (insn >> 16) & 31;
  if (sf != 0) {
    const a = xr(rn);
    let b: u64 = isImm != 0 ? <u64>rmOrImm : xr(rmOrImm);
    if (op != 0) b = ~b;
    setNZCV(addFlags64(a, b, op, a + b + <u64>op));
  } else {
    const a = <u32>xr(rn);
    let b: u32 = isImm != 0 ? rmOrImm : <u32>xr(rmOrImm);
    if (op != 0) b = ~b;
    setNZCV(addFlags32(a, b, op, a + b + op));
  }
}

function condSelect(insn: u32): void {
  const sf = insn >> 31, op = (insn >> 30) & 1, s = (insn >> 29) & 1, op2 = (insn >> 10) & 3;
  if (s != 0 || op2 > 1) { undefinedInstruction(CLS_DP_REG); return; }
  const rm = (insn >> 16) & 31, cond = (insn >> 12) & 0xF, rn = (insn >> 5) & 31, rd = insn & 31;
  let res: u64;
  if (condHolds(cond)) res = xr(rn);
  else {
    res = xr(rm);
    if (op != 0) res = ~res;
    if (op2 != 0) res += 1;
  }
  if (sf == 0) res &= 0xFFFFFFFF;
  setX(rd, res);
}

function dp2(insn: u32): void {
  const sf = insn >> 31, s = (insn >> 29) & 1, opcode = (insn >> 10) & 0x3F;
  const rm = (insn >> 16) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  if (s != 0) { undefinedInstruction(CLS_DP_REG); return; }
  if (opcode >= 0x10 && opcode <= 0x17) {
    const sz = opcode & 3;
    if ((sz == 3) != (sf != 0)) { undefinedInstruction(CLS_DP_REG); return; }
    setX(rd, <u64>crc32(<u32>xr(rn), xr(rm), 1 << sz, (opcode & 4) != 0));
    return;
  }
  if (sf != 0) {
    const a = xr(rn), b = xr(rm);
    let res: u64;
    switch (opcode) {
      case 2: res = b == 0 ? 0 : a / b; break;
      case 3: res = b == 0 ? 0 : (<i64>a == i64.MIN_VALUE && <i64>b == -1 ? a : <u64>(<i64>a / <i64>b)); break;
      case 8: res = a << (b & 63); break;
      case 9: res = a >> (b & 63); break;
      case 10: res = <u64>(<i64>a >> (b & 63)); break;
      case 11: res = rotr<u64>(a, b & 63); break;
      default: undefinedInstruction(CLS_DP_REG); return;
    }
    setX(rd, res);
  } else {
    const a = <u32>xr(rn), b = <u32>xr(rm);
    let res: u32;
    switch (opcode) {
      case 2: res = b == 0 ? 0 : a / b; break;
      case 3: res = b == 0 ? 0 : (<i32>a == i32.MIN_VALUE && <i32>b == -1 ? a : <u32>(<i32>a / <i32>b)); break;
      case 8: res = a << (b & 31); break;
      case 9: res = a >> (b & 31); break;
      case 10: res = <u32>(<i32>a >> (b & 31)); break;
      case 11: res = rotr<u32>(a, b & 31); break;
      default: undefinedInstruction(CLS_DP_REG); return;
    }
    setX(rd, <u64>res);
  }
}

@inline function rev16x(v: u64): u64 {
  return ((v & 0x00FF00FF00FF00FF) << 8) | ((v >> 8) & 0x00FF00FF00FF00FF);
}
@inline function bswap64(v: u64): u64 {
  v = rev16x(v);
  v = ((v & 0x0000FFFF0000FFFF) << 16) | ((v >> 16) & 0x0000FFFF0000FFFF);
  return (v << 32) | (v >> 32);
}
export function rbit64(v: u64): u64 {
  v = ((v >> 1) & 0x5555555555555555) | ((v & 0x5555555555555555) << 1);
  v = ((v >> 2) & 0x3333333333333333) | ((v & 0x3333333333333333) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0F) | ((v & 0x0F0F0F0F0F0F0F0F) << 4);
  return bswap64(v);
}

function dp1(insn: u32): void {
  const sf = insn >> 31, s = (insn >> 29) & 1, opcode2 = (insn >> 16) & 31, opcode = (insn >> 10) & 0x3F;
  const rn = (insn >> 5) & 31, rd = insn & 31;
  if (s != 0 || opcode2 != 0) { undefinedInstruction(CLS_DP_REG); return; }
  const a = xr(rn);
  let res: u64;
  if (sf != 0) {
    switch (opcode) {
      case 0: res = rbit64(a); break;
      case 1: res = rev16x(a); break;
      case 2: { const r = bswap64(a); res = (r >> 32) | (r << 32); break; } // REV32
      case 3: res = bswap64(a); break;
      case 4: res = clz<u64>(a); break;
      case 5: res = clz<u64>(a ^ <u64>(<i64>a >> 1)) - 1; break; // CLS
      default: undefinedInstruction(CLS_DP_REG); return;
    }
  } else {
    const w = <u32>a;
    switch (opcode) {
      case 0: res = rbit64(<u64>w) >> 32; break;
      case 1: res = rev16x(<u64>w) & 0xFFFFFFFF; break;
      case 2: res = <u64>bswap<u32>(w); break;
      case 4: res = clz<u32>(w); break;
      case 5: res = clz<u32>(w ^ <u32>(<i32>w >> 1)) - 1; break;
      default: undefinedInstruction(CLS_DP_REG); return;
    }
  }
  setX(rd, res);
}

function dp3(insn: u32): void {
  const sf = insn >> 31, op54 = (insn >> 29) & 3, op31 = (insn >> 21) & 7, o0 = (insn >> 15) & 1;
  const rm = (insn >> 16) & 31, ra = (insn >> 10) & 31, rn = (insn >> 5) & 31, rd = insn & 31;
  if (op54 != 0) { undefinedInstruction(CLS_DP_REG); return; }
  const a = xr(rn), b = xr(rm);
  if (op31 == 0) {
    const acc = xr(ra);
    let res = o0 != 0 ? acc - a * b : acc + a * b;
    if (sf == 0) res &= 0xFFFFFFFF;
    setX(rd, res);
    return;
  }
  if (sf == 0) { undefinedInstruction(CLS_DP_REG); return; }
  switch ((op31 << 1) | o0) {
    case 2: setX(rd, xr(ra) + <u64>(<i64><i32>a * <i64><i32>b)); return; // SMADDL
    case 3: setX(rd, xr(ra) - <u64>(<i64><i32>a * <i64><i32>b)); return; // SMSUBL
    case 4: setX(rd, smulh(a, b)); return; // SMULH
    case 10: setX(rd, xr(ra) + (a & 0xFFFFFFFF) * (b & 0xFFFFFFFF)); return; // UMADDL
    case 11: setX(rd, xr(ra) - (a & 0xFFFFFFFF) * (b & 0xFFFFFFFF)); return; // UMSUBL
    case 12: setX(rd, umulh(a, b)); return; // UMULH
    default: undefinedInstruction(CLS_DP_REG);
  }
}
