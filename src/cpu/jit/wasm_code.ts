// A WebAssembly function body and the module around it, written as bytes.
//
// Hand-written rather than through binaryen.js: a translated page is one
// small function with a fixed set of imports, so the whole module is a few
// fixed sections around the body, and the translator runs on the hot path of
// the guest (binaryen would add a 10 MB module and its own IR per page).

export const enum T { I32 = 0x7F, I64 = 0x7E, VOID = 0x40 }

export const enum Op {
  UNREACHABLE = 0x00, NOP = 0x01, BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, END = 0x0B,
  BR = 0x0C, BR_IF = 0x0D, BR_TABLE = 0x0E, RETURN = 0x0F, CALL = 0x10, DROP = 0x1A, SELECT = 0x1B,
  LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22, GLOBAL_GET = 0x23, GLOBAL_SET = 0x24,
  I32_LOAD = 0x28, I64_LOAD = 0x29,
  I32_LOAD8_S = 0x2C, I32_LOAD8_U = 0x2D, I32_LOAD16_S = 0x2E, I32_LOAD16_U = 0x2F,
  I64_LOAD8_S = 0x30, I64_LOAD8_U = 0x31, I64_LOAD16_S = 0x32, I64_LOAD16_U = 0x33,
  I64_LOAD32_S = 0x34, I64_LOAD32_U = 0x35,
  I32_STORE = 0x36, I64_STORE = 0x37, I32_STORE8 = 0x3A, I32_STORE16 = 0x3B,
  I64_STORE8 = 0x3C, I64_STORE16 = 0x3D, I64_STORE32 = 0x3E,
  I32_CONST = 0x41, I64_CONST = 0x42,
  I32_EQZ = 0x45, I32_EQ = 0x46, I32_NE = 0x47, I32_LT_S = 0x48, I32_LT_U = 0x49, I32_GT_S = 0x4A,
  I32_GT_U = 0x4B, I32_LE_S = 0x4C, I32_LE_U = 0x4D, I32_GE_S = 0x4E, I32_GE_U = 0x4F,
  I64_EQZ = 0x50, I64_EQ = 0x51, I64_NE = 0x52, I64_LT_S = 0x53, I64_LT_U = 0x54, I64_GT_S = 0x55,
  I64_GT_U = 0x56, I64_LE_S = 0x57, I64_LE_U = 0x58, I64_GE_S = 0x59, I64_GE_U = 0x5A,
  I32_CLZ = 0x67, I32_ADD = 0x6A, I32_SUB = 0x6B, I32_MUL = 0x6C, I32_DIV_S = 0x6D, I32_DIV_U = 0x6E,
  I32_AND = 0x71, I32_OR = 0x72, I32_XOR = 0x73, I32_SHL = 0x74, I32_SHR_S = 0x75, I32_SHR_U = 0x76,
  I32_ROTR = 0x78,
  I64_CLZ = 0x79, I64_ADD = 0x7C, I64_SUB = 0x7D, I64_MUL = 0x7E, I64_DIV_S = 0x7F, I64_DIV_U = 0x80,
  I64_AND = 0x83, I64_OR = 0x84, I64_XOR = 0x85, I64_SHL = 0x86, I64_SHR_S = 0x87, I64_SHR_U = 0x88,
  I64_ROTR = 0x8A,
  I32_WRAP_I64 = 0xA7, I64_EXTEND_I32_S = 0xAC, I64_EXTEND_I32_U = 0xAD,
  I32_EXTEND8_S = 0xC0, I32_EXTEND16_S = 0xC1, I64_EXTEND8_S = 0xC2, I64_EXTEND16_S = 0xC3, I64_EXTEND32_S = 0xC4,
}

// A growable byte buffer with the LEB128 encodings the binary format uses.
export class Bytes {
  buf = new Uint8Array(4096);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(b: number): void { this.room(1); this.buf[this.len++] = b; }
  u32(v: number): void {
    this.room(5);
    v >>>= 0;
    do {
      let b = v & 0x7F;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (v !== 0);
  }
  s32(v: number): void {
    this.room(5);
    v |= 0;
    for (;;) {
      const b = v & 0x7F;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { this.buf[this.len++] = b; return; }
      this.buf[this.len++] = b | 0x80;
    }
  }
  s64(v: bigint): void {
    this.room(10);
    v = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(v & 0x7Fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { this.buf[this.len++] = b; return; }
      this.buf[this.len++] = b | 0x80;
    }
  }
  append(o: Bytes): void { this.room(o.len); this.buf.set(o.buf.subarray(0, o.len), this.len); this.len += o.len; }
  name(s: string): void { this.u32(s.length); for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i)); }
  bytes(): Uint8Array { return this.buf.subarray(0, this.len); }
}

