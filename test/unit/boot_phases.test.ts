// The kernel's phases read from a boot's console (src/tools/boot_phases.ts):
// `bench boot` sets them side by side for xents and QEMU.
import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelPhases } from "../../src/tools/boot_phases.js";

// Lines as QEMU's PL011 shows them (CRLF), with lines between.
const QEMU = [
  "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]",
  "[    0.487000] NET: Registered PF_UNIX/PF_LOCAL protocol family",
  "[    0.488086] Trying to unpack rootfs image as initramfs...",
  "[    0.600400] Freeing initrd memory: 1584K",
  "[    1.325292] Freeing unused kernel memory: 6464K",
  "[    1.333060] Run /init as init process",
  "xents: busybox shell",
].join("\r\n");

test("the phases of a boot's console: to the initramfs, unpacking it, the rest of init, by the kernel's clock", () => {
  assert.deepEqual(kernelPhases(QEMU), { to_initramfs_s: 0.488, initramfs_s: 0.112, rest_of_init_s: 0.733 });
  // hvc0's lines end in LF alone, and a timestamp may take more digits
  const hvc = "[   12.429854] Trying to unpack rootfs image as initramfs...\n[   12.720855] Freeing initrd memory: 1584K\n[   13.475787] Run /init as init process\n";
  assert.deepEqual(kernelPhases(hvc), { to_initramfs_s: 12.43, initramfs_s: 0.291, rest_of_init_s: 0.755 });
});

test("a console without the milestones, with a line that is not the kernel's, or out of order has no phases", () => {
  assert.equal(kernelPhases(""), null);
  assert.equal(kernelPhases(QEMU.replace("Freeing initrd memory", "Freeing initrd")), null, "a milestone missing");
  assert.equal(kernelPhases(QEMU.replace("[    0.600400] Freeing", "Freeing")), null, "a milestone without its timestamp");
  assert.equal(kernelPhases(QEMU.replace("[    0.600400]", "[    0.40x400]")), null, "a malformed timestamp");
  assert.equal(kernelPhases(QEMU.replace("[    0.600400]", "[    2.600400]")), null, "out of order");
  // (user space echoing a milestone after the kernel's: the kernel's line counts)
  assert.deepEqual(kernelPhases(`${QEMU}\r\n# echo Run /init as init process\r\n`), kernelPhases(QEMU));
});
