// What every console the host serves has, whatever carries its bytes (a PV
// console ring, an emulated UART, the hypervisor's serial line): a bounded
// history of output replayed to whoever attaches, the listeners attached
// now, and a bounded backlog of keyboard input the other side has not taken
// yet.

export const CONSOLE_HISTORY_BYTES = 1 << 20; // kept while nobody is attached (oldest bytes dropped first)
export const CONSOLE_INPUT_BACKLOG = 64 << 10; // keyboard input not taken yet; more is dropped

export type ConsoleListener = (data: Uint8Array) => void;

export abstract class ConsoleHistory {
  readonly listeners = new Set<ConsoleListener>();
  readonly endListeners = new Set<() => void>(); // the console is gone for good
  private history: Uint8Array[] = [];
  private historyBytes = 0;
  protected pendingInput: number[] = [];
  dropped = 0;
  inputDropped = 0;

  // Output from the other side.
  emit(data: Uint8Array): void {
    if (data.length === 0) return;
    this.history.push(data);
    this.historyBytes += data.length;
    while (this.historyBytes > CONSOLE_HISTORY_BYTES && this.history.length > 1) {
      const old = this.history.shift()!;
      this.historyBytes -= old.length;
      this.dropped += old.length;
    }
    for (const l of this.listeners) l(data);
  }

  historyText(): Uint8Array { return Buffer.concat(this.history); }

  // Keyboard input: queued, up to the backlog, for service() to hand over.
  input(data: Uint8Array): void {
    const room = Math.max(0, CONSOLE_INPUT_BACKLOG - this.pendingInput.length);
    if (data.length > room) { this.inputDropped += data.length - room; data = data.subarray(0, room); }
    for (const b of data) this.pendingInput.push(b);
    this.service();
  }

  abstract service(): void;

  // Gone: detach everyone.
  end(): void {
    for (const l of this.endListeners) l();
    this.endListeners.clear();
    this.listeners.clear();
  }
}
