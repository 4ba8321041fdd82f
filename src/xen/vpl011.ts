// The emulated SBSA UART (vpl011) at GUEST_PL011_BASE, SPI 32: the subset of
// the PL011 an SBSA generic UART has (DR, RSR, FR, IMSC, RIS, MIS, ICR). Output
// goes to the domain's console; input comes from whoever attached to it.

import type { MmioRegion } from "./mmio.js";
import { GUEST_PL011_BASE, GUEST_PL011_SIZE } from "./public/arch_arm.js";
import { type SavedVpl011, VPL011_RX_FIFO } from "./public/domain_context.js";

const DR = 0x000, RSR = 0x004, FR = 0x018, IMSC = 0x038, RIS = 0x03C, MIS = 0x040, ICR = 0x044;
const FR_TXFE = 1 << 7, FR_RXFF = 1 << 6, FR_RXFE = 1 << 4;
const INT_RX = 1 << 4, INT_TX = 1 << 5, INT_RT = 1 << 6;
const RX_FIFO = VPL011_RX_FIFO;

export class Vpl011 implements MmioRegion {
  readonly name = "vpl011";
  readonly base = GUEST_PL011_BASE;
  readonly size = GUEST_PL011_SIZE;
  private imsc = 0;
  private ris = INT_TX; // the transmit FIFO is always ready
  private rx: number[] = [];

  constructor(private readonly output: (byte: number) => void, private readonly setIrqLevel: (level: boolean) => void) {}

  private update(): void {
    this.ris = (this.ris & ~(INT_RX | INT_RT)) | (this.rx.length ? INT_RX | INT_RT : 0);
    this.setIrqLevel((this.ris & this.imsc) !== 0);
  }

  // Save/restore (the context's "vpl011" section): the registers and the
  // bytes the guest has not read yet. The transmit side holds nothing.
  saveState(): SavedVpl011 { return { imsc: this.imsc, ris: this.ris, rx: [...this.rx] }; }
  loadState(s: SavedVpl011): void {
    this.imsc = s.imsc;
    this.ris = s.ris | INT_TX;
    this.rx = [...s.rx];
    this.update();
  }

  // Keyboard input from the console backend; returns how many bytes fit.
  receive(bytes: Uint8Array): number {
    let n = 0;
    for (const b of bytes) { if (this.rx.length >= RX_FIFO) break; this.rx.push(b); n++; }
    this.update();
    return n;
  }

  read(_vcpu: number, off: number, _size: number): bigint {
    switch (off) {
      case DR: { const b = this.rx.shift(); this.update(); return BigInt(b ?? 0); }
      case RSR: return 0n;
      case FR: return BigInt(FR_TXFE | (this.rx.length === 0 ? FR_RXFE : 0) | (this.rx.length >= RX_FIFO ? FR_RXFF : 0));
      case IMSC: return BigInt(this.imsc);
      case RIS: return BigInt(this.ris);
      case MIS: return BigInt(this.ris & this.imsc);
      default: return 0n;
    }
  }

  write(_vcpu: number, off: number, _size: number, value: bigint): void {
    const v = Number(value & 0xFFFFn);
    switch (off) {
      case DR: this.output(v & 0xFF); this.update(); return;
      case IMSC: this.imsc = v & 0x7FF; this.update(); return;
      case ICR: this.ris &= ~(v & ~(INT_TX | INT_RX | INT_RT)); this.update(); return;
      default: return;
    }
  }
}
