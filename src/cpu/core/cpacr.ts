// CPACR_EL1.FPEN at the current EL: whether FP/AdvSIMD instructions may run
// or trap (EC 0x07). Recomputed when CPACR or the EL changes (exception entry
// and return, MSR); fp_access.ts takes the trap.

import { el, sr, SR_CPACR } from "./state";

export let fpEnabled: bool = true;

export function refreshFpEnabled(): void {
  const fpen = <u32>(sr(SR_CPACR) >> 20) & 3;
  fpEnabled = fpen == 3 || (fpen == 1 && el != 0);
}
