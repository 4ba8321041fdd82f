// One xents host: the machine, the hypervisor, and the control domain
// (domain 0) with its tools. This is the only module that sees every layer:
// it hands dom0 the hypercall instruction, its stage-2 view of its own
// memory, and its event upcall — and nothing else.

import { Hypervisor, HypervisorOptions } from "../xen/hypervisor.js";
import type { Domain } from "../xen/domain.js";
import type { Privcmd } from "../tools/xc/privcmd.js";
import { GUEST_RAM0_BASE } from "../xen/public/arch_arm.js";
import { RunLoop } from "./run_loop.js";

export const DOM0_RAM_BYTES = 32 << 20;
export const DOM0_WINDOW_BASE = 0x10_0000_0000n; // 64 GiB: foreign and grant mappings
export const DOM0_WINDOW_PAGES = 1 << 24; // 64 GiB of window

export interface HostOptions extends HypervisorOptions {}

export class Host {
  readonly hv: Hypervisor;
  readonly dom0: Domain;
  readonly privcmd: Privcmd;
  private upcall: (() => void) | null = null;
  private readonly loop: RunLoop;

  constructor(opts: HostOptions) {
    this.hv = new Hypervisor(opts);
    this.dom0 = this.hv.createDomain({
      id: 0, privileged: true, cpuless: true, maxVcpus: 1, maxEvtchnPort: 4095, maxGrantFrames: 64, nrSpis: 32,
      handle: new Uint8Array(16),
    });
    const d = this.dom0;
    d.createVcpus(1); // the hypercall context; it never runs on the core (SCTLR_EL1.M = 0: VA = IPA)
    d.maxPages = BigInt(DOM0_RAM_BYTES / 4096 + 64);
    const first = Number(GUEST_RAM0_BASE >> 12n);
    if (!d.populateRange(first, DOM0_RAM_BYTES / 4096)) throw new Error("no memory for dom0");
    d.pauseCount = 0;
    this.hv.upcallHandler = (dom) => { if (dom === this.dom0) this.upcall?.(); };
    this.loop = new RunLoop(this.hv);
    const hv = this.hv;
    this.privcmd = {
      domid: 0,
      hypercall: (nr, args) => hv.privcmd(d, nr, args),
      memory: {
        page: (ipa, write = true) => {
          const h = d.p2m.hostAddr(ipa & ~0xFFFn, write);
          if (h < 0) return null;
          if (write) hv.core.noteWrite(h, 4096); // the tools may write it: translated code there goes
          return hv.core.bytes.subarray(h, h + 4096);
        },
        span: (ipa, len, write) => {
          const off = Number(ipa & 0xFFFn), gfn = Number(ipa >> 12n);
          const pages = d.p2m.contiguous(gfn, Math.max(1, Math.ceil((off + len) / 4096)), write);
          if (pages === 0) return null;
          const h = d.p2m.hostAddr(ipa, false), n = Math.min(len, pages * 4096 - off);
          if (write) hv.core.noteWrite(h, n);
          return hv.core.bytes.subarray(h, h + n);
        },
      },
      setUpcallHandler: (h) => { this.upcall = h; },
      ramBase: GUEST_RAM0_BASE,
      ramBytes: DOM0_RAM_BYTES,
      windowBase: DOM0_WINDOW_BASE,
      windowPages: DOM0_WINDOW_PAGES,
    };
  }

  // Drive the hypervisor until `done()` is true (run_loop.ts).
  run(done: () => boolean, burstMs = 20): Promise<void> { return this.loop.run(done, burstMs); }
}
