// Data processing - scalar floating point and Advanced SIMD (op0 = x111).

import { undefinedInstruction, CLS_SIMD } from "./exceptions";

export function execSimdFp(insn: u32): void {
  undefinedInstruction(CLS_SIMD);
}
