// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function acrossLanes(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function scalarPairwise(insn: u32): void { undefinedInstruction(CLS_SIMD); }
