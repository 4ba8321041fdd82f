// Completing a TCP or UDP checksum a guest left to "hardware"
// (NETTXF_csum_blank, Linux's CHECKSUM_PARTIAL): the checksum field holds
// the pseudo-header sum; the ones' complement sum over the whole L4 segment
// including it, folded and inverted, is the checksum. IPv4 and IPv6 (no
// extension headers) over Ethernet, with or without one VLAN tag.

// The Internet checksum's ones' complement sum of f[from, to) (an odd last
// byte padded with zero), added to `sum` and folded to 16 bits; the
// checksum is its complement.
export function onesSum(f: Uint8Array, from: number, to: number, sum = 0): number {
  for (let i = from; i + 1 < to; i += 2) sum += (f[i] << 8) | f[i + 1];
  if ((to - from) & 1) sum += f[to - 1] << 8;
  while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >>> 16);
  return sum;
}

export function completeChecksum(f: Uint8Array): boolean {
  let l3 = 14;
  let type = (f[12] << 8) | f[13];
  if (type === 0x8100 && f.length >= 18) { type = (f[16] << 8) | f[17]; l3 = 18; }
  let l4: number, end: number, proto: number;
  if (type === 0x0800 && f.length >= l3 + 20) {
    l4 = l3 + (f[l3] & 0xF) * 4;
    end = Math.min(f.length, l3 + ((f[l3 + 2] << 8) | f[l3 + 3]));
    proto = f[l3 + 9];
  } else if (type === 0x86DD && f.length >= l3 + 40) {
    l4 = l3 + 40;
    end = Math.min(f.length, l4 + ((f[l3 + 4] << 8) | f[l3 + 5]));
    proto = f[l3 + 6];
  } else return false;
  const at = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : -1;
  if (at < 0 || at + 2 > end) return false;
  let c = ~onesSum(f, l4, end) & 0xFFFF;
  if (c === 0 && proto === 17) c = 0xFFFF;
  f[at] = c >> 8;
  f[at + 1] = c & 0xFF;
  return true;
}
