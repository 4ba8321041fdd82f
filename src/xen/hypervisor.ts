// The hypervisor: owns machine memory (frames), the core and its vCPUs, the
// domains, the scheduler and guest time. It runs vCPUs in slices, handles
// their exits (hypercalls, PSCI, MMIO, system registers, WFI, timers), and
// offers the control domain its hypercall entry (privcmd).

import { Core, Exit, ExitReason, EXIT_NAMES, SR } from "../cpu/cpu.js";
import type { JitOptions } from "../cpu/jit/jit.js";
import { MachineDevices } from "./device_assign.js";
import { SmmuDriver } from "./iommu_smmuv3.js";
import { Clock } from "../hw/clock.js";
import { SmmuV3 } from "../hw/smmuv3.js";
import { FrameAllocator, OutOfFrames } from "./frames.js";
import { P2M_POOL_INITIAL_PAGES } from "./p2m.js";
import { Domain, DomainConfig } from "./domain.js";
import type { Vcpu } from "./vcpu.js";
import { CreditScheduler } from "./scheduler.js";
import { emulateSysreg, dataAbort, injectAbort, injectUndef } from "./traps.js";
import { writeRunstate } from "./runstate.js";
import { smccc, PsciHost } from "./vpsci.js";
import { dispatchHypercall, hasHypercallHandler } from "./hypercall/dispatch.js";
import { type HypercallServices, neg } from "./hypercall/context.js";
import type { HypervisorEvents } from "./hypervisor_events.js";
export type { HypervisorEvents } from "./hypervisor_events.js";
import { auditMemory } from "./audit.js";
import { SerialRx } from "./serial_rx.js";
import { ConsoleRing } from "./console_ring.js";
import { XEN_HYPERCALL_TAG, SHUTDOWN, SHUTDOWN_NAMES, RUNSTATE, DOMID_FIRST_RESERVED, XEN_E } from "./public/xen.js";
import { VIRQ } from "./public/event_channel.js";

export interface HypervisorOptions {
  ramBytes: number; // machine RAM
  deterministic?: boolean; // guest time from retired instructions
  log?: (line: string) => void; // the hypervisor's console
  // Debug: run the memory audit (audit.ts) after every hypercall and log
  // what it finds (XENTS_AUDIT=1 for a host; the hostile tests turn it on).
  audit?: boolean;
  // Xen's own command line (XENVER_commandline), as a boot loader gave it;
  // xl reads dom0_mem= there to decide whether to balloon Domain-0 down.
  commandline?: string;
  // Translation of hot guest code to WebAssembly (default: on, or as
  // XENTS_JIT / XENTS_JIT_THRESHOLD say; `--no-jit` turns it off).
  jit?: JitOptions;
}

const SLICE_INSTRUCTIONS = 500_000n;
const DETERMINISTIC_BURST_SLICES = 4;

const SCRUB_FRAMES_WHEN_IDLE = 2048; // 8 MiB of freed memory wiped per idle pass

export class Hypervisor implements PsciHost, HypercallServices {
  readonly core: Core;
  readonly frames: FrameAllocator;
  readonly clock: Clock;
  readonly domains = new Map<number, Domain>();
  readonly smmu: SmmuV3; // the machine's IOMMU
  readonly iommu: SmmuDriver; // this hypervisor's driver of it
  readonly devices: MachineDevices; // the machine's devices and their owners
  readonly sched: CreditScheduler;
  readonly log: (line: string) => void;
  events: HypervisorEvents = {};
  private nextVmid = 1;
  private yieldRequested = false;
  // Told whenever a vCPU becomes runnable: the host's loop, which may be
  // sleeping until the next timer, runs it now instead.
  onRunnable: (() => void) | null = null;
  private readonly upcalls = new Set<Domain>();
  upcallHandler: ((d: Domain) => void) | null = null;
  readonly serialRx = new SerialRx(); // console input for Domain-0 (CONSOLEIO_read)
  readonly conring = new ConsoleRing(); // what `xl dmesg` shows: the hypervisor's messages and guests' console_io
  stats = { slices: 0, hypercalls: 0, mmio: 0, internalErrors: 0, audits: 0, auditFailures: 0, coreMs: 0, exits: new Map<string, number>() };
  readonly auditEachCall: boolean;
  readonly commandline: string;
  auditFindings: string[] = []; // the first failed audit's findings

