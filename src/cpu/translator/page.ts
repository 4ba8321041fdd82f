// AArch64 -> WebAssembly for one 4 KiB page of guest code (AssemblyScript,
// compiled once to build/translator.wasm; src/cpu/jit/translate_page.ts
// drives it).
//
// One function per machine page, called by the core's run loop at a block
// head (src/cpu/core/jit.ts):
//   f(cpu: i32, tlb: i32, pcPage: i64, entry: i32, room: i32) -> i32
// cpu: the vCPU block; tlb: the TLB set for loads and stores at the current
// EL/PAN; pcPage: the page's virtual address (the code is position
// independent, so every mapping of the frame shares it); entry: the byte
// offset to start at; room: how many instructions it may retire, 0 to
// 2^31 - 1 (to the budget or the timer's deadline: the core's limit less
// instret, passed rather than the limit so that no entry computes it).
// Returns 1 if any instruction ran, 0 if the first block
// does not fit in the room, 2 if the entry is not a block head (and
// nothing ran), 3 if it left the page by a branch with pc and instret set
// (the core goes on in the target page's translation if it has one,
// jitChain), 4 if it stopped before a load or store whose fast path missed,
// with pc and instret set (the interpreter runs that instruction), 5 if it reached a path of
// the page its translation left out, with pc and instret set, 6 never (the
// core's jitCall answer when a callee came back). The module imports no
// function table: an instance that imports one stays on the table's list
// for good in V8, every table.set walks that list and every instantiation
// copies the whole table, so translations that come and go would leak and
// slow down without end.
//
// The page is split into basic blocks (a block ends at a branch, at an
// exception-generating or branch instruction left to the interpreter, or
// before another block's head; system instructions the interpreter runs
// inside a block make translated code leave when they change the
// translation regime or need attention). A dispatch loop with
// a br_table over the heads lets branches within the page stay in wasm.
// Each block checks `instret + length <= limit` before it runs, so exits are
// exact: the interpreter finishes a block that does not fit.
//
// In optimised code the general registers are read from i64 locals inside
// a block, loaded on first use; a register written is stored to the vCPU
// block at the block's end or before its next load or store (the state
// every exit and fault needs), and before a call to the interpreter.
// Baseline code reads and writes them in the vCPU block itself (below, at
// L_W). Integer data
// processing, branches and integer loads/stores (with the TLB probe inline)
// are translated; everything else calls the interpreter for the whole
// instruction (jitStep) with the state it expects (pc, curPC, curInsn,
// instret, nzcv), and a load's or store's slow path (TLB miss, page
// crossing, SP alignment, MMIO, fault) leaves before the instruction for
// the interpreter to run it, so those cases behave exactly as interpreted.
//
// Written in AssemblyScript rather than TypeScript so that it runs at full
// speed from the first page: as JavaScript it cost V8's optimising compiler
// ~0.8 s of the spare core in a Linux boot's first seconds, while the boot
// waited for translations.

import { Code, Bytes, Op, T, lebSize } from "./wasm_code";
import {
  INLINE, CALL, END, BRANCH, NO_REL, sext, isBranchReg, functionStart, isFastMrs, isDcZva,
  isExclusive, isSystem, isCall, nopLike, classify, classRel, ldstForm, ls, EXT_S64, EXT_S32, MODE_REG, MODE_PRE, MODE_POST,
  F_ADD, F_SUB, F_LOGIC, FLAGS_NONE, flags, flagsOp, flagsSf, lastFlagSetter,
} from "./decode";
import { decodeBitMasks, bmWmask, bmTmask } from "../core/bitmasks";

// Imports: the core's helpers (jit.ts) and hot globals, in this order of
// index (translate_page.ts names them for the instance's imports).
const F_STEP = 0, F_MRS = 1, F_DC_ZVA = 2, F_EXCLUSIVE = 3, F_CALL = 4;
const G_PC = 0, G_INSTRET = 1, G_NZCV = 2;
// Entries in each of the core's direct-mapped TLB sets (tlb_sets.ts), 32 bytes each.
export const TLB_ENTRIES: i32 = 4096;

// Locals
const L_CPU = 0, L_TLB = 1, L_PAGE = 2, L_ENTRY = 3, L_ROOM = 4;
const L_IC0 = 5; // instret at the function's entry
const L_VA = 6, L_A = 7, L_B = 8, L_R = 9; // i64 temps
// The operands and result of the last ADDS/SUBS/ANDS (64-bit; L_F*32 for
// 32-bit ones): the flags, kept as what they are computed from (pending).
const L_FA = 10, L_FB = 11, L_FR = 12;
// Baseline code's registers are not locals: V8's baseline compiler keeps
// every local in a stack slot anyway, reconciles those it holds in
// machine registers at every block boundary and zero-fills them all at
// each entry, so a register's local cost it as much as the vCPU block's
// word and more code (its machine code for a boot's pages 14.1 -> 12.9 MB
// without them; guest-alone boots 56 and 80 ms shorter, paired medians of
// two sets of 10 alternating boots, 7 of 10 each). A value written is
// stored through L_W.
const L_W = 13;
const I64_LOCALS = 9;
const L_NZCV = 14; // i32
const L_E = L_NZCV + 1, L_H = L_NZCV + 2, L_A32 = L_NZCV + 3, L_B32 = L_NZCV + 4, L_R32 = L_NZCV + 5, L_C = L_NZCV + 6; // i32 temps
const L_FA32 = L_NZCV + 7, L_FB32 = L_NZCV + 8, L_FR32 = L_NZCV + 9;
// In a self-looping block: 1 when the flags are those of the loop's last
// flag-setter on the L_F* locals (carried round the loop), 0 when the
// packed NZCV is current.
const L_FPEND = L_NZCV + 10;
// The instructions retired since the entry (instret is L_IC0 + L_N), of
// the L_ROOM that may be: counted and compared in 32 bits, because V8's
// baseline compiler makes a comparison of i32s and the branch on it one
// compare and a jump, and one of i64s five instructions (it sets a
// register from the flags and tests it).
const L_N = L_NZCV + 11;
const I32_LOCALS = 12;
const L_VA32 = L_A32; // a load's or store's address, low half (add/sub's temp is free there)
// Then, in optimised code, one i64 for each of x0..x30 and SP (register 31
// in its SP role) the page's code uses, numbered as first used. Only those
// (when baseline code had them, declaring 40 more cost V8's baseline
// compiler ~40% more compile time).
const L_X0 = L_N + 1;
const NZCV = 32; // index of the flags in the cache state
// The longest loop body (instructions) a block runs on through a head for.
const MAX_LOOP_SPAN = 64;

// Cache state of a register (0..31) or the flags (32). A register written
// in a block lives in its local (DIRTY) until the block's end or its next
// load or store, where it is stored once however often it was written
// (the kernel's mpihelp loops wrote some registers four times an
// iteration); the interpreter's instruction and the helpers that read the
// vCPU block store the dirty ones on their own path first.
const UNLOADED: u8 = 0, CLEAN: u8 = 1, DIRTY: u8 = 2;

// The labels branches name, among the open wasm blocks.
const LB_UNTRANSLATED = 0, LB_LEFT = 1, LB_OUT = 2, LB_NOHEAD = 3, LB_MISS = 4, LB_DISPATCH = 5, LB_LOOP = 6, LB_SLOW = 7;

// Operands of addSub (A: the first, B: the second).
const A_X = 0, A_XSP = 1;
const B_IMM = 0, B_SHIFTED = 1, B_EXTENDED = 2;

const N = 1024; // instructions in a page

// The module around a body: everything before the code section is the same
// for every page (the imports, the function's type, the export).
const prefix = new Bytes(512);
function fnType(b: Bytes, params: StaticArray<i32>, results: StaticArray<i32>): void {
  b.byte(0x60);
  b.u32(<u32>params.length); for (let i = 0; i < params.length; i++) b.byte(params[i]);
  b.u32(<u32>results.length); for (let i = 0; i < results.length; i++) b.byte(results[i]);
}
function section(m: Bytes, id: i32, s: Bytes): void { m.byte(id); m.u32(<u32>s.len); m.append(s); }
function buildPrefix(): void {
  const m = prefix;
  m.byte(0x00); m.byte(0x61); m.byte(0x73); m.byte(0x6D); m.byte(1); m.byte(0); m.byte(0); m.byte(0);
  const types = new Bytes(128);
  types.u32(6);
  fnType(types, [T.I32, T.I64], [T.I32]); // jitStep: (k << 12 | offset, ic) -> leave?
  fnType(types, [T.I32, T.I32], [T.I32]); // jitMrs: (op0:op1:CRn:CRm:op2, Rt) -> done?
  fnType(types, [T.I64], [T.I32]); // jitDcZva: (Xt) -> done?
  fnType(types, [T.I32], [T.I32]); // jitExclusive: (instruction) -> done?
  fnType(types, [T.I32, T.I32], [T.I32]); // jitCall: (return offset, room) -> 6: back there, else what to return
  fnType(types, [T.I32, T.I32, T.I64, T.I32, T.I32], [T.I32]); // the page's function
  section(m, 1, types);
  const imports = new Bytes(256);
  imports.u32(1 + 5 + 3);
  imports.name("env"); imports.name("memory"); imports.byte(0x02); imports.byte(0x00); imports.u32(0);
  const funcs: StaticArray<string> = ["jitStep", "jitMrs", "jitDcZva", "jitExclusive", "jitCall"];
  for (let i = 0; i < funcs.length; i++) { imports.name("env"); imports.name(funcs[i]); imports.byte(0x00); imports.u32(<u32>i); }
  const globals: StaticArray<string> = ["pc", "instret", "nzcv"];
  const gtypes: StaticArray<i32> = [T.I64, T.I64, T.I32];
  for (let i = 0; i < globals.length; i++) { imports.name("env"); imports.name(globals[i]); imports.byte(0x03); imports.byte(gtypes[i]); imports.byte(0x01); }
  section(m, 2, imports);
  const fns = new Bytes(8);
  fns.u32(1); fns.u32(5);
  section(m, 3, fns);
  const exports = new Bytes(16);
  exports.u32(1); exports.name("f"); exports.byte(0x00); exports.u32(5);
  section(m, 7, exports);
}
buildPrefix();

