// xen/include/public/xen.h, errno.h, version.h, features.h, sched.h, vcpu.h,
// memory.h, hvm/params.h, hvm/hvm_op.h: hypercall numbers, constants and the
// structs a guest or the control domain passes to them.

import { struct, registered } from "./layout.js";

export const XEN_HYPERCALL_TAG = 0xEA1; // HVC immediate of a Xen hypercall on Arm

export const HYPERVISOR = {
  sched_op_compat: 6, platform_op: 7, memory_op: 12, multicall: 13, event_channel_op_compat: 16, xen_version: 17,
  console_io: 18, physdev_op_compat: 19, grant_table_op: 20, vm_assist: 21, vcpu_op: 24, xsm_op: 27, sched_op: 29,
  event_channel_op: 32, physdev_op: 33, hvm_op: 34, sysctl: 35, domctl: 36, argo_op: 39, dm_op: 41, hypfs_op: 42,
} as const;

export const DOMID_FIRST_RESERVED = 0x7FF0;
export const DOMID_SELF = 0x7FF0;
export const DOMID_IO = 0x7FF1;
export const DOMID_XEN = 0x7FF2;
export const DOMID_COW = 0x7FF3;
export const DOMID_INVALID = 0x7FF4;
export const DOMID_IDLE = 0x7FFF;

// xen/include/public/errno.h (positive values; hypercalls return -E)
export const XEN_E = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, EISDIR: 21,
  EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOSPC: 28, EROFS: 30, EMLINK: 31, EDOM: 33, ERANGE: 34, EDEADLK: 35,
  ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ENODATA: 61, ETIME: 62, EBADMSG: 74, EOVERFLOW: 75,
  EILSEQ: 84, ERESTART: 85, ENOTSOCK: 88, EMSGSIZE: 90, EOPNOTSUPP: 95, EADDRINUSE: 98, EADDRNOTAVAIL: 99,
  ENOBUFS: 105, EISCONN: 106, ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111,
} as const;

// vm_assist
export const VMASST_CMD_enable = 0, VMASST_CMD_disable = 1;
export const VMASST_TYPE_runstate_update_flag = 5;

// version.h
export const XENVER = {
  version: 0, extraversion: 1, compile_info: 2, capabilities: 3, changeset: 4, platform_parameters: 5,
  get_features: 6, pagesize: 7, guest_handle: 8, commandline: 9, build_id: 10,
} as const;
export const XEN_VERSION_MAJOR = 4, XEN_VERSION_MINOR = 17;
export const XEN_EXTRAVERSION = ".0-xents";

// features.h (the bits Xen 4.17 on Arm reports to a domU, plus dom0)
export const XENFEAT = {
  writable_page_tables: 0, auto_translated_physmap: 2, dom0: 11, memory_op_vnode_supported: 13,
  ARM_SMCCC_supported: 14, not_direct_mapped: 16, direct_mapped: 17,
} as const;

export const xen_feature_info = registered(struct("xen_feature_info", 8, {
  submap_idx: [0, "u32"], submap: [4, "u32"],
}));

// sched.h
export const SCHEDOP = { yield: 0, block: 1, shutdown: 2, poll: 3, remote_shutdown: 4, shutdown_code: 5, watchdog: 6 } as const;
export const SHUTDOWN = { poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4, soft_reset: 5 } as const;
export const SHUTDOWN_NAMES = ["poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"];
export const sched_shutdown = registered(struct("sched_shutdown", 4, { reason: [0, "u32"] }));
export const sched_poll = registered(struct("sched_poll", 24, { ports: [0, "u64"], nr_ports: [8, "u32"], timeout: [16, "u64"] }));
export const sched_remote_shutdown = registered(struct("sched_remote_shutdown", 8, { domain_id: [0, "u16"], reason: [4, "u32"] }));

// vcpu.h
export const VCPUOP = {
  initialise: 0, up: 1, down: 2, is_up: 3, get_runstate_info: 4, register_runstate_memory_area: 5,
  set_periodic_timer: 6, stop_periodic_timer: 7, set_singleshot_timer: 8, stop_singleshot_timer: 9,
  register_vcpu_info: 10, send_nmi: 11, get_physid: 12, register_vcpu_time_memory_area: 13,
} as const;
export const RUNSTATE = { running: 0, runnable: 1, blocked: 2, offline: 3 } as const;
export const XEN_RUNSTATE_UPDATE = 1n << 63n;
export const vcpu_register_vcpu_info = registered(struct("vcpu_register_vcpu_info", 16, {
  mfn: [0, "u64"], offset: [8, "u32"], rsvd: [12, "u32"],
}));
export const vcpu_register_runstate_memory_area = registered(struct("vcpu_register_runstate_memory_area", 8, { addr: [0, "u64"] }));
export const vcpu_runstate_info = registered(struct("vcpu_runstate_info", 48, {
  state: [0, "i32"], state_entry_time: [8, "u64"], time: [16, "bytes", 32],
}));

