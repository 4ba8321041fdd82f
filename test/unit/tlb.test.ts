// The software TLB (src/cpu/core/mmu.ts): what a TLB maintenance
// instruction or a TTBR write drops, and what it keeps. Dropping too little
// lets a guest use a stale translation; dropping too much costs walks (a
// Linux boot walked 3.4 times as often before entries made from block
// mappings and global entries were kept where the architecture keeps them).
// SR.TLB_MISSES counts walks: an access that hits the TLB adds nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exit, SR } from "../../src/cpu/cpu.js";
import { bareCore, RAM_BASE } from "../helpers/bare.js";

const MB = 0x100000;
const BASE = Number(RAM_BASE);
const L1 = BASE + MB, L2 = L1 + 0x1000, L3 = L1 + 0x2000;
const AF = 1n << 10n, NG = 1n << 11n;
const BLOCK_VA = BASE + 6 * MB; // a 2 MiB block (L2 index 3)
const OTHER_PA = BASE + 8 * MB; // where the block is moved to
const GLOBAL_VA = BASE + 0x20000, NG_VA = BASE + 0x21000; // pages in the first 2 MiB

type Bare = ReturnType<typeof bareCore>;

// A 32-bit constant into a register.
const mov32 = (r: string, v: number): string => `movz ${r}, #${v & 0xFFFF}\n    movk ${r}, #${v >>> 16}, lsl #16`;

function put(b: Bare, pa: number, v: bigint): void {
  new DataView(b.core.ram(BigInt(pa), 8).buffer).setBigUint64(b.core.hostOffset(BigInt(pa)), v, true);
}

// Identity map of the first 2 MiB of RAM in pages (one of them not global),
// BLOCK_VA as a 2 MiB block; the MMU on with TTBR0 (39-bit VAs, ASID 1).
function withMmu(source: string): Bare {
  const b = bareCore(source);
  put(b, L1 + 8 * 1, BigInt(L2) | 3n); // VA 1 GiB..2 GiB
  put(b, L2, BigInt(L3) | 3n);
  put(b, L2 + 8 * 3, BigInt(BLOCK_VA) | AF | 1n);
  for (let i = 0; i < 512; i++) {
    const pa = BASE + i * 0x1000;
    put(b, L3 + 8 * i, BigInt(pa) | AF | (pa === NG_VA ? NG : 0n) | 3n);
  }
  put(b, BLOCK_VA, 0x1111n);
  put(b, OTHER_PA, 0x2222n);
  put(b, GLOBAL_VA, 0x3333n);
  put(b, NG_VA, 0x4444n);
  const { cpu } = b;
  cpu.setSys(SR.MAIR, 0xFFn);
  cpu.setSys(SR.TCR, 25n | (1n << 23n)); // T0SZ 25, TTBR1 walks off
  cpu.setSys(SR.TTBR0, BigInt(L1) | (1n << 48n));
  cpu.setSys(SR.SCTLR, cpu.sys(SR.SCTLR) | 1n);
  return b;
}

// Runs to the next HVC; the walks it took.
function walks(b: Bare): number {
  const before = b.cpu.sys(SR.TLB_MISSES);
  assert.equal(b.cpu.run(1000n), Exit.HVC, `pc ${b.cpu.pc.toString(16)}`);
  return Number(b.cpu.sys(SR.TLB_MISSES) - before);
}

test("TLBI VAE1 keeps entries made from a block that does not hold the VA, and drops those of the block that does", () => {
  const b = withMmu(`
    movz x10, #${BLOCK_VA >>> 16}, lsl #16
    ${mov32("x11", GLOBAL_VA >>> 12)}
    add x12, x10, #0x1000
    lsr x12, x12, #12
    ldr x0, [x10]
    hvc #1
    tlbi vae1, x11
    dsb ish
    ldr x0, [x10]
    hvc #2
    tlbi vae1, x12
    dsb ish
    ldr x0, [x10]
    hvc #3
  `);
  assert.ok(walks(b) >= 2, "the first fetch and the load walk");
  assert.equal(b.cpu.x(0), 0x1111n);
  // A page elsewhere: the block's entry (and the code's) stay.
  assert.equal(walks(b), 0);
  // The block moves without a TLBI for its own page: the TLBI of another
  // page of the same block must still drop it.
  put(b, L2 + 8 * 3, BigInt(OTHER_PA) | AF | 1n);
  assert.equal(walks(b), 1);
  assert.equal(b.cpu.x(0), 0x2222n, "the block's new output address");
});

