// What the control domain's kernel gives its tools: the hypercall
// instruction (as Linux's /dev/xen/privcmd does), the domain's own
// guest-physical memory as its CPU would reach it through stage 2, and the
// event upcall. The host hands an object of this shape to the tools; the
// tools reach the hypervisor through nothing else.

export interface GuestPhysMemory {
  // The bytes of one page at `ipa` (page aligned) as a live view, or null if
  // unmapped (or, when `write` is asked, mapped read-only). A read-only
  // page's view must only be read, as a CPU could only load from it.
  page(ipa: bigint, write?: boolean): Uint8Array | null;
  // The same over as much of [ipa, ipa + len) as lies in pages that follow
  // each other in the host too (at least to the end of ipa's page), or null
  // if ipa's page is unmapped: copies of many pages go at once.
  span(ipa: bigint, len: number, write: boolean): Uint8Array | null;
}

export interface Privcmd {
  readonly domid: number;
  hypercall(nr: number, args: bigint[]): bigint;
  readonly memory: GuestPhysMemory;
  // Called when the domain's evtchn_upcall_pending goes from 0 to 1.
  setUpcallHandler(h: () => void): void;
  readonly ramBase: bigint; // the domain's RAM (guest-physical)
  readonly ramBytes: number;
  readonly windowBase: bigint; // unpopulated guest-physical space for foreign and grant mappings
  readonly windowPages: number;
}
