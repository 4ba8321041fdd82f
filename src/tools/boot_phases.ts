// Where a Linux boot spends its time, by the kernel's own clock: the printk
// timestamps of the lines it prints at three milestones. Both guests of
// `bench boot` print them (xents' on hvc0, QEMU's on its PL011), and their
// clocks run on wall time from early in the kernel's start (the timer's
// registration), so the same phase can be set side by side on the two,
// which the whole boot's wall time, with each host's start in it, cannot.

export interface KernelPhases {
  to_initramfs_s: number; // from the kernel's clock starting to unpacking the initramfs
  initramfs_s: number; // unpacking it (the kernel's inflate and the files it creates)
  rest_of_init_s: number; // from there to running /init (the drivers and subsystems initialised after)
}

const UNPACK = "Trying to unpack rootfs image as initramfs";
const INITRD_FREED = "Freeing initrd memory";
const RUN_INIT = "Run /init as init process";

// The timestamp of the first line holding `mark`, "[ seconds.micros] ...",
// or null if there is none (a quiet kernel, a boot cut short).
function stamp(text: string, mark: string): number | null {
  const at = text.indexOf(mark);
  if (at < 0) return null;
  const line = text.slice(text.lastIndexOf("\n", at) + 1, at);
  const m = /\[\s*(\d+\.\d+)\]\s*$/.exec(line);
  return m ? Number(m[1]) : null;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

// The phases of the boot whose console output is `text`, or null if a
// milestone is missing or they are out of order.
export function kernelPhases(text: string): KernelPhases | null {
  const unpack = stamp(text, UNPACK), freed = stamp(text, INITRD_FREED), init = stamp(text, RUN_INIT);
  if (unpack === null || freed === null || init === null || !(unpack <= freed && freed <= init)) return null;
  return { to_initramfs_s: r3(unpack), initramfs_s: r3(freed - unpack), rest_of_init_s: r3(init - freed) };
}
