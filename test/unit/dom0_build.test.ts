// The hypervisor's Domain-0 builder (dom0_build.ts, Xen's construct_dom0):
// what a Linux kernel finds at its entry, the limits Xen gives dom0, and a
// failed build leaving nothing behind. Booting Debian's kernel with it is
// test/system/linux_dom0.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hypervisor } from "../../src/xen/hypervisor.js";
import { constructDom0, Dom0BuildError, DOM0_GRANT_FRAMES } from "../../src/xen/dom0_build.js";
import { GuestAccess } from "../../src/xen/guest_access.js";
import { HYPERVISOR, HVM_PARAM, CONSOLEIO_write } from "../../src/xen/public/xen.js";
import { GUEST_RAM0_BASE, PSR_GUEST64_INIT, GUEST_EVTCHN_PPI } from "../../src/xen/public/arch_arm.js";

// An arm64 Image header (Documentation/arm64/booting.rst) and a little body.
function fakeImage(textOffset: number, bytes: number): Uint8Array {
  const k = new Uint8Array(bytes);
  const dv = new DataView(k.buffer);
  dv.setBigUint64(8, BigInt(textOffset), true);
  dv.setBigUint64(16, BigInt(bytes), true);
  dv.setUint32(56, 0x644d5241, true);
  for (let i = 64; i < bytes; i++) k[i] = i & 0xFF;
  return k;
}

test("Domain-0 is built as Linux's boot protocol and Xen want it: kernel at text_offset, x0 at a device tree naming the initrd, EL1h masked, upcall PPI, running", () => {
  const hv = new Hypervisor({ ramBytes: 256 << 20, deterministic: true, log: () => {} });
  const kernel = fakeImage(0x200000, 3 << 20), initrd = new Uint8Array(100_000).fill(0x5A);
  const d = constructDom0(hv, { kernel, initrd, cmdline: "console=hvc0 root=/dev/ram0", memMiB: 160, vcpus: 2 });
  assert.equal(d.id, 0);
  assert.ok(d.privileged);
  assert.equal(d.totPages(), 160 * 256);
  assert.equal(d.maxPages, BigInt(160 * 256));
  assert.equal(d.vcpus.length, 2);
  assert.deepEqual(d.vcpus.map((v) => v.online), [true, false], "secondary vCPUs wait for PSCI CPU_ON");
  assert.ok(!d.paused());
  assert.equal(d.gnttab.maxFrames, DOM0_GRANT_FRAMES);
  assert.equal(d.evtchn.maxPort, (1 << 17) - 1, "max_evtchn_port -1: all FIFO can name");
  assert.equal(d.hvmParams[HVM_PARAM.CALLBACK_IRQ], (2n << 56n) | (2n << 8n) | BigInt(GUEST_EVTCHN_PPI));
  const st = d.vcpus[0].state;
  assert.equal(st.pc, GUEST_RAM0_BASE + 0x200000n);
  assert.equal(st.pstate, PSR_GUEST64_INIT);
  const g = new GuestAccess(d, d.vcpus[0]);
  assert.deepEqual(g.read(st.pc, kernel.length), kernel, "the kernel is where its header asked");
  const dtb = g.read(st.x(0), 64)!;
  assert.equal(new DataView(dtb.buffer).getUint32(0, false), 0xd00dfeed, "x0 points at a device tree");
  const tree = Buffer.from(g.read(st.x(0), new DataView(dtb.buffer).getUint32(4, false))!);
  for (const s of ["console=hvc0 root=/dev/ram0", "xen,xen-4.17", "arm,gic-v3", "arm,psci-1.0", "linux,initrd-start", "cpu@1"]) {
    assert.ok(tree.includes(s), `the device tree has ${s}`);
  }
  assert.deepEqual(g.read(st.x(0) + (2n << 20n), initrd.length), initrd, "the initrd follows the device tree's 2 MiB");
  // Domain-0's console_io goes out raw, prompt and all, not line-buffered into the ring
  const out: string[] = [];
  hv.events.onSerialOutput = (b) => out.push(Buffer.from(b).toString());
  const buf = GUEST_RAM0_BASE + (100n << 20n);
  assert.ok(g.write(buf, new Uint8Array(Buffer.from("/ # "))));
  assert.equal(hv.privcmd(d, HYPERVISOR.console_io, [BigInt(CONSOLEIO_write), 4n, buf, 0n, 0n]), 0n);
  assert.deepEqual(out, ["/ # "]);
  assert.ok(!hv.conring.text().includes("/ # "));
});

test("a Domain-0 that cannot be built is refused with the reason and leaves no domain and no frame behind", () => {
  const hv = new Hypervisor({ ramBytes: 128 << 20, deterministic: true, log: () => {} });
  const free = hv.frames.freeCount;
  const cases: [Parameters<typeof constructDom0>[1], RegExp][] = [
    [{ kernel: new Uint8Array(4096), cmdline: "", memMiB: 64, vcpus: 1 }, /not an arm64 Image/],
    [{ kernel: new Uint8Array([0x1f, 0x8b, ...new Array(100).fill(0)]), cmdline: "", memMiB: 64, vcpus: 1 }, /gzip/],
    [{ kernel: fakeImage(0x200000, 1 << 20), cmdline: "", memMiB: 200, vcpus: 1 }, /does not fit/],
    [{ kernel: fakeImage(0x200000, 1 << 20), initrd: new Uint8Array(70 << 20), cmdline: "", memMiB: 64, vcpus: 1 }, /do not fit/],
    [{ kernel: fakeImage(0x200000, 1 << 20), cmdline: "", memMiB: 64, vcpus: 0 }, /dom0_max_vcpus/],
    [{ kernel: fakeImage(0x200000, 1 << 20), cmdline: "", memMiB: 8, vcpus: 1 }, /at least 32 MiB/],
  ];
  for (const [cfg, re] of cases) {
    assert.throws(() => constructDom0(hv, cfg), (e: unknown) => e instanceof Dom0BuildError && re.test(e.message), String(re));
    assert.equal(hv.domains.size, 0);
    assert.equal(hv.frames.freeCount, free);
  }
});
