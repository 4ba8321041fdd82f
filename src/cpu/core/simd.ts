// Advanced SIMD data processing (vector and scalar forms) and the crypto
// extension groups.

import { undefinedInstruction, CLS_SIMD } from "./exceptions";

export function execAdvSimd(insn: u32): void {
  undefinedInstruction(CLS_SIMD);
}
