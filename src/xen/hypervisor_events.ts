// What the hypervisor tells its host about (Domain-0's toolstack and the
// machine's console listen): shutdowns, deaths and console output.

import type { Domain } from "./domain.js";

export interface HypervisorEvents {
  onShutdown?(d: Domain, reason: number): void;
  onDestroyed?(d: Domain): void;
  onConsoleWrite?(d: Domain, text: string): void; // console_io from a guest
  onVuartOutput?(d: Domain, byte: number): void; // the vpl011 transmitted a byte
  onSerialOutput?(bytes: Uint8Array): void; // the hardware domain's console_io, raw (its hvc0)
}
