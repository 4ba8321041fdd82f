// A guest kernel that never gets past its first instruction: the header of
// an arm64 Image and a branch to itself. Fuzzers build guests from it (kept
// paused) when what they need is a domain's xenstore, console and memory.

export function idleImage(): Uint8Array {
  const k = new Uint8Array(4096);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, 0x14000000, true); // b .
  dv.setBigUint64(16, 4096n, true); // image_size
  dv.setUint32(56, 0x644d5241, true); // "ARM\x64"
  return k;
}
