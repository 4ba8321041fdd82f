// Scalar floating point (the "Floating-point" groups of the A64 decode
// tree): data processing with 1, 2 and 3 sources, compare, conditional
// compare and select, immediate moves, and conversions to and from integers
// and fixed point.

import { undefinedInstruction, CLS_FP } from "./exceptions";

export function execFpScalar(insn: u32): void {
  undefinedInstruction(CLS_FP);
}
