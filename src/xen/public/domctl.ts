// xen/include/public/domctl.h and sysctl.h (interface version 0x15, Xen 4.17):
// the control domain's calls to build, run and inspect domains.

import { struct, registered } from "./layout.js";

export const XEN_DOMCTL_INTERFACE_VERSION = 0x15;
export const XEN_SYSCTL_INTERFACE_VERSION = 0x15;

export const DOMCTL = {
  createdomain: 1, destroydomain: 2, pausedomain: 3, unpausedomain: 4, getdomaininfo: 5, setvcpuaffinity: 9,
  shadow_op: 10, max_mem: 11, setvcpucontext: 12, getvcpucontext: 13, getvcpuinfo: 14, max_vcpus: 15,
  scheduler_op: 16, setdomainhandle: 17, settimeoffset: 24, getvcpuaffinity: 25, resumedomain: 27,
  gethvmcontext: 33, sethvmcontext: 34, set_address_size: 35, set_target: 46, cacheflush: 71, vuart_op: 81,
  get_paging_mempool_size: 85, set_paging_mempool_size: 86, setnodeaffinity: 68, getnodeaffinity: 69,
  irq_permission: 19, iomem_permission: 20, assign_device: 37, bind_pt_irq: 38, memory_mapping: 39,
  test_assign_device: 45, deassign_device: 47, unbind_pt_irq: 48,
} as const;

export const XEN_DOMCTL_CDF = { hvm: 1 << 0, hap: 1 << 1, s3_integrity: 1 << 2, oos_off: 1 << 3, xs_domain: 1 << 4, iommu: 1 << 5, nested_virt: 1 << 6, vpmu: 1 << 7 } as const;
export const XEN_DOMINF = {
  dying: 1 << 0, hvm_guest: 1 << 1, shutdown: 1 << 2, paused: 1 << 3, blocked: 1 << 4, running: 1 << 5,
  debugged: 1 << 6, xs_domain: 1 << 7, hap: 1 << 8,
} as const;
export const XEN_DOMINF_shutdownshift = 16, XEN_DOMINF_shutdownmask = 255;

export const XEN_DOMCTL_SHADOW_OP = { OFF: 0, ENABLE_TEST: 1, ENABLE_LOGDIRTY: 2, CLEAN: 11, PEEK: 12, GET_ALLOCATION: 30, SET_ALLOCATION: 31, ENABLE: 32 } as const;
export const XEN_SCHEDULER_CREDIT = 5, XEN_SCHEDULER_CREDIT2 = 6;
export const XEN_DOMCTL_SCHEDOP = { putinfo: 0, getinfo: 1, putvcpuinfo: 2, getvcpuinfo: 3 } as const;

// struct xen_domctl: cmd, interface_version, domain, then a 128-byte union at 16
export const xen_domctl = registered(struct("xen_domctl", 144, {
  cmd: [0, "u32"], interface_version: [4, "u32"], domain: [8, "u16"], u: [16, "bytes", 128],
}));
export const DOMCTL_U = 16; // offset of the union

