// The writes a protected domain's disks took during one Remus epoch, as
// DISK payloads (protocol.ts) copied at the moment of the write: they go to
// the backup with the epoch's checkpoint and are applied there only when
// the whole checkpoint has arrived.

import type { WriteTap } from "../backends/blkback.js";
import { DISK_CHUNK, DISK_DISCARD, DISK_WRITE, encodeDisk } from "./protocol.js";

export class DiskLog implements WriteTap {
  private entries: Uint8Array[] = [];
  bytes = 0; // of the entries held now
  writes = 0; // in all epochs

  constructor(private readonly devids: ReadonlySet<number>) {}

  write(devid: number, offset: number, data: Uint8Array): void {
    if (!this.devids.has(devid)) return; // a disk on shared storage (or attached later): not replicated
    for (let at = 0; at < data.length; at += DISK_CHUNK) {
      const n = Math.min(DISK_CHUNK, data.length - at);
      this.push(encodeDisk(devid, DISK_WRITE, offset + at, n, data.subarray(at, at + n)));
    }
    this.writes++;
  }
  discard(devid: number, offset: number, length: number): void {
    if (this.devids.has(devid)) this.push(encodeDisk(devid, DISK_DISCARD, offset, length));
  }
  private push(e: Uint8Array): void { this.entries.push(e); this.bytes += e.length; }

  // The epoch's entries, in the order the writes were made; the log starts over.
  take(): Uint8Array[] {
    const out = this.entries;
    this.entries = [];
    this.bytes = 0;
    return out;
  }
}
