// Drives a Linux guest's console from a test: wait for output, type commands,
// read their output back between markers.

import type { Guest } from "../../src/tools/toolstack.js";

// Where a session's bytes come from and go to: a guest's console daemon in
// process, or an `xents console` client.
export interface ConsoleEndpoint {
  name: string;
  send(data: Uint8Array): void;
  listen(l: (data: Uint8Array) => void): void;
}

export function guestEndpoint(g: Guest): ConsoleEndpoint {
  return { name: g.name, send: (d) => g.console.input(d), listen: (l) => g.console.listeners.add(l) };
}

export class ConsoleSession {
  // Whoever can say more when a session times out (the hosts of the test).
  static readonly diagnostics = new Set<() => string>();
  out = "";
  private readonly ep: ConsoleEndpoint;
  constructor(target: Guest | ConsoleEndpoint) {
    this.ep = "send" in target ? target : guestEndpoint(target);
    this.ep.listen((d) => {
      const text = Buffer.from(d).toString("latin1");
      this.out += text;
      // answer the shell's cursor-position query as a terminal would
      if (text.includes("\x1b[6n")) this.ep.send(new Uint8Array(Buffer.from("\x1b[1;1R")));
    });
  }
  // The busybox shell's first prompt: after /init's banner, so that nothing
  // printed earlier (a replayed history, a partial line) can be taken for it.
  // Once it is there, the kernel's console messages are turned down to
  // emergencies only (`dmesg -n 1`; dmesg still has them all): a printk
  // that lands in the middle of a command's output, as "EXT4-fs mounted" or
  // "psci: CPU3 killed" do, would otherwise split the markers run() reads
  // between, and a loaded machine makes that likely.
  // (A Linux Domain-0's file system says when the Xen daemons are up.)
  shellReady = /xents: busybox shell[\s\S]*\/ # /;
  async waitForShell(timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const m = await this.waitFor(this.shellReady, timeoutMs, from);
    const tag = `Q${Math.random().toString(36).slice(2, 8)}`;
    const at = this.out.length;
    this.type(`dmesg -n 1; echo ${tag}-Q\n`);
    // the echoed command line has "echo " before the tag; the output does not
    await this.waitFor(new RegExp(`(?<!echo )${tag}-Q\\r?\\n`), 60_000, at);
    return m;
  }
  type(text: string): void { this.ep.send(new Uint8Array(Buffer.from(text))); }
  // Until the console has printed nothing for a while (and the answer to a
  // cursor query it printed has been sent).
  async quiet(): Promise<void> {
    for (let n = -1; n !== this.out.length;) { n = this.out.length; await new Promise((r) => setTimeout(r, 700)); }
  }
  // Ctrl-] to a console client that detaches on it read alone (xl console,
  // xents console, on a pipe): typed once the console is quiet, since the
  // session's answer to the shell's cursor query must not share its read,
  // and again (three times in all) if it shared one all the same; `left`
  // says whether it was taken (it rejects when not in time).
  async detach<T>(left: () => Promise<T>): Promise<T> {
    for (let i = 0; i < 2; i++) {
      await this.quiet();
      this.type("\x1d");
      try { return await left(); } catch { /* once more */ }
    }
    await this.quiet();
    this.type("\x1d");
    return left();
  }
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const t0 = Date.now();
    for (;;) {
      const m = this.out.slice(from).match(re);
      if (m) return m;
      if (Date.now() - t0 > timeoutMs) {
        const more = [...ConsoleSession.diagnostics].map((f) => { try { return f(); } catch (e) { return String(e); } }).join("\n");
        throw new Error(`timed out waiting for ${re} on ${this.ep.name}; last output:\n${this.out.slice(-1500)}${more ? `\n${more}` : ""}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  // Runs a shell command and returns what it printed.
  async run(cmd: string, timeoutMs = 60_000): Promise<string> {
    const tag = `M${Math.random().toString(36).slice(2, 8)}`;
    const from = this.out.length;
    this.type(`echo ${tag}-B; ${cmd}; echo ${tag}-E\n`);
    const m = await this.waitFor(new RegExp(`\\n${tag}-B\\r?\\n([\\s\\S]*?)${tag}-E\\r?\\n`), timeoutMs, from);
    return m[1].replace(/\r/g, "");
  }
}