test("an ASID change (TTBR0 write, TLBI ASIDE1) drops non-global entries and keeps global ones", () => {
  const b = withMmu(`
    ${mov32("x20", GLOBAL_VA)}
    ${mov32("x21", NG_VA)}
    movz x22, #${L1 >>> 16}, lsl #16
    movk x22, #2, lsl #48
    movz x23, #2, lsl #48
    ldr x0, [x20]
    ldr x1, [x21]
    hvc #1
    msr ttbr0_el1, x22
    isb
    ldr x0, [x20]
    hvc #2
    ldr x1, [x21]
    hvc #3
    tlbi aside1, x23
    dsb ish
    ldr x0, [x20]
    hvc #4
    ldr x1, [x21]
    hvc #5
  `);
  assert.ok(walks(b) >= 3);
  assert.deepEqual([b.cpu.x(0), b.cpu.x(1)], [0x3333n, 0x4444n]);
  // The non-global page now maps elsewhere: ASID 2 must not see ASID 1's entry.
  put(b, L3 + 8 * ((NG_VA - BASE) / 0x1000), BigInt(OTHER_PA) | AF | NG | 3n);
  assert.equal(walks(b), 0, "the global page and the code are still in the TLB");
  assert.equal(walks(b), 1, "the non-global page is walked again");
  assert.equal(b.cpu.x(1), 0x2222n);
  assert.equal(walks(b), 0, "TLBI ASIDE1 (ASID 2) keeps the global page");
  assert.equal(walks(b), 1, "... and drops ASID 2's non-global one");
});

test("a TTBR1 write drops everything when its table base changes, and only non-global entries when its ASID does", () => {
  const b = withMmu(`
    ${mov32("x20", GLOBAL_VA)}
    ldr x0, [x20]
    hvc #1
    movz x1, #3, lsl #48
    msr ttbr1_el1, x1
    isb
    ldr x0, [x20]
    hvc #2
    movz x1, #0x4010, lsl #16
    msr ttbr1_el1, x1
    isb
    ldr x0, [x20]
    hvc #3
  `);
  walks(b);
  assert.equal(walks(b), 0, "a new ASID in TTBR1 keeps the global entries");
  assert.ok(walks(b) >= 2, "a new TTBR1 table base drops them (the load and the fetch walk)");
});

test("with more blocks cached than the core lists, TLBI VAE1 still drops exactly the entries of the VA's block", () => {
  // 20 aliases of the block at L2 indexes 8..27 (VA 16 MiB past RAM's base
  // on), block k touched at page 0x40 + k of it, so that no two entries (nor
  // the code's, nor the TLBI'd page's) share a slot
  const at = (k: number): number => BASE + 16 * MB + k * 2 * MB + (0x40 + k) * 0x1000;
  const b = withMmu(`
    ${mov32("x10", at(0))}
    mov x2, #20
  touch:
    ldr x0, [x10]
    add x10, x10, #0x201000
    subs x2, x2, #1
    b.ne touch
    hvc #1
    ${mov32("x11", GLOBAL_VA >>> 12)}
    tlbi vae1, x11
    dsb ish
    ${mov32("x10", at(0))}
    mov x2, #20
  again:
    ldr x0, [x10]
    add x10, x10, #0x201000
    subs x2, x2, #1
    b.ne again
    hvc #2
    ${mov32("x12", (at(5) + 0x1000) >>> 12)}
    tlbi vae1, x12
    dsb ish
    ${mov32("x10", at(5))}
    ldr x0, [x10]
    hvc #3
  `);
  for (let k = 0; k < 20; k++) {
    put(b, L2 + 8 * (8 + k), BigInt(BLOCK_VA) | AF | 1n);
    put(b, BLOCK_VA + (0x40 + k) * 0x1000, 0x1111n);
  }
  put(b, OTHER_PA + (0x40 + 5) * 0x1000, 0x2222n);
  assert.ok(walks(b) >= 21);
  assert.equal(b.cpu.x(0), 0x1111n);
  assert.equal(walks(b), 0, "a TLBI elsewhere keeps all twenty");
  put(b, L2 + 8 * (8 + 5), BigInt(OTHER_PA) | AF | 1n);
  assert.equal(walks(b), 1, "the sixth block's entry went with a TLBI of another of its pages");
  assert.equal(b.cpu.x(0), 0x2222n);
});
