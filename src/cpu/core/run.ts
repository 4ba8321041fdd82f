// run(vcpu, budget): execute a vCPU until something needs the hypervisor, as
// hardware virtualisation does (KVM_RUN): an HVC, a trapped system register,
// a stage-2 fault, WFI/WFE, the virtual timer firing, or the budget spent.

import {
  cpu, pc, curPC, daif, il, attention, exitReason, faulted, instret,
  setCpu, setPC, setCurPC, setCurInsn, setAttention, setFaulted, setExitReason, setInstret,
  sr, setSr, syncIn, syncOut, SR_HCR, HCR_VSE,
  EXIT_NONE, EXIT_BUDGET, EXIT_TIMER,
} from "./state";
import { execute } from "./decode";
import { translate, ACC_EXEC } from "./mmu";
import { selectTlb, fetchVpn, fetchHost, tlbFetch, TLB_MASK, setFetch } from "./tlb_sets";
import { refreshFpEnabled } from "./cpacr";
import {
  takeSyncException, takeAsyncException, EC_PC_ALIGN, EC_ILLEGAL, VEC_IRQ, VEC_FIQ, VEC_SERROR,
} from "./exceptions";
import { virtualIrqPending, virtualFiqPending } from "./gic_cpuif";
import { timerDeadline, timerCondition, setClock } from "./timer";
import { jitEnter, jitEndRun, jitMiss, countInterpreted, runPage, heatTick, ENTER_NONE, ENTER_RAN } from "./jit";
import { jitOn } from "./code_frames";

function fetchSlow(): u32 {
  setCurPC(pc);
  setCurInsn(0);
  if ((pc & 3) != 0) {
    takeSyncException(EC_PC_ALIGN, 0, pc, true, pc);
    return 0;
  }
  const vpn = pc >> 12;
  const e = tlbFetch + (<usize>(vpn & TLB_MASK) << 5);
  if (load<u64>(e, 16) == vpn) {
    const h = <usize>((pc & ~<u64>0xFFF) + load<u64>(e, 24));
    setFetch(vpn, h);
    return load<u32>(h + (<usize>pc & 0xFFF));
  }
  const h = translate(pc, ACC_EXEC, 4);
  if (h == 0) return 0; // the fault (or MMIO exit) is raised
  setFetch(vpn, h & ~<usize>0xFFF);
  return load<u32>(h);
}

// Between instructions: exits, pending interrupts, illegal state, timer.
// Returns true if run() must return.
function onAttention(): bool {
  setAttention(false);
  setFaulted(false);
  if (exitReason != EXIT_NONE) return true;
  if (il != 0) {
    setCurPC(pc);
    takeSyncException(EC_ILLEGAL, 0, 0, false, pc);
    setFaulted(false);
    return exitReason != EXIT_NONE;
  }
  const hcr = sr(SR_HCR);
  if ((hcr & HCR_VSE) != 0 && (daif & 4) == 0) {
    setSr(SR_HCR, hcr & ~HCR_VSE);
    takeAsyncException(VEC_SERROR);
  } else if ((daif & 2) == 0 && virtualIrqPending()) {
    takeAsyncException(VEC_IRQ);
  } else if ((daif & 1) == 0 && virtualFiqPending()) {
    takeAsyncException(VEC_FIQ);
  }
  setAttention(false);
  setFaulted(false);
  return false;
}

@inline function min64(a: u64, b: u64): u64 { return a < b ? a : b; }

// The instruction at pc comes from the cached fetch page, else the slow
// path (0 with `faulted` set if the fetch faulted). Only the slow path can
// fault: `faulted` is clear after attention is handled (setting it sets
// attention), so the fast path does not test it.

@inline function step(p: u64, insn: u32): void {
  setCurPC(p);
  setCurInsn(insn);
  setPC(p + 4);
  execute(insn);
  setInstret(instret + 1);
}

// At the limit: the budget spent or the timer due ends the run (true);
// otherwise the deadline moved and the loop goes on.
@inline function budgetOrTimerExit(budgetEnd: u64): bool {
  if (instret >= budgetEnd) { setExitReason(EXIT_BUDGET); return true; }
  if (timerCondition()) { setExitReason(EXIT_TIMER); return true; }
  return false;
}

