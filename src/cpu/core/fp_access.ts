// The FP/AdvSIMD access check every FP/AdvSIMD instruction and SIMD&FP
// load/store makes first (the enable itself is cpacr.ts).

import { curPC } from "./state";
import { takeSyncException, EC_FP_ACCESS } from "./exceptions";
import { fpEnabled, refreshFpEnabled } from "./cpacr";

// Returns true when the instruction may proceed; otherwise the trap is taken.
@inline export function checkFpAccess(): bool {
  if (fpEnabled) return true;
  refreshFpEnabled(); // the EL may have changed since the last refresh
  if (fpEnabled) return true;
  takeSyncException(EC_FP_ACCESS, 0x1E00000, 0, false, curPC);
  return false;
}
