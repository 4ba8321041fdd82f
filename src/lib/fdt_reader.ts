// Flattened device tree (DTB) reader: the structure block as a tree of
// nodes with raw property values, every offset and length checked, so a
// malformed or hostile file (xl.cfg's device_tree = "...") gives an error
// that says what is wrong instead of reading past the end.

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_NOP = 4, FDT_END = 9;
const MAX_DEPTH = 32;

export interface FdtNode {
  name: string;
  props: { name: string; value: Uint8Array }[];
  children: FdtNode[];
}

export class FdtError extends Error {}

export function parseFdt(b: Uint8Array): FdtNode {
  if (b.length < 40) throw new FdtError(`${b.length} bytes is too short for a device tree header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  if (dv.getUint32(0) !== FDT_MAGIC) throw new FdtError("not a device tree blob (bad magic)");
  const total = dv.getUint32(4), offStruct = dv.getUint32(8), offStrings = dv.getUint32(12), version = dv.getUint32(20);
  const sizeStrings = dv.getUint32(32), sizeStruct = version >= 17 ? dv.getUint32(36) : total - offStruct;
  if (total > b.length) throw new FdtError(`the header says ${total} bytes, the file has ${b.length}`);
  if (version < 16) throw new FdtError(`device tree version ${version} is too old (16 or later)`);
  if (offStruct + sizeStruct > total || offStrings + sizeStrings > total) throw new FdtError("a block runs past the end of the blob");
  const cstr = (at: number, end: number, what: string): string => {
    let e = at;
    while (e < end && b[e] !== 0) e++;
    if (e >= end) throw new FdtError(`${what} is not terminated`);
    return Buffer.from(b.subarray(at, e)).toString("latin1");
  };
  let off = offStruct;
  const end = offStruct + sizeStruct;
  const word = (): number => {
    if (off + 4 > end) throw new FdtError("the structure block ends early");
    const v = dv.getUint32(off);
    off += 4;
    return v;
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | null = null;
  for (;;) {
    const tok = word();
    if (tok === FDT_BEGIN_NODE) {
      const name = cstr(off, end, "a node name");
      off = (off + name.length + 1 + 3) & ~3;
      const n: FdtNode = { name, props: [], children: [] };
      if (stack.length) stack[stack.length - 1].children.push(n);
      else if (root) throw new FdtError("a second root node");
      else root = n;
      stack.push(n);
      if (stack.length > MAX_DEPTH) throw new FdtError(`nodes nested deeper than ${MAX_DEPTH}`);
    } else if (tok === FDT_END_NODE) {
      if (!stack.pop()) throw new FdtError("a node end without a node");
    } else if (tok === FDT_PROP) {
      const len = word(), nameOff = word();
      if (!stack.length) throw new FdtError("a property outside any node");
      if (off + len > end) throw new FdtError("a property value runs past the structure block");
      if (nameOff >= sizeStrings) throw new FdtError("a property name is outside the strings block");
      const name = cstr(offStrings + nameOff, offStrings + sizeStrings, "a property name");
      stack[stack.length - 1].props.push({ name, value: b.slice(off, off + len) });
      off = (off + len + 3) & ~3;
    } else if (tok === FDT_NOP) {
      // nothing
    } else if (tok === FDT_END) {
      if (stack.length || !root) throw new FdtError("the structure block ends inside a node");
      return root;
    } else {
      throw new FdtError(`unknown token 0x${tok.toString(16)} in the structure block`);
    }
  }
}

// The child of `n` named `name` (exactly, unit address included), if any.
export function fdtChild(n: FdtNode, name: string): FdtNode | undefined { return n.children.find((c) => c.name === name); }
