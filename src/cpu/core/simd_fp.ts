// Data processing - scalar floating point and Advanced SIMD (op0 = x111).
// Bit 28 set with bit 30 clear is the scalar floating-point group (fp.ts);
// everything else is Advanced SIMD and crypto (simd.ts). AdvSIMD groups that
// hold floating-point opcodes ask fpvec.ts first whether an encoding is
// theirs.

import { checkFpAccess } from "./fp_access";
import { execFpScalar } from "./fp";
import { execAdvSimd } from "./simd";

export function execSimdFp(insn: u32): void {
  if (!checkFpAccess()) return;
  if ((insn & 0x50000000) == 0x10000000) { execFpScalar(insn); return; }
  execAdvSimd(insn);
}
