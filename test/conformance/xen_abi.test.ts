// Every struct layout of the hypercall ABI module against Xen 4.17's own
// headers (Debian libxen-dev), compiled for AArch64: sizes and field
// offsets, and every constant the modules export (hypercall and sub-op
// numbers, errno values, HVM params, xs_wire opcodes, ...) by its C name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_LAYOUTS } from "../../src/xen/public/layout.js";
import * as xen from "../../src/xen/public/xen.js";
import * as arch from "../../src/xen/public/arch_arm.js";
import * as evtchn from "../../src/xen/public/event_channel.js";
import * as gnttab from "../../src/xen/public/grant_table.js";
import * as domctl from "../../src/xen/public/domctl.js";
import * as blkif from "../../src/xen/public/io/blkif.js";
import * as netif from "../../src/xen/public/io/netif.js";
import * as xsWire from "../../src/xen/public/io/xs_wire.js";
import * as xenbus from "../../src/xen/public/io/xenbus.js";
import * as consoleIo from "../../src/xen/public/io/console.js";

// Fields named differently here than in C (nested members, union arms).
const C_NAMES: Record<string, Record<string, string | null>> = {
  gnttab_copy: {
    src_u: "source.u", src_domid: "source.domid", src_offset: "source.offset",
    dst_u: "dest.u", dst_domid: "dest.domid", dst_offset: "dest.offset",
  },
  evtchn_status: { u0: "u", u1: null },
  xen_add_to_physmap_batch: { u: "u.foreign_domid" },
  xen_domctl_assign_device: { dt_size: "u.dt.size", dt_path: "u.dt.path" },
  xen_domctl_bind_pt_irq: { spi: "u.spi.spi" },
  vcpu_guest_core_regs: {},
  blkif_request_segment: {},
};

// Every numeric constant the ABI modules export, by the name it has in C:
// tables (an object of numbers) map to a prefix, single constants keep
// their name. What has no C counterpart is listed below with the reason.
const TABLE_NAMES: Record<string, (f: string) => string> = {
  HYPERVISOR: (f) => `__HYPERVISOR_${f}`, XEN_E: (f) => `XEN_${f}`, DOMCTL: (f) => `XEN_DOMCTL_${f}`, SYSCTL: (f) => `XEN_SYSCTL_${f}`,
  BLKIF_OP: (f) => `BLKIF_OP_${f.toUpperCase()}`, BLKIF_RSP: (f) => `BLKIF_RSP_${f.toUpperCase()}`, VDISK: (f) => `VDISK_${f.toUpperCase()}`,
  NETIF_RSP: (f) => `NETIF_RSP_${f.toUpperCase()}`, XenbusState: (f) => `XenbusState${f}`,
  XSRING: (f) => `__builtin_offsetof(struct xenstore_domain_interface, ${f})`,
  XENCONS: (f) => f.endsWith("Size") ? `sizeof(((struct xencons_interface *)0)->${f.slice(0, -4)})` : `__builtin_offsetof(struct xencons_interface, ${f})`,
};
const NOT_IN_HEADERS: Record<string, string> = {
  XEN_VERSION_MAJOR: "the version xents reports, not an ABI value", XEN_VERSION_MINOR: "the version xents reports",
  RING_HDR: "io/ring.h declares rings with macros, not a struct", XSD_SOCKMSG_SIZE: "sizeof(struct xsd_sockmsg), checked with the layouts",
  GRANT_ENTRIES_V1_PER_FRAME: "derived: 4096 / sizeof(grant_entry_v1_t)", MAGIC_CONSOLE_PFN: "libxl's layout of the magic pages",
  MAGIC_XENSTORE_PFN: "libxl's layout", MAGIC_VUART_PFN: "libxl's layout", NR_MAGIC_PAGES: "libxl's layout",
  GUEST_GICV3_RDIST_STRIDE: "GICv3's redistributor stride, not Xen's", GUEST_PHANDLE_GIC: "libxl's device tree",
  MAGIC_MEMACCESS_PFN: "libxl's layout", DOMCTL_U: "where xents finds the union in struct xen_domctl (checked as a layout)",
  SYSCTL_U: "the union in struct xen_sysctl", EVTCHN_FIFO_EVENT_WORDS_PER_PAGE: "Xen-internal (event_fifo.h): 4096 / sizeof(event_word_t)",
  BLKIF_SECTOR: "blkif.h says 512-byte sectors in prose", "XEN_E.EINTR": "Xen-internal (__XEN__ only), never returned to a guest",
  "XEN_E.ERESTART": "Xen-internal (__XEN__ only)", "EVTCHNOP.reset_cont": "Xen-internal (__XEN__ only)",
};
// Sizes xents names that C gives as expressions.
const C_EXPRESSIONS: Record<string, string> = {
  BLKIF_RING_ENTRY: "sizeof(union blkif_sring_entry)", SEGS_PER_INDIRECT_FRAME: "(4096 / sizeof(struct blkif_request_segment))",
  NETIF_RX_ENTRY: "sizeof(union netif_rx_sring_entry)", NETIF_TX_ENTRY: "sizeof(union netif_tx_sring_entry)",
  XEN_NETBK_LEGACY_SLOTS_MAX: "XEN_NETIF_NR_SLOTS_MIN",
};
function constants(): [string, string, number | bigint][] {
  const out: [string, string, number | bigint][] = [];
  for (const mod of [xen, arch, evtchn, gnttab, domctl, blkif, netif, xsWire, xenbus, consoleIo]) {
    for (const [k, v] of Object.entries(mod)) {
      if (k in NOT_IN_HEADERS) continue;
      if (typeof v === "number" || typeof v === "bigint") out.push([k, C_EXPRESSIONS[k] ?? k, v]);
      else if (v && typeof v === "object" && !Array.isArray(v) && !("fields" in v) && Object.values(v).length && Object.values(v).every((x) => typeof x === "number" || typeof x === "bigint")) {
        const name = TABLE_NAMES[k] ?? ((f: string) => `${k}_${f}`);
        for (const [f, x] of Object.entries(v as Record<string, number | bigint>)) if (!(`${k}.${f}` in NOT_IN_HEADERS)) out.push([`${k}.${f}`, name(f), x]);
      }
    }
  }
  return out;
}

