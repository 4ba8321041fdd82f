// xen/include/public/event_channel.h

import { struct, registered } from "./layout.js";

export const EVTCHNOP = {
  bind_interdomain: 0, bind_virq: 1, bind_pirq: 2, close: 3, send: 4, status: 5, alloc_unbound: 6, bind_ipi: 7,
  bind_vcpu: 8, unmask: 9, reset: 10, init_control: 11, expand_array: 12, set_priority: 13, reset_cont: 14,
} as const;
export const EVTCHNSTAT = { closed: 0, unbound: 1, interdomain: 2, pirq: 3, virq: 4, ipi: 5 } as const;
export const EVTCHN_2L_NR_CHANNELS = 4096; // 64 * 64 with a 64-bit xen_ulong_t
export const EVTCHN_FIFO_NR_CHANNELS = 1 << 17;
export const EVTCHN_FIFO_LINK_BITS = 17;
export const EVTCHN_FIFO_MAX_QUEUES = 16;
export const EVTCHN_FIFO_PRIORITY_DEFAULT = 7;
export const EVTCHN_FIFO_PENDING = 31, EVTCHN_FIFO_MASKED = 30, EVTCHN_FIFO_LINKED = 29, EVTCHN_FIFO_BUSY = 28;
export const EVTCHN_FIFO_LINK_MASK = (1 << EVTCHN_FIFO_LINK_BITS) - 1;
export const EVTCHN_FIFO_EVENT_WORDS_PER_PAGE = 1024;
export const NR_VIRQS = 24;
export const VIRQ = { TIMER: 0, DEBUG: 1, CONSOLE: 2, DOM_EXC: 3, TBUF: 4, DEBUGGER: 6, XENOPROF: 7, CON_RING: 8, PCPU_STATE: 9, MEM_EVENT: 10, ARGO: 11, ENOMEM: 12, XENPMU: 13 } as const;

export const evtchn_alloc_unbound = registered(struct("evtchn_alloc_unbound", 8, { dom: [0, "u16"], remote_dom: [2, "u16"], port: [4, "u32"] }));
export const evtchn_bind_interdomain = registered(struct("evtchn_bind_interdomain", 12, { remote_dom: [0, "u16"], remote_port: [4, "u32"], local_port: [8, "u32"] }));
export const evtchn_bind_virq = registered(struct("evtchn_bind_virq", 12, { virq: [0, "u32"], vcpu: [4, "u32"], port: [8, "u32"] }));
export const evtchn_bind_ipi = registered(struct("evtchn_bind_ipi", 8, { vcpu: [0, "u32"], port: [4, "u32"] }));
export const evtchn_close = registered(struct("evtchn_close", 4, { port: [0, "u32"] }));
export const evtchn_send = registered(struct("evtchn_send", 4, { port: [0, "u32"] }));
export const evtchn_status = registered(struct("evtchn_status", 24, {
  dom: [0, "u16"], port: [4, "u32"], status: [8, "u32"], vcpu: [12, "u32"], u0: [16, "u32"], u1: [20, "u32"],
}));
export const evtchn_bind_vcpu = registered(struct("evtchn_bind_vcpu", 8, { port: [0, "u32"], vcpu: [4, "u32"] }));
export const evtchn_unmask = registered(struct("evtchn_unmask", 4, { port: [0, "u32"] }));
export const evtchn_reset = registered(struct("evtchn_reset", 2, { dom: [0, "u16"] }));
export const evtchn_init_control = registered(struct("evtchn_init_control", 24, {
  control_gfn: [0, "u64"], offset: [8, "u32"], vcpu: [12, "u32"], link_bits: [16, "u8"],
}));
export const evtchn_expand_array = registered(struct("evtchn_expand_array", 8, { array_gfn: [0, "u64"] }));
export const evtchn_set_priority = registered(struct("evtchn_set_priority", 8, { port: [0, "u32"], priority: [4, "u32"] }));
export const evtchn_fifo_control_block = registered(struct("evtchn_fifo_control_block", 72, {
  ready: [0, "u32"], head: [8, "bytes", 64],
}));
