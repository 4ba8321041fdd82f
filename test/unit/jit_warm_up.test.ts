// The background translator's warm-up pages (warm_up.ts): every form a
// Linux boot runs is on each page, the translator's walk reaches all of
// it, in both layouts, and the operands change from one round to the next
// (the point is V8's feedback for the translator: a path the warm-up never
// takes costs a deoptimisation and a second optimising compile later).

import { test } from "node:test";
import assert from "node:assert/strict";
import { warmUpPage, WARM_UP_FORMS, WARM_UP_ROUNDS } from "../../src/cpu/jit/warm_up.js";
import { translatePage } from "../../src/cpu/jit/translate_page.js";

const formOf = (w: number): number => ((w >>> 21) << 2) | ((w >>> 10) & 3);

test("warm-up pages hold every instruction form, all of it reached by the translator's walk, in both layouts, new operands each round", () => {
  assert.ok(WARM_UP_FORMS.length > 500, `${WARM_UP_FORMS.length} forms`);
  assert.equal(new Set(WARM_UP_FORMS).size, WARM_UP_FORMS.length, "each form once");
  const layouts = new Set<boolean>();
  let withRan = 0;
  const firstWords: number[][] = [];
  for (let r = 0; r < WARM_UP_ROUNDS; r++) {
    const p = warmUpPage(r);
    const used = p.words.findIndex((w, i) => w === 0x14000000 && i > 0) + 1; // up to and with the final B to itself
    assert.ok(used > WARM_UP_FORMS.length, `round ${r}: ${used} words`);
    const forms = new Set(Array.from(p.words.subarray(0, used), formOf));
    for (const f of WARM_UP_FORMS) assert.ok(forms.has(f), `round ${r}: form ${f.toString(16)} is on the page`);
    // the translator's walk goes on past everything but B: an entry follows each B
    const entry = new Set(p.entries.map((e) => e >> 2));
    for (let i = 0; i < used; i++) {
      const after = i > 0 && (p.words[i - 1] & 0xFC000000) === 0x14000000;
      assert.ok(entry.has(i) || !after, `round ${r}: word ${i}, after a B, is an entry`);
    }
    const t = translatePage(p.words, p.entries, p.slowExits, p.ran);
    assert.ok(WebAssembly.validate(t.bytes), `round ${r}: a valid module`);
    assert.ok(t.translated + t.called >= (p.ran ? used / 2 : used), `round ${r}: ${t.translated} instructions translated and ${t.called} called`);
    if (p.ran) withRan++;
    layouts.add(p.slowExits);
    firstWords.push(Array.from(p.words.subarray(0, 8)));
  }
  assert.deepEqual([...layouts].sort(), [false, true], "baseline and optimised layouts");
  assert.ok(withRan > 0, "some rounds translate along what has run");
  assert.notDeepEqual(firstWords[0], firstWords[1], "the operands (and order) change from round to round");
  assert.deepEqual(Array.from(warmUpPage(3).words), Array.from(warmUpPage(3).words), "a round's page is the same every time");
});
