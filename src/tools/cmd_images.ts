// `xents images`: fetch and build the guest images into the cache.

import type { Command } from "./cli.js";
import { fetchImages, describeImages } from "./images.js";

export const imagesCommand: Command = {
  summary: "fetch Debian's arm64 kernel and busybox and build the guest initramfs (cached)",
  usage: "xents images",
  run() {
    const g = fetchImages((s) => process.stderr.write(s + "\n"));
    process.stdout.write(describeImages(g));
    return 0;
  },
};