export class PageTranslator {
  readonly c: Code = new Code(1 << 20);
  readonly out: Bytes = new Bytes((1 << 20) + 1024);
  readonly words: StaticArray<u32> = new StaticArray<u32>(N);
  readonly entries: StaticArray<i32> = new StaticArray<i32>(N);
  readonly ran: StaticArray<u8> = new StaticArray<u8>(N / 8);
  private readonly st: StaticArray<u8> = new StaticArray<u8>(33);
  private readonly regLocal: StaticArray<i32> = new StaticArray<i32>(32);
  private regs: i32 = 0;
  // Open wasm blocks, loops and ifs, and where the labels branches name
  // are among them (a branch's depth is the count of those opened since).
  private level: i32 = 0;
  private readonly at: StaticArray<i32> = new StaticArray<i32>(8);
  private readonly reach: StaticArray<u8> = new StaticArray<u8>(N);
  private readonly isHead: StaticArray<u8> = new StaticArray<u8>(N);
  private readonly sure: StaticArray<u8> = new StaticArray<u8>(N);
  private readonly work: StaticArray<i32> = new StaticArray<i32>(4 * N);
  private readonly headAt: StaticArray<i32> = new StaticArray<i32>(N);
  // Each instruction's kind (-1 until classified: most of a page is never
  // reached from the entries) and a direct branch's displacement.
  private readonly kinds: StaticArray<i8> = new StaticArray<i8>(N);
  private readonly rels: StaticArray<i32> = new StaticArray<i32>(N);
  private readonly headIndex: StaticArray<i32> = new StaticArray<i32>(N + 1);
  private readonly heads: StaticArray<i32> = new StaticArray<i32>(N);
  private readonly table: StaticArray<i32> = new StaticArray<i32>(N);
  nHeads: i32 = 0;
  translated: i32 = 0;
  loops: i32 = 0;
  stores: i32 = 0;
  called: i32 = 0;
  private optimised: bool = false; // for V8's optimising compiler (the dispatch is a br_table)
  private hasRan: bool = false;
  private cur: i32 = 0; // the head whose block is being emitted
  // Flags are computed lazily within a block. An ADDS, SUBS or ANDS keeps
  // its operands and result in the L_F* locals (flagSrc says how they were
  // set), and a condition (B.cond, CSEL, CCMP...) tests those (fusedCond)
  // rather than bits of the packed NZCV. The packed NZCV is computed
  // (`pending` until then) only where it is needed: read whole (ADC, a
  // condition not fused), at the block's end, and, without changing this
  // state, on every way out of the block from inside it (a slow path or the
  // interpreter's instruction: spillFlags). A flag-setter whose flags the
  // next one replaces in the same block costs two or three local copies.
  private flagSrc: i32 = FLAGS_NONE;
  private pending: bool = false;
  // A self-looping block whose last flag-setter is likely `loopFlags` (its
  // kind, by a scan of its words) does not compute the NZCV at its back
  // edge: L_FPEND says at run time whether the flags come round the loop
  // pending. Until the body's first flag-setter (`carried`), the ways out
  // and readers of the flags test L_FPEND.
  private loopFlags: i32 = FLAGS_NONE;
  private carried: bool = false;
  private selfLoop: bool = false; // ... and whether it is a wasm loop
  // A self-looping block with everything it may read loaded before the
  // loop (hoisted): the registers it refers to stay in their locals round
  // the loop, stored only on the ways out (a slow path, the interpreter's
  // instruction, the limit, the loop's end), not before each load or store
  // or at the back edge. Each the body may write is DIRTY from the loop's
  // head on, so that every way out stores it whatever iteration it is in
  // (storing one the loop did not change writes back the value it was
  // loaded with). The kernel's multi-precision loops (its RSA check, half a
  // boot's instructions) stored four to eight registers an iteration.
  private resident: bool = false;
  // addSub's operands.
  private aKind: i32 = 0; private aReg: i32 = 0;
  private bKind: i32 = 0; private bImm: i64 = 0; private bReg: i32 = 0; private bP1: i32 = 0; private bP2: i32 = 0;

  // Translates `words` from nEntries byte offsets in `entries` (and, with
  // hasRan, only along what `ran` says has run): the module's length in
  // `out`, or -1 if it did not fit.
  run(nEntries: i32, optimised: bool, hasRan: bool): i32 {
    this.reset(optimised, hasRan);
    const reach = this.reach, isHead = this.isHead, sure = this.sure, work = this.work;
    let nWork = 0;
    // Translate what the entries reach: fall-through, direct branches within
    // the page, the return points of calls, the instructions after those
    // left to the interpreter. The rest of the page (data, code reached only
    // from elsewhere) is not translated until it is entered. With `ran`,
    // only along what has run and what comes back after it (`sure`).
    for (let k = 0; k < nEntries; k++) {
      const e = unchecked(this.entries[k]);
      if (e >= 0 && e < 4096 && (e & 3) == 0) { unchecked(isHead[e >> 2] = 1); unchecked(sure[e >> 2] = 1); unchecked(work[nWork++] = e >> 2); }
    }
    // Where a run of what has run begins, control came from elsewhere (a
    // branch, a call or return from another page, an exception): entries
    // too, so that what ran is translated whichever way it was reached.
    if (hasRan) for (let i = 0; i < N; i++) if (this.ranAt(i) && (i == 0 || !this.ranAt(i - 1))) { unchecked(isHead[i] = 1); unchecked(work[nWork++] = i); }
    while (nWork > 0) {
      for (let i = unchecked(work[--nWork]); i < N && !unchecked(reach[i]) && this.allowed(i); i++) {
        unchecked(reach[i] = 1);
        const kind = this.slot(i), insn = unchecked(this.words[i]);
        if (i + 1 < N && (kind == CALL || kind == END || isCall(insn))) unchecked(sure[i + 1] = 1);
        // After a system instruction that writes (MSR, SYS) translated code
        // often leaves (DAIFClr, a TLB flush): what follows is a head to
        // come back to. Reads (MRS) leave only when they trap.
        if (kind == CALL && isSystem(insn) && ((insn >> 21) & 1) == 0 && i + 1 < N) unchecked(isHead[i + 1] = 1);
        if (kind != BRANCH && kind != END) continue;
        if (i + 1 < N) unchecked(isHead[i + 1] = 1);
        const rel = unchecked(this.rels[i]);
        if (rel != NO_REL) {
          const t = i * 4 + rel;
          if (t >= 0 && t < 4096) { unchecked(isHead[t >> 2] = 1); unchecked(work[nWork++] = t >> 2); }
        }
        // B does not come back; everything else (conditional branches,
        // BL/BLR return points, the interpreter's instructions) may, and what
        // follows BR/RET is most often the next function: translating it
        // too (measured on a Linux boot) saves more entries that miss than
        // it costs.
        const unconditional = (insn & 0x7C000000) == 0x14000000 && (insn >> 31) == 0;
        if (unconditional) break;
      }
    }
    // Where functions begin, entered by indirect calls that no entry seen
    // so far shows: a block head, so that the first such call finds code
    // when fall-through from before reached the function (a third of the
    // entries a Linux boot adds to its pages' translations are these).
    for (let i = 0; i < N; i++) if (unchecked(reach[i]) && functionStart(unchecked(this.words[i]))) unchecked(isHead[i] = 1);
    for (let i = 0; i < N; i++) if (unchecked(isHead[i]) && unchecked(reach[i])) { unchecked(this.headIndex[i] = this.nHeads); unchecked(this.heads[this.nHeads++] = i); }

    const c = this.c;
    c.gget(G_INSTRET); c.set(L_IC0);
    // Shared exits (their tails follow the function's body): "left" with pc
    // set, "out" with pc = the page + L_ENTRY (a branch out of the page),
    // "untranslated" with pc = the page + L_ENTRY (a path left out), "slow"
    // before a load or store whose fast path missed (L_ENTRY: its offset,
    // and its index in the block from bit 12).
    c.block(); this.open(LB_SLOW);
    c.block(); this.open(LB_UNTRANSLATED);
    c.block(); this.open(LB_LEFT);
    c.block(); this.open(LB_OUT);
    c.block(); this.open(LB_NOHEAD);
    c.block(); this.open(LB_MISS);
    c.loop(); this.open(LB_DISPATCH);
    const H = this.nHeads;
    for (let h = H - 1; h >= 0; h--) { c.block(); unchecked(this.headAt[h] = this.level++); }
    if (this.optimised) {
      // Optimised code: a br_table over the page's instructions, which V8's
      // optimising compiler makes one indirect jump.
      c.get(L_ENTRY); c.i32(2); c.op(Op.I32_SHR_U);
      let top = 0;
      for (let i = 0; i < N; i++) if (unchecked(this.headIndex[i]) >= 0) top = i + 1;
      for (let i = 0; i < top; i++) { const j = unchecked(this.headIndex[i]); unchecked(this.table[i] = j >= 0 ? j : H + 2); }
      c.brTable(this.table, top, H + 2);
    } else {
      // Baseline code: a binary search over the heads' offsets. V8's
      // baseline compiler makes a br_table a binary search over all its
      // indices, every one a compare and a jump in the code: up to 1024 of
      // them, ~17 KB of machine code a page and ten compares an entry.
      // (The entry in a machine register for the search: see holdCpu.)
      c.get(L_ENTRY); c.set(L_ENTRY);
      this.searchHeads(0, H);
    }
    for (let h = 0; h < H; h++) {
      c.end(); this.level--; // closes H<h>
      this.emitBlock(h);
    }
    c.end(); this.level--; // dispatch (not reached: every block leaves by a branch)
    c.end(); this.level--; // miss
    // A block that does not fit in the room: the interpreter goes on from it.
    this.exitAtEntry(); c.i32(0); c.op(Op.I32_NE); c.op(Op.RETURN);
    c.end(); this.level--; // nohead
    // Not a block head of this translation: 2 if nothing ran (the core may translate again).
    this.exitAtEntry(); c.set(L_C);
    c.i32(1); c.i32(2); c.get(L_C); c.op(Op.SELECT); c.op(Op.RETURN);
    c.end(); this.level--; // out
    c.get(L_PAGE); c.get(L_ENTRY); c.op(Op.I64_EXTEND_I32_S); c.op(Op.I64_ADD); c.gset(G_PC);
    c.end(); this.level--; // left
    // Out of the page with pc set: the core goes on in the next page's
    // translation if it has one, else in the run loop.
    this.ic(); c.gset(G_INSTRET);
    c.i32(3); c.op(Op.RETURN);
    c.end(); this.level--; // untranslated
    this.exitAtEntry(); c.op(Op.DROP);
    c.i32(5); c.op(Op.RETURN);
    c.end(); this.level--; // slow
    c.get(L_PAGE); c.get(L_ENTRY); c.i32(0xFFF); c.op(Op.I32_AND); c.op(Op.I64_EXTEND_I32_U); c.op(Op.I64_ADD); c.gset(G_PC);
    c.get(L_IC0); c.get(L_N); c.get(L_ENTRY); c.i32(12); c.op(Op.I32_SHR_U); c.op(Op.I32_ADD); c.op(Op.I64_EXTEND_I32_U); c.op(Op.I64_ADD); c.gset(G_INSTRET);
    c.i32(4);
    return this.module();
  }