  constructor(opts: HypervisorOptions) {
    this.core = new Core({ ramBase: 0x80000000n, ramSize: opts.ramBytes, jit: opts.jit });
    this.frames = new FrameAllocator(this.core);
    this.clock = new Clock({ deterministic: opts.deterministic });
    const out = opts.log ?? ((l: string) => process.stderr.write(`(XEN) ${l}\n`));
    this.log = (l) => { this.conring.writeLine(`(XEN) ${l}`); out(l); };
    this.sched = new CreditScheduler(() => this.domains.values());
    this.auditEachCall = opts.audit ?? false;
    this.commandline = opts.commandline ?? "console=dtuart";
    if (this.auditEachCall) this.log("memory audit after every hypercall: on (a debug option: slow)");
    const core = this.core, ramBase = Number(core.ramBase), ramEnd = ramBase + core.ramSize;
    this.smmu = new SmmuV3({
      bytes: core.bytes, view: core.view,
      hostOf: (pa) => (pa >= ramBase && pa < ramEnd ? core.ramHost + (pa - ramBase) : -1),
      noteWrite: (h, len) => core.noteWrite(h, len),
    });
    this.iommu = new SmmuDriver(this, this.smmu);
    this.devices = new MachineDevices(this);
  }

  // The audit after a hypercall (debug option): findings are logged, the
  // first set kept for tests.
  private auditAfter(d: Domain, nr: number): void {
    if (!hasHypercallHandler(nr)) return; // -ENOSYS changed nothing
    this.stats.audits++;
    const found = auditMemory(this);
    if (!found.length) return;
    this.stats.auditFailures++;
    if (!this.auditFindings.length) this.auditFindings = found;
    for (const f of found.slice(0, 8)) this.log(`AUDIT after d${d.id} hypercall ${nr}: ${f}`);
  }

  // ---- domains
  // As Xen's createdomain does: a rover moves on from the last id given, so
  // a new domain does not take the id a tool may still associate with an
  // old one.
  private domidRover = 0;
  freeDomid(): number {
    for (let n = 1; n < DOMID_FIRST_RESERVED; n++) {
      this.domidRover = this.domidRover + 1 >= DOMID_FIRST_RESERVED ? 1 : this.domidRover + 1;
      if (!this.domains.has(this.domidRover)) return this.domidRover;
    }
    return -1;
  }

  // An 8-bit VMID no live domain has (as Xen's p2m_alloc_vmid): the SMMU
  // tags cached translations with it, so two domains must never share one.
  private freeVmid(): number {
    const used = new Set([...this.domains.values()].map((d) => d.p2m.vmid));
    for (let i = 0; i < 255; i++) {
      const v = ((this.nextVmid + i - 1) % 255) + 1;
      if (!used.has(v)) { this.nextVmid = (v % 255) + 1; return v; }
    }
    throw new OutOfFrames("no free VMID: 255 domains exist");
  }

  createDomain(cfg: DomainConfig): Domain {
    if (this.domains.has(cfg.id)) throw new Error(`domain ${cfg.id} exists`);
    // stage-2 roots, shared_info, the first pool pages: all there or nothing taken
    if (this.frames.freeCount < 3 + P2M_POOL_INITIAL_PAGES) throw new OutOfFrames("no memory for a new domain");
    const vmid = this.freeVmid();
    const d = new Domain(cfg, {
      core: this.core,
      frames: this.frames,
      lookup: (id) => this.domains.get(id),
      kick: (dom, v) => this.kick(dom, v),
      counterNow: () => this.clock.now(),
      onUpcall: (dom) => { this.upcalls.add(dom); },
      iommuFlush: (dom) => this.iommu.flush(dom),
    }, vmid);
    this.domains.set(cfg.id, d);
    return d;
  }

  shutdown(d: Domain, reason: number): void {
    if (d.shutdown !== null || d.dying) return;
    d.shutdown = { reason };
    this.log(`d${d.id}: shutdown: ${SHUTDOWN_NAMES[reason] ?? reason}`);
    for (const v of d.vcpus) this.setRunstate(v, RUNSTATE.offline);
    this.domains.get(0)?.evtchn.raiseVirq(VIRQ.DOM_EXC);
    this.events.onShutdown?.(d, reason);
  }

