// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function threeDiff(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function scalarThreeDiff(insn: u32): void { undefinedInstruction(CLS_SIMD); }