  private reset(optimised: bool, hasRan: bool): void {
    this.c.reset(); this.out.reset();
    this.optimised = optimised; this.hasRan = hasRan;
    this.st.fill(UNLOADED);
    this.regLocal.fill(-1);
    this.regs = 0; this.level = 0;
    this.at.fill(0);
    this.reach.fill(0); this.isHead.fill(0); this.sure.fill(0);
    this.kinds.fill(-1);
    this.headIndex.fill(-1);
    this.nHeads = 0; this.translated = 0; this.loops = 0; this.stores = 0; this.called = 0; this.cur = 0;
    this.flagSrc = FLAGS_NONE; this.pending = false; this.loopFlags = FLAGS_NONE; this.carried = false; this.selfLoop = false; this.resident = false;
  }

  // The module around the body, in `out`: its length, or -1 if either did not fit.
  private module(): i32 {
    const c = this.c, m = this.out;
    const nLocals = this.regs ? 3 : 2;
    const fnLen = lebSize(<u32>nLocals) + lebSize(I64_LOCALS) + 1 + lebSize(I32_LOCALS) + 1 + (this.regs ? lebSize(<u32>this.regs) + 1 : 0) + c.len + 1;
    m.append(prefix);
    m.byte(10); m.u32(<u32>(lebSize(1) + lebSize(<u32>fnLen) + fnLen));
    m.u32(1); m.u32(<u32>fnLen);
    m.u32(<u32>nLocals);
    m.u32(I64_LOCALS); m.byte(T.I64);
    m.u32(I32_LOCALS); m.byte(T.I32);
    if (this.regs) { m.u32(<u32>this.regs); m.byte(T.I64); }
    m.append(c);
    m.byte(Op.END);
    return c.overflow || m.overflow ? -1 : m.len;
  }

  @inline private ranAt(i: i32): bool { return this.hasRan && ((unchecked(this.ran[i >> 3]) >> <u8>(i & 7)) & 1) == 1; }
  @inline private allowed(i: i32): bool { return !this.hasRan || unchecked(this.sure[i]) == 1 || this.ranAt(i); }

  // Branches to the head among heads [lo, hi) whose offset is L_ENTRY (from
  // inside the innermost head block), or to "nohead" if none is.
  private searchHeads(lo: i32, hi: i32): void {
    const c = this.c;
    if (hi - lo <= 1) {
      if (hi == lo) { c.br(this.depth(LB_NOHEAD)); return; }
      c.get(L_ENTRY); c.i32(unchecked(this.heads[lo]) * 4); c.op(Op.I32_NE); c.brIf(this.depth(LB_NOHEAD));
      c.br(this.depthH(lo));
      return;
    }
    const mid = (lo + hi) >> 1;
    c.get(L_ENTRY); c.i32(unchecked(this.heads[mid]) * 4); c.op(Op.I32_LT_U);
    this.openIf();
    this.searchHeads(lo, mid);
    c.else_();
    this.searchHeads(mid, hi);
    this.close();
  }

  // pc = the entry, instret = what ran; pushes how many ran.
  private exitAtEntry(): void {
    const c = this.c;
    c.get(L_PAGE); c.get(L_ENTRY); c.op(Op.I64_EXTEND_I32_U); c.op(Op.I64_ADD); c.gset(G_PC);
    this.ic(); c.gset(G_INSTRET);
    c.get(L_N);
  }
  // instret now (at the head of the block being run).
  private ic(): void { const c = this.c; c.get(L_IC0); c.get(L_N); c.op(Op.I64_EXTEND_I32_U); c.op(Op.I64_ADD); }

  @inline private open(label: i32): void { unchecked(this.at[label] = this.level++); }
  @inline private depth(label: i32): i32 { return this.level - 1 - unchecked(this.at[label]); }
  @inline private depthH(j: i32): i32 { return this.level - 1 - unchecked(this.headAt[j]); }
  // An `if` inside an instruction's code (its label counts for depth()).
  private openIf(t: i32 = T.VOID): void {
    this.c.if_(t);
    this.level++;
  }

  private close(): void { this.c.end(); this.level--; }

  // The kind of instruction i (its displacement in rels[i]).
  private slot(i: i32): i32 {
    let k = <i32>unchecked(this.kinds[i]);
    if (k < 0) {
      k = classify(unchecked(this.words[i]));
      unchecked(this.kinds[i] = <i8>k);
      unchecked(this.rels[i] = classRel);
    }
    return k;
  }

  // --- registers ------------------------------------------------------------
  // The local of guest register r (31: SP).
  private xl(r: i32): i32 {
    let l = unchecked(this.regLocal[r]);
    if (l < 0) { l = L_X0 + this.regs++; unchecked(this.regLocal[r] = l); }
    return l;
  }
  private load(r: i32): void {
    if (r == NZCV && (this.pending || this.carried)) { this.settleFlags(); return; }
    if (r != NZCV && !this.optimised) return;
    if (unchecked(this.st[r]) != UNLOADED) return;
    const c = this.c;
    if (r == NZCV) { c.gget(G_NZCV); c.set(L_NZCV); } else { c.get(L_CPU); c.mem(Op.I64_LOAD, r * 8); c.set(this.xl(r)); }
    unchecked(this.st[r] = CLEAN);
  }
  // Register r in its zero-register role (31 reads 0), 64 bits.
  private x(r: i32): void { if (r == 31) this.c.i64(0); else this.xsp(r); }
  // Register r in its SP role (baseline code: from the vCPU block).
  private xsp(r: i32): void {
    if (!this.optimised) { this.c.get(L_CPU); this.c.mem(Op.I64_LOAD, r * 8); return; }
    this.load(r); this.c.get(this.xl(r));
  }
  private w(r: i32): void { this.x(r); this.c.op(Op.I32_WRAP_I64); }
  private wsp(r: i32): void { this.xsp(r); this.c.op(Op.I32_WRAP_I64); }
  private setX(r: i32): void { if (r == 31) this.c.op(Op.DROP); else this.setXSP(r); }
  private setXSP(r: i32): void {
    const c = this.c;
    if (!this.optimised) { c.set(L_W); c.get(L_CPU); c.get(L_W); c.mem(Op.I64_STORE, r * 8); this.stores++; return; }
    c.set(this.xl(r));
    unchecked(this.st[r] = DIRTY);
  }
  // Dirty registers stored to the vCPU block: on the block's own path
  // (they are clean after), or on a way out of it (spillRegs: the rest of
  // the block still sees them dirty).
  private flushRegs(): void {
    for (let r = 0; r < 32; r++) if (unchecked(this.st[r]) == DIRTY) { this.storeReg(r); unchecked(this.st[r] = CLEAN); }
  }
  private spillRegs(): void {
    for (let r = 0; r < 32; r++) if (unchecked(this.st[r]) == DIRTY) this.storeReg(r);
  }
  private storeReg(r: i32): void { const c = this.c; c.get(L_CPU); c.get(this.xl(r)); c.mem(Op.I64_STORE, r * 8); this.stores++; }
  private setW(r: i32): void { this.c.op(Op.I64_EXTEND_I32_U); this.setX(r); }
  private setWSP(r: i32): void { this.c.op(Op.I64_EXTEND_I32_U); this.setXSP(r); }
  // The packed NZCV on the stack is the flags now (set by what the flag
  // fusion does not cover).
  private setFlags(): void { this.c.tee(L_NZCV); this.c.gset(G_NZCV); unchecked(this.st[NZCV] = CLEAN); this.flagSrc = FLAGS_NONE; this.pending = false; this.carried = false; }
  // The flags are now those of flagSrc on the L_F* locals, not computed yet.
  private setPending(f: i32): void { this.flagSrc = f; this.pending = true; unchecked(this.st[NZCV] = UNLOADED); this.carried = false; }
  // Pending flags computed into L_NZCV and the core's nzcv (they stay
  // available to fusedCond).
  private settleFlags(): void {
    const c = this.c;
    if (this.carried) {
      // (L_NZCV holds the flags the loop was entered with, loaded before it.)
      c.get(L_FPEND);
      this.openIf();
      this.pushNzcv(this.loopFlags); c.tee(L_NZCV); c.gset(G_NZCV);
      c.i32(0); c.set(L_FPEND);
      this.close();
      this.carried = false;
      return;
    }
    if (!this.pending) return;
    this.pushNzcv(this.flagSrc);
    c.tee(L_NZCV); c.gset(G_NZCV);
    unchecked(this.st[NZCV] = CLEAN);
    this.pending = false;
  }
  // The same on a way out of the block (the state the rest of the block
  // sees does not change).
  private spillFlags(): void {
    const c = this.c;
    if (this.carried) {
      c.get(L_FPEND);
      this.openIf(); this.pushNzcv(this.loopFlags); c.gset(G_NZCV); this.close();
      return;
    }
    if (!this.pending) return;
    this.pushNzcv(this.flagSrc);
    c.gset(G_NZCV);
  }

  // Baseline code: the vCPU block's address in a machine register for the
  // rest of the block. V8's baseline compiler keeps a local in its stack
  // slot and loads it at each use, but a local set from a value in a
  // register stays in that register until a call or the block's end.
  private holdCpu(): void { if (!this.optimised) { this.c.get(L_CPU); this.c.set(L_CPU); } }

  private forget(): void { this.st.fill(UNLOADED); this.flagSrc = FLAGS_NONE; this.pending = false; this.carried = false; }

  // --- exits -----------------------------------------------------------------
  private pcConst(off: i32): void { this.c.get(L_PAGE); if (off != 0) { this.c.i64(off); this.c.op(Op.I64_ADD); } }
  // Control to byte offset `off` of this page (or beyond it), after the block's end.
  private goto(off: i32): void {
    const c = this.c;
    const j = off >= 0 && off < 4096 ? unchecked(this.headIndex[off >> 2]) : -1;
    if (j >= 0) {
      // Forward: the target's code follows the end of its wasm block, which
      // encloses this one; the block's own head: its loop. Both are direct
      // jumps. Anything else goes round the dispatch loop's br_table.
      if (j > this.cur) { c.br(this.depthH(j)); return; }
      if (j == this.cur && this.selfLoop) { c.br(this.depth(LB_LOOP)); return; }
      c.i32(off); c.set(L_ENTRY); c.br(this.depth(LB_DISPATCH));
      return;
    }
    c.i32(off); c.set(L_ENTRY); c.br(this.depth(off >= 0 && off < 4096 ? LB_UNTRANSLATED : LB_OUT));
  }
  // The same if the i32 on the stack is not 0 (else nothing).
  private gotoIf(off: i32): void {
    const c = this.c;
    const j = off >= 0 && off < 4096 ? unchecked(this.headIndex[off >> 2]) : -1;
    if (j > this.cur) { c.brIf(this.depthH(j)); return; }
    if (j >= 0 && j == this.cur && this.selfLoop) { c.brIf(this.depth(LB_LOOP)); return; }
    this.openIf(); this.goto(off); this.close();
  }
  // The interpreter runs instruction k of the block (at byte `off`), with the
  // registers in memory, and counts it in instret; pushes whether translated
  // code must leave. (The core finds the word and the page itself: a call is
  // a few bytes.)
  private interp(off: i32, k: i32): void {
    const c = this.c;
    this.spillFlags();
    this.spillRegs();
    c.i32((k << 12) | off); this.ic(); c.call(F_STEP);
  }
  // ... and leaves if it raised anything or branched (always, for `end`).
  private callInterp(off: i32, k: i32, end: bool): void {
    const c = this.c;
    this.interp(off, k);
    if (end) c.op(Op.DROP);
    else this.openIf();
    c.i32(1); c.op(Op.RETURN);
    if (!end) this.close();
  }

