// A domain's console in the page: xterm.js on the host's console WebSocket
// (the history first, then output; what is typed or pasted goes back as
// input). The terminal fits its box as the window changes size; a PV
// console has no window size to tell the guest, so a full-screen program
// in it keeps its own idea (`stty rows R cols C` in the guest sets it).

import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";

export class ConsoleView {
  private readonly term: Terminal;
  private readonly fit = new FitAddon();
  private ws: WebSocket | null = null;
  private readonly onResize = (): void => this.fit.fit();

  constructor(box: HTMLElement, private readonly domain: string, private readonly status: (s: string) => void) {
    this.term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000, fontSize: 14 });
    this.term.loadAddon(this.fit);
    this.term.open(box);
    this.fit.fit();
    window.addEventListener("resize", this.onResize);
    this.term.onData((d) => { if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(d); });
    this.connect();
  }

  private connect(): void {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/domains/${encodeURIComponent(this.domain)}/console`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { this.status("connected"); this.term.focus(); };
    ws.onmessage = (e) => this.term.write(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
    ws.onclose = (e) => this.status(e.code === 1000 ? "the console is gone" : `disconnected (${e.code}${e.reason ? `: ${e.reason}` : ""})`);
    this.ws = ws;
  }

  close(): void {
    window.removeEventListener("resize", this.onResize);
    this.ws?.close();
    this.term.dispose();
  }
}