export const xen_arch_domainconfig = registered(struct("xen_arch_domainconfig", 12, {
  gic_version: [0, "u8"], tee_type: [2, "u16"], nr_spis: [4, "u32"], clock_frequency: [8, "u32"],
}));
export const xen_domctl_createdomain = registered(struct("xen_domctl_createdomain", 68, {
  ssidref: [0, "u32"], handle: [4, "bytes", 16], flags: [20, "u32"], iommu_opts: [24, "u32"], max_vcpus: [28, "u32"],
  max_evtchn_port: [32, "u32"], max_grant_frames: [36, "i32"], max_maptrack_frames: [40, "i32"], grant_opts: [44, "u32"],
  vmtrace_size: [48, "u32"], cpupool_id: [52, "u32"], arch: [56, "bytes", 12],
}));
export const xen_domctl_getdomaininfo = registered(struct("xen_domctl_getdomaininfo", 120, {
  domain: [0, "u16"], flags: [4, "u32"], tot_pages: [8, "u64"], max_pages: [16, "u64"], outstanding_pages: [24, "u64"],
  shr_pages: [32, "u64"], paged_pages: [40, "u64"], shared_info_frame: [48, "u64"], cpu_time: [56, "u64"],
  nr_online_vcpus: [64, "u32"], max_vcpu_id: [68, "u32"], ssidref: [72, "u32"], handle: [76, "bytes", 16],
  cpupool: [92, "u32"], gpaddr_bits: [96, "u8"], arch_config: [104, "bytes", 12],
}));
export const xen_domctl_max_mem = registered(struct("xen_domctl_max_mem", 8, { max_memkb: [0, "u64"] }));
export const xen_domctl_max_vcpus = registered(struct("xen_domctl_max_vcpus", 4, { max: [0, "u32"] }));
export const xen_domctl_vcpucontext = registered(struct("xen_domctl_vcpucontext", 16, { vcpu: [0, "u32"], ctxt: [8, "u64"] }));
export const xen_domctl_getvcpuinfo = registered(struct("xen_domctl_getvcpuinfo", 24, {
  vcpu: [0, "u32"], online: [4, "u8"], blocked: [5, "u8"], running: [6, "u8"], cpu_time: [8, "u64"], cpu: [16, "u32"],
}));
export const xen_domctl_scheduler_op = registered(struct("xen_domctl_scheduler_op", 24, {
  sched_id: [0, "u32"], cmd: [4, "u32"], u: [8, "bytes", 16],
}));
export const xen_domctl_sched_credit2 = registered(struct("xen_domctl_sched_credit2", 4, { weight: [0, "u16"], cap: [2, "u16"] }));
export const xen_domctl_shadow_op = registered(struct("xen_domctl_shadow_op", 40, {
  op: [0, "u32"], mode: [4, "u32"], mb: [8, "u32"], dirty_bitmap: [16, "u64"], pages: [24, "u64"], stats: [32, "bytes", 8],
}));
export const xen_domctl_paging_mempool = registered(struct("xen_domctl_paging_mempool", 8, { size: [0, "u64"] }));
export const xen_domctl_address_size = registered(struct("xen_domctl_address_size", 4, { size: [0, "u32"] }));
export const xen_domctl_cacheflush = registered(struct("xen_domctl_cacheflush", 16, { start_pfn: [0, "u64"], nr_pfns: [8, "u64"] }));
export const xen_domctl_settimeoffset = registered(struct("xen_domctl_settimeoffset", 8, { time_offset_seconds: [0, "i64"] }));

// Passthrough (Xen on Arm assigns device-tree devices)
export const XEN_DOMCTL_DEV_PCI = 0, XEN_DOMCTL_DEV_DT = 1;
export const PT_IRQ_TYPE_SPI = 4;
export const DPCI_ADD_MAPPING = 1, DPCI_REMOVE_MAPPING = 0;
export const xen_domctl_assign_device = registered(struct("xen_domctl_assign_device", 24, {
  dev: [0, "u32"], flags: [4, "u32"], dt_size: [8, "u32"], dt_path: [16, "u64"],
}));
export const xen_domctl_irq_permission = registered(struct("xen_domctl_irq_permission", 8, { pirq: [0, "u32"], allow_access: [4, "u8"] }));
export const xen_domctl_iomem_permission = registered(struct("xen_domctl_iomem_permission", 24, {
  first_mfn: [0, "u64"], nr_mfns: [8, "u64"], allow_access: [16, "u8"],
}));
export const xen_domctl_memory_mapping = registered(struct("xen_domctl_memory_mapping", 32, {
  first_gfn: [0, "u64"], first_mfn: [8, "u64"], nr_mfns: [16, "u64"], add_mapping: [24, "u32"],
}));
export const xen_domctl_bind_pt_irq = registered(struct("xen_domctl_bind_pt_irq", 24, {
  machine_irq: [0, "u32"], irq_type: [4, "u32"], spi: [8, "u16"],
}));