  // MRS of SP_EL0, TPIDR_EL1, DAIF, CTR_EL0 or DCZID_EL0 (isFastMrs): the
  // core's jitMrs writes Rt in the vCPU block; where it cannot (EL0, SPSel
  // 0), the interpreter runs the instruction, and translated code leaves if
  // that raised anything. Only Rt changes, so only Rt is loaded again.
  private mrs(insn: u32, off: i32, k: i32): void {
    const c = this.c, rt = <i32>(insn & 31);
    c.i32(<i32>((insn >> 5) & 0xFFFF)); c.i32(rt); c.call(F_MRS);
    this.interpUnless(off, k);
    unchecked(this.st[rt] = UNLOADED);
  }
  // DC ZVA: the core's jitDcZva zeroes the block where the TLB has it
  // writable; otherwise (a miss, EL0 without DZE) the interpreter runs it.
  // No register changes.
  private dcZva(insn: u32, off: i32, k: i32): void {
    this.x(<i32>(insn & 31)); this.c.call(F_DC_ZVA);
    this.interpUnless(off, k);
  }
  // LDXR, STXR, LDAR, STLR and the rest of their class: the core's
  // jitExclusive does the access where the data TLB has it (and keeps the
  // monitor); otherwise the interpreter runs the instruction. They write
  // Rt and Rt2 (loads) or Rs (the store's status) at most: only those are
  // loaded again.
  private exclusive(insn: u32, off: i32, k: i32): void {
    this.spillRegs(); // (the helper reads its operands from the vCPU block)
    this.c.i32(<i32>insn); this.c.call(F_EXCLUSIVE);
    this.interpUnless(off, k);
    unchecked(this.st[insn & 31] = UNLOADED);
    unchecked(this.st[(insn >> 10) & 31] = UNLOADED);
    unchecked(this.st[(insn >> 16) & 31] = UNLOADED);
  }
  // Unless the i32 on the stack (a helper's answer) says done: the
  // interpreter runs instruction k, and translated code leaves if it says so.
  private interpUnless(off: i32, k: i32): void {
    const c = this.c;
    c.op(Op.I32_EQZ);
    this.openIf();
    this.interp(off, k);
    this.openIf(); c.i32(1); c.op(Op.RETURN); this.close();
    this.close();
  }

  // Data processing, one source (dp_reg.ts's dp1): CLZ and CLS as wasm's
  // clz; RBIT and the REVs by swapping ever larger fields (wasm has no bit
  // or byte reverse), W forms on the zero-extended word. RBIT alone ran
  // ~2.7 M times a boot through the interpreter (find_next_bit's __ffs).
  private dp1(sf: u32, opcode: u32, rn: i32, rd: i32): void {
    const c = this.c;
    if (opcode == 4 || opcode == 5) { // CLZ, CLS (clz(a ^ (a >> 1)) - 1)
      if (sf) this.x(rn); else this.w(rn);
      if (opcode == 5) {
        c.tee(sf ? L_A : L_A32); c.get(sf ? L_A : L_A32);
        if (sf) c.i64(1); else c.i32(1);
        c.op(sf ? Op.I64_SHR_S : Op.I32_SHR_S); c.op(sf ? Op.I64_XOR : Op.I32_XOR);
      }
      c.op(sf ? Op.I64_CLZ : Op.I32_CLZ);
      if (opcode == 5) { if (sf) c.i64(1); else c.i32(1); c.op(sf ? Op.I64_SUB : Op.I32_SUB); }
      if (sf) this.setX(rd); else this.setW(rd);
      return;
    }
    if (sf) this.x(rn); else { this.w(rn); c.op(Op.I64_EXTEND_I32_U); }
    c.set(L_A);
    if (opcode == 0) {
      this.swap(1, 0x5555555555555555); this.swap(2, 0x3333333333333333); this.swap(4, 0x0F0F0F0F0F0F0F0F);
    }
    this.swap(8, 0x00FF00FF00FF00FF);
    if (opcode != 1) this.swap(16, 0x0000FFFF0000FFFF);
    // Each swap stays inside a 32-bit word: the W forms (and REV32) are
    // done; RBIT and REV of an X register exchange its words too.
    c.get(L_A);
    if (sf && (opcode == 0 || opcode == 3)) { c.i64(32); c.op(Op.I64_ROTR); }
    this.setX(rd);
  }
  // ((a >> s) & m) | ((a & m) << s): adjacent fields of s bits change places
  private swap(s: i32, m: u64): void {
    const c = this.c;
    c.get(L_A); c.i64(s); c.op(Op.I64_SHR_U); c.i64(<i64>m); c.op(Op.I64_AND);
    c.get(L_A); c.i64(<i64>m); c.op(Op.I64_AND); c.i64(s); c.op(Op.I64_SHL);
    c.op(Op.I64_OR); c.set(L_A);
  }

  // --- blocks ----------------------------------------------------------------
  // The last instruction of straight-line code from `first` (reached, up to
  // a branch or an instruction that ends a block), at most `limit`.
  private straightTo(first: i32, limit: i32): i32 {
    let last = first;
    while (last < limit && unchecked(this.reach[last + 1]) && this.slot(last) != BRANCH && this.slot(last) != END) last++;
    return last;
  }

  private emitBlock(h: i32): void {
    const c = this.c;
    const first = unchecked(this.heads[h]);
    const next = h + 1 < this.nHeads ? unchecked(this.heads[h + 1]) : N;
    let last = this.straightTo(first, next - 1);
    // A loop entered in its middle (GCC's `b` past the first instructions
    // of a loop body to its test: the kernel's mpihelp_*mul_1, half a boot's
    // instructions) has a head inside its body. The block from the loop's
    // own head runs on through it, so that the loop is one block (a wasm
    // loop, registers and flags kept round it) rather than two with the
    // dispatch between; the head inside keeps a block of its own, a copy of
    // the rest of the body, that branches back into the loop.
    if (last + 1 == next && next < N && this.slot(last) != BRANCH && this.slot(last) != END) {
      const end = this.straightTo(first, min(N - 1, first + MAX_LOOP_SPAN - 1));
      const branch = this.slot(end) == BRANCH, r = unchecked(this.rels[end]);
      if (branch && r != NO_REL && end * 4 + r == first * 4) last = end;
    }
    this.cur = h;
    // A block that branches to its own head (an inner loop) is a wasm loop.
    this.slot(last);
    const rel = unchecked(this.rels[last]);
    this.selfLoop = rel != NO_REL && last * 4 + rel == first * 4;
    if (this.selfLoop) this.loops++;
    this.forget();
    // Registers are stored by the back edge, so their locals stay valid
    // from one iteration to the next as long as the interpreter never runs
    // in the loop; in that case everything the block may read is loaded
    // once, before the loop.
    let hoist = this.selfLoop;
    if (hoist) for (let i = first; i <= last; i++) { const k = this.slot(i); if (k == CALL || k == END) { hoist = false; break; } }
    if (hoist) {
      for (let i = first; i <= last; i++) {
        const insn = unchecked(this.words[i]);
        this.load(<i32>(insn & 31)); this.load(<i32>((insn >> 5) & 31)); this.load(<i32>((insn >> 10) & 31)); this.load(<i32>((insn >> 16) & 31));
      }
      this.load(NZCV);
    }
    this.resident = hoist;
    if (hoist) {
      // What the body may write: every instruction's Rd/Rt, and a load's or
      // store's Rt2 and base (writeback); more is harmless (a store of the
      // value loaded), less is not.
      for (let i = first; i <= last; i++) {
        const insn = unchecked(this.words[i]);
        this.residentIfLoaded(<i32>(insn & 31));
        if (((insn >> 25) & 5) == 4) { this.residentIfLoaded(<i32>((insn >> 5) & 31)); this.residentIfLoaded(<i32>((insn >> 10) & 31)); }
      }
    }
    this.loopFlags = hoist ? lastFlagSetter(this.words, first, last) : FLAGS_NONE;
    if (this.loopFlags != FLAGS_NONE) { c.i32(0); c.set(L_FPEND); }
    if (this.selfLoop) { c.loop(); this.open(LB_LOOP); }
    this.carried = this.loopFlags != FLAGS_NONE;
    this.emitBlockBody(h, first, last, next, hoist);
    if (this.selfLoop) this.close();
    this.loopFlags = FLAGS_NONE;
    this.carried = false;
    this.resident = false;
  }

  @inline private residentIfLoaded(r: i32): void { if (unchecked(this.st[r]) != UNLOADED) unchecked(this.st[r] = DIRTY); }

  private emitBlockBody(h: i32, first: i32, last: i32, next: i32, hoisted: bool): void {
    const c = this.c;
    const n = last - first + 1;
    if (!hoisted) this.forget();
    // Does the whole block fit in the room? (A br_if where no flags
    // need computing on the way out: an `if` costs V8's baseline compiler
    // a merge of every local.)
    if (this.carried || this.resident) {
      c.get(L_N); c.i32(n); c.op(Op.I32_ADD); c.get(L_ROOM); c.op(Op.I32_GT_U);
      this.openIf(); this.spillFlags(); this.spillRegs(); c.i32(first * 4); c.set(L_ENTRY); c.br(this.depth(LB_MISS)); this.close();
    } else {
      c.i32(first * 4); c.set(L_ENTRY);
      c.get(L_N); c.i32(n); c.op(Op.I32_ADD); c.get(L_ROOM); c.op(Op.I32_GT_U); c.brIf(this.depth(LB_MISS));
    }
    this.holdCpu();
    for (let i = first; i <= last; i++) {
      const insn = unchecked(this.words[i]), k = i - first, off = i * 4, kind = this.slot(i);
      switch (kind) {
        case INLINE: this.translated++; this.emitInline(insn, off, k); break;
        case CALL:
          if (isFastMrs(insn)) { this.translated++; this.mrs(insn, off, k); break; }
          if (isDcZva(insn)) { this.translated++; this.dcZva(insn, off, k); break; }
          if (isExclusive(insn)) { this.translated++; this.exclusive(insn, off, k); break; }
          this.called++; this.callInterp(off, k, false); this.forget(); break;
        case END: this.called++; this.callInterp(off, k, true); return;
        case BRANCH: this.translated++; this.emitBranch(insn, off, n); return;
      }
    }
    // Falls into the next block (the next section of the function), off the
    // page, or into a path left out.
    this.settleFlags();
    this.flushRegs();
    this.endBlock(n);
    if (last + 1 != next || next >= N) this.goto((last + 1) * 4);
  }

