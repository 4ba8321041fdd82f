// `xents images`: fetch and build the guest images into the cache; with
// --driver-domain, a driver domain's file system (Debian's xl devd, hotplug
// scripts and the kernel's backends) for the same kernel.

import type { Command } from "./cli.js";
import { parseArgs, UsageError } from "./args.js";
import { fetchImages, describeImages } from "./images.js";
import { fetchDriverDomainImages } from "./dom0_image.js";

export const imagesCommand: Command = {
  summary: "fetch Debian's arm64 kernel and busybox and build the guest initramfs (cached); --driver-domain: a driver domain's initramfs",
  usage: "xents images [--driver-domain]",
  run(argv) {
    const o = parseArgs(argv, { "driver-domain": "bool" });
    if (o._.length) throw new UsageError(`unexpected argument '${o._[0]}'`);
    const log = (s: string): void => { process.stderr.write(s + "\n"); };
    process.stdout.write(describeImages(o["driver-domain"] === true ? fetchDriverDomainImages(log) : fetchImages(log)));
    return 0;
  },
};
