// An arm64 Linux Image (Documentation/arm64/booting.rst): its header, and
// where a builder puts the kernel, the device tree and the initrd in a
// domain's first RAM bank. Used alike by the toolstack's domU builder and
// the hypervisor's Domain-0 builder.

export class BootImageError extends Error {}

const IMAGE_MAGIC = 0x644d5241; // "ARM\x64"
const MiB = 1n << 20n;
const PAGE = 4096n;
export const DTB_RESERVE = 2n * MiB; // room kept for the device tree

export interface ImageHeader { textOffset: bigint; imageSize: bigint; }

// k: the image, or its first 64 bytes at least (length: the whole image's).
export function parseArm64Image(k: Uint8Array, length = k.length): ImageHeader {
  if (length < 64 || k.length < 64) throw new BootImageError("kernel is too small to be an arm64 Image");
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  if (dv.getUint32(56, true) !== IMAGE_MAGIC) {
    if (k[0] === 0x1f && k[1] === 0x8b) throw new BootImageError("kernel is gzip-compressed: give the uncompressed arm64 Image");
    throw new BootImageError("kernel is not an arm64 Image (no ARM\\x64 magic at offset 56)");
  }
  let textOffset = dv.getBigUint64(8, true);
  let imageSize = dv.getBigUint64(16, true);
  if (imageSize === 0n) { textOffset = 0x80000n; imageSize = BigInt(length); } // pre-3.17 header
  if (imageSize < BigInt(length)) imageSize = BigInt(length);
  return { textOffset, imageSize };
}

export interface BootLayout { kernel: bigint; dtb: bigint; initrd: bigint; }

export const alignUp = (v: bigint, a: bigint): bigint => (v + a - 1n) & ~(a - 1n);

// Kernel at the bank's base + text_offset; the device tree and the initrd
// together 128 MiB above the base when they fit there (clear of the
// kernel's early allocations, as Xen's toolstack places them), else as high
// in the bank as they go.
export function placeBootImages(ramBase: bigint, bankBytes: bigint, hdr: ImageHeader, initrdBytes: number): BootLayout {
  const kernel = ramBase + hdr.textOffset;
  const kernEnd = kernel + hdr.imageSize;
  const modSize = DTB_RESERVE + alignUp(BigInt(initrdBytes), PAGE);
  const ramEnd = ramBase + bankBytes;
  let mods: bigint;
  if (ramEnd >= ramBase + 128n * MiB + modSize && kernEnd < ramBase + 128n * MiB) mods = ramBase + 128n * MiB;
  else if (ramEnd - modSize > kernEnd) mods = (ramEnd - modSize) & ~(2n * MiB - 1n);
  else throw new BootImageError(`kernel (${hdr.imageSize} bytes) and initrd (${initrdBytes} bytes) do not fit in ${bankBytes / MiB} MiB`);
  if (mods < kernEnd) throw new BootImageError(`kernel (${hdr.imageSize} bytes) and initrd (${initrdBytes} bytes) do not fit in ${bankBytes / MiB} MiB`);
  return { kernel, dtb: mods, initrd: mods + DTB_RESERVE };
}
