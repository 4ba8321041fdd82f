// `xents bench dma`: what the SMMU costs a device's DMA. The same pages of a
// driver domain are looked up the way a device reaches them, in the same
// run: through the device's SMMU stream with its translations cached (the
// steady state of a device streaming into the same buffers), through the
// stream with the cache invalidated before each page (every lookup a
// stage-2 table walk in machine memory), and directly in the hypervisor's
// p2m map (what a device reached before there was an SMMU: the reference).
// A device-level figure beside them: a passed-through virtio disk reading
// `mib` MiB into the driver domain in 64 KiB requests, against the host
// reading the same bytes of the same image file.

import { mkdtempSync, rmSync, truncateSync, writeFileSync, openSync, readSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "./host.js";
import { Dom0 } from "../tools/dom0.js";
import { VirtioBlk } from "../hw/virtio_blk.js";
import { STATUS, VIRTIO_F_VERSION_1 } from "../hw/virtio_mmio.js";
import { RawImage } from "../tools/backends/raw_image.js";
import { passDevice } from "../tools/xc/passthrough.js";
import { GUEST_RAM0_BASE } from "../xen/public/arch_arm.js";
import { PlayedGuest } from "./fuzz/played_guest.js";
import type { MmioRegion } from "../xen/mmio.js";

export interface DmaBenchResult {
  benchmark: "dma";
  pages: number; // pages looked up per way, per round
  smmu_cached_ns_per_page: number;
  smmu_walk_ns_per_page: number;
  reference_p2m_ns_per_page: number; // no SMMU: the hypervisor's own lookup
  smmu_cached_vs_reference: number;
  disk_read_mib: number;
  disk_read_mib_s: number; // the passed-through disk, through the SMMU
  reference_host_read_mib_s: number; // the host reading the same image bytes
}

const DRIVER_PAGES = 4096; // 16 MiB
const PT_GFN = 0xa000n;

export function benchDma(o: { mib: number; rounds?: number }): DmaBenchResult {
  const dir = mkdtempSync(join(tmpdir(), "xents-bench-dma-"));
  const imgPath = join(dir, "disk.img");
  writeFileSync(imgPath, new Uint8Array(0));
  truncateSync(imgPath, o.mib << 20);
  const img = new RawImage(imgPath, false);
  try {
    const host = new Host({ ramBytes: 64 << 20, deterministic: true, log: () => {} });
    const hv = host.hv;
    const xc = new Dom0(host.privcmd).xc;
    const dev = new VirtioBlk("pt-vda", img, "bench");
    const m = hv.devices.add(dev);
    const drv = PlayedGuest.create(hv, { id: 1, pages: DRIVER_PAGES, maxPages: DRIVER_PAGES, poolPages: 16 });
    const d = drv.d;
    passDevice(xc, d.id, m, PT_GFN);

    // ---- per page
    const rounds = o.rounds ?? 20;
    const base = Number(GUEST_RAM0_BASE);
    const time = (f: (addr: number) => unknown, before?: () => void): number => {
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        let ns = 0;
        for (let k = 0; k < rounds; k++) {
          const t0 = process.hrtime.bigint();
          for (let p = 0; p < DRIVER_PAGES; p++) {
            before?.();
            if (!f(base + p * 4096)) throw new Error(`page ${p} did not translate`);
          }
          ns += Number(process.hrtime.bigint() - t0);
        }
        best = Math.min(best, ns / (rounds * DRIVER_PAGES));
      }
      return best;
    };
    const stream = dev.dma;
    const cached = time((a) => stream.page(a, true));
    const walk = time((a) => stream.page(a, true), () => hv.iommu.flush(d));
    const flushOnly = time(() => true, () => hv.iommu.flush(d));
    const reference = time((a) => { const h = d.p2m.hostAddr(BigInt(a), true); return h >= 0 ? hv.core.bytes.subarray(h, h + 4096) : null; });

    // ---- the disk, 64 KiB requests into the driver's buffers
    const regs = d.mmio.find(PT_GFN << 12n) as MmioRegion;
    const reg = (off: number, v?: number): number => {
      if (v === undefined) return Number(regs.read(0, off, 4));
      regs.write(0, off, 4, BigInt(v));
      return 0;
    };
    const ring = GUEST_RAM0_BASE, buf = GUEST_RAM0_BASE + 0x100000n;
    const mem = (ipa: bigint): DataView => { const p = drv.page(Number(ipa >> 12n))!; return new DataView(p.buffer, p.byteOffset + Number(ipa & 0xFFFn)); };
    reg(0x70, 0); reg(0x70, 3); reg(0x24, 1); reg(0x20, Number(VIRTIO_F_VERSION_1 >> 32n)); reg(0x70, 3 | STATUS.FEATURES_OK);
    reg(0x30, 0); reg(0x38, 8);
    reg(0x80, Number(ring & 0xFFFFFFFFn)); reg(0x90, Number((ring + 0x1000n) & 0xFFFFFFFFn)); reg(0xa0, Number((ring + 0x2000n) & 0xFFFFFFFFn));
    reg(0x44, 1); reg(0x70, 3 | STATUS.FEATURES_OK | STATUS.DRIVER_OK);
    const REQ = 64 << 10, reqs = (o.mib << 20) / REQ;
    const hdr = ring + 0x3000n, status = hdr + 32n;
    let idx = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reqs; i++) {
      mem(hdr).setUint32(0, 0, true); mem(hdr).setBigUint64(8, BigInt(i * (REQ / 512)), true);
      const chain: [bigint, number, number][] = [[hdr, 16, 0], [buf, REQ, 2], [status, 1, 2]];
      chain.forEach(([addr, len, flags], k) => {
        const dv = mem(ring + BigInt(16 * k));
        dv.setBigUint64(0, addr, true); dv.setUint32(8, len, true); dv.setUint16(12, flags | (k < 2 ? 1 : 0), true); dv.setUint16(14, k + 1, true);
      });
      mem(ring + 0x1000n + 4n + BigInt(2 * (idx % 8))).setUint16(0, 0, true);
      idx++;
      mem(ring + 0x1000n).setUint16(2, idx, true);
      reg(0x50, 0);
      if (mem(status).getUint8(0) !== 0) throw new Error(`request ${i} failed`);
    }
    const diskS = Number(process.hrtime.bigint() - t0) / 1e9;
    // the reference: the same bytes of the same file, read by the host in the same request size
    const fd = openSync(imgPath, "r");
    const hb = Buffer.alloc(REQ);
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < reqs; i++) readSync(fd, hb, 0, REQ, i * REQ);
    const hostS = Number(process.hrtime.bigint() - t1) / 1e9;
    closeSync(fd);
    if (hv.devices.faults("pt-vda")?.total) throw new Error("the benchmark's DMA faulted");
    xc.destroyDomain(d.id);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      benchmark: "dma",
      pages: DRIVER_PAGES,
      smmu_cached_ns_per_page: r2(cached),
      smmu_walk_ns_per_page: r2(Math.max(0, walk - flushOnly)),
      reference_p2m_ns_per_page: r2(reference),
      smmu_cached_vs_reference: r2(cached / reference),
      disk_read_mib: o.mib,
      disk_read_mib_s: r2(o.mib / diskS),
      reference_host_read_mib_s: r2(o.mib / hostS),
    };
  } finally {
    img.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
