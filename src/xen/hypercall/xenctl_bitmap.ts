// struct xenctl_bitmap, a CPU or node map in the caller's memory (Xen's
// xenctl_bitmap_to_bitmap and bitmap_to_xenctl_bitmap in common/bitmap.c):
// as many bytes as the caller's nr_bits name, ours copied in or out and the
// rest of the caller's zero-filled; written a page at a time, so that an
// nr_bits of 2^32 costs no 512 MiB buffer and a fault stops the write.

import type { HypercallContext } from "./context.js";
import type { StructBuf } from "../public/layout.js";
import type { xenctl_bitmap } from "../public/domctl.js";

type Bitmap = StructBuf<keyof typeof xenctl_bitmap.fields>;

// Our `nbits` (at most 8 here: one CPU, one node) as the caller's map gives them.
export function readBitmap(c: HypercallContext, map: Bitmap, nbits: number): number | null {
  const guestBits = map.num("nr_bits");
  if (guestBits === 0) return 0;
  const b = c.g.read(map.get("bitmap"), 1);
  if (!b) return null;
  let v = b[0];
  if (guestBits < 8) v &= (1 << guestBits) - 1;
  return v & ((1 << nbits) - 1);
}

export function writeBitmap(c: HypercallContext, map: Bitmap, bits: number): boolean {
  const total = Math.ceil(map.num("nr_bits") / 8);
  for (let off = 0; off < total; off += 4096) {
    const chunk = new Uint8Array(Math.min(4096, total - off));
    if (off === 0) chunk[0] = bits & 0xFF;
    if (!c.g.write(map.get("bitmap") + BigInt(off), chunk)) return false;
  }
  return true;
}