  // XEN_DOMCTL_resumedomain (Xen's domain_resume): the shutdown undone, its
  // vCPUs running on from where they stopped.
  resume(d: Domain): void {
    d.shutdown = null;
    d.shutdownCode = -1;
    if (d.pauseCount === 0) for (const v of d.vcpus) if (v.online) this.setRunstate(v, v.blocked() ? RUNSTATE.blocked : RUNSTATE.runnable);
    this.log(`d${d.id}: resumed`);
  }

  crash(d: Domain, why: string): void {
    this.log(`d${d.id}: crashed: ${why}`);
    this.shutdown(d, SHUTDOWN.crash);
  }

  // Tear a domain down completely: every frame it owns or maps goes back,
  // or waits (unowned) for the last mapping of it elsewhere to go. Each
  // step runs even if an earlier one failed; a failure is a hypervisor bug,
  // logged and counted, and the domain is removed all the same. Returns
  // false if any step failed.
  destroy(d: Domain): boolean {
    if (!this.domains.has(d.id)) return true;
    d.dying = true;
    const steps: [string, () => void][] = [
      ["assigned devices", () => this.devices.releaseAll(d)], // stopped before the memory they DMA to goes
      ["event channels", () => { d.evtchn.closeAll(); d.evtchn.teardownFifo(); }],
      ["vcpu_info", () => { for (const v of d.vcpus) if (v.vcpuInfo) { const f = v.vcpuInfo.frame; v.vcpuInfo = null; d.unpinPage(f); } }],
      ["grant mappings", () => d.gnttab.unmapAll(d)],
      ["guest memory", () => d.unmapAll()],
      ["unmapped pages", () => { for (const f of d.unmappedFrames.splice(0)) this.frames.free(f); }],
      ["grant table", () => d.gnttab.destroy()],
      ["stage-2 tables", () => d.p2m.destroy()],
      ["shared_info", () => this.frames.free(d.sharedInfoFrame)],
      ["vCPUs", () => { for (const v of d.vcpus) this.core.destroyVcpu(v.state); }],
    ];
    let ok = true;
    for (const [what, step] of steps) {
      try { step(); } catch (e) { ok = false; this.internalError(`d${d.id}: teardown of ${what}`, e); }
    }
    this.domains.delete(d.id);
    this.upcalls.delete(d);
    this.domains.get(0)?.evtchn.raiseVirq(VIRQ.DOM_EXC);
    this.events.onDestroyed?.(d);
    return ok;
  }

  // An exception inside the hypervisor is a bug, never a guest's right: it
  // is logged with its stack and counted (host status shows the count), and
  // the caller decides whose fault it becomes (the calling guest is crashed;
  // the control domain gets an error code).
  internalError(where: string, e: unknown): void {
    this.stats.internalErrors++;
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    this.log(`BUG: ${where}: ${text.split("\n").slice(0, 6).join(" | ")}`);
  }

  // Characters typed on the host's console for Domain-0: kept while the
  // ring has room, and VIRQ_CONSOLE raised for each either way (Xen's
  // __serial_rx).
  consoleInput(bytes: Uint8Array): number {
    const kept = this.serialRx.push(bytes);
    if (bytes.length) this.domains.get(0)?.evtchn.raiseVirq(VIRQ.CONSOLE);
    return kept;
  }
  pause(d: Domain): void { d.pauseCount++; }
  unpause(d: Domain): void {
    if (d.pauseCount > 0) d.pauseCount--;
    if (d.pauseCount === 0) for (const v of d.vcpus) if (v.online) this.setRunstate(v, RUNSTATE.runnable);
  }

  // ---- scheduling support (PsciHost)
  kick(d: Domain, vi: number): void {
    const v = d.vcpus[vi];
    if (v && v.blocked()) this.tryWake(d, v);
  }
  wake(d: Domain, v: Vcpu): void { v.block = "none"; this.setRunstate(v, RUNSTATE.runnable); void d; }
  block(v: Vcpu): void { v.block = "wfi"; this.setRunstate(v, RUNSTATE.blocked); this.yieldRequested = true; }
  requestYield(): void { this.yieldRequested = true; }

