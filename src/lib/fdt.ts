// Flattened device tree (DTB, version 17) writer, per the Devicetree
// Specification: header, empty memory reservation map, structure block,
// strings block.

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_END = 9;

export class FdtBuilder {
  private struct: number[] = []; // 32-bit big-endian words
  private strings: number[] = [];
  private stringOffsets = new Map<string, number>();
  private depth = 0;

  private word(v: number): void { this.struct.push(v >>> 0); }
  private bytes(b: Uint8Array): void {
    const padded = new Uint8Array((b.length + 3) & ~3);
    padded.set(b);
    const dv = new DataView(padded.buffer);
    for (let i = 0; i < padded.length; i += 4) this.word(dv.getUint32(i, false));
  }
  private nameOff(name: string): number {
    let o = this.stringOffsets.get(name);
    if (o === undefined) {
      o = this.strings.length;
      for (const b of Buffer.from(name + "\0")) this.strings.push(b);
      this.stringOffsets.set(name, o);
    }
    return o;
  }

  beginNode(name: string): this {
    this.word(FDT_BEGIN_NODE);
    this.bytes(new Uint8Array(Buffer.from(name + "\0")));
    this.depth++;
    return this;
  }
  endNode(): this {
    if (this.depth === 0) throw new Error("endNode without beginNode");
    this.word(FDT_END_NODE);
    this.depth--;
    return this;
  }
  prop(name: string, value: Uint8Array): this {
    this.word(FDT_PROP);
    this.word(value.length);
    this.word(this.nameOff(name));
    this.bytes(value);
    return this;
  }
  empty(name: string): this { return this.prop(name, new Uint8Array(0)); }
  // A node read from another blob (fdt_reader.ts), copied whole.
  node(n: { name: string; props: { name: string; value: Uint8Array }[]; children: { name: string }[] }): this {
    this.beginNode(n.name);
    for (const p of n.props) this.prop(p.name, p.value);
    for (const c of n.children) this.node(c as typeof n);
    return this.endNode();
  }
  u32(name: string, ...vals: number[]): this {
    const b = new Uint8Array(vals.length * 4);
    const dv = new DataView(b.buffer);
    vals.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, false));
    return this.prop(name, b);
  }
  u64(name: string, ...vals: bigint[]): this {
    const b = new Uint8Array(vals.length * 8);
    const dv = new DataView(b.buffer);
    vals.forEach((v, i) => dv.setBigUint64(i * 8, v, false));
    return this.prop(name, b);
  }
  // <addr size> pairs with 2 address cells and 2 size cells
  reg(name: string, ...pairs: [bigint, bigint][]): this { return this.u64(name, ...pairs.flat()); }
  str(name: string, ...vals: string[]): this { return this.prop(name, new Uint8Array(Buffer.from(vals.map((v) => v + "\0").join("")))); }

  finish(): Uint8Array {
    if (this.depth !== 0) throw new Error("unbalanced device tree nodes");
    this.word(FDT_END);
    const header = 40, rsvmap = 16;
    const structBytes = this.struct.length * 4;
    const offStruct = header + rsvmap;
    const offStrings = offStruct + structBytes;
    const total = offStrings + this.strings.length;
    const out = new Uint8Array((total + 7) & ~7);
    const dv = new DataView(out.buffer);
    const h = [FDT_MAGIC, out.length, offStruct, offStrings, header, 17, 16, 0, this.strings.length, structBytes];
    h.forEach((v, i) => dv.setUint32(i * 4, v, false));
    // memory reservation map: one terminating all-zero entry at `header`
    this.struct.forEach((w, i) => dv.setUint32(offStruct + i * 4, w, false));
    out.set(this.strings, offStrings);
    return out;
  }
}
