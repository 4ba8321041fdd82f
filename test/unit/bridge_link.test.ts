// Bridges cabled together (src/tools/net/bridge_link.ts): a client on a
// LAN switch reaches a MAC wherever it last spoke from, as after a guest
// moved from one host's xenbr0 to another's and announced itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Bridge, BridgePort } from "../../src/tools/net/bridge.js";
import { BridgeLink } from "../../src/tools/net/bridge_link.js";

class Port implements BridgePort {
  got: Uint8Array[] = [];
  constructor(readonly name: string) {}
  deliver(f: Uint8Array): void { this.got.push(f); }
}
const frame = (dst: number, src: number): Uint8Array => { const f = new Uint8Array(60); f[5] = dst; f[11] = src; return f; };

test("a client on a LAN finds a MAC on whichever linked bridge it last sent from", () => {
  const lan = new Bridge("lan"), a = new Bridge("xenbr0-a"), b = new Bridge("xenbr0-b");
  const links = [new BridgeLink(a, lan), new BridgeLink(b, lan)];
  const client = new Port("client"), onA = new Port("vif-a"), onB = new Port("vif-b");
  lan.join(client); a.join(onA); b.join(onB);
  // unknown destination: flooded everywhere, the client's MAC learnt on the way
  lan.send(client, frame(9, 1));
  assert.equal(onA.got.length, 1);
  assert.equal(onB.got.length, 1);
  // the guest (MAC 9) speaks on host A: the client's answer goes only there
  a.send(onA, frame(1, 9));
  assert.equal(client.got.length, 1);
  lan.send(client, frame(9, 1));
  assert.deepEqual([onA.got.length, onB.got.length], [2, 1]);
  // it moved to host B and announced itself: now only B gets it
  a.leave(onA);
  b.send(onB, frame(0xff, 9).fill(0xff, 0, 6));
  lan.send(client, frame(9, 1));
  assert.deepEqual([onA.got.length, onB.got.length], [2, 2]);
  for (const l of links) l.close();
  assert.equal(lan.ports.size, 1);
});
