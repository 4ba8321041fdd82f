// xen/include/public/grant_table.h (v1 entries; v2 is refused)

import { struct, registered } from "./layout.js";

export const GNTTABOP = {
  map_grant_ref: 0, unmap_grant_ref: 1, setup_table: 2, dump_table: 3, transfer: 4, copy: 5, query_size: 6,
  unmap_and_replace: 7, set_version: 8, get_status_frames: 9, get_version: 10, swap_grant_ref: 11, cache_flush: 12,
} as const;
export const GNTST = {
  okay: 0, general_error: -1, bad_domain: -2, bad_gntref: -3, bad_handle: -4, bad_virt_addr: -5, bad_dev_addr: -6,
  no_device_space: -7, permission_denied: -8, bad_page: -9, bad_copy_arg: -10, address_too_big: -11, eagain: -12,
  no_space: -13,
} as const;
export const GTF_invalid = 0, GTF_permit_access = 1, GTF_accept_transfer = 2, GTF_transitive = 3;
export const GTF_type_mask = 3;
export const GTF_readonly = 1 << 2, GTF_reading = 1 << 3, GTF_writing = 1 << 4;
export const GNTMAP_device_map = 1, GNTMAP_host_map = 2, GNTMAP_readonly = 4, GNTMAP_application_map = 8, GNTMAP_contains_pte = 16;
export const GNTCOPY_source_gref = 1, GNTCOPY_dest_gref = 2;
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
export const GNTTAB_RESERVED_CONSOLE = 0, GNTTAB_RESERVED_XENSTORE = 1;
export const GRANT_ENTRIES_V1_PER_FRAME = 512;

export const grant_entry_v1 = registered(struct("grant_entry_v1", 8, { flags: [0, "u16"], domid: [2, "u16"], frame: [4, "u32"] }));
export const gnttab_query_size = registered(struct("gnttab_query_size", 16, {
  dom: [0, "u16"], nr_frames: [4, "u32"], max_nr_frames: [8, "u32"], status: [12, "i16"],
}));
export const gnttab_set_version = registered(struct("gnttab_set_version", 4, { version: [0, "u32"] }));
export const gnttab_get_version = registered(struct("gnttab_get_version", 8, { dom: [0, "u16"], pad: [2, "u16"], version: [4, "u32"] }));
export const gnttab_setup_table = registered(struct("gnttab_setup_table", 24, {
  dom: [0, "u16"], nr_frames: [4, "u32"], status: [8, "i16"], frame_list: [16, "u64"],
}));
export const gnttab_map_grant_ref = registered(struct("gnttab_map_grant_ref", 32, {
  host_addr: [0, "u64"], flags: [8, "u32"], ref: [12, "u32"], dom: [16, "u16"], status: [18, "i16"], handle: [20, "u32"], dev_bus_addr: [24, "u64"],
}));
export const gnttab_unmap_grant_ref = registered(struct("gnttab_unmap_grant_ref", 24, {
  host_addr: [0, "u64"], dev_bus_addr: [8, "u64"], handle: [16, "u32"], status: [20, "i16"],
}));
// gnttab_copy: source and dest are { u: ref (u32) or gmfn (u64) @0, domid u16 @8, offset u16 @10 }
export const gnttab_copy = registered(struct("gnttab_copy", 40, {
  src_u: [0, "u64"], src_domid: [8, "u16"], src_offset: [10, "u16"],
  dst_u: [16, "u64"], dst_domid: [24, "u16"], dst_offset: [26, "u16"],
  len: [32, "u16"], flags: [34, "u16"], status: [36, "i16"],
}));
