// A vCPU's runstate area in guest memory (VCPUOP_register_runstate_memory_area):
// what Linux reads for steal time. Written as Xen's update_runstate_area does,
// with XEN_RUNSTATE_UPDATE set around the update when the guest asked for it
// (VMASST_TYPE_runstate_update_flag).

import type { Domain } from "./domain.js";
import type { Vcpu } from "./vcpu.js";
import { vcpu_runstate_info, XEN_RUNSTATE_UPDATE, VMASST_TYPE_runstate_update_flag } from "./public/xen.js";

const F = vcpu_runstate_info.fields;

export function writeRunstate(d: Domain, v: Vcpu): void {
  const ipa = v.state.walk(v.runstateVa!, true);
  if (ipa === null) return;
  const h = d.p2m.hostAddr(ipa, true);
  if (h < 0 || Number(ipa & 0xFFFn) + vcpu_runstate_info.size > 4096) return;
  const dv = d.view;
  d.noteWrite(h, vcpu_runstate_info.size);
  const flagged = (d.vmAssist & (1n << BigInt(VMASST_TYPE_runstate_update_flag))) !== 0n;
  const entry = v.runstateEntry;
  if (flagged) dv.setBigUint64(h + F.state_entry_time.offset, entry | XEN_RUNSTATE_UPDATE, true);
  dv.setInt32(h + F.state.offset, v.runstate, true);
  // time[] up to the current state's entry, as Xen keeps it
  for (let i = 0; i < 4; i++) dv.setBigUint64(h + F.time.offset + i * 8, v.runstateTime[i], true);
  dv.setBigUint64(h + F.state_entry_time.offset, entry, true);
}
