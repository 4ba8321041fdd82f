// Writing a domain into a save stream (save_stream.ts): the records that
// describe it and its memory, shared by `xents save` and live migration.

import type { Guest } from "./guest.js";
import type { ForeignWindow } from "./xc/xc.js";
import type { SavedDomain } from "./domain_restore.js";
import { REC, StreamWriter, encodePages } from "./save_stream.js";
import { imageBytes } from "./boot_image.js";

// The DOMAIN record of a running guest.
export function savedDomain(g: Guest, maxPages: string): SavedDomain {
  const { kernel: _k, ramdisk: _r, ...config } = g.config;
  const b = g.built;
  return {
    name: g.name, uuid: g.uuid, config, maxPages,
    built: { domid: g.domid, storePort: b.storePort, consolePort: b.consolePort, storeGfn: b.storeGfn.toString(), consoleGfn: b.consoleGfn.toString(), memoryKiB: b.memoryKiB },
  };
}

// The records that come before memory: DOMAIN, KERNEL, RAMDISK (the
// images the domain is built from again when it reboots; a file's bytes as
// they are now, as xl would read its path again).
export function writePreamble(w: StreamWriter, g: Guest, maxPages: string): void {
  const kernel = imageBytes(g.config.kernel), ramdisk = g.config.ramdisk ? imageBytes(g.config.ramdisk) : null;
  w.json(REC.DOMAIN, savedDomain(g, maxPages));
  w.record(REC.KERNEL, kernel);
  if (ramdisk) w.record(REC.RAMDISK, ramdisk);
}

// One PAGES record of a domain's frames (at most the window's size), read
// through the window.
export function writePages(win: ForeignWindow, w: StreamWriter, domid: number, gfns: bigint[]): void {
  win.map(domid, gfns);
  w.record(REC.PAGES, encodePages(gfns, (k) => win.page(k, false)));
}