export const SYSCTL = { readconsole: 1, physinfo: 3, sched_id: 4, getdomaininfolist: 6, cputopoinfo: 16, numainfo: 17, cpupool_op: 18 } as const;
export const xen_sysctl = registered(struct("xen_sysctl", 136, { cmd: [0, "u32"], interface_version: [4, "u32"], u: [8, "bytes", 128] }));
export const SYSCTL_U = 8;
export const xen_sysctl_physinfo = registered(struct("xen_sysctl_physinfo", 112, {
  threads_per_core: [0, "u32"], cores_per_socket: [4, "u32"], nr_cpus: [8, "u32"], max_cpu_id: [12, "u32"],
  nr_nodes: [16, "u32"], max_node_id: [20, "u32"], cpu_khz: [24, "u32"], capabilities: [28, "u32"],
  total_pages: [40, "u64"], free_pages: [48, "u64"], scrub_pages: [56, "u64"], hw_cap: [80, "bytes", 32],
}));
export const XEN_SYSCTL_PHYSCAP_hvm = 1, XEN_SYSCTL_PHYSCAP_directio = 1 << 2, XEN_SYSCTL_PHYSCAP_hap = 1 << 3,
  XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share = 1 << 5, XEN_SYSCTL_PHYSCAP_gnttab_v1 = 1 << 8;
export const xen_sysctl_sched_id = registered(struct("xen_sysctl_sched_id", 4, { sched_id: [0, "u32"] }));
export const xen_sysctl_numainfo = registered(struct("xen_sysctl_numainfo", 24, { num_nodes: [0, "u32"], meminfo: [8, "u64"], distance: [16, "u64"] }));
export const xen_sysctl_meminfo = registered(struct("xen_sysctl_meminfo", 16, { memsize: [0, "u64"], memfree: [8, "u64"] }));
export const xenctl_bitmap = registered(struct("xenctl_bitmap", 16, { bitmap: [0, "u64"], nr_bits: [8, "u32"] }));
export const xen_sysctl_cputopoinfo = registered(struct("xen_sysctl_cputopoinfo", 16, { num_cpus: [0, "u32"], cputopo: [8, "u64"] }));
export const xen_sysctl_cputopo = registered(struct("xen_sysctl_cputopo", 12, { core: [0, "u32"], socket: [4, "u32"], node: [8, "u32"] }));
export const xen_domctl_vcpuaffinity = registered(struct("xen_domctl_vcpuaffinity", 40, {
  vcpu: [0, "u32"], flags: [4, "u32"], cpumap_hard: [8, "bytes", 16], cpumap_soft: [24, "bytes", 16],
}));
export const XEN_VCPUAFFINITY_HARD = 1 << 0, XEN_VCPUAFFINITY_SOFT = 1 << 1, XEN_VCPUAFFINITY_FORCE = 1 << 2;
export const xen_domctl_nodeaffinity = registered(struct("xen_domctl_nodeaffinity", 16, { nodemap: [0, "bytes", 16] }));
export const xen_sysctl_cpupool_op = registered(struct("xen_sysctl_cpupool_op", 40, {
  op: [0, "u32"], cpupool_id: [4, "u32"], sched_id: [8, "u32"], domid: [12, "u32"], cpu: [16, "u32"], n_dom: [20, "u32"], cpumap: [24, "bytes", 16],
}));
export const XEN_SYSCTL_CPUPOOL_OP = { CREATE: 1, DESTROY: 2, INFO: 3, ADDCPU: 4, RMCPU: 5, MOVEDOMAIN: 6, FREEINFO: 7 } as const;
export const xen_sysctl_getdomaininfolist = registered(struct("xen_sysctl_getdomaininfolist", 24, {
  first_domain: [0, "u16"], max_domains: [4, "u32"], buffer: [8, "u64"], num_domains: [16, "u32"],
}));

export const XEN_DOMCTL_VUART_OP_INIT = 0, XEN_DOMCTL_VUART_TYPE_VPL011 = 0;
export const xen_domctl_hvmcontext = registered(struct("xen_domctl_hvmcontext", 16, { size: [0, "u32"], buffer: [8, "u64"] }));
export const xen_domctl_vuart_op = registered(struct("xen_domctl_vuart_op", 24, {
  cmd: [0, "u32"], type: [4, "u32"], gfn: [8, "u64"], console_domid: [16, "u16"], evtchn: [20, "u32"],
}));
export const xen_sysctl_readconsole = registered(struct("xen_sysctl_readconsole", 24, {
  clear: [0, "u8"], incremental: [1, "u8"], index: [4, "u32"], buffer: [8, "u64"], count: [16, "u32"],
}));
