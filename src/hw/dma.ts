// What a DMA-capable device sees of memory: bus addresses, translated page
// by page by whoever owns the device (the hypervisor points a device at its
// owner's stage-2, so a bus address is an IPA of that domain and reaches
// only what the domain itself may reach). A device never touches machine
// memory any other way; an address its owner cannot reach is a DMA fault
// and the access does nothing.

export const DMA_PAGE = 4096;

export interface DmaSpace {
  // The 4 KiB page holding bus address `addr` (page-aligned view), or null
  // when the owner has nothing there (or nothing writable, for a write).
  page(addr: number, write: boolean): Uint8Array | null;
}

// A device with no owner: every access faults.
export const NO_DMA: DmaSpace = { page: () => null };

// Copies [addr, addr + into.length) from bus memory; false if any page of
// it faults (then `into` is partly filled and must not be used).
export function dmaRead(space: DmaSpace, addr: number, into: Uint8Array): boolean {
  let done = 0;
  while (done < into.length) {
    const a = addr + done;
    const off = a % DMA_PAGE;
    const n = Math.min(into.length - done, DMA_PAGE - off);
    const p = space.page(a - off, false);
    if (!p) return false;
    into.set(p.subarray(off, off + n), done);
    done += n;
  }
  return true;
}

// Copies `from` to bus memory at `addr`; false if a page faults (the pages
// before it were written, as a device's burst stops at the faulting one).
export function dmaWrite(space: DmaSpace, addr: number, from: Uint8Array): boolean {
  let done = 0;
  while (done < from.length) {
    const a = addr + done;
    const off = a % DMA_PAGE;
    const n = Math.min(from.length - done, DMA_PAGE - off);
    const p = space.page(a - off, true);
    if (!p) return false;
    p.set(from.subarray(done, done + n), off);
    done += n;
  }
  return true;
}
