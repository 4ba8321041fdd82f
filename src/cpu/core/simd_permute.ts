// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function simdPermute(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function simdExt(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function simdTbl(insn: u32): void { undefinedInstruction(CLS_SIMD); }