// Straight-line code after the instruction at curPC: instructions run while
// each falls through to the next in the cached fetch page, nothing needs
// attention and the limit is not reached; curPC is then the last that ran.
// Apart from the run loop's so that few values live across execute(): V8
// keeps none of a wasm function's registers across a call, so each value
// live across it cost a spill and a reload per instruction (~10 of the
// loop's ~48 host instructions).
@inline function straightLine(limit: u64): void {
  while (!attention && instret < limit) {
    const p = pc;
    if ((p >> 12) != fetchVpn) return;
    step(p, load<u32>(fetchHost + (<usize>p & 0xFFF)));
    if (pc != curPC + 4) return;
  }
}

// The interpreter alone.
function loopInterpreted(budgetEnd: u64): void {
  let limit = min64(budgetEnd, timerDeadline());
  while (true) {
    if (attention) {
      if (onAttention()) break;
      limit = min64(budgetEnd, timerDeadline());
    }
    if (instret >= limit) {
      if (budgetOrTimerExit(budgetEnd)) break;
      limit = min64(budgetEnd, timerDeadline());
      continue;
    }
    const p = pc;
    let insn: u32;
    if ((p >> 12) == fetchVpn) insn = load<u32>(fetchHost + (<usize>p & 0xFFF));
    else { insn = fetchSlow(); if (faulted) continue; }
    step(p, insn);
  }
}

// The same, where translated code may take over at a block head (a branch
// target, an exception vector, the start of the run).
// Instructions interpreted at a block head that translated code did not
// take are counted (per block, for the profile) by jitEnter's reason.
// jitEnter marks what the interpreter runs for the translator, from one
// head to the instruction before the next (lastP).
function loopTranslated(budgetEnd: u64): void {
  let limit = min64(budgetEnd, timerDeadline());
  let head = true;
  let why: u32 = 0, from = instret;
  let lastP: u64 = <u64>-1; // the last instruction run (after translated code: its page)
  while (true) {
    if (attention) {
      if (onAttention()) break;
      limit = min64(budgetEnd, timerDeadline());
      head = true;
    }
    if (instret >= limit) {
      if (budgetOrTimerExit(budgetEnd)) break;
      limit = min64(budgetEnd, timerDeadline());
      continue;
    }
    const p = pc;
    let insn: u32;
    if ((p >> 12) == fetchVpn) insn = load<u32>(fetchHost + (<usize>p & 0xFFF));
    else { insn = fetchSlow(); if (faulted) continue; }
    if (head) {
      if (why != 0) { countInterpreted(why, instret - from); why = 0; }
      const r = jitEnter(p, limit, lastP);
      if (r != ENTER_NONE) {
        lastP = runPage;
        // Translated code ran and left at pc: another head to try, or (not
        // a head of its translation, or an instruction its slow path leaves
        // to the interpreter) the interpreter's from there.
        if (r != ENTER_RAN) { head = false; why = jitMiss; from = instret; }
        continue;
      }
      why = jitMiss; from = instret;
    }
    step(p, insn);
    if (pc == p + 4) straightLine(limit);
    lastP = curPC;
    head = pc != lastP + 4;
  }
  jitEndRun(lastP);
  if (why != 0) countInterpreted(why, instret - from);
}


// clockBase: the physical counter now; clockScale: counter ticks per 65536
// instructions this vCPU retires during the run.
export function run(c: usize, budget: u64, clockBase: u64, clockScale: u64): u32 {
  setCpu(c);
  syncIn();
  setClock(clockBase, clockScale);
  selectTlb();
  refreshFpEnabled();
  setExitReason(EXIT_NONE);
  setAttention(true);
  const start = instret;
  const budgetEnd = instret + budget;
  if (jitOn) { loopTranslated(budgetEnd); heatTick(instret - start); } else loopInterpreted(budgetEnd);
  syncOut();
  return exitReason;
}

// For the hypervisor between runs: state that needs the core's logic.
export function vcpuIrqPending(c: usize): bool {
  const saved = cpu;
  setCpu(c);
  const r = virtualIrqPending() || virtualFiqPending();
  setCpu(saved);
  return r;
}
