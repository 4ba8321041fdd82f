// Software TCP segmentation (netback's GSO): every segment is a valid
// frame on its own (IP and TCP checksums verified from scratch here), the
// payload comes back whole and in order, and lengths, ids, sequence
// numbers and flags are what Linux's own segmentation gives.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { segmentTcp } from "../../src/tools/net/tcp_segment.js";

function onesSum(b: Uint8Array, sum = 0): number {
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >>> 16);
  return sum;
}

// An Ethernet frame with one TCP segment of `payload` (checksums left as the guest leaves them: blank).
function superPacket(v6: boolean, payload: Uint8Array, flags: number): Uint8Array {
  const l3 = 14, ipLen = v6 ? 40 : 20, l4 = l3 + ipLen, f = new Uint8Array(l4 + 32 + payload.length + 4); // + 4 bytes of padding to be ignored
  f.set([0, 0x16, 0x3e, 0, 0, 1, 0, 0x16, 0x3e, 0, 0, 2], 0);
  f.set(v6 ? [0x86, 0xdd] : [0x08, 0x00], 12);
  const l4len = 32 + payload.length;
  if (v6) {
    f.set([0x60, 0, 0, 0, l4len >> 8, l4len & 0xff, 6, 64], l3);
    for (let i = 0; i < 32; i++) f[l3 + 8 + i] = i + 1;
  } else {
    const tot = 20 + l4len;
    f.set([0x45, 0, tot >> 8, tot & 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], l3);
  }
  f.set([0x1f, 0x90, 0xc3, 0x50, 0xff, 0xff, 0xf0, 0x00, 0, 0, 0, 7, 0x80, flags, 0x01, 0xf5, 0, 0, 0, 0], l4); // seq close to wrapping, data offset 8 words
  f.set([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], l4 + 20); // NOP NOP timestamps
  f.set(payload, l4 + 32);
  return f;
}

for (const v6 of [false, true]) test(`a 64 KiB TCP/${v6 ? "IPv6" : "IPv4"} super-packet becomes valid MSS-sized frames`, () => {
  const payload = randomBytes(65535 - 32 - (v6 ? 40 : 20) - 14 - 4);
  const mss = 1448;
  const segs: Uint8Array[] = [];
  const n = segmentTcp(superPacket(v6, payload, 0x80 | 0x18 | 0x01), mss, (s) => segs.push(s)); // CWR, PSH|ACK, FIN
  assert.equal(n, Math.ceil(payload.length / mss));
  assert.equal(segs.length, n);
  const l3 = 14, l4 = l3 + (v6 ? 40 : 20);
  const got: Uint8Array[] = [];
  segs.forEach((s, i) => {
    const data = s.subarray(l4 + 32);
    assert.equal(data.length, i < n - 1 ? mss : payload.length - mss * (n - 1), `segment ${i}'s length`);
    got.push(data);
    const l4len = s.length - l4;
    let pseudo: number;
    if (v6) {
      assert.equal((s[l3 + 4] << 8) | s[l3 + 5], l4len, "payload length");
      pseudo = onesSum(s.subarray(l3 + 8, l3 + 40)) + 6 + l4len;
    } else {
      assert.equal((s[l3 + 2] << 8) | s[l3 + 3], s.length - l3, "total length");
      assert.equal((s[l3 + 4] << 8) | s[l3 + 5], (0x1234 + i) & 0xffff, "IP id");
      assert.equal(onesSum(s.subarray(l3, l4)), 0xffff, `segment ${i}: IP header checksum`);
      pseudo = onesSum(s.subarray(l3 + 12, l3 + 20)) + 6 + l4len;
    }
    assert.equal(onesSum(s.subarray(l4), pseudo), 0xffff, `segment ${i}: TCP checksum`);
    const seq = ((s[l4 + 4] << 24) | (s[l4 + 5] << 16) | (s[l4 + 6] << 8) | s[l4 + 7]) >>> 0;
    assert.equal(seq, (0xfffff000 + i * mss) >>> 0, "sequence number (wrapping)");
    assert.equal(s[l4 + 13], i === n - 1 ? (i === 0 ? 0x99 : 0x19) : (i === 0 ? 0x90 : 0x10), `segment ${i}'s flags`);
  });
  assert.deepEqual(Buffer.concat(got), Buffer.from(payload), "the payload comes back whole and in order");
});

test("segmentation refuses what is not TCP, and a packet that fits stays one frame", () => {
  const p = superPacket(false, randomBytes(100), 0x18);
  const one: Uint8Array[] = [];
  assert.equal(segmentTcp(p, 1448, (s) => one.push(s)), 1);
  assert.equal(one[0].length, p.length - 4, "the padding is gone");
  const udp = p.slice(); udp[14 + 9] = 17;
  assert.equal(segmentTcp(udp, 1448, () => assert.fail("no frame")), -1);
  const short = p.slice(0, 40);
  assert.equal(segmentTcp(short, 1448, () => assert.fail("no frame")), -1);
  const lying = p.slice(); lying[14 + 2] = 0xff; // an IP length past the frame
  assert.equal(segmentTcp(lying, 1448, () => assert.fail("no frame")), -1);
  assert.equal(segmentTcp(p, 0, () => assert.fail("no frame")), -1);
});
