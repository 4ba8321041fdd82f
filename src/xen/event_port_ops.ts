// Event channels' shared vocabulary (a port's channel, what the code needs of
// its domain) and how events are delivered, as Xen's evtchn_port_ops: the
// port table (event_channel.ts) is the same for every ABI; the guest's
// choice of the 2-level bitmaps (event_2l.ts) or the FIFO queues
// (event_fifo.ts) decides how a pending event reaches its vCPU.

export type ChannelState = "free" | "reserved" | "unbound" | "interdomain" | "virq" | "ipi";

export interface Channel {
  state: ChannelState;
  remoteDom: number; // unbound: who may bind; interdomain: the peer
  remotePort: number;
  virq: number;
  notifyVcpu: number;
  priority: number; // FIFO queue
}

// What the event channel code needs from its domain.
export interface EventHost {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  noteWrite(hostOff: number, len: number): void; // written other than by the guest's CPU
  nrVcpus(): number;
  sharedInfoHost(): number; // wasm offset of shared_info
  vcpuInfoHost(vcpu: number): number; // wasm offset of the vCPU's vcpu_info, or -1
  // Pin a page of the domain's own RAM the event code keeps writing to
  // (FIFO control blocks and event arrays): its frame, or -1.
  pinPage(gfn: bigint): number;
  unpinPage(frame: number): void;
  frameHost(frame: number): number; // wasm offset of a frame
  markEventsPending(vcpu: number): void; // set evtchn_upcall_pending and raise the upcall
  lookupDomain(domid: number): EventHost | undefined;
  eventChannels(): { setPending(port: number): void; get(port: number): Channel | undefined };
  portPending(port: number): void; // for SCHEDOP_poll waiters
}

export interface EventPortOps {
  readonly abi: "2l" | "fifo";
  readonly maxPorts: number; // ports the ABI can name
  // A port just allocated: no stale pending state from its last use.
  init(port: number): void;
  // Mark the port pending and, unless masked, notify its vCPU.
  setPending(port: number, c: Channel): void;
  isPending(port: number): boolean;
  // EVTCHNOP_unmask: clear the mask and deliver what is pending.
  unmask(port: number, c: Channel): void;
  // Guest pages this ABI keeps pinned (for the audit), their gfns (it
  // writes them unseen by log-dirty), and letting them go.
  pinnedFrames(): number[];
  pinnedGfns(): number[];
  teardown(): void;
}
