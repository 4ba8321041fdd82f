// Drives a Linux guest's console from a test: wait for output, type commands,
// read their output back between markers.

import type { Guest } from "../../src/tools/toolstack.js";

export class ConsoleSession {
  out = "";
  constructor(readonly g: Guest) {
    g.console.listeners.add((d) => {
      const text = Buffer.from(d).toString("latin1");
      this.out += text;
      // answer the shell's cursor-position query as a terminal would
      if (text.includes("\x1b[6n")) g.console.input(new Uint8Array(Buffer.from("\x1b[1;1R")));
    });
  }
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const t0 = Date.now();
    for (;;) {
      const m = this.out.slice(from).match(re);
      if (m) return m;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re} on ${this.g.name}; last output:\n${this.out.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  // Runs a shell command and returns what it printed.
  async run(cmd: string, timeoutMs = 60_000): Promise<string> {
    const tag = `M${Math.random().toString(36).slice(2, 8)}`;
    const from = this.out.length;
    this.g.console.input(new Uint8Array(Buffer.from(`echo ${tag}-B; ${cmd}; echo ${tag}-E\n`)));
    const m = await this.waitFor(new RegExp(`\\n${tag}-B\\r?\\n([\\s\\S]*?)${tag}-E\\r?\\n`), timeoutMs, from);
    return m[1].replace(/\r/g, "");
  }
}
