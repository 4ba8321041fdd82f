// LineFramer: the one newline-framed reader of the daemon, its client and
// migration. The limit is per line, not per connection (a long `xents top`
// sends any number of lines); a UTF-8 character split across chunks
// arrives whole; a switch to raw bytes takes the rest of the chunk, and
// bytes already received. And the client's reply parser, which took a
// reply of `null` as an object (a TypeError in the socket's handler).
import { test } from "node:test";
import assert from "node:assert/strict";
import { LineFramer } from "../../src/tools/line_framer.js";
import { parseReply } from "../../src/tools/daemon/client.js";

test("line framer: lines across chunks, a per-line limit, UTF-8 split across chunks", () => {
  const got: string[] = [];
  const f = new LineFramer((l) => got.push(l), 16);
  assert.ok(f.push(Buffer.from("ab")));
  assert.ok(f.push(Buffer.from("c\nde\n\nf")));
  assert.deepEqual(got, ["abc", "de", ""]);
  // a thousand lines of 10 bytes: far more than the limit in all, each within it
  for (let i = 0; i < 1000; i++) assert.ok(f.push(Buffer.from(`line ${String(i).padStart(4, "0")}\n`)));
  assert.equal(got.length, 1003);
  assert.equal(got[3], "fline 0000");
  const euro = Buffer.from("€\n"); // three bytes, then the newline
  f.push(euro.subarray(0, 1));
  f.push(euro.subarray(1));
  assert.equal(got.at(-1), "€");
  assert.equal(f.push(Buffer.from("x".repeat(17))), false, "a line past the limit without its newline");
});

test("line framer: a handler that switches to raw takes the rest of the chunk; switching later takes what was held", () => {
  const lines: string[] = [], raw: string[] = [];
  const f = new LineFramer((l) => { lines.push(l); if (l === "console") f.raw = (d) => raw.push(d.toString()); }, 100);
  f.push(Buffer.from("hello\nconsole\nbytes\nafter"));
  f.push(Buffer.from(" more"));
  assert.deepEqual(lines, ["hello", "console"]);
  assert.deepEqual(raw, ["bytes\nafter", " more"]);
  const g = new LineFramer((l) => lines.push(l), 100, "latin1");
  g.push(Buffer.from("AUTH x\nREC"));
  const held: string[] = [];
  g.raw = (d) => held.push(d.toString("latin1"));
  g.push(Buffer.from("ORDS"));
  assert.deepEqual(held, ["REC", "ORDS"]);
  g.raw = null;
  g.push(Buffer.from("GO\n"));
  assert.equal(lines.at(-1), "GO", "back to lines once raw is switched off");
});

test("the client's reply parser: anything but a well-formed reply is a clear error, never a TypeError", () => {
  for (const line of ["null", "[]", "5", "\"x\"", "{}", "{\"id\":\"1\",\"ok\":true}", "{\"id\":1}", "not json"]) {
    const r = parseReply(line);
    assert.equal(r.ok, false, line);
    assert.equal(r.id, 0, line);
    assert.match(r.ok ? "" : r.error, /malformed reply/, line);
  }
  assert.deepEqual(parseReply("{\"id\":3,\"ok\":true,\"result\":[1]}"), { id: 3, ok: true, result: [1] });
  assert.deepEqual(parseReply("{\"id\":4,\"ok\":false}"), { id: 4, ok: false, error: "the host sent an error without a message" });
});