// The per-vCPU and shared pages (xen.h)
export const vcpu_info = registered(struct("vcpu_info", 48, {
  evtchn_upcall_pending: [0, "u8"], pad0: [1, "u8"], evtchn_pending_sel: [8, "u64"], time: [16, "bytes", 32],
}));
export const shared_info = registered(struct("shared_info", 1088, {
  vcpu_info: [0, "bytes", 48], evtchn_pending: [48, "bytes", 512], evtchn_mask: [560, "bytes", 512],
  wc_version: [1072, "u32"], wc_sec: [1076, "u32"], wc_nsec: [1080, "u32"], wc_sec_hi: [1084, "u32"],
}));

// memory.h
export const XENMEM = {
  increase_reservation: 0, decrease_reservation: 1, maximum_ram_page: 2, current_reservation: 3,
  maximum_reservation: 4, machphys_mfn_list: 5, populate_physmap: 6, add_to_physmap: 7, exchange: 11,
  maximum_gpfn: 14, remove_from_physmap: 15, add_to_physmap_batch: 23, acquire_resource: 28,
} as const;
export const XENMAPSPACE = { shared_info: 0, grant_table: 1, gmfn: 2, gmfn_range: 3, gmfn_foreign: 4, dev_mmio: 5 } as const;
export const XENMAPIDX_grant_table_status = 0x80000000n;
export const xen_memory_reservation = registered(struct("xen_memory_reservation", 32, {
  extent_start: [0, "u64"], nr_extents: [8, "u64"], extent_order: [16, "u32"], mem_flags: [20, "u32"], domid: [24, "u16"],
}));
export const xen_add_to_physmap = registered(struct("xen_add_to_physmap", 24, {
  domid: [0, "u16"], size: [2, "u16"], space: [4, "u32"], idx: [8, "u64"], gpfn: [16, "u64"],
}));
export const xen_add_to_physmap_batch = registered(struct("xen_add_to_physmap_batch", 32, {
  domid: [0, "u16"], space: [2, "u16"], size: [4, "u16"], u: [6, "u16"], idxs: [8, "u64"], gpfns: [16, "u64"], errs: [24, "u64"],
}));
// XENMEM_acquire_resource: a tools domain maps another domain's resource
// (its grant table, for xc_dom_gnttab_seed) at gfns it names.
export const XENMEM_resource = { ioreq_server: 0, grant_table: 1, vmtrace_buf: 2 } as const;
export const XENMEM_resource_grant_table_id = { shared: 0, status: 1 } as const;
export const xen_mem_acquire_resource = registered(struct("xen_mem_acquire_resource", 32, {
  domid: [0, "u16"], type: [2, "u16"], id: [4, "u32"], nr_frames: [8, "u32"], pad: [12, "u32"], frame: [16, "u64"], frame_list: [24, "u64"],
}));
export const xen_remove_from_physmap = registered(struct("xen_remove_from_physmap", 16, { domid: [0, "u16"], gpfn: [8, "u64"] }));

// hvm/params.h, hvm/hvm_op.h
export const HVMOP = { set_param: 0, get_param: 1, guest_request_vm_event: 24 } as const;
export const HVM_PARAM = {
  CALLBACK_IRQ: 0, STORE_PFN: 1, STORE_EVTCHN: 2, CONSOLE_PFN: 17, CONSOLE_EVTCHN: 18, MONITOR_RING_PFN: 28,
} as const;
export const HVM_NR_PARAMS = 39;
export const xen_hvm_param = registered(struct("xen_hvm_param", 16, { domid: [0, "u16"], index: [4, "u32"], value: [8, "u64"] }));

// console_io
export const CONSOLEIO_write = 0, CONSOLEIO_read = 1;

// multicall
export const multicall_entry = registered(struct("multicall_entry", 64, {
  op: [0, "u64"], result: [8, "u64"], args: [16, "bytes", 48],
}));
