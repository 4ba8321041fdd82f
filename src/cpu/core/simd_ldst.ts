// AdvSIMD structure loads and stores: LD1-LD4 / ST1-ST4 (multiple
// structures), single-lane and replicating (LD1R-LD4R) forms, with and
// without post-index.

import { undefinedInstruction, CLS_LDST_SIMD } from "./exceptions";

export function execSimdLdSt(insn: u32): void {
  undefinedInstruction(CLS_LDST_SIMD);
}
