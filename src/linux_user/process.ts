// A Linux user process on the core: an address space, one vCPU at EL0, and
// the kernel-side state the system calls keep (brk, files, signals, family).
// Exceptions for EL1 reach the host as exits (CTRL_EXC_TO_HOST): an SVC is a
// system call, anything else a fault the runner resolves or turns into a signal.

import { Core, VcpuState, SR, CTRL_EXC_TO_HOST, Layout } from "../cpu/cpu.js";
import { AddressSpace, PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_EXEC } from "./address_space.js";
import { ElfImage, PT_LOAD, PF_R, PF_W, PF_X, ET_DYN } from "./elf.js";
import { FdTable } from "./fd_table.js";
import { SignalState } from "./signals.js";

export const STACK_TOP = 0x0000_ffff_ffff_0000n;
export const STACK_SIZE = 8 << 20;
export const MMAP_TOP = 0x0000_ffff_0000_0000n; // mmap grows down from here
export const MMAP_BOTTOM = 0x0000_0001_0000_0000n;
export const PIE_BASE = 0x0000_aaaa_aaaa_0000n;
// One page above the stack holding `mov x8, #139; svc #0` (rt_sigreturn), the
// return address of signal handlers registered without SA_RESTORER.
export const SIGTRAMP = STACK_TOP;
const SIGTRAMP_CODE = [0xD2801168, 0xD4000001];

// SCTLR_EL1 as Linux sets it for EL0: MMU, caches, SP alignment checks,
// and EL0 access to DC ZVA, CTR_EL0, WFI/WFE and cache maintenance.
export const USER_SCTLR = (1n << 0n) | (1n << 2n) | (1n << 3n) | (1n << 4n) | (1n << 12n) | (1n << 14n) | (1n << 15n) |
  (1n << 16n) | (1n << 18n) | (1n << 26n) | (1n << 11n) | (1n << 20n) | (1n << 22n) | (1n << 28n) | (1n << 29n);
// TCR_EL1: T0SZ=16 (48-bit), WB cacheable inner shareable walks, 4 KiB, EPD1, IPS=48 bits, 16-bit ASIDs, TBI0
export const USER_TCR = 16n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (5n << 32n) | (1n << 36n) | (1n << 37n);

// How a process ended. No core dumps are written (RLIMIT_CORE is 0), so
// "core" signals end processes like "term" ones.
export type ExitStatus = { code: number } | { signal: number };

// Encode an exit for wait4: code << 8, or the signal.
export function waitStatus(s: ExitStatus): number {
  return "code" in s ? (s.code & 0xFF) << 8 : s.signal & 0x7F;
}

// A process waiting in the kernel. With `retry` the system call runs again
// when `ready()` holds (its result is not yet known); otherwise the result is
// already in x0 and the process only sleeps.
export interface Wait {
  ready(): boolean;
  retry: boolean;
  interruptible: boolean; // a caught signal ends the wait
  restartable?: boolean; // with SA_RESTART the call runs again after the handler
  deadline?: number; // performance.now() time at which ready() turns true by itself
  onInterrupt?: () => void; // for !retry waits: set the result of an interrupted call
}

export class Process {
  readonly cpu: VcpuState;
  as: AddressSpace;
  brkStart = 0n;
  brk = 0n;
  exit: ExitStatus | null = null;
  reaped = false;
  tidAddress = 0n;
  parent: Process | null = null;
  readonly children = new Set<Process>();
  pgid: number;
  sid: number;
  fds = new FdTable();
  cwd = "/";
  umask = 0o022;
  exe = "";
  sig = new SignalState();
  wait: Wait | null = null;
  execed = false; // for vfork: the parent may go on
  exitSignal = 17; // SIGCHLD, or what clone asked for
  comm = "";
  yieldNow = false; // sched_yield: end the time slice
  sigtramp = SIGTRAMP;
  realTimer: { at: number; interval: number } | null = null; // ITIMER_REAL, in performance.now() ms
  pollDeadline: number | null = null; // ppoll's timeout across re-runs of the call
  startInstret = 0n; // the vCPU's count when this image started (fork copies the parent's)
  lastFault = { pc: -1n, far: -1n }; // a fault that recurs at once is not resolvable

  constructor(readonly core: Core, as: AddressSpace, readonly pid: number, from?: Process) {
    this.as = as;
    this.pgid = from?.pgid ?? pid;
    this.sid = from?.sid ?? pid;
    this.cpu = core.createVcpu();
    if (from) {
      // a forked child: the parent's registers, system registers and flags
      const src = from.cpu.base, dst = this.cpu.base;
      core.bytes.copyWithin(dst, src, src + Layout.OFF_EXIT);
    } else this.resetCpu();
    this.cpu.setSys(SR.TTBR0, as.ttbr0(pid));
    this.cpu.flushTlb();
    as.onChange(() => this.cpu.flushTlb());
  }

