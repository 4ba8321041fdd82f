// stub
import { undefinedInstruction, CLS_SIMD } from "./exceptions";
export function indexedElem(insn: u32): void { undefinedInstruction(CLS_SIMD); }
export function scalarIndexedElem(insn: u32): void { undefinedInstruction(CLS_SIMD); }
