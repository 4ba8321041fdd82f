// The tests' xl.cfg writer (test/helpers/guest_files.ts) writes what the
// toolstack's own parser reads back as the same values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseXlCfg } from "../../src/tools/xl_cfg.js";
import { xlCfgText } from "../helpers/guest_files.js";

test("xlCfgText: strings, numbers and lists come back from parseXlCfg as written, in order", () => {
  const fields = { name: "g", memory: 160, vcpus: 2, kernel: "/k/vmlinuz", extra: "console=hvc0 quiet", disk: ["format=raw, vdev=xvda, target=/a b.img"], vif: [] as string[] };
  const back = parseXlCfg(xlCfgText(fields)).map((e) => [e.key, e.value]);
  assert.deepEqual(back, Object.entries(fields));
});
