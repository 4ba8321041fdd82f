// The TLB sets a vCPU uses now and the instruction-fetch page cache: which
// of its three sets (EL0, EL1, EL1 with PAN) ordinary loads, stores and
// fetches go through. Kept apart from the MMU's walks so that exception entry
// and return (which change the EL) can switch sets without importing them.

import { cpu, el, pan, OFF_TLB } from "./state";

// Three direct-mapped sets per vCPU (EL0, EL1, EL1 with PAN set), each
// entry { readTag, writeTag, execTag, addend }. A tag is the VA page number
// the entry permits that access for; all-ones means invalid. 4096 entries:
// a Linux boot missed 404 K times with 1024, 307 K with 4096 (each miss a
// stage-1 walk with a stage-2 walk per level, and a way out of translated
// code). Translated code probes with the same mask (translate_page.ts).
export const TLB_ENTRIES: u32 = 4096;
export const TLB_MASK: u64 = 4095;
export const TLB_SET_BYTES: u32 = TLB_ENTRIES * 32;

export let tlbData: usize = 0; // set used by ordinary loads/stores at the current EL and PAN
export let tlbFetch: usize = 0; // set used for instruction fetch at the current EL

// Instruction fetch page cache
export let fetchVpn: u64 = <u64>-1;
export let fetchHost: usize = 0;

export function setFetch(vpn: u64, host: usize): void { fetchVpn = vpn; fetchHost = host; }
export function invalidateFetch(): void { fetchVpn = <u64>-1; }

export function selectTlb(): void {
  const base = cpu + OFF_TLB;
  tlbFetch = base + (el == 0 ? 0 : TLB_SET_BYTES);
  tlbData = base + (el == 0 ? 0 : (pan != 0 ? 2 * TLB_SET_BYTES : TLB_SET_BYTES));
  fetchVpn = <u64>-1;
}
