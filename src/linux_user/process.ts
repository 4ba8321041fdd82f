// A Linux user process on the core: an address space, one vCPU at EL0, and
// the kernel-side state the system calls keep (brk, mmap area, files).
// Exceptions for EL1 reach the host as exits (CTRL_EXC_TO_HOST): an SVC is a
// system call, anything else is a signal that ends the process.

import { Core, VcpuState, SR, CTRL_EXC_TO_HOST } from "../cpu/cpu.js";
import { AddressSpace, FrameAllocator, PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_EXEC } from "./address_space.js";
import { parseElf, PT_LOAD, PF_R, PF_W, PF_X, ET_DYN } from "./elf.js";

export const STACK_TOP = 0x0000_ffff_ffff_0000n;
export const STACK_SIZE = 8 << 20;
export const MMAP_BASE = 0x0000_ffff_0000_0000n; // mmap grows down from here
export const PIE_BASE = 0x0000_aaaa_aaaa_0000n;

// SCTLR_EL1 as Linux sets it for EL0: MMU, caches, SP alignment checks,
// and EL0 access to DC ZVA, CTR_EL0, WFI/WFE and cache maintenance.
export const USER_SCTLR = (1n << 0n) | (1n << 2n) | (1n << 3n) | (1n << 4n) | (1n << 12n) | (1n << 14n) | (1n << 15n) |
  (1n << 16n) | (1n << 18n) | (1n << 26n) | (1n << 11n) | (1n << 20n) | (1n << 22n) | (1n << 28n) | (1n << 29n);
// TCR_EL1: T0SZ=16 (48-bit), WB cacheable inner shareable walks, 4 KiB, EPD1, IPS=48 bits, 16-bit ASIDs, TBI0
export const USER_TCR = 16n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (5n << 32n) | (1n << 36n) | (1n << 37n);

export type ExitStatus = { code: number } | { signal: number };

export interface ProcessIo {
  write(fd: number, data: Uint8Array): number; // returns bytes written or a negative errno
}

export class Process {
  readonly cpu: VcpuState;
  brkStart = 0n;
  brk = 0n;
  mmapNext = MMAP_BASE;
  exit: ExitStatus | null = null;
  tidAddress = 0n;

  constructor(readonly core: Core, readonly as: AddressSpace, readonly pid: number, cpu?: VcpuState) {
    this.cpu = cpu ?? core.createVcpu();
    as.onChange(() => this.cpu.flushTlb());
    if (!cpu) {
      const c = this.cpu;
      c.setSys(SR.SCTLR, USER_SCTLR);
      c.setSys(SR.TCR, USER_TCR);
      c.setSys(SR.MAIR, 0xFFn);
      c.setSys(SR.TTBR0, as.ttbr0(pid));
      c.setSys(SR.CPACR, 3n << 20n);
      c.setSys(SR.CNTKCTL, 2n); // EL0VCTEN
      c.setSys(SR.CTRL, CTRL_EXC_TO_HOST);
      c.pstate = 0n; // EL0t, interrupts unmasked
    }
  }

  // Load a static ELF and build the initial stack (argv, envp, auxv).
  load(bytes: Uint8Array, argv: string[], envp: string[], execfn: string): void {
    const elf = parseElf(bytes);
    const bias = elf.type === ET_DYN ? PIE_BASE : 0n;
    let phdrAddr = 0n;
    let end = 0n;
    for (const ph of elf.phdrs) {
      if (ph.type !== PT_LOAD) continue;
      const start = (ph.vaddr + bias) & ~4095n;
      const segEnd = ph.vaddr + bias + BigInt(ph.memsz);
      const prot = ((ph.flags & PF_R) ? PROT_READ : 0) | ((ph.flags & PF_W) ? PROT_WRITE : 0) | ((ph.flags & PF_X) ? PROT_EXEC : 0);
      // pages shared with a previous segment keep their contents
      for (let va = start; va < segEnd; va += 4096n) {
        if (!this.as.isMapped(va, 1)) this.as.mapAnon(va, PAGE_SIZE, prot);
        else this.as.protect(va, PAGE_SIZE, prot | this.protOf(va));
      }
      this.as.write(ph.vaddr + bias, elf.bytes.subarray(ph.offset, ph.offset + ph.filesz), true);
      if (ph.offset <= elf.phoff && elf.phoff < ph.offset + ph.filesz) {
        phdrAddr = ph.vaddr + bias + BigInt(elf.phoff - ph.offset);
      }
      if (segEnd > end) end = segEnd;
    }
    this.brkStart = this.brk = (end + 4095n) & ~4095n;
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
    const auxv: [number, bigint][] = [
      [3, phdrAddr], [4, BigInt(elf.phentsize)], [5, BigInt(elf.phnum)], [6, 4096n], [7, 0n], [8, 0n],
      [9, elf.entry + bias], [11, 0n], [12, 0n], [13, 0n], [14, 0n], [16, HWCAP], [26, 0n], [17, 100n],
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

  private protOf(va: bigint): number {
    return this.as.pages.get(Number(va / 4096n))?.prot ?? 0;
  }

  release(): void {
    this.as.release();
    this.core.destroyVcpu(this.cpu);
  }
}

export { FrameAllocator };
