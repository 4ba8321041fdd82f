// CPACR_EL1.FPEN: whether FP/AdvSIMD instructions trap (EC 0x07) at the
// current EL. Recomputed when CPACR or the EL changes, checked by every
// FP/AdvSIMD instruction and SIMD&FP load/store.

import { el, curPC, sr, SR_CPACR } from "./state";
import { takeSyncException, EC_FP_ACCESS } from "./exceptions";

export let fpEnabled: bool = true;

export function refreshFpEnabled(): void {
  const fpen = <u32>(sr(SR_CPACR) >> 20) & 3;
  fpEnabled = fpen == 3 || (fpen == 1 && el != 0);
}

// Returns true when the instruction may proceed; otherwise the trap is taken.
@inline export function checkFpAccess(): bool {
  if (fpEnabled) return true;
  refreshFpEnabled(); // the EL may have changed since the last refresh
  if (fpEnabled) return true;
  takeSyncException(EC_FP_ACCESS, 0x1E00000, 0, false, curPC);
  return false;
}
