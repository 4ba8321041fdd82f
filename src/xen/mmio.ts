// Emulated MMIO regions of a domain, and the data-abort handler that decodes
// the ESR_EL2 syndrome (ISV, SAS, SSE, SRT, SF, WnR) to emulate an access.

import type { VcpuState } from "../cpu/cpu.js";

export interface MmioRegion {
  name: string;
  base: bigint;
  size: bigint;
  read(vcpuIndex: number, offset: number, size: number): bigint;
  write(vcpuIndex: number, offset: number, size: number, value: bigint): void;
}

export class MmioBus {
  private regions: MmioRegion[] = [];
  add(r: MmioRegion): void {
    for (const o of this.regions) {
      if (r.base < o.base + o.size && o.base < r.base + r.size) throw new Error(`MMIO region ${r.name} overlaps ${o.name}`);
    }
    this.regions.push(r);
  }
  remove(r: MmioRegion): void { this.regions = this.regions.filter((o) => o !== r); }
  find(ipa: bigint): MmioRegion | undefined {
    for (const r of this.regions) if (ipa >= r.base && ipa < r.base + r.size) return r;
    return undefined;
  }
  list(): readonly MmioRegion[] { return this.regions; }
}

export type MmioResult = "done" | "no-region" | "no-syndrome";

// Emulate the access a DABT exit describes. On "done" the PC has been
// advanced past the instruction; otherwise the caller injects an abort.
export function emulateMmio(bus: MmioBus, vcpuIndex: number, st: VcpuState, ipa: bigint): MmioResult {
  const region = bus.find(ipa);
  if (!region) return "no-region";
  const iss = Number(st.exitEsr & 0x1FFFFFFn);
  if (((iss >> 24) & 1) === 0) return "no-syndrome";
  const size = 1 << ((iss >> 22) & 3);
  const sse = (iss >> 21) & 1;
  const srt = (iss >> 16) & 31;
  const sf = (iss >> 15) & 1;
  const write = ((iss >> 6) & 1) === 1;
  const off = Number(ipa - region.base);
  const mask = size === 8 ? 0xFFFFFFFFFFFFFFFFn : (1n << BigInt(size * 8)) - 1n;
  if (write) {
    const v = srt === 31 ? 0n : st.x(srt) & mask;
    region.write(vcpuIndex, off, size, v);
  } else {
    let v = region.read(vcpuIndex, off, size) & mask;
    if (sse && size < 8) v = BigInt.asUintN(64, BigInt.asIntN(size * 8, v));
    if (!sf) v &= 0xFFFFFFFFn;
    if (srt !== 31) st.setX(srt, v);
  }
  st.pc = st.pc + 4n;
  return "done";
}
