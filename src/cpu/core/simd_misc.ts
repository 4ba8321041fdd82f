// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function twoRegMisc(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function scalarTwoRegMisc(insn: u32): void { undefinedInstruction(CLS_SIMD); }