  // Would the vCPU take an interrupt if it ran now?
  private interruptDeliverable(d: Domain, v: Vcpu): boolean {
    d.vgic.flush(v.id);
    const p = v.state.irqPending();
    d.vgic.sync(v.id);
    return p;
  }

  tryWake(d: Domain, v: Vcpu): boolean {
    if (!v.online || v.block === "none") return false;
    let wake = false;
    switch (v.block) {
      case "wfi": wake = this.interruptDeliverable(d, v); break;
      case "block": wake = d.upcallPending(v.id) || this.interruptDeliverable(d, v); break;
      case "poll":
        wake = v.pollPorts.some((p) => d.evtchn.isPending(p)) || (v.pollDeadline !== 0n && this.clock.now() >= v.pollDeadline);
        break;
    }
    if (wake) { v.block = "none"; v.pollPorts = []; this.setRunstate(v, RUNSTATE.runnable); }
    return wake;
  }

  // Earliest counter value at which a blocked vCPU may wake on its own.
  private nextWakeDeadline(): bigint | null {
    let best: bigint | null = null;
    for (const d of this.domains.values()) {
      if (d.paused() || d.shutdown || d.dying) continue;
      for (const v of d.vcpus) {
        if (!v.online || !v.blocked()) continue;
        let t = v.block === "poll" ? (v.pollDeadline || null) : d.timerDeadline(v);
        if (v.block === "poll") { const td = d.timerDeadline(v); if (td !== null && (t === null || td < t)) t = td; }
        if (t !== null && (best === null || t < best)) best = t;
      }
    }
    return best;
  }

  private wakeTimers(): void {
    const now = this.clock.now();
    for (const d of this.domains.values()) {
      if (d.paused() || d.shutdown || d.dying) continue;
      for (const v of d.vcpus) {
        if (!v.blocked()) continue;
        const t = d.timerDeadline(v);
        if ((t !== null && t <= now) || (v.block === "poll" && v.pollDeadline !== 0n && v.pollDeadline <= now)) this.tryWake(d, v);
      }
    }
  }

  setRunstate(v: Vcpu, state: number): void {
    if (state === RUNSTATE.runnable && v.runstate !== RUNSTATE.running) this.onRunnable?.();
    const nowNs = Clock.toNs(this.clock.now());
    if (v.runstate !== state) {
      v.runstateTime[v.runstate] += nowNs - v.runstateEntry;
      v.runstate = state;
      v.runstateEntry = nowNs;
    }
    if (v.runstateVa !== null) {
      const d = this.domains.get(v.domainId);
      if (d) writeRunstate(d, v);
    }
  }

  // ---- running
  // Runs vCPUs for up to `maxMs` of host time. Returns the counter value the
  // caller should wait for when nothing could run (null: nothing pending).
  // Whether any domain is in log-dirty mode (its memory being copied).
  anyLogDirty(): boolean {
    for (const d of this.domains.values()) if (d.p2m.logDirty) return true;
    return false;
  }

  runFor(maxMs: number): { ran: boolean; idleUntil: bigint | null } {
    const t0 = performance.now();
    let ran = false, slices = 0;
    for (;;) {
      this.wakeTimers();
      this.deliverUpcalls();
      const pick = this.sched.pick();
      if (!pick) { this.frames.scrub(SCRUB_FRAMES_WHEN_IDLE); break; }
      ran = true;
      this.runSlice(pick.d, pick.v);
      // Deterministic runs end a burst after a count of slices, not of host
      // time, so that what the host does between bursts reaches the guest
      // at the same instruction count in every run.
      if (this.clock.deterministic ? ++slices >= DETERMINISTIC_BURST_SLICES : performance.now() - t0 >= maxMs) return { ran, idleUntil: null };
    }
    this.deliverUpcalls();
    const next = this.nextWakeDeadline();
    if (this.clock.deterministic && next !== null && !ran) {
      this.clock.advanceTo(next);
      return { ran: true, idleUntil: null };
    }
    return { ran, idleUntil: next };
  }

