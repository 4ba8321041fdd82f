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
