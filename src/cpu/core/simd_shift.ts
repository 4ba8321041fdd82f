// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function shiftImm(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function scalarShiftImm(insn: u32): void { undefinedInstruction(CLS_SIMD); }
