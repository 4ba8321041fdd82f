// The base register of a load or store: SP when n == 31, with the SP
// alignment check (SCTLR_EL1.SA/SA0) every addressing form makes first.

import { el, curPC, xsp, sr, SR_SCTLR } from "./state";
import { takeSyncException, EC_SP_ALIGN } from "./exceptions";

// The base register: SP when n == 31, with the SP alignment check (SCTLR.SA/SA0).
@inline export function baseReg(n: u32): u64 {
  const b = xsp(n);
  if (n == 31 && (b & 15) != 0) {
    const bit: u64 = el == 0 ? 1 << 4 : 1 << 3;
    if ((sr(SR_SCTLR) & bit) != 0) {
      takeSyncException(EC_SP_ALIGN, 0, 0, false, curPC);
    }
  }
  return b;
}
