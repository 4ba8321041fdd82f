// xen/include/public/io/blkif.h: the block ring protocol between
// xen-blkfront and a block backend. Ring entries are a union of the request
// forms (112 bytes on AArch64) and the response (16 bytes).

import { struct, registered } from "../layout.js";

export const BLKIF_OP = { read: 0, write: 1, write_barrier: 2, flush_diskcache: 3, discard: 5, indirect: 6 } as const;
export const BLKIF_RSP = { okay: 0, error: -1, eopnotsupp: -2 } as const;
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
export const BLKIF_DISCARD_SECURE = 1;
export const SEGS_PER_INDIRECT_FRAME = 4096 / 8; // blkif_request_segment entries in one indirect page
export const VDISK = { cdrom: 1, removable: 2, readonly: 4 } as const;
export const BLKIF_SECTOR = 512; // the unit of sector_number and first/last_sect

export const blkif_request_segment = registered(struct("blkif_request_segment", 8, {
  gref: [0, "u32"], first_sect: [4, "u8"], last_sect: [5, "u8"],
}));
export const blkif_request = registered(struct("blkif_request", 112, {
  operation: [0, "u8"], nr_segments: [1, "u8"], handle: [2, "u16"], id: [8, "u64"], sector_number: [16, "u64"], seg: [24, "bytes", 88],
}));
export const blkif_request_discard = registered(struct("blkif_request_discard", 32, {
  operation: [0, "u8"], flag: [1, "u8"], handle: [2, "u16"], id: [8, "u64"], sector_number: [16, "u64"], nr_sectors: [24, "u64"],
}));
export const blkif_request_indirect = registered(struct("blkif_request_indirect", 64, {
  operation: [0, "u8"], indirect_op: [1, "u8"], nr_segments: [2, "u16"], id: [8, "u64"], sector_number: [16, "u64"],
  handle: [24, "u16"], indirect_grefs: [28, "bytes", 32], // the i386-only pad is absent on AArch64
}));
export const blkif_response = registered(struct("blkif_response", 16, {
  id: [0, "u64"], operation: [8, "u8"], status: [10, "i16"],
}));
export const BLKIF_RING_ENTRY = 112; // sizeof(union blkif_sring_entry)