  private resetCpu(): void {
    const c = this.cpu;
    const b = c.base;
    const instret = c.instret; // keeps counting across execve
    this.core.bytes.fill(0, b, b + Layout.OFF_EXIT);
    this.core.view.setBigUint64(b + Layout.OFF_INSTRET, instret, true);
    c.setSys(SR.SCTLR, USER_SCTLR);
    c.setSys(SR.TCR, USER_TCR);
    c.setSys(SR.MAIR, 0xFFn);
    c.setSys(SR.CPACR, 3n << 20n);
    c.setSys(SR.CNTKCTL, 2n); // EL0VCTEN
    c.setSys(SR.CTRL, CTRL_EXC_TO_HOST);
    c.pstate = 0n; // EL0t, interrupts unmasked
  }

  // execve: a fresh address space and register file for a new image.
  replaceImage(as: AddressSpace): void {
    this.as.release();
    this.as = as;
    this.resetCpu();
    this.cpu.setSys(SR.TTBR0, as.ttbr0(this.pid));
    this.cpu.flushTlb();
    as.onChange(() => this.cpu.flushTlb());
  }

  // Load a static ELF and build the initial stack (argv, envp, auxv).
  load(elf: ElfImage, argv: string[], envp: string[], execfn: string): void {
    const bias = elf.type === ET_DYN ? PIE_BASE : 0n;
    let phdrAddr = 0n;
    let end = 0n;
    for (const ph of elf.phdrs) {
      if (ph.type !== PT_LOAD) continue;
      const start = (ph.vaddr + bias) & ~4095n;
      const segEnd = ph.vaddr + bias + BigInt(ph.memsz);
      const prot = ((ph.flags & PF_R) ? PROT_READ : 0) | ((ph.flags & PF_W) ? PROT_WRITE : 0) | ((ph.flags & PF_X) ? PROT_EXEC : 0);
      // a page shared with a previous segment keeps its contents and gets both protections
      for (let va = start; va < segEnd; va += 4096n) {
        if (!this.as.isMapped(va, 1)) this.as.mapAnon(va, PAGE_SIZE, prot);
        else this.as.protect(va, PAGE_SIZE, prot | this.as.protAt(va));
      }
      this.as.write(ph.vaddr + bias, elf.bytes.subarray(ph.offset, ph.offset + ph.filesz), true);
      if (ph.offset <= elf.phoff && elf.phoff < ph.offset + ph.filesz) {
        phdrAddr = ph.vaddr + bias + BigInt(elf.phoff - ph.offset);
      }
      if (segEnd > end) end = segEnd;
    }
    this.brkStart = this.brk = (end + 4095n) & ~4095n;
    // The signal return trampoline
    this.as.mapAnon(SIGTRAMP, PAGE_SIZE, PROT_READ | PROT_EXEC);
    const tramp = new Uint8Array(8);
    SIGTRAMP_CODE.forEach((w, i) => new DataView(tramp.buffer).setUint32(i * 4, w, true));
    this.as.write(SIGTRAMP, tramp, true);
    // Stack
    const stackBase = STACK_TOP - BigInt(STACK_SIZE);
    this.as.mapAnon(stackBase, STACK_SIZE, PROT_READ | PROT_WRITE);
    let sp = STACK_TOP;
    const pushBytes = (b: Uint8Array): bigint => { sp -= BigInt(b.length); this.as.write(sp, b, true); return sp; };
    const pushStr = (s: string): bigint => pushBytes(new Uint8Array(Buffer.from(s + "\0", "utf8")));
    const execfnAddr = pushStr(execfn);
    const platform = pushStr("aarch64");
    const random = pushBytes(new Uint8Array(16).map((_, i) => (i * 37 + 11) & 0xFF));
    const argvAddrs = argv.map(pushStr);
    const envAddrs = envp.map(pushStr);
    const HWCAP = (1n << 0n) | (1n << 1n) | (1n << 3n) | (1n << 4n) | (1n << 5n) | (1n << 6n) | (1n << 7n); // FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32
    const uid = BigInt(process.getuid?.() ?? 0), gid = BigInt(process.getgid?.() ?? 0);
    const auxv: [number, bigint][] = [
      [3, phdrAddr], [4, BigInt(elf.phentsize)], [5, BigInt(elf.phnum)], [6, 4096n], [7, 0n], [8, 0n],
      [9, elf.entry + bias], [11, uid], [12, uid], [13, gid], [14, gid], [16, HWCAP], [26, 0n], [17, 100n],
      [25, random], [23, 0n], [31, execfnAddr], [15, platform], [0, 0n],
    ];
    const words: bigint[] = [BigInt(argv.length), ...argvAddrs, 0n, ...envAddrs, 0n];
    for (const [k, v] of auxv) words.push(BigInt(k), v);
    sp = (sp - BigInt(words.length * 8)) & ~15n;
    const buf = new Uint8Array(words.length * 8);
    const dv = new DataView(buf.buffer);
    words.forEach((w, i) => dv.setBigUint64(i * 8, w, true));
    this.as.write(sp, buf, true);
    this.cpu.pc = elf.entry + bias;
    this.cpu.setSys(SR.SP_EL0, sp);
  }

  // Free the memory and the vCPU (the process stays as a zombie until reaped).
  releaseResources(): void {
    this.fds.closeAll();
    this.as.release();
    this.core.destroyVcpu(this.cpu);
  }
}