  private deliverUpcalls(): void {
    if (!this.upcalls.size || !this.upcallHandler) return;
    const list = [...this.upcalls];
    this.upcalls.clear();
    for (const d of list) this.upcallHandler(d);
  }

  runSlice(d: Domain, v: Vcpu): void {
    this.stats.slices++;
    this.yieldRequested = false;
    this.setRunstate(v, RUNSTATE.running);
    d.vgic.flush(v.id);
    const st = v.state;
    const before = st.instret;
    const base = this.clock.now();
    const h0 = performance.now();
    const scale = this.clock.sliceScale();
    const compiled0 = this.core.jit.compileMs;
    const exit = st.run(SLICE_INSTRUCTIONS, base, scale);
    const n = st.instret - before;
    this.clock.ran(base, n, scale);
    const coreMs = performance.now() - h0;
    this.stats.coreMs += coreMs; // time in the core, against the rest of the host's
    this.clock.observe(Number(n), (coreMs - (this.core.jit.compileMs - compiled0)) / 1000);
    v.instructions += n;
    v.cpuTimeNs += Clock.toNs((n * scale) >> 16n);
    this.sched.charge(v, Number(n));
    d.vgic.sync(v.id);
    try {
      this.handleExit(d, v, exit);
    } catch (e) {
      this.internalError(`d${d.id} vCPU ${v.id}: handling exit ${EXIT_NAMES[exit] ?? exit}`, e);
      this.crash(d, "hypervisor error while handling its exit");
    }
    if (v.runstate === RUNSTATE.running) this.setRunstate(v, d.shutdown ? RUNSTATE.offline : RUNSTATE.runnable);
  }

  private countExit(name: string): void { this.stats.exits.set(name, (this.stats.exits.get(name) ?? 0) + 1); }

  handleExit(d: Domain, v: Vcpu, exit: ExitReason): void {
    const st = v.state;
    this.countExit(EXIT_NAMES[exit] ?? String(exit));
    switch (exit) {
      case Exit.BUDGET: case Exit.TIMER: case Exit.MAINTENANCE: return;
      case Exit.HVC: {
        const imm = Number(st.exitEsr & 0xFFFFn);
        if (imm === XEN_HYPERCALL_TAG) {
          this.stats.hypercalls++;
          d.hypercalls++;
          const args = [st.x(0), st.x(1), st.x(2), st.x(3), st.x(4)];
          const nr = Number(st.x(16));
          const r = dispatchHypercall(this, d, v, nr, args);
          if (r !== null) st.setX(0, BigInt.asUintN(64, r));
          if (this.auditEachCall) this.auditAfter(d, nr);
        } else if (imm === 0) smccc(this, d, v);
        else injectUndef(v, 4n); // Xen: unknown HVC immediate is UNDEFINED
        return;
      }
      case Exit.SMC:
        smccc(this, d, v);
        st.pc = st.pc + 4n;
        return;
      case Exit.SYSREG: emulateSysreg(this, d, v); return;
      case Exit.DABT: dataAbort(this, d, v); return;
      case Exit.IABT:
        injectAbort(v, false, st.exitFar);
        return;
      case Exit.WFI: {
        const esr = st.exitEsr;
        if ((esr & 1n) === 1n) { this.yieldRequested = true; return; } // WFE: let others run
        if (!this.interruptDeliverable(d, v)) { v.block = "wfi"; this.setRunstate(v, RUNSTATE.blocked); }
        return;
      }
      default:
        this.crash(d, `vCPU ${v.id} stopped with exit ${EXIT_NAMES[exit] ?? exit} at pc 0x${st.pc.toString(16)}`);
    }
  }

  // ---- the control domain's hypercall entry (privcmd)
  privcmd(d: Domain, nr: number, args: bigint[]): bigint {
    const v = d.vcpus[0];
    try {
      return dispatchHypercall(this, d, v, nr, args) ?? 0n;
    } catch (e) {
      this.internalError(`d${d.id}: hypercall ${nr}`, e);
      return neg(XEN_E.EIO);
    } finally {
      if (this.auditEachCall) this.auditAfter(d, nr);
    }
  }

  yieldPending(): boolean { return this.yieldRequested; }
  hasAssignedDevices(d: Domain): boolean { return this.iommu.owns(d); }
}

export { SR };
