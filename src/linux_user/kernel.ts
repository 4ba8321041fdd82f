// The emulated kernel's process side: the process table, fork, execve, exit
// and reaping, and signal generation and delivery. System calls and the
// scheduler call in here; the host's file system is used as it is.

import { readFileSync, statSync, accessSync, constants as FS } from "node:fs";
import { basename, resolve } from "node:path";
import { Core } from "../cpu/cpu.js";
import { AddressSpace, FrameAllocator, OutOfMemory } from "./address_space.js";
import { parseElf, ElfError } from "./elf.js";
import { Process, ExitStatus, waitStatus } from "./process.js";
import { EACCES, ELOOP, ENOEXEC, ENOMEM, hostErrno, EISDIR } from "./errno.js";
import {
  SigInfo, SIGCHLD, SIGKILL, SIG_IGN, SIG_DFL, SA_NOCLDWAIT, CLD_EXITED, CLD_KILLED,
  defaultAction, setupFrame, signalName, SIGSEGV,
} from "./signals.js";
import { OpenFile } from "./open_file.js";
import { StandIn } from "./stand_in.js";
import { HostTerminal } from "./terminal.js";

export interface KernelOptions {
  // The first process's standard descriptors.
  stdio: [OpenFile, OpenFile, OpenFile];
  cwd: string;
  // Diagnostics (system call traces, fatal faults) go here.
  log: (line: string) => void;
  // "all": every system call; "unknown": only unimplemented ones.
  trace: "all" | "unknown" | "off";
  // Runs in place of host programs of another architecture that name its applets.
  standIn?: StandIn;
}

const isElf = (b: Uint8Array): boolean => b[0] === 0x7F && b[1] === 0x45 && b[2] === 0x4C && b[3] === 0x46;

export class UserKernel {
  readonly frames: FrameAllocator;
  readonly procs = new Map<number, Process>();
  private nextPid = 100;
  root: Process | null = null;
  instructions = 0n; // retired by processes that have exited
  readonly startTime = performance.now();
  readonly terminal = new HostTerminal();

  constructor(readonly core: Core, readonly opts: KernelOptions) {
    this.frames = new FrameAllocator(core);
  }

  log(line: string): void { this.opts.log(line); }

  private newPid(): number {
    while (this.procs.has(this.nextPid)) this.nextPid++;
    return this.nextPid++;
  }

  // The first process, running `exe` (a host path, for /proc/self/exe).
  spawn(exe: string, bytes: Uint8Array, argv: string[], envp: string[]): Process {
    const p = new Process(this.core, new AddressSpace(this.frames), this.newPid());
    this.procs.set(p.pid, p);
    p.cwd = this.opts.cwd;
    p.exe = resolve(this.opts.cwd, exe); // /proc/self/exe is absolute
    p.comm = basename(exe).slice(0, 15);
    this.opts.stdio.forEach((f, fd) => p.fds.installAt(fd, f, false));
    p.load(parseElf(bytes), argv, envp, argv[0] ?? exe);
    this.root = p;
    return p;
  }

  // fork(): a copy of the parent, or null when memory or vCPUs run out; the
  // child returns 0 from the call.
  fork(parent: Process): Process | null {
    let as: AddressSpace;
    try {
      as = parent.as.clone();
    } catch (e) {
      if (e instanceof OutOfMemory) return null;
      throw e;
    }
    let child: Process;
    try {
      child = new Process(this.core, as, this.newPid(), parent);
    } catch {
      as.release(); // the core has no vCPU block left
      return null;
    }
    this.procs.set(child.pid, child);
    child.parent = parent;
    parent.children.add(child);
    child.brkStart = parent.brkStart;
    child.brk = parent.brk;
    child.fds = parent.fds.fork();
    child.cwd = parent.cwd;
    child.umask = parent.umask;
    child.exe = parent.exe;
    child.comm = parent.comm;
    child.sig = parent.sig.fork();
    child.sigtramp = parent.sigtramp;
    child.startInstret = child.cpu.instret;
    child.cpu.setX(0, 0n);
    return child;
  }