// Instruction helpers over a body.
export class Code extends Bytes {
  op(o: Op): void { this.byte(o); }
  i32(v: number): void { this.byte(Op.I32_CONST); this.s32(v); }
  // (A number in the i32 range has the same signed LEB128 bytes as an i64,
  // without BigInt arithmetic: most constants are shifts and offsets.)
  i64(v: bigint | number): void {
    this.byte(Op.I64_CONST);
    if (typeof v === "number" && v === (v | 0)) this.s32(v);
    else this.s64(BigInt(v));
  }
  get(l: number): void { this.byte(Op.LOCAL_GET); this.u32(l); }
  set(l: number): void { this.byte(Op.LOCAL_SET); this.u32(l); }
  tee(l: number): void { this.byte(Op.LOCAL_TEE); this.u32(l); }
  gget(g: number): void { this.byte(Op.GLOBAL_GET); this.u32(g); }
  gset(g: number): void { this.byte(Op.GLOBAL_SET); this.u32(g); }
  // Memory access with a static offset (alignment hint 0: guest addresses need not be aligned).
  mem(o: Op, offset: number): void { this.byte(o); this.u32(0); this.u32(offset); }
  block(t: T = T.VOID): void { this.byte(Op.BLOCK); this.byte(t); }
  loop(t: T = T.VOID): void { this.byte(Op.LOOP); this.byte(t); }
  if_(t: T = T.VOID): void { this.byte(Op.IF); this.byte(t); }
  else_(): void { this.byte(Op.ELSE); }
  end(): void { this.byte(Op.END); }
  br(depth: number): void { this.byte(Op.BR); this.u32(depth); }
  brIf(depth: number): void { this.byte(Op.BR_IF); this.u32(depth); }
  brTable(depths: number[], dflt: number): void {
    this.byte(Op.BR_TABLE); this.u32(depths.length);
    for (const d of depths) this.u32(d);
    this.u32(dflt);
  }
  call(f: number): void { this.byte(Op.CALL); this.u32(f); }
}

export interface ImportedGlobal { name: string; type: T.I32 | T.I64 }
export interface ImportedFunc { name: string; params: T[]; results: T[] }

// One module: imports env.memory, the given functions and mutable globals
// (in that order of index), and exports one function "f", whose type index is funcs.length.
export function moduleBytes(
  funcs: ImportedFunc[], globals: ImportedGlobal[], params: T[], results: T[], locals: [number, T][], body: Code,
): Uint8Array<ArrayBuffer> {
  const m = new Bytes();
  m.byte(0x00); m.byte(0x61); m.byte(0x73); m.byte(0x6D); m.byte(1); m.byte(0); m.byte(0); m.byte(0);
  const section = (id: number, s: Bytes): void => { m.byte(id); m.u32(s.len); m.append(s); };
  const types = new Bytes();
  const fnType = (p: T[], r: T[]): void => { types.byte(0x60); types.u32(p.length); p.forEach((t) => types.byte(t)); types.u32(r.length); r.forEach((t) => types.byte(t)); };
  types.u32(funcs.length + 1);
  for (const f of funcs) fnType(f.params, f.results);
  fnType(params, results);
  section(1, types);
  const imports = new Bytes();
  imports.u32(1 + funcs.length + globals.length);
  imports.name("env"); imports.name("memory"); imports.byte(0x02); imports.byte(0x00); imports.u32(0);
  funcs.forEach((f, i) => { imports.name("env"); imports.name(f.name); imports.byte(0x00); imports.u32(i); });
  for (const g of globals) { imports.name("env"); imports.name(g.name); imports.byte(0x03); imports.byte(g.type); imports.byte(0x01); }
  section(2, imports);
  const fns = new Bytes();
  fns.u32(1); fns.u32(funcs.length);
  section(3, fns);
  const exports = new Bytes();
  exports.u32(1); exports.name("f"); exports.byte(0x00); exports.u32(funcs.length);
  section(7, exports);
  const fn = new Bytes();
  fn.u32(locals.length);
  for (const [n, t] of locals) { fn.u32(n); fn.byte(t); }
  fn.append(body);
  fn.byte(Op.END);
  const code = new Bytes();
  code.u32(1); code.u32(fn.len); code.append(fn);
  section(10, code);
  const out: Uint8Array<ArrayBuffer> = new Uint8Array(new ArrayBuffer(m.len));
  out.set(m.bytes());
  return out;
}
