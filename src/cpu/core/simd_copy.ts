// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function simdCopy(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function scalarCopy(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function modifiedImm(insn: u32): void { undefinedInstruction(CLS_SIMD); }
