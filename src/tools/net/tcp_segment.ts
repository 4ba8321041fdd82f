// Software segmentation of a TCP "super-packet" (GSO/TSO): a guest that was
// offered feature-gso-tcpv4/v6 hands netback up to 64 KiB of one TCP
// stream as one packet with its segment size, and whatever lies beyond the
// bridge (another guest, a TAP device) expects ordinary frames. Each
// segment gets the headers of the original with its own lengths, IPv4 id,
// sequence number, flags (FIN and PSH only on the last, CWR only on the
// first) and checksums, as Linux's tcp_gso_segment makes them. IPv4 and
// IPv6 (no extension headers) over Ethernet, with or without a VLAN tag.

import { onesSum } from "./checksum.js";

// Where a frame's headers are, if it is TCP over IPv4 or IPv6 with lengths
// that agree with each other and with the frame (results in `at`, so that
// nothing is allocated per frame).
const at = { l3: 0, l4: 0, hdr: 0, end: 0, v6: false };
function parse(f: Uint8Array): boolean {
  if (f.length < 14) return false;
  let l3 = 14;
  let type = (f[12] << 8) | f[13];
  if (type === 0x8100 && f.length >= 18) { type = (f[16] << 8) | f[17]; l3 = 18; }
  let l4: number, end: number;
  const v6 = type === 0x86DD;
  if (type === 0x0800 && f.length >= l3 + 20) {
    if (f[l3 + 9] !== 6 || (f[l3] >> 4) !== 4 || (f[l3] & 0xF) < 5) return false;
    l4 = l3 + (f[l3] & 0xF) * 4;
    end = l3 + ((f[l3 + 2] << 8) | f[l3 + 3]);
  } else if (v6 && f.length >= l3 + 40) {
    if (f[l3 + 6] !== 6) return false;
    l4 = l3 + 40;
    end = l4 + ((f[l3 + 4] << 8) | f[l3 + 5]);
  } else return false;
  if (l4 + 20 > f.length || end > f.length || end < l4 + 20) return false;
  const hdr = l4 + (f[l4 + 12] >> 4) * 4;
  if (hdr < l4 + 20 || hdr > end) return false;
  at.l3 = l3; at.l4 = l4; at.hdr = hdr; at.end = end; at.v6 = v6;
  return true;
}

// "v4" or "v6" for a TCP frame netback may pass on as a super-packet, else null.
export function tcpSuperPacket(f: Uint8Array): "v4" | "v6" | null {
  return parse(f) ? (at.v6 ? "v6" : "v4") : null;
}

// Returns the number of frames emitted, or -1 when `f` is not a TCP segment
// this code can cut (the caller drops it and says so).
export function segmentTcp(f: Uint8Array, mss: number, emit: (frame: Uint8Array) => void): number {
  if (mss < 1 || !parse(f)) return -1;
  const { l3, l4, hdr, end, v6 } = at;
  const seq0 = ((f[l4 + 4] << 24) | (f[l4 + 5] << 16) | (f[l4 + 6] << 8) | f[l4 + 7]) >>> 0;
  const id0 = (f[l3 + 4] << 8) | f[l3 + 5];
  const flags = f[l4 + 13];
  // the addresses' share of the pseudo-header, the same for every segment
  const addrSum = v6 ? onesSum(f, l3 + 8, l3 + 40, 0) : onesSum(f, l3 + 12, l3 + 20, 0);
  let n = 0;
  for (let off = hdr; off < end || off === hdr; off += mss) {
    const len = Math.min(mss, end - off);
    const s = new Uint8Array(hdr + len);
    s.set(f.subarray(0, hdr), 0);
    s.set(f.subarray(off, off + len), hdr);
    const l4len = hdr - l4 + len;
    if (v6) {
      s[l3 + 4] = l4len >> 8; s[l3 + 5] = l4len & 0xFF;
    } else {
      const tot = l4 - l3 + l4len, id = (id0 + n) & 0xFFFF;
      s[l3 + 2] = tot >> 8; s[l3 + 3] = tot & 0xFF;
      s[l3 + 4] = id >> 8; s[l3 + 5] = id & 0xFF;
      s[l3 + 10] = 0; s[l3 + 11] = 0;
      const c = ~onesSum(s, l3, l4, 0) & 0xFFFF;
      s[l3 + 10] = c >> 8; s[l3 + 11] = c & 0xFF;
    }
    const seq = (seq0 + (off - hdr)) >>> 0;
    s[l4 + 4] = seq >>> 24; s[l4 + 5] = (seq >>> 16) & 0xFF; s[l4 + 6] = (seq >>> 8) & 0xFF; s[l4 + 7] = seq & 0xFF;
    const last = off + mss >= end;
    s[l4 + 13] = flags & ~(last ? 0 : 0x09) & ~(n === 0 ? 0 : 0x80);
    s[l4 + 16] = 0; s[l4 + 17] = 0;
    const c = ~onesSum(s, l4, s.length, addrSum + 6 + l4len) & 0xFFFF;
    s[l4 + 16] = c >> 8; s[l4 + 17] = c & 0xFF;
    emit(s);
    n++;
    if (last) break;
  }
  return n;
}
