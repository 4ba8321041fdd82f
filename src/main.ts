// The xents process: the command table, with the commands that need a
// whole host (hypervisor and control domain) given a way to boot one. Every
// command loads this table: a fuzz target's or a benchmark's module is
// loaded when it runs.

import { runCli, Command } from "./tools/cli.js";
import { runUserCommand } from "./tools/cmd_run_user.js";
import { benchCommand } from "./tools/cmd_bench.js";
import { imagesCommand } from "./tools/cmd_images.js";
import { demoCommand, HostFactory } from "./tools/cmd_demo.js";
import { makeHostFactory } from "./host/host_factory.js";
import { hostCommand } from "./tools/cmd_host.js";
import { xlCommands } from "./tools/cmd_xl.js";
import { join } from "node:path";
import { packageRoot } from "./tools/package_root.js";
import { fuzzCommand } from "./tools/cmd_fuzz.js";
import { parseSeed } from "./host/fuzz/rng.js";

export const hostFactory: HostFactory = makeHostFactory();

const entry = join(packageRoot, "bin/xents.js");

export const commands: Record<string, Command> = {
  demo: demoCommand(hostFactory),
  host: hostCommand(hostFactory, entry),
  ...xlCommands(),
  images: imagesCommand,
  "run-user": runUserCommand,
  bench: benchCommand(hostFactory, {
    dma: { options: { mib: "int" }, run: async (a) => (await import("./host/bench_dma.js")).benchDma({ mib: (a.mib as number | undefined) ?? 64 }) },
  }),
  fuzz: fuzzCommand({
    memory: {
      summary: "sequences of memory, grant, event-channel and vCPU-page calls across four domains, audited after every call",
      run: async (o) => (await import("./host/fuzz/memory_fuzzer.js")).fuzzMemory({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
    xenstore: {
      summary: "random and mutated xs_wire messages over a guest's ring and xenstored's socket, beside a victim's canary nodes",
      run: async (o) => (await import("./host/fuzz/xenstore_fuzzer.js")).fuzzXenstore({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
    control: {
      summary: "random and mutated requests on a host daemon's control socket, beside a guest it never names",
      defaultIterations: 200, // each may build or save a guest
      run: async (o) => (await import("./host/fuzz/control_fuzzer.js")).fuzzControl({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
    streams: {
      summary: "damaged copies of a real save stream (cut, bit-flipped, records dropped, doubled, swapped, JSON fields replaced) restored; nothing may be left behind",
      defaultIterations: 100, // each restores a 16 MiB guest
      run: async (o) => (await import("./host/fuzz/stream_fuzzer.js")).fuzzStreams({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
    qcow2: {
      summary: "damaged copies of a real qcow2 image (header, L1/L2, refcounts, extensions, backing files, truncation) opened, read, written and discarded",
      run: async (o) => (await import("./host/fuzz/qcow2_fuzzer.js")).fuzzQcow2({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
    dma: {
      summary: "a virtio disk passed through to a driver domain, driven with hostile descriptors, rings and registers (other guests' and the hypervisor's memory, pages given back) between checked requests",
      run: async (o) => (await import("./host/fuzz/dma_fuzzer.js")).fuzzDma({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
    rings: {
      summary: "a hostile blkfront and netfront played against blkback and netback (requests, indexes, grants, handshakes), answers checked, beside a victim doing checked I/O",
      run: async (o) => (await import("./host/fuzz/ring_fuzzer.js")).fuzzRings({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
    hypercalls: {
      summary: "random and mutated calls of every hypercall and sub-op from a two-vCPU guest beside a victim, audited after every call",
      run: async (o) => (await import("./host/fuzz/hypercall_fuzzer.js")).fuzzHypercalls({ iterations: o.iterations, seed: o.seed ?? parseSeed(undefined) }),
    },
  }),
};

export function main(argv: string[]): Promise<number> { return runCli(argv, commands); }