  // execve: 0 on success (the process runs the new image), or -errno with
  // the old image untouched.
  execve(p: Process, path: string, argv: string[], envp: string[], depth = 0): number {
    if (depth > 4) return -ELOOP;
    let bytes: Uint8Array;
    try {
      const st = statSync(path);
      if (st.isDirectory()) return -EACCES;
      accessSync(path, FS.X_OK);
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      const err = hostErrno(e);
      return -(err === EISDIR ? EACCES : err);
    }
    if (bytes[0] === 0x23 && bytes[1] === 0x21) { // "#!": run the interpreter on the script
      const nl = bytes.indexOf(10);
      const line = Buffer.from(bytes.subarray(2, nl < 0 ? Math.min(bytes.length, 256) : Math.min(nl, 256))).toString("utf8").trim();
      const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) return -ENOEXEC;
      const args = [m[1], ...(m[2] ? [m[2].trim()] : []), path, ...argv.slice(1)];
      return this.execve(p, resolve(p.cwd, m[1]), args, envp, depth + 1);
    }
    let elf: ReturnType<typeof parseElf>;
    try {
      elf = parseElf(bytes);
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      // an ELF for another machine (a host program): busybox may stand in
      const si = this.opts.standIn;
      if (!si || !isElf(bytes) || !si.applets.has(basename(path)) || path === si.path) return -ENOEXEC;
      return this.execve(p, si.path, argv, envp, depth + 1);
    }
    // the point of no return
    this.instructions += p.cpu.instret - p.startInstret;
    try {
      p.replaceImage(new AddressSpace(this.frames));
      p.startInstret = p.cpu.instret;
      p.load(elf, argv, envp, path);
    } catch (e) {
      if (!(e instanceof OutOfMemory)) throw e;
      this.exitProcess(p, { signal: SIGSEGV });
      return -ENOMEM;
    }
    p.fds.closeOnExec();
    p.sig.exec();
    p.pollDeadline = null;
    p.lastFault = { pc: -1n, far: -1n };
    p.exe = path;
    p.comm = basename(path).slice(0, 15);
    p.execed = true;
    return 0;
  }

  exitProcess(p: Process, status: ExitStatus): void {
    if (p.exit) return;
    p.exit = status;
    p.wait = null;
    p.execed = true;
    this.instructions += p.cpu.instret - p.startInstret;
    p.releaseResources();
    for (const c of p.children) {
      c.parent = null;
      if (c.exit) this.reap(c);
    }
    p.children.clear();
    const parent = p.parent;
    if (!parent || parent.exit) { this.reap(p); return; }
    const act = parent.sig.actions[SIGCHLD];
    // children of a parent that ignores SIGCHLD are not kept for wait4
    if (p.exitSignal === SIGCHLD && (act.handler === SIG_IGN || (act.flags & SA_NOCLDWAIT) !== 0n)) this.reap(p);
    if (p.exitSignal === 0) return;
    const code = "code" in status ? CLD_EXITED : CLD_KILLED;
    this.signal(parent, { signo: p.exitSignal, code, pid: p.pid, uid: process.getuid?.() ?? 0, status: "code" in status ? status.code : status.signal });
  }

  // Forget a dead process (after wait4, or when nobody will wait).
  reap(p: Process): number {
    p.reaped = true;
    this.procs.delete(p.pid);
    p.parent?.children.delete(p);
    return waitStatus(p.exit ?? { code: 0 });
  }

  signal(p: Process, info: SigInfo): void {
    if (p.exit) return;
    if (info.signo === SIGKILL) { this.exitProcess(p, { signal: SIGKILL }); return; }
    if (p.sig.discards(info.signo)) return;
    p.sig.post(info);
  }

  // Deliver one pending signal, as on a return to user mode: run the default
  // action or enter the handler. False if the process died.
  deliver(p: Process): boolean {
    const info = p.sig.take();
    if (!info) return true;
    const act = p.sig.actions[info.signo];
    if (act.handler === SIG_IGN) return true;
    if (act.handler === SIG_DFL) {
      const d = defaultAction(info.signo);
      if (d === "term" || d === "core") {
        this.exitProcess(p, { signal: info.signo });
        return false;
      }
      return true; // ignore; stop and continue are not modelled
    }
    if (!this.withMemory(() => setupFrame(p, info, act), false)) {
      this.log(`xents: pid ${p.pid}: cannot build the frame for ${signalName(info.signo)} at sp 0x${p.cpu.sp.toString(16)}; killed by SIGSEGV`);
      this.exitProcess(p, { signal: SIGSEGV });
      return false;
    }
    return true;
  }

  // A synchronous fault: the handler runs if there is one and the signal is
  // not blocked; otherwise the process dies with a message on stderr.
  fault(p: Process, info: SigInfo, esr: bigint, what: string): void {
    const act = p.sig.actions[info.signo];
    const blocked = (p.sig.blocked & (1n << BigInt(info.signo - 1))) !== 0n;
    if (act.handler !== SIG_DFL && act.handler !== SIG_IGN && !blocked && this.withMemory(() => setupFrame(p, info, act, esr), false)) return;
    this.log(`xents: pid ${p.pid} (${p.exe}) killed by ${signalName(info.signo)}: ${what}`);
    this.exitProcess(p, { signal: info.signo });
  }

 // Run `f`; if machine memory runs out meanwhile, the answer is `onOom`.
  withMemory<T>(f: () => T, onOom: T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof OutOfMemory) return onOom;
      throw e;
    }
  }

  private rng = 0x9E3779B97F4A7C15n;
  // splitmix64: deterministic "random" bytes for getrandom and AT_RANDOM
  randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 8) {
      this.rng = BigInt.asUintN(64, this.rng + 0x9E3779B97F4A7C15n);
      let z = this.rng;
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94D049BB133111EBn);
      z ^= z >> 31n;
      for (let j = 0; j < 8 && i + j < n; j++) out[i + j] = Number((z >> BigInt(8 * j)) & 0xFFn);
    }
    return out;
  }

  now(): bigint { return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)); }
  monotonic(): bigint { return BigInt(Math.round(performance.now() * 1e6)); }
}