  private endBlock(n: i32): void {
    const c = this.c;
    c.get(L_N); c.i32(n); c.op(Op.I32_ADD); c.set(L_N);
  }

  // --- branches ----------------------------------------------------------------
  private nz(): void { this.c.get(L_NZCV); }
  private bit(b: i32): void { const c = this.c; this.nz(); if (b) { c.i32(b); c.op(Op.I32_SHR_U); } c.i32(1); c.op(Op.I32_AND); }
  private cond(cond: i32): void {
    const c = this.c;
    if (cond >= 14) { c.i32(1); return; }
    if (this.flagSrc != FLAGS_NONE && this.fusedCond(cond, this.flagSrc)) return;
    this.load(NZCV);
    switch (cond >> 1) {
      case 0: this.bit(2); break; // EQ: Z
      case 1: this.bit(1); break; // CS: C
      case 2: this.bit(3); break; // MI: N
      case 3: this.bit(0); break; // VS: V
      case 4: this.nz(); c.i32(1); c.op(Op.I32_SHR_U); this.nz(); c.i32(2); c.op(Op.I32_SHR_U); c.i32(-1); c.op(Op.I32_XOR); c.op(Op.I32_AND); c.i32(1); c.op(Op.I32_AND); break; // HI: C && !Z
      case 5: this.nz(); c.i32(3); c.op(Op.I32_SHR_U); this.nz(); c.op(Op.I32_XOR); c.i32(1); c.op(Op.I32_AND); c.i32(1); c.op(Op.I32_XOR); break; // GE: N == V
      case 6: // GT: !Z && N == V
        this.nz(); c.i32(3); c.op(Op.I32_SHR_U); this.nz(); c.op(Op.I32_XOR); this.nz(); c.i32(2); c.op(Op.I32_SHR_U); c.op(Op.I32_OR);
        c.i32(1); c.op(Op.I32_AND); c.i32(1); c.op(Op.I32_XOR); break;
    }
    if (cond & 1) { c.i32(1); c.op(Op.I32_XOR); }
  }

  // a <op> b, or a <op> 0 (y < 0), 64-bit if w, else 32-bit.
  private cmp(w: bool, x: i32, y: i32, op64: i32, op32: i32): void {
    const c = this.c;
    c.get(x);
    if (y < 0) { if (w) c.i64(0); else c.i32(0); } else c.get(y);
    c.op(w ? op64 : op32);
  }
  // A condition on the flags `f` says how were set, from the operands and
  // result in the L_F* locals: the same truth value as on the packed NZCV,
  // without computing it. false: not a form done here.
  private fusedCond(cond: i32, f: i32): bool {
    const w = flagsSf(f) == 1;
    const a = w ? L_FA : L_FA32, b = w ? L_FB : L_FB32, r = w ? L_FR : L_FR32;
    const inv = (cond & 1) == 1, base = cond >> 1;
    if (cond >= 14) return false;
    const op = flagsOp(f);
    if (op == F_SUB) {
      switch (base) {
        case 0: this.cmp(w, a, b, inv ? Op.I64_NE : Op.I64_EQ, inv ? Op.I32_NE : Op.I32_EQ); return true; // EQ / NE: a == b
        case 1: this.cmp(w, a, b, inv ? Op.I64_LT_U : Op.I64_GE_U, inv ? Op.I32_LT_U : Op.I32_GE_U); return true; // CS / CC: no borrow
        case 2: this.cmp(w, r, -1, inv ? Op.I64_GE_S : Op.I64_LT_S, inv ? Op.I32_GE_S : Op.I32_LT_S); return true; // MI / PL
        case 4: this.cmp(w, a, b, inv ? Op.I64_LE_U : Op.I64_GT_U, inv ? Op.I32_LE_U : Op.I32_GT_U); return true; // HI / LS
        case 5: this.cmp(w, a, b, inv ? Op.I64_LT_S : Op.I64_GE_S, inv ? Op.I32_LT_S : Op.I32_GE_S); return true; // GE / LT: N == V
        case 6: this.cmp(w, a, b, inv ? Op.I64_LE_S : Op.I64_GT_S, inv ? Op.I32_LE_S : Op.I32_GT_S); return true; // GT / LE
        default: return false; // VS / VC
      }
    }
    if (op == F_ADD) {
      switch (base) {
        case 0: this.cmp(w, r, -1, inv ? Op.I64_NE : Op.I64_EQ, inv ? Op.I32_NE : Op.I32_EQ); return true;
        case 1: this.cmp(w, r, a, inv ? Op.I64_GE_U : Op.I64_LT_U, inv ? Op.I32_GE_U : Op.I32_LT_U); return true; // CS / CC: the sum wrapped
        case 2: this.cmp(w, r, -1, inv ? Op.I64_GE_S : Op.I64_LT_S, inv ? Op.I32_GE_S : Op.I32_LT_S); return true;
        default: return false;
      }
    }
    // logic: C = V = 0
    switch (base) {
      case 0: this.cmp(w, r, -1, inv ? Op.I64_NE : Op.I64_EQ, inv ? Op.I32_NE : Op.I32_EQ); return true;
      case 2: this.cmp(w, r, -1, inv ? Op.I64_GE_S : Op.I64_LT_S, inv ? Op.I32_GE_S : Op.I32_LT_S); return true;
      case 5: this.cmp(w, r, -1, inv ? Op.I64_LT_S : Op.I64_GE_S, inv ? Op.I32_LT_S : Op.I32_GE_S); return true; // GE / LT: N == V with V = 0
      case 6: this.cmp(w, r, -1, inv ? Op.I64_LE_S : Op.I64_GT_S, inv ? Op.I32_LE_S : Op.I32_GT_S); return true; // GT / LE: !Z && !N
      default: return false;
    }
  }

  // Whether the return point of a call is a head of this translation, in
  // this page (where the caller's code can go on after the call: callOut).
  private returnsHere(ret: i32): bool { return ret < 4096 && unchecked(this.headIndex[ret >> 2]) >= 0; }
  // A call out of the page (to the address in L_VA if toVa, else to the
  // page's address + t; the registers and instret stored),
  // made through the core's jitCall: when the callee comes back to `ret`
  // this code goes on there (the registers and flags reloaded, instret from
  // the core's); otherwise it returns what jitCall says (3 with pc set, as
  // for a branch out, or the callee's answer).
  private callOut(toVa: bool, t: i32, ret: i32): void {
    const c = this.c;
    if (toVa) c.get(L_VA); else { c.get(L_PAGE); c.i64(t); c.op(Op.I64_ADD); }
    c.gset(G_PC);
    this.ic(); c.gset(G_INSTRET);
    c.i32(ret); c.get(L_ROOM); c.get(L_N); c.op(Op.I32_SUB); c.call(F_CALL); c.tee(L_C);
    c.i32(6); c.op(Op.I32_NE);
    this.openIf(); c.get(L_C); c.op(Op.RETURN); this.close();
    // (the callee ran what room was left at most: L_N <= L_ROOM)
    c.gget(G_INSTRET); c.get(L_IC0); c.op(Op.I64_SUB); c.op(Op.I32_WRAP_I64); c.set(L_N);
    this.forget();
    this.goto(ret);
  }

