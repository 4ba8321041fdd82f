// A WebAssembly function body and the module around it, written as bytes
// into buffers of the translator's own memory, reused from page to page
// (AssemblyScript; the translator allocates nothing once it has started).

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

// Bytes of the unsigned LEB128 encoding of v.
export function lebSize(v: u32): i32 {
  let n = 1;
  while (v >= 0x80) { v >>= 7; n++; }
  return n;
}

// A byte buffer of fixed capacity with the LEB128 encodings the binary
// format uses. Writing past the end sets `overflow` (the page is then left
// to the interpreter) rather than growing: no page comes near it.
export class Bytes {
  buf: StaticArray<u8>;
  len: i32 = 0;
  overflow: bool = false;
  constructor(capacity: i32) { this.buf = new StaticArray<u8>(capacity); }
  reset(): void { this.len = 0; this.overflow = false; }
  @inline byte(b: i32): void {
    if (this.len < this.buf.length) unchecked(this.buf[this.len++] = <u8>b);
    else this.overflow = true;
  }
  u32(v: u32): void {
    do {
      let b = v & 0x7F;
      v >>= 7;
      if (v != 0) b |= 0x80;
      this.byte(b);
    } while (v != 0);
  }
  // (A value in the i32 range has the same signed LEB128 bytes as an i32 and as an i64.)
  s64(v: i64): void {
    for (;;) {
      const b = <i32>(v & 0x7F);
      v >>= 7;
      if ((v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0)) { this.byte(b); return; }
      this.byte(b | 0x80);
    }
  }
  append(o: Bytes): void { for (let i = 0; i < o.len; i++) this.byte(unchecked(o.buf[i])); }
  name(s: string): void { this.u32(<u32>s.length); for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i)); }
}

// Instruction helpers over a body.
export class Code extends Bytes {
  @inline op(o: i32): void { this.byte(o); }
  i32(v: i32): void { this.byte(Op.I32_CONST); this.s64(<i64>v); }
  i64(v: i64): void { this.byte(Op.I64_CONST); this.s64(v); }
  get(l: i32): void { this.byte(Op.LOCAL_GET); this.u32(<u32>l); }
  set(l: i32): void { this.byte(Op.LOCAL_SET); this.u32(<u32>l); }
  tee(l: i32): void { this.byte(Op.LOCAL_TEE); this.u32(<u32>l); }
  gget(g: i32): void { this.byte(Op.GLOBAL_GET); this.u32(<u32>g); }
  gset(g: i32): void { this.byte(Op.GLOBAL_SET); this.u32(<u32>g); }
  // Memory access with a static offset (alignment hint 0: guest addresses need not be aligned).
  mem(o: i32, offset: i32): void { this.byte(o); this.u32(0); this.u32(<u32>offset); }
  block(t: i32 = T.VOID): void { this.byte(Op.BLOCK); this.byte(t); }
  loop(t: i32 = T.VOID): void { this.byte(Op.LOOP); this.byte(t); }
  if_(t: i32 = T.VOID): void { this.byte(Op.IF); this.byte(t); }
  else_(): void { this.byte(Op.ELSE); }
  end(): void { this.byte(Op.END); }
  br(depth: i32): void { this.byte(Op.BR); this.u32(<u32>depth); }
  brIf(depth: i32): void { this.byte(Op.BR_IF); this.u32(<u32>depth); }
  brTable(depths: StaticArray<i32>, n: i32, dflt: i32): void {
    this.byte(Op.BR_TABLE); this.u32(<u32>n);
    for (let i = 0; i < n; i++) this.u32(<u32>unchecked(depths[i]));
    this.u32(<u32>dflt);
  }
  call(f: i32): void { this.byte(Op.CALL); this.u32(<u32>f); }
}