test("hypercall ABI layouts and constants match the Xen 4.17 headers", () => {
  const lines: string[] = [];
  const expected: [string, number | bigint][] = [];
  const consts = constants();
  consts.forEach(([, cName, v], i) => {
    lines.push(`long const_${i} = (long)(${cName});`);
    expected.push([`const_${i}`, BigInt.asIntN(64, BigInt(v))]);
  });
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
        "version.h", "features.h", "errno.h", "hvm/params.h", "hvm/hvm_op.h", "io/blkif.h", "io/netif.h", "io/xs_wire.h", "io/xenbus.h",
        "io/console.h"].map((h) => `#include <xen/${h}>`),
      ...lines,
    ].join("\n");
    writeFileSync(join(dir, "abi.c"), src + "\n");
    // __XEN_LATEST_INTERFACE_VERSION__ of Xen 4.17's headers (0x00040e00: unchanged since 4.14)
    const r = spawnSync("aarch64-linux-gnu-gcc", [
      "-D__XEN_TOOLS__", "-D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__", "-I/usr/include", "-O0", "-S", "-o", join(dir, "abi.s"), join(dir, "abi.c"),
    ], { encoding: "utf8" });
    const undeclared = [...(r.stderr ?? "").matchAll(/[‘'](\w+)[’'] undeclared/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(undeclared)], [], "every constant has its name in Xen's headers (or a reason in NOT_IN_HEADERS)");
    assert.equal(r.status, 0, r.stderr);
    const asm = readFileSync(join(dir, "abi.s"), "utf8");
    const values = new Map<string, bigint>();
    for (const m of asm.matchAll(/^(\w+):\n\s+\.(xword|zero)\s+(-?\d+)/gm)) values.set(m[1], m[2] === "zero" ? 0n : BigInt.asIntN(64, BigInt(m[3])));
    const wrong = expected.filter(([k, v]) => values.get(k) !== BigInt(v)).map(([k, v]) => {
      const i = k.startsWith("const_") ? Number(k.slice(6)) : -1;
      return `${i >= 0 ? `${consts[i][0]} (${consts[i][1]})` : k}: xents ${v}, headers ${values.get(k)}`;
    });
    assert.deepEqual(wrong, []);
    assert.ok(consts.length > 350, `checked ${consts.length} constants`);
    assert.ok(expected.length > 500, `checked ${expected.length} values`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
