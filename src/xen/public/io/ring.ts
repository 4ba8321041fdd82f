// xen/include/public/io/ring.h: the shared ring header; entries start at 64.

export const RING_HDR = { req_prod: 0, req_event: 4, rsp_prod: 8, rsp_event: 12, pvt: 16 } as const;
export const RING_ENTRIES_OFFSET = 64;

// Entries in a one-page ring: (4096 - 64) / entrySize rounded down to a power of two.
export function ringSize(entrySize: number, pageBytes = 4096): number {
  const n = Math.floor((pageBytes - RING_ENTRIES_OFFSET) / entrySize);
  return 1 << (31 - Math.clz32(n));
}

// RING_PUSH_*_AND_CHECK_NOTIFY: notify iff new - event < new - old (u32 arithmetic)
export function needNotify(oldProd: number, newProd: number, event: number): boolean {
  return ((newProd - event) >>> 0) < ((newProd - oldProd) >>> 0);
}
