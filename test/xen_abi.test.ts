// Every struct layout of the hypercall ABI module against Xen 4.17's own
// headers (Debian libxen-dev), compiled for AArch64: sizes and field offsets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_LAYOUTS } from "../src/xen/public/layout.js";
import "../src/xen/public/xen.js";
import "../src/xen/public/arch_arm.js";
import "../src/xen/public/event_channel.js";
import "../src/xen/public/grant_table.js";
import "../src/xen/public/domctl.js";
import "../src/xen/public/io/blkif.js";
import { NETTXF, NETRXF, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE, XEN_NETIF_GSO_TYPE, XEN_NETIF_MAX_TX_SIZE } from "../src/xen/public/io/netif.js";

// Fields named differently here than in C (nested members, union arms).
const C_NAMES: Record<string, Record<string, string | null>> = {
  gnttab_copy: {
    src_u: "source.u", src_domid: "source.domid", src_offset: "source.offset",
    dst_u: "dest.u", dst_domid: "dest.domid", dst_offset: "dest.offset",
  },
  evtchn_status: { u0: "u", u1: null },
  xen_add_to_physmap_batch: { u: "u.foreign_domid" },
  vcpu_guest_core_regs: {},
  blkif_request_segment: {},
};

// Constants the backends speak by (non-negative ones: the values are read back as unsigned).
const CONSTANTS: [string, number][] = [
  ...Object.entries(NETTXF).map(([k, v]): [string, number] => [`NETTXF_${k}`, v]),
  ...Object.entries(NETRXF).map(([k, v]): [string, number] => [`NETRXF_${k}`, v]),
  ...Object.entries(XEN_NETIF_EXTRA_TYPE).map(([k, v]): [string, number] => [`XEN_NETIF_EXTRA_TYPE_${k}`, v]),
  ...Object.entries(XEN_NETIF_GSO_TYPE).map(([k, v]): [string, number] => [`XEN_NETIF_GSO_TYPE_${k}`, v]),
  ["XEN_NETIF_EXTRA_FLAG_MORE", XEN_NETIF_EXTRA_FLAG_MORE], ["XEN_NETIF_MAX_TX_SIZE", XEN_NETIF_MAX_TX_SIZE],
];

test("hypercall ABI layouts and constants match the Xen 4.17 headers", () => {
  const lines: string[] = [];
  const expected: [string, number][] = [];
  for (const [name, v] of CONSTANTS) {
    lines.push(`unsigned long const_${name} = ${name};`);
    expected.push([`const_${name}`, v]);
  }
  for (const l of ALL_LAYOUTS) {
    lines.push(`unsigned long sz_${l.name} = sizeof(struct ${l.name});`);
    expected.push([`sz_${l.name}`, l.size]);
    for (const [f, def] of Object.entries(l.fields)) {
      const c = C_NAMES[l.name]?.[f];
      if (c === null) continue;
      const member = c ?? f;
      const id = `off_${l.name}__${f}`;
      lines.push(`unsigned long ${id} = __builtin_offsetof(struct ${l.name}, ${member});`);
      expected.push([id, def.offset]);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "xents-abi-"));
  try {
    const src = [
      "#include <stdint.h>",
      ...["xen.h", "domctl.h", "sysctl.h", "memory.h", "event_channel.h", "grant_table.h", "vcpu.h", "sched.h",
        "version.h", "features.h", "hvm/params.h", "hvm/hvm_op.h", "io/blkif.h", "io/netif.h"].map((h) => `#include <xen/${h}>`),
      ...lines,
    ].join("\n");
    writeFileSync(join(dir, "abi.c"), src + "\n");
    execFileSync("aarch64-linux-gnu-gcc", [
      "-D__XEN_TOOLS__", "-D__XEN_INTERFACE_VERSION__=0x00040e00", "-I/usr/include", "-O0", "-S", "-o", join(dir, "abi.s"), join(dir, "abi.c"),
    ]);
    const asm = readFileSync(join(dir, "abi.s"), "utf8");
    const values = new Map<string, number>();
    for (const m of asm.matchAll(/^(\w+):\n\s+\.(xword|zero)\s+(\d+)/gm)) values.set(m[1], m[2] === "zero" ? 0 : Number(m[3]));
    const wrong = expected.filter(([k, v]) => values.get(k) !== v).map(([k, v]) => `${k}: xents ${v}, headers ${values.get(k)}`);
    assert.deepEqual(wrong, []);
    assert.ok(expected.length > 150, `checked ${expected.length} values`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
