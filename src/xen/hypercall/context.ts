// What a hypercall handler is given: the calling domain and vCPU, its guest
// memory, and the hypervisor's services through a narrow interface (the
// Hypervisor class implements it; handlers never import the hypervisor), plus
// the helpers every handler shares (continuations, the target domain).

import type { Domain, DomainConfig } from "../domain.js";
import type { Vcpu } from "../vcpu.js";
import type { GuestAccess } from "../guest_access.js";
import type { FrameAllocator } from "../frames.js";
import type { SerialRx } from "../serial_rx.js";
import type { ConsoleRing } from "../console_ring.js";
import type { HypervisorEvents } from "../hypervisor_events.js";
import type { MachineDevices } from "../device_assign.js";
import type { Core } from "../../cpu/cpu.js";
import { XEN_E } from "../public/xen.js";

// A hypercall's error return: -errno as the 64-bit value in x0.
export const neg = (e: number): bigint => BigInt(-e);

// The hypervisor as hypercall handlers see it.
export interface HypercallServices {
  readonly domains: ReadonlyMap<number, Domain>;
  readonly frames: FrameAllocator;
  readonly core: Core;
  readonly serialRx: SerialRx;
  readonly conring: ConsoleRing;
  readonly events: HypervisorEvents;
  readonly commandline: string;
  log(line: string): void;
  createDomain(cfg: DomainConfig): Domain;
  freeDomid(): number;
  destroy(d: Domain): boolean;
  shutdown(d: Domain, reason: number): void;
  resume(d: Domain): void;
  pause(d: Domain): void;
  unpause(d: Domain): void;
  tryWake(d: Domain, v: Vcpu): boolean;
  requestYield(): void;
  setRunstate(v: Vcpu, state: number): void;
  hasAssignedDevices(d: Domain): boolean; // its devices' DMA goes through its stage-2
  readonly devices: MachineDevices; // the machine's devices and their owners
}

export interface HypercallContext {
  hv: HypercallServices;
  d: Domain;
  v: Vcpu;
  g: GuestAccess;
  nested?: boolean; // inside a multicall: no continuations
}

// Xen's hypercall_create_continuation on Arm: a long call goes back to the
// guest with its arguments moved on and its PC on the HVC again, so it is
// done in pieces with the scheduler running between them and no guest can
// hold the host in one hypercall. Only a vCPU that runs can continue; the
// control domain's calls (privcmd) and nested calls run to the end.
export function canContinue(c: HypercallContext): boolean { return !c.nested && !c.d.cfg.cpuless; }
export function continuation(c: HypercallContext, args: bigint[]): null {
  const st = c.v.state;
  args.forEach((a, i) => st.setX(i, BigInt.asUintN(64, a)));
  st.pc = st.pc - 4n;
  return null;
}
export type Handler = (c: HypercallContext, a: bigint[]) => bigint | null;

// The domain a call names: DOMID_SELF or our own id, or any domain for a privileged caller.
export function targetDomain(c: HypercallContext, domid: number): Domain | { err: number } {
  if (domid === 0x7FF0 || domid === c.d.id) return c.d;
  if (!c.d.privileged) return { err: XEN_E.EPERM };
  const t = c.hv.domains.get(domid);
  return t ?? { err: XEN_E.ESRCH };
}