  private emitBranch(insn: u32, off: i32, n: i32): void {
    const c = this.c;
    // The back edge of a loop whose flags come round pending (as its
    // body's prefix expects): the NZCV is computed only on the way out.
    const f = this.flagSrc, lf = this.loopFlags;
    const carry = lf != FLAGS_NONE && this.pending && f != FLAGS_NONE && f == lf;
    if (carry) { c.i32(1); c.set(L_FPEND); } else this.settleFlags();
    // The block's registers are stored once, here (a link register after);
    // a resident loop's on its way out, after the back edge.
    const resident = this.resident && (insn & 0xFC000000) != 0x94000000 && !isBranchReg(insn); // not BL, BR, BLR, RET
    if (!resident) this.flushRegs();
    if (isBranchReg(insn)) {
      // The target first (BLR X30 branches to the old X30). A misaligned
      // one is the interpreter's (its fetch must fault there); within this
      // page, the dispatch loop goes on at it (past the translation's
      // heads it leaves with pc there); elsewhere, translated code leaves.
      this.x(<i32>((insn >> 5) & 31)); c.set(L_VA);
      c.get(L_VA); c.op(Op.I32_WRAP_I64); c.i32(3); c.op(Op.I32_AND);
      this.openIf(); this.interp(off, n - 1); c.op(Op.DROP); c.i32(1); c.op(Op.RETURN); this.close();
      if (((insn >> 21) & 3) == 1) { this.pcConst(off + 4); this.setX(30); this.flushRegs(); }
      this.endBlock(n);
      c.get(L_VA); c.i64(~0xFFF); c.op(Op.I64_AND); c.get(L_PAGE); c.op(Op.I64_EQ);
      this.openIf(); c.get(L_VA); c.op(Op.I32_WRAP_I64); c.i32(0xFFF); c.op(Op.I32_AND); c.set(L_ENTRY); c.br(this.depth(LB_DISPATCH)); this.close();
      if (((insn >> 21) & 3) == 1 && this.returnsHere(off + 4)) { this.callOut(true, 0, off + 4); return; }
      c.get(L_VA); c.gset(G_PC); c.br(this.depth(LB_LEFT));
      return;
    }
    if ((insn & 0x7C000000) == 0x14000000) { // B, BL
      const t = off + sext(<i32>(insn & 0x3FFFFFF), 26) * 4;
      if (insn >> 31) { this.pcConst(off + 4); this.setX(30); this.flushRegs(); }
      this.endBlock(n);
      if ((insn >> 31) && (t < 0 || t >= 4096) && this.returnsHere(off + 4)) {
        this.callOut(false, t, off + 4);
        return;
      }
      this.goto(t);
      return;
    }
    // Conditional: the block's end, then the condition.
    this.endBlock(n);
    if ((insn & 0x7E000000) == 0x34000000) { // CBZ, CBNZ
      const sf = insn >> 31, op = (insn >> 24) & 1, rt = <i32>(insn & 31);
      if (sf) { this.x(rt); c.op(Op.I64_EQZ); } else { this.w(rt); c.op(Op.I32_EQZ); }
      if (op) { c.i32(1); c.op(Op.I32_XOR); }
    } else if ((insn & 0x7E000000) == 0x36000000) { // TBZ, TBNZ
      const bit = <i32>(((insn >> 31) << 5) | ((insn >> 19) & 31)), op = (insn >> 24) & 1, rt = <i32>(insn & 31);
      this.x(rt); c.i64(bit); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64); c.i32(1); c.op(Op.I32_AND);
      if (!op) { c.i32(1); c.op(Op.I32_XOR); }
    } else this.cond(<i32>(insn & 0xF)); // B.cond
    this.slot(off >> 2);
    this.gotoIf(off + unchecked(this.rels[off >> 2]));
    if (carry) this.settleFlags();
    if (resident) this.flushRegs();
    this.goto(off + 4);
  }

  // --- data processing and memory ----------------------------------------------
  private emitInline(insn: u32, off: i32, k: i32): void {
    if (nopLike(insn)) return;
    const op0 = (insn >> 25) & 0xF;
    if (op0 == 0x8 || op0 == 0x9) this.dpImm(insn, off);
    else if (op0 == 0x5 || op0 == 0xD) this.dpReg(insn);
    else { ldstForm(insn); this.ldst(off, k); }
  }

  // Pushes the packed NZCV of ADDS/SUBS (`sub`) on a and b with result r
  // (i64 locals if sf, else i32 ones).
  private pushAddSubNzcv(sf: i32, sub: bool, a: i32, b: i32, r: i32): void {
    const c = this.c;
    if (sf) {
      c.get(r); c.i64(63); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64); c.i32(3); c.op(Op.I32_SHL);
      c.get(r); c.op(Op.I64_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I64_GE_U); } else { c.get(r); c.get(a); c.op(Op.I64_LT_U); }
      c.i32(1); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I64_XOR); } else { c.get(b); c.get(r); c.op(Op.I64_XOR); }
      c.get(a); c.get(r); c.op(Op.I64_XOR); c.op(Op.I64_AND); c.i64(63); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64);
      c.op(Op.I32_OR);
    } else {
      c.get(r); c.i32(31); c.op(Op.I32_SHR_U); c.i32(3); c.op(Op.I32_SHL);
      c.get(r); c.op(Op.I32_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I32_GE_U); } else { c.get(r); c.get(a); c.op(Op.I32_LT_U); }
      c.i32(1); c.op(Op.I32_SHL); c.op(Op.I32_OR);
      if (sub) { c.get(a); c.get(b); c.op(Op.I32_XOR); } else { c.get(b); c.get(r); c.op(Op.I32_XOR); }
      c.get(a); c.get(r); c.op(Op.I32_XOR); c.op(Op.I32_AND); c.i32(31); c.op(Op.I32_SHR_U);
      c.op(Op.I32_OR);
    }
  }
  // Pushes the packed NZCV of flagSrc-style flags `f` from the L_F* locals.
  private pushNzcv(f: i32): void {
    const c = this.c;
    const sf = flagsSf(f);
    if (flagsOp(f) != F_LOGIC) { this.pushAddSubNzcv(sf, flagsOp(f) == F_SUB, sf ? L_FA : L_FA32, sf ? L_FB : L_FB32, sf ? L_FR : L_FR32); return; }
    // NZ from the result, C = V = 0
    if (sf) {
      c.get(L_FR); c.i64(63); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64); c.i32(3); c.op(Op.I32_SHL);
      c.get(L_FR); c.op(Op.I64_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    } else {
      c.get(L_FR32); c.i32(31); c.op(Op.I32_SHR_U); c.i32(3); c.op(Op.I32_SHL);
      c.get(L_FR32); c.op(Op.I32_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    }
  }
  // The top bit of the value on the stack (64-bit if sf) as an i32.
  private topBit(sf: u32): void {
    const c = this.c;
    if (sf) { c.i64(63); c.op(Op.I64_SHR_U); c.op(Op.I32_WRAP_I64); } else { c.i32(31); c.op(Op.I32_SHR_U); }
  }
  // NZCV of AddWithCarry(a, b, carry in L_C) with the result in L_R / L_R32
  // (alu.ts's addFlags): the carry out is r <= a with a carry in, r < a
  // without; V when a and b agree in sign and r does not.
  private carryFlags(sf: u32): void {
    const c = this.c;
    const a = sf ? L_A : L_A32, b = sf ? L_B : L_B32, r = sf ? L_R : L_R32;
    const xor = sf ? Op.I64_XOR : Op.I32_XOR, and = sf ? Op.I64_AND : Op.I32_AND, le = sf ? Op.I64_LE_U : Op.I32_LE_U, lt = sf ? Op.I64_LT_U : Op.I32_LT_U;
    c.get(r); this.topBit(sf); c.i32(3); c.op(Op.I32_SHL);
    c.get(r); c.op(sf ? Op.I64_EQZ : Op.I32_EQZ); c.i32(2); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    c.get(r); c.get(a); c.op(le); c.get(r); c.get(a); c.op(lt); c.get(L_C); c.op(Op.SELECT); c.i32(1); c.op(Op.I32_SHL); c.op(Op.I32_OR);
    c.get(a); c.get(r); c.op(xor); c.get(b); c.get(r); c.op(xor); c.op(and); this.topBit(sf); c.op(Op.I32_OR);
    this.setFlags();
  }
  // ANDS/BICS/TST: the result on the stack (of the width sf selects) sets
  // NZ, C = V = 0; it stays on the stack.
  private logicFlags(sf: u32): void {
    this.c.tee(sf ? L_FR : L_FR32);
    this.setPending(flags(F_LOGIC, <i32>sf));
  }

  // addSub's operands, of the width sf selects.
  private pushA(sf: u32): void {
    if (this.aKind == A_XSP) { if (sf) this.xsp(this.aReg); else this.wsp(this.aReg); }
    else if (sf) this.x(this.aReg); else this.w(this.aReg);
  }
  private pushB(sf: u32): void {
    const c = this.c;
    if (this.bKind == B_IMM) { if (sf) c.i64(this.bImm); else c.i32(<i32>this.bImm); }
    else if (this.bKind == B_SHIFTED) this.shifted(sf, this.bReg, this.bP1, this.bP2);
    else { this.extended(this.bReg, this.bP1, this.bP2); if (!sf) c.op(Op.I32_WRAP_I64); }
  }
  // Add/sub of the operands set in aKind.. and bKind.. (both of the width
  // sf selects). Writes Rd (SP role unless setting flags).
  private addSub(sf: u32, sub: bool, s: bool, rd: i32, rdSP: bool): void {
    const c = this.c;
    if (!s) { // no flags: no temporaries
      // (MOV to or from SP is ADD #0: the value alone, with no add for V8's baseline compiler to make.)
      const move = this.bKind == B_IMM && this.bImm == 0;
      this.pushA(sf);
      if (!move) this.pushB(sf);
      if (sf) { if (!move) c.op(sub ? Op.I64_SUB : Op.I64_ADD); if (rdSP) this.setXSP(rd); else this.setX(rd); }
      else { if (!move) c.op(sub ? Op.I32_SUB : Op.I32_ADD); if (rdSP) this.setWSP(rd); else this.setW(rd); }
      return;
    }
    // Flags: pending, from the operands and result kept in the L_F* locals.
    if (sf) {
      this.pushA(sf); c.set(L_FA); this.pushB(sf); c.set(L_FB);
      c.get(L_FA); c.get(L_FB); c.op(sub ? Op.I64_SUB : Op.I64_ADD); c.tee(L_FR);
      this.setPending(flags(sub ? F_SUB : F_ADD, 1));
      if (rdSP) this.setXSP(rd); else this.setX(rd);
    } else {
      this.pushA(sf); c.set(L_FA32); this.pushB(sf); c.set(L_FB32);
      c.get(L_FA32); c.get(L_FB32); c.op(sub ? Op.I32_SUB : Op.I32_ADD); c.tee(L_FR32);
      this.setPending(flags(sub ? F_SUB : F_ADD, 0));
      if (rdSP) this.setWSP(rd); else this.setW(rd);
    }
  }

  private dpImm(insn: u32, off: i32): void {
    const c = this.c;
    const sf = insn >> 31, rd = <i32>(insn & 31), rn = <i32>((insn >> 5) & 31);
    switch ((insn >> 23) & 7) {
      case 0: case 1: { // ADR, ADRP
        const imm = (sext(<i32>((insn >> 5) & 0x7FFFF), 19) * 4) | <i32>((insn >> 29) & 3);
        if ((insn >> 31) == 0) { this.pcConst(0); c.i64(<i64>off + <i64>imm); c.op(Op.I64_ADD); }
        else { this.pcConst(0); c.i64(<i64>imm << 12); c.op(Op.I64_ADD); }
        this.setX(rd);
        return;
      }
      case 2: { // ADD/SUB immediate
        const sub = ((insn >> 30) & 1) == 1, s = ((insn >> 29) & 1) == 1;
        const imm = <i64>((insn >> 10) & 0xFFF) * (((insn >> 22) & 1) ? 4096 : 1);
        this.aKind = A_XSP; this.aReg = rn; this.bKind = B_IMM; this.bImm = imm;
        this.addSub(sf, sub, s, rd, !s);
        return;
      }
      case 4: { // logical immediate
        const opc = (insn >> 29) & 3;
        decodeBitMasks((insn >> 22) & 1, (insn >> 10) & 0x3F, (insn >> 16) & 0x3F, true, sf ? 64 : 32);
        const wop = opc == 1 ? Op.I64_OR : opc == 2 ? Op.I64_XOR : Op.I64_AND;
        this.x(rn); c.i64(<i64>bmWmask); c.op(wop);
        if (!sf) { c.i64(0xFFFFFFFF); c.op(Op.I64_AND); }
        if (opc == 3) { if (sf) this.logicFlags(1); else { c.tee(L_R); c.op(Op.I32_WRAP_I64); this.logicFlags(0); c.op(Op.DROP); c.get(L_R); } this.setX(rd); }
        else this.setXSP(rd);
        return;
      }
      case 5: { // MOVN, MOVZ, MOVK
        const opc = (insn >> 29) & 3, pos = <u64>(((insn >> 21) & 3) * 16);
        const imm = <u64>((insn >> 5) & 0xFFFF) << pos;
        const mask: u64 = sf ? 0xFFFFFFFFFFFFFFFF : 0xFFFFFFFF;
        if (opc == 0) c.i64(<i64>(~imm & mask));
        else if (opc == 2) c.i64(<i64>imm);
        else { this.x(rd); c.i64(<i64>(~(<u64>0xFFFF << pos) & mask)); c.op(Op.I64_AND); c.i64(<i64>imm); c.op(Op.I64_OR); }
        this.setX(rd);
        return;
      }
      case 6: { // SBFM, BFM, UBFM
        const opc = (insn >> 29) & 3, immr = <i32>((insn >> 16) & 0x3F), imms = <i32>((insn >> 10) & 0x3F);
        if (opc != 1 && this.bitfieldAlias(sf, opc == 0, immr, imms, rn)) { this.setX(rd); return; }
        decodeBitMasks((insn >> 22) & 1, <u32>imms, <u32>immr, false, sf ? 64 : 32);
        const wm = bmWmask, tm = bmTmask;
        // rot = ROR(src, immr) within the data size
        if (sf) { this.x(rn); c.i64(immr); c.op(Op.I64_ROTR); }
        else { this.w(rn); c.i32(immr); c.op(Op.I32_ROTR); c.op(Op.I64_EXTEND_I32_U); }
        c.set(L_R);
        if (opc == 2) { c.get(L_R); c.i64(<i64>(wm & tm)); c.op(Op.I64_AND); }
        else if (opc == 0) {
          // top = replicate(src<imms>): shift the bit to the top and arithmetic-shift back
          this.x(rn); c.i64(63 - imms); c.op(Op.I64_SHL); c.i64(63); c.op(Op.I64_SHR_S);
          c.i64(<i64>~tm); c.op(Op.I64_AND);
          c.get(L_R); c.i64(<i64>(wm & tm)); c.op(Op.I64_AND); c.op(Op.I64_OR);
          if (!sf) { c.i64(0xFFFFFFFF); c.op(Op.I64_AND); }
        } else {
          // bot = (dst & ~wmask) | (rot & wmask); res = (dst & ~tmask) | (bot & tmask)
          this.x(rd); c.i64(<i64>~tm); c.op(Op.I64_AND);
          this.x(rd); c.i64(<i64>(~wm & tm)); c.op(Op.I64_AND); c.op(Op.I64_OR);
          c.get(L_R); c.i64(<i64>(wm & tm)); c.op(Op.I64_AND); c.op(Op.I64_OR);
          if (!sf) { c.i64(0xFFFFFFFF); c.op(Op.I64_AND); }
        }
        this.setX(rd);
        return;
      }
      case 7: { // EXTR
        const rm = <i32>((insn >> 16) & 31), imms = <i32>((insn >> 10) & 0x3F);
        if (sf) {
          if (imms == 0) this.x(rm);
          else { this.x(rm); c.i64(imms); c.op(Op.I64_SHR_U); this.x(rn); c.i64(64 - imms); c.op(Op.I64_SHL); c.op(Op.I64_OR); }
        } else {
          this.x(rn); c.i64(32); c.op(Op.I64_SHL); this.x(rm); c.i64(0xFFFFFFFF); c.op(Op.I64_AND); c.op(Op.I64_OR);
          c.i64(imms); c.op(Op.I64_SHR_U); c.i64(0xFFFFFFFF); c.op(Op.I64_AND);
        }
        this.setX(rd);
        return;
      }
    }
  }

  // The commonest SBFM/UBFM aliases as one or two wasm operations (the
  // general form rotates and masks: seven machine instructions for an
  // SXTW, V8 keeping even a rotate by 0): LSR, ASR and LSL by a constant,
  // SXTB/SXTH/SXTW, UBFX and SBFX. Pushes the result (a W result
  // zero-extended) and returns true, or pushes nothing and returns false.
  private bitfieldAlias(sf: u32, signed: bool, immr: i32, imms: i32, rn: i32): bool {
    const c = this.c, size = sf ? 64 : 32;
    if (immr >= size || imms >= size) return false; // (reserved for W: the interpreter's)
    const top = size - 1;
    if (imms == top) { // LSR / ASR
      if (sf) { this.x(rn); if (immr) { c.i64(immr); c.op(signed ? Op.I64_SHR_S : Op.I64_SHR_U); } }
      else { this.w(rn); if (immr) { c.i32(immr); c.op(signed ? Op.I32_SHR_S : Op.I32_SHR_U); } c.op(Op.I64_EXTEND_I32_U); }
      return true;
    }
    if (!signed && imms + 1 == immr) { // LSL
      if (sf) { this.x(rn); c.i64(top - imms); c.op(Op.I64_SHL); }
      else { this.w(rn); c.i32(top - imms); c.op(Op.I32_SHL); c.op(Op.I64_EXTEND_I32_U); }
      return true;
    }
    if (signed && immr == 0 && (imms == 7 || imms == 15 || imms == 31)) { // SXTB, SXTH, SXTW
      if (sf) { this.x(rn); c.op(imms == 7 ? Op.I64_EXTEND8_S : imms == 15 ? Op.I64_EXTEND16_S : Op.I64_EXTEND32_S); }
      else { this.w(rn); c.op(imms == 7 ? Op.I32_EXTEND8_S : Op.I32_EXTEND16_S); c.op(Op.I64_EXTEND_I32_U); }
      return true;
    }
    if (imms < immr) return false; // the *BFIZ forms: the general one
    // UBFX / SBFX: bits imms..immr to the bottom (zero- or sign-extended)
    if (sf) {
      this.x(rn);
      if (signed) { c.i64(top - imms); c.op(Op.I64_SHL); c.i64(top - imms + immr); c.op(Op.I64_SHR_S); }
      else { if (immr) { c.i64(immr); c.op(Op.I64_SHR_U); } c.i64(<i64>((<u64>1 << <u64>(imms - immr + 1)) - 1)); c.op(Op.I64_AND); }
    } else {
      this.w(rn);
      if (signed) { c.i32(top - imms); c.op(Op.I32_SHL); c.i32(top - imms + immr); c.op(Op.I32_SHR_S); }
      else { if (immr) { c.i32(immr); c.op(Op.I32_SHR_U); } c.i32((1 << (imms - immr + 1)) - 1); c.op(Op.I32_AND); } // (imms < 31 here)
      c.op(Op.I64_EXTEND_I32_U);
    }
    return true;
  }

  // Rm shifted by a constant (LSL, LSR, ASR, ROR), of the width sf selects.
  private shifted(sf: u32, rm: i32, type: i32, amount: i32): void {
    const c = this.c;
    if (sf) {
      this.x(rm);
      if (amount) { c.i64(amount); c.op(type == 0 ? Op.I64_SHL : type == 1 ? Op.I64_SHR_U : type == 2 ? Op.I64_SHR_S : Op.I64_ROTR); }
    } else {
      this.w(rm);
      if (amount) { c.i32(amount); c.op(type == 0 ? Op.I32_SHL : type == 1 ? Op.I32_SHR_U : type == 2 ? Op.I32_SHR_S : Op.I32_ROTR); }
    }
  }
  // ExtendReg(Rm, option, shift) as 64 bits.
  private extended(rm: i32, option: i32, shift: i32): void {
    const c = this.c;
    this.x(rm);
    switch (option) {
      case 0: c.i64(0xFF); c.op(Op.I64_AND); break;
      case 1: c.i64(0xFFFF); c.op(Op.I64_AND); break;
      case 2: c.i64(0xFFFFFFFF); c.op(Op.I64_AND); break;
      case 4: c.i64(56); c.op(Op.I64_SHL); c.i64(56); c.op(Op.I64_SHR_S); break;
      case 5: c.i64(48); c.op(Op.I64_SHL); c.i64(48); c.op(Op.I64_SHR_S); break;
      case 6: c.i64(32); c.op(Op.I64_SHL); c.i64(32); c.op(Op.I64_SHR_S); break;
      default: break;
    }
    if (shift) { c.i64(shift); c.op(Op.I64_SHL); }
  }

  private dpReg(insn: u32): void {
    const c = this.c;
    const sf = insn >> 31, rd = <i32>(insn & 31), rn = <i32>((insn >> 5) & 31), rm = <i32>((insn >> 16) & 31);
    const op1 = (insn >> 28) & 1, op2 = (insn >> 21) & 0xF;
    if (op1 == 0) {
      const type = <i32>((insn >> 22) & 3), imm6 = <i32>((insn >> 10) & 0x3F);
      if ((op2 & 8) == 0) { // logical shifted
        const opc = (insn >> 29) & 3, neg = ((insn >> 21) & 1) == 1;
        // MOV and MVN (ORR and ORN with the zero register): Rm alone, with
        // no OR of a zero for V8's baseline compiler to make.
        const move = opc == 1 && rn == 31;
        if (sf) {
          if (!move) this.x(rn);
          this.shifted(1, rm, type, imm6); if (neg) { c.i64(-1); c.op(Op.I64_XOR); }
          if (!move) c.op(opc == 1 ? Op.I64_OR : opc == 2 ? Op.I64_XOR : Op.I64_AND);
          if (opc == 3) this.logicFlags(1);
          this.setX(rd);
        } else {
          if (!move) this.w(rn);
          this.shifted(0, rm, type, imm6); if (neg) { c.i32(-1); c.op(Op.I32_XOR); }
          if (!move) c.op(opc == 1 ? Op.I32_OR : opc == 2 ? Op.I32_XOR : Op.I32_AND);
          if (opc == 3) this.logicFlags(0);
          this.setW(rd);
        }
        return;
      }
      const sub = ((insn >> 30) & 1) == 1, s = ((insn >> 29) & 1) == 1;
      if ((op2 & 1) == 0) { // add/sub shifted
        this.aKind = A_X; this.aReg = rn; this.bKind = B_SHIFTED; this.bReg = rm; this.bP1 = type; this.bP2 = imm6;
        this.addSub(sf, sub, s, rd, false);
        return;
      }
      // add/sub extended: Rn and (without S) Rd in their SP role
      const option = <i32>((insn >> 13) & 7), imm3 = <i32>((insn >> 10) & 7);
      this.aKind = A_XSP; this.aReg = rn; this.bKind = B_EXTENDED; this.bReg = rm; this.bP1 = option; this.bP2 = imm3;
      this.addSub(sf, sub, s, rd, !s);
      return;
    }
    if ((op2 & 8) != 0) { // 3-source
      const ra = <i32>((insn >> 10) & 31), o0 = (insn >> 15) & 1, op31 = (insn >> 21) & 7;
      if (op31 == 0) { // MADD, MSUB
        this.x(ra); this.x(rn); this.x(rm); c.op(Op.I64_MUL); c.op(o0 ? Op.I64_SUB : Op.I64_ADD);
        if (!sf) { c.i64(0xFFFFFFFF); c.op(Op.I64_AND); }
      } else { // SMADDL/SMSUBL (op31 1), UMADDL/UMSUBL (op31 5)
        const ext = op31 == 1 ? Op.I64_EXTEND_I32_S : Op.I64_EXTEND_I32_U;
        this.x(ra); this.w(rn); c.op(ext); this.w(rm); c.op(ext); c.op(Op.I64_MUL); c.op(o0 ? Op.I64_SUB : Op.I64_ADD);
      }
      this.setX(rd);
      return;
    }
    switch (op2) {
      case 0: { // ADC, ADCS, SBC, SBCS: Rn + (Rm or NOT Rm) + C
        const op = (insn >> 30) & 1, s = (insn >> 29) & 1;
        // The carry in as a condition (CS): from the last ADDS/SUBS's
        // operands where it is pending, without computing the whole NZCV
        // (mpihelp_addmul_1's ADDS then ADC, each time round its loop).
        this.cond(2); c.set(L_C);
        if (sf) {
          this.x(rn); c.set(L_A);
          this.x(rm); if (op) { c.i64(-1); c.op(Op.I64_XOR); } c.set(L_B);
          c.get(L_A); c.get(L_B); c.op(Op.I64_ADD); c.get(L_C); c.op(Op.I64_EXTEND_I32_U); c.op(Op.I64_ADD); c.set(L_R);
        } else {
          this.w(rn); c.set(L_A32);
          this.w(rm); if (op) { c.i32(-1); c.op(Op.I32_XOR); } c.set(L_B32);
          c.get(L_A32); c.get(L_B32); c.op(Op.I32_ADD); c.get(L_C); c.op(Op.I32_ADD); c.set(L_R32);
        }
        if (s) this.carryFlags(sf);
        if (sf) { c.get(L_R); this.setX(rd); } else { c.get(L_R32); this.setW(rd); }
        return;
      }
      case 2: { // CCMP, CCMN
        const sub = ((insn >> 30) & 1) == 1, isImm = ((insn >> 11) & 1) == 1, cnd = <i32>((insn >> 12) & 0xF);
        // Operands and condition first: registers are loaded on both arms' way.
        if (sf) { this.x(rn); c.set(L_A); if (isImm) c.i64(rm); else this.x(rm); c.set(L_B); }
        else { this.w(rn); c.set(L_A32); if (isImm) c.i32(rm); else this.w(rm); c.set(L_B32); }
        this.cond(cnd);
        this.openIf(T.I32);
        if (sf) { c.get(L_A); c.get(L_B); c.op(sub ? Op.I64_SUB : Op.I64_ADD); c.set(L_R); this.pushAddSubNzcv(1, sub, L_A, L_B, L_R); }
        else { c.get(L_A32); c.get(L_B32); c.op(sub ? Op.I32_SUB : Op.I32_ADD); c.set(L_R32); this.pushAddSubNzcv(0, sub, L_A32, L_B32, L_R32); }
        c.else_();
        c.i32(<i32>(insn & 0xF));
        this.close();
        this.setFlags(); // set on either arm: packed
        return;
      }
      case 4: { // CSEL, CSINC, CSINV, CSNEG
        const op = (insn >> 30) & 1, o2 = (insn >> 10) & 1;
        // Loads before the select: both arms must see the registers loaded.
        this.x(rn); c.set(L_A); this.x(rm); c.set(L_B);
        this.cond(<i32>((insn >> 12) & 0xF)); c.set(L_C);
        c.get(L_A);
        c.get(L_B);
        if (op) { c.i64(-1); c.op(Op.I64_XOR); }
        if (o2) { c.i64(1); c.op(Op.I64_ADD); }
        c.get(L_C); c.op(Op.SELECT);
        if (!sf) { c.i64(0xFFFFFFFF); c.op(Op.I64_AND); }
        this.setX(rd);
        return;
      }
      case 6: {
        const opcode = (insn >> 10) & 0x3F;
        if (((insn >> 30) & 1) == 1) { this.dp1(sf, opcode, rn, rd); return; }
        if (sf) {
          this.x(rn); c.set(L_A); this.x(rm); c.set(L_B);
          if (opcode == 2 || opcode == 3) {
            // b == 0 -> 0; INT64_MIN / -1 -> INT64_MIN (wasm would trap on both)
            c.get(L_B); c.op(Op.I64_EQZ);
            this.openIf(T.I64); c.i64(0);
            c.else_();
            if (opcode == 3) {
              c.get(L_A); c.i64(i64.MIN_VALUE); c.op(Op.I64_EQ); c.get(L_B); c.i64(-1); c.op(Op.I64_EQ); c.op(Op.I32_AND);
              this.openIf(T.I64); c.get(L_A); c.else_(); c.get(L_A); c.get(L_B); c.op(Op.I64_DIV_S); this.close();
            } else { c.get(L_A); c.get(L_B); c.op(Op.I64_DIV_U); }
            this.close();
          } else {
            c.get(L_A); c.get(L_B); c.op(opcode == 8 ? Op.I64_SHL : opcode == 9 ? Op.I64_SHR_U : opcode == 10 ? Op.I64_SHR_S : Op.I64_ROTR);
          }
          this.setX(rd);
        } else {
          this.w(rn); c.set(L_A32); this.w(rm); c.set(L_B32);
          if (opcode == 2 || opcode == 3) {
            c.get(L_B32); c.op(Op.I32_EQZ);
            this.openIf(T.I32); c.i32(0);
            c.else_();
            if (opcode == 3) {
              c.get(L_A32); c.i32(i32.MIN_VALUE); c.op(Op.I32_EQ); c.get(L_B32); c.i32(-1); c.op(Op.I32_EQ); c.op(Op.I32_AND);
              this.openIf(T.I32); c.get(L_A32); c.else_(); c.get(L_A32); c.get(L_B32); c.op(Op.I32_DIV_S); this.close();
            } else { c.get(L_A32); c.get(L_B32); c.op(Op.I32_DIV_U); }
            this.close();
          } else {
            c.get(L_A32); c.get(L_B32); c.op(opcode == 8 ? Op.I32_SHL : opcode == 9 ? Op.I32_SHR_U : opcode == 10 ? Op.I32_SHR_S : Op.I32_ROTR);
          }
          this.setW(rd);
        }
        return;
      }
    }
    abort("dpReg: a form translatable() does not allow");
  }

  // The fast path's host address of the access (its TLB entry's host
  // address, low half: wasm addresses are 32-bit), or of a pair's (in L_H).
  private hostAddr(pair: bool): void {
    const c = this.c;
    if (pair) { c.get(L_H); return; }
    c.get(L_E); c.mem(Op.I32_LOAD, 24); c.get(L_VA32); c.op(Op.I32_ADD);
  }

  // The load or store decode.ts's `ls` holds, at byte `off`, instruction k of its block.
  private ldst(off: i32, k: i32): void {
    const c = this.c;
    const bytes = ls.bytes, load = ls.load, ext = ls.ext, rt = ls.rt, rt2 = ls.rt2, rn = ls.rn, mode = ls.mode, imm = ls.imm;
    if (ls.prefetch) {
      // PRFM: no access; an SP base still gets its alignment check in the interpreter.
      if (rn == 31) { this.callInterp(off, k, false); this.forget(); }
      return;
    }
    // Address (and the base's new value for writeback) into L_VA / L_R.
    if (rn < 0) { this.pcConst(off); c.i64(imm); c.op(Op.I64_ADD); c.set(L_VA); }
    else {
      this.xsp(rn);
      if (mode == MODE_REG) { this.extended(ls.rm, ls.option, ls.shift); c.op(Op.I64_ADD); }
      else if (mode != MODE_POST && imm) { c.i64(imm); c.op(Op.I64_ADD); }
      c.set(L_VA);
      if (mode == MODE_POST && imm) { this.xsp(rn); c.i64(imm); c.op(Op.I64_ADD); c.set(L_R); }
      else if (mode == MODE_PRE || mode == MODE_POST) { c.get(L_VA); c.set(L_R); }
    }
    // Dirty registers are stored here, on the block's path, rather than on
    // the slow path's (which would grow every load and store: compiles ~20%
    // longer); writes between two memory accesses still cost one store each.
    // (In a resident loop, on the slow path: they are stored on every way out.)
    if (!this.resident) this.flushRegs();
    const total = rt2 >= 0 ? 2 * bytes : bytes;
    // TLB probe: the entry of va's page must hold the page of the access's
    // last byte (so a tag match also rules out crossing into the next page),
    // and an SP base must be 16-byte aligned.
    c.get(L_VA); c.op(Op.I32_WRAP_I64); c.tee(L_VA32); c.i32(7); c.op(Op.I32_SHR_U); c.i32((TLB_ENTRIES - 1) << 5); c.op(Op.I32_AND);
    c.get(L_TLB); c.op(Op.I32_ADD); c.tee(L_E);
    c.mem(Op.I64_LOAD, load ? 0 : 8);
    c.get(L_VA); if (total > 1) { c.i64(total - 1); c.op(Op.I64_ADD); } c.i64(12); c.op(Op.I64_SHR_U); c.op(Op.I64_EQ);
    if (rn == 31) { this.xsp(31); c.op(Op.I32_WRAP_I64); c.i32(15); c.op(Op.I32_AND); c.op(Op.I32_EQZ); c.op(Op.I32_AND); }
    // A miss (the walk, a page crossing, SP alignment, MMIO, a fault, a
    // store to code) leaves before the instruction, by the one tail all
    // misses share: the interpreter runs it exactly as interpreted, and what
    // follows up to the next block head. Calling the interpreter here and
    // going on (reloading what it wrote) was ~30% of the machine code V8's
    // baseline compiler made of a boot's pages, all of it in line.
    c.op(Op.I32_EQZ);
    this.openIf();
    this.spillFlags();
    this.spillRegs();
    c.i32(off | (k << 12)); c.set(L_ENTRY); c.br(this.depth(LB_SLOW));
    this.close();
    // Fast path. A frame holding translated code has no write tag, so a
    // store here never writes code.
    const pair = rt2 >= 0;
    if (pair) { this.hostAddr(false); c.set(L_H); }
    if (load) {
      this.hostAddr(pair); this.loadValue(bytes, ext, 0);
      this.setX(rt);
      if (pair) {
        c.get(L_H); this.loadValue(bytes, ext, bytes);
        this.setX(rt2);
      }
    } else {
      this.hostAddr(pair); this.x(rt); this.storeValue(bytes, 0);
      if (pair) { c.get(L_H); this.x(rt2); this.storeValue(bytes, bytes); }
    }
    const wb = mode == MODE_PRE || mode == MODE_POST;
    if (wb) { c.get(L_R); this.setXSP(rn); }
  }
  // The value at the host address on the stack, extended as the load does.
  private loadValue(bytes: i32, ext: i32, offset: i32): void {
    const c = this.c;
    switch (bytes) {
      case 1: if (ext == EXT_S32) { c.mem(Op.I32_LOAD8_S, offset); c.op(Op.I64_EXTEND_I32_U); } else c.mem(ext == EXT_S64 ? Op.I64_LOAD8_S : Op.I64_LOAD8_U, offset); break;
      case 2: if (ext == EXT_S32) { c.mem(Op.I32_LOAD16_S, offset); c.op(Op.I64_EXTEND_I32_U); } else c.mem(ext == EXT_S64 ? Op.I64_LOAD16_S : Op.I64_LOAD16_U, offset); break;
      case 4: c.mem(ext == EXT_S64 ? Op.I64_LOAD32_S : Op.I64_LOAD32_U, offset); break;
      default: c.mem(Op.I64_LOAD, offset);
    }
  }
  private storeValue(bytes: i32, offset: i32): void {
    this.c.mem(bytes == 1 ? Op.I64_STORE8 : bytes == 2 ? Op.I64_STORE16 : bytes == 4 ? Op.I64_STORE32 : Op.I64_STORE, offset);
  }
}
