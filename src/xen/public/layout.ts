// Struct layouts of Xen's public ABI: each struct is defined once here with
// the offsets and sizes of Xen 4.17's headers (checked against the headers
// by test/conformance/xen_abi.test.ts, which compiles them with the aarch64 compiler).

export type FieldType = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "bytes";

export interface Field { readonly offset: number; readonly type: FieldType; readonly size: number; }

export interface Layout<F extends string = string> {
  readonly name: string; // the C struct name
  readonly size: number;
  readonly fields: { readonly [K in F]: Field };
}

const SIZES: Record<Exclude<FieldType, "bytes">, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

type FieldSpec = [offset: number, type: Exclude<FieldType, "bytes">] | [offset: number, type: "bytes", size: number];

export function struct<F extends string>(name: string, size: number, spec: { [K in F]: FieldSpec }): Layout<F> {
  const fields = {} as { [K in F]: Field };
  for (const k of Object.keys(spec) as F[]) {
    const s = spec[k];
    const fsize = s[1] === "bytes" ? s[2] : SIZES[s[1]];
    if (s[0] + fsize > size) throw new Error(`${name}.${k} overruns the struct`);
    fields[k] = { offset: s[0], type: s[1], size: fsize };
  }
  return { name, size, fields };
}

// Read a field of a struct at `base` in a DataView (numbers for <= 32 bits, bigint for 64).
export function getField(dv: DataView, base: number, f: Field): number | bigint {
  const o = base + f.offset;
  switch (f.type) {
    case "u8": return dv.getUint8(o);
    case "i8": return dv.getInt8(o);
    case "u16": return dv.getUint16(o, true);
    case "i16": return dv.getInt16(o, true);
    case "u32": return dv.getUint32(o, true);
    case "i32": return dv.getInt32(o, true);
    case "u64": return dv.getBigUint64(o, true);
    case "i64": return dv.getBigInt64(o, true);
    default: throw new Error("bytes fields have no scalar value");
  }
}

export function setField(dv: DataView, base: number, f: Field, v: number | bigint): void {
  const o = base + f.offset;
  switch (f.type) {
    case "u8": case "i8": dv.setUint8(o, Number(v) & 0xFF); return;
    case "u16": case "i16": dv.setUint16(o, Number(v) & 0xFFFF, true); return;
    case "u32": case "i32": dv.setUint32(o, Number(BigInt.asUintN(32, BigInt(v))), true); return;
    case "u64": case "i64": dv.setBigUint64(o, BigInt.asUintN(64, BigInt(v)), true); return;
    default: throw new Error("bytes fields have no scalar value");
  }
}

// A struct instance in its own little buffer, for marshalling hypercall arguments.
export class StructBuf<F extends string> {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  constructor(readonly layout: Layout<F>, init?: Uint8Array) {
    this.bytes = new Uint8Array(layout.size);
    if (init) this.bytes.set(init.subarray(0, layout.size));
    this.dv = new DataView(this.bytes.buffer);
  }
  get(f: F): bigint { return BigInt(getField(this.dv, 0, this.layout.fields[f])); }
  num(f: F): number { return Number(getField(this.dv, 0, this.layout.fields[f])); }
  set(f: F, v: number | bigint): this { setField(this.dv, 0, this.layout.fields[f], v); return this; }
  sub(f: F): Uint8Array { const fl = this.layout.fields[f]; return this.bytes.subarray(fl.offset, fl.offset + fl.size); }
}

export const ALL_LAYOUTS: Layout[] = [];
export function registered<F extends string>(l: Layout<F>): Layout<F> { ALL_LAYOUTS.push(l as Layout); return l; }
